#include "cluster/lease_manager.hpp"

#include "cluster/lease_plan.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace redflag::cluster {
namespace {

// Node names are key-value keys (and NATS subject tokens): a conservative alphabet.
bool valid_node_name(const std::string& node) {
    if (node.empty() || node.size() > 200) return false;
    return std::all_of(node.begin(), node.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    });
}

}  // namespace

lease_manager::lease_manager(connection& c, const options& o, lease_listener& listener, std::string info)
    : connection_(c), options_(o), listener_(listener), info_(std::move(info)) {}

lease_manager::~lease_manager() {
    if (thread_.joinable()) stop(false);
}

status lease_manager::start() {
    if (!valid_node_name(options_.node))
        return status::error(status::code::invalid, "cluster.node \"" + options_.node +
                                                        "\" must be 1 to 200 letters, digits, '_' or '-'");
    if (options_.renew_interval <= duration::zero() || options_.renew_interval * 2 > options_.lease_ttl)
        return status::error(status::code::invalid, "cluster: renew_interval must be more than 0 and at most half of lease_ttl");
    auto table = lease_table::open(connection_, options_);
    if (!table) return table.error();
    table_ = std::move(*table);
    stopping_ = false;
    thread_ = std::thread([this] { run(); });
    return {};
}

void lease_manager::stop(bool release) {
    {
        std::lock_guard lock(wake_mu_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
    if (release && table_) {
        release_all();
        if (auto st = table_->leave(options_.node); !st.ok()) spdlog::warn("cluster {}: {}", options_.node, st.message());
    }
}

std::vector<int> lease_manager::owned() const {
    std::lock_guard lock(mu_);
    std::vector<int> out;
    for (const auto& [p, l] : leases_) out.push_back(p);
    return out;
}

void lease_manager::set_info(std::string info) {
    std::lock_guard lock(view_mu_);
    info_ = std::move(info);
}

cluster_view lease_manager::view() const {
    std::lock_guard lock(view_mu_);
    return view_;
}

bool lease_manager::owns(int partition) const {
    std::lock_guard lock(mu_);
    auto it = leases_.find(partition);
    return it != leases_.end() && steady::now() < it->second.valid_until;
}

void lease_manager::run() {
    auto next_round = steady::now();
    while (true) {
        {
            std::unique_lock lock(wake_mu_);
            if (stopping_) return;
        }
        auto now = steady::now();
        if (now >= next_round) {
            round();
            next_round = now + options_.renew_interval;
        } else {
            expire(now);
        }
        std::unique_lock lock(wake_mu_);
        wake_.wait_until(lock, next_wake(next_round), [this] { return stopping_; });
    }
}

// The next round, or sooner the moment a lease would lapse unrenewed.
lease_manager::steady::time_point lease_manager::next_wake(steady::time_point next_round) const {
    std::lock_guard lock(mu_);
    auto wake = next_round;
    for (const auto& [p, l] : leases_) wake = std::min(wake, l.valid_until);
    return wake;
}

bool lease_manager::keep_alive() {
    // The heartbeat goes first, so that an instance's heartbeat lapses before its leases:
    // by the time its partitions are free, the others already count it gone.
    std::string info;
    {
        std::lock_guard lock(view_mu_);
        info = info_;
    }
    if (auto st = table_->heartbeat(options_.node, info); !st.ok()) {
        spdlog::warn("cluster {}: {}", options_.node, st.message());
        // NATS does not answer: the leases are left to their deadlines (run() wakes for them).
        if (unreachable(st)) return false;
    }
    return renew_all();
}

void lease_manager::round() {
    ++rounds_;
    if (!keep_alive()) return expire(steady::now());
    expire(steady::now());

    auto members = table_->members();
    auto holders = members ? table_->holders() : result<std::map<int, lease_holder>>(members.error());
    if (!holders) {
        spdlog::warn("cluster {}: not rebalancing this round: {}", options_.node, holders.error().message());
        return;
    }
    {
        cluster_view seen;
        seen.members = *members;
        for (const auto& [p, h] : *holders) seen.holders[p] = h.node;
        std::lock_guard lock(view_mu_);
        view_ = std::move(seen);
    }
    // The first round only announces this instance: instances that start together see
    // each other before anyone claims, instead of the first claiming everything and then
    // handing half of it back.
    if (rounds_ == 1) return;
    std::set<std::string> live;
    for (const auto& [node, info] : *members) live.insert(node);
    live.insert(options_.node);
    live_members_ = live.size();
    std::set<int> held, mine;
    for (const auto& [p, h] : *holders) held.insert(p);
    for (int p : owned()) mine.insert(p);

    auto plan = plan_leases(options_.partitions, live, options_.node, mine, held);
    // Each release stops, flushes and snapshots its partition: seconds for a large one on
    // a busy machine. The heartbeat and the leases kept are renewed between releases
    // whenever a renew interval has passed, or they would lapse while the others are
    // released (and be claimed by another, then rebalanced back: a storm of moves).
    auto renewed = steady::now();
    for (int p : plan.release) {
        release(p);
        if (steady::now() - renewed < options_.renew_interval) continue;
        if (!keep_alive()) return expire(steady::now());
        renewed = steady::now();
    }
    for (int p : plan.claim) {
        {
            std::lock_guard lock(wake_mu_);
            if (stopping_) return;
        }
        auto sent = steady::now();
        auto rev = table_->claim(p, options_.node);
        if (!rev) continue;  // someone was quicker, or NATS did not answer: next round
        {
            std::lock_guard lock(mu_);
            leases_[p] = {*rev, valid_until(sent)};
        }
        ++claims_;
        listener_.acquired(p, *rev);
    }
}

bool lease_manager::renew_all() {
    for (int p : owned()) {
        expire(steady::now());
        std::uint64_t revision = 0;
        {
            std::lock_guard lock(mu_);
            auto it = leases_.find(p);
            if (it == leases_.end()) continue;
            revision = it->second.revision;
        }
        auto sent = steady::now();
        auto rev = table_->renew(p, options_.node, revision);
        if (rev) {
            std::lock_guard lock(mu_);
            leases_[p] = {*rev, valid_until(sent)};
        } else if (rev.error().error_code() == status::code::conflict) {
            // Expired and maybe claimed by another: it is not ours any more.
            spdlog::warn("cluster {}: lost partition {}: {}", options_.node, p, rev.error().message());
            lose(p);
        } else if (unreachable(rev.error())) {
            // The lease stays as it was and lapses at its deadline unless a later round
            // gets through; the other renewals would only wait the same way.
            spdlog::warn("cluster {}: {}", options_.node, rev.error().message());
            return false;
        }
    }
    return true;
}

bool lease_manager::unreachable(const status& st) {
    return st.error_code() == status::code::timeout || st.error_code() == status::code::unavailable;
}

// How long a renewal (or claim) sent at `sent` lets this instance use the lease: the
// servers keep it lease_ttl after they stored it, which is after `sent`; one request
// timeout less, because the manager may be waiting on a request when the time comes.
lease_manager::steady::time_point lease_manager::valid_until(steady::time_point sent) const {
    return sent + options_.lease_ttl - table_->request_timeout();
}

void lease_manager::expire(steady::time_point now) {
    std::vector<int> lapsed;
    {
        std::lock_guard lock(mu_);
        for (const auto& [p, l] : leases_)
            if (now >= l.valid_until) lapsed.push_back(p);
    }
    for (int p : lapsed) {
        spdlog::warn("cluster {}: lost partition {}: not renewed within the lease TTL", options_.node, p);
        lose(p);
    }
}

void lease_manager::lose(int partition) {
    {
        std::lock_guard lock(mu_);
        leases_.erase(partition);
    }
    ++losses_;
    listener_.lost(partition);
}

void lease_manager::release(int partition) {
    std::uint64_t revision = 0;
    {
        std::lock_guard lock(mu_);
        auto it = leases_.find(partition);
        if (it == leases_.end()) return;
        revision = it->second.revision;
    }
    listener_.releasing(partition);
    // The listener has stopped and flushed: only now may another instance claim it. A
    // failed delete leaves the lease to lapse at its TTL, which is as safe, only slower.
    if (auto st = table_->release(partition, revision); !st.ok())
        spdlog::warn("cluster {}: {}", options_.node, st.message());
    {
        std::lock_guard lock(mu_);
        leases_.erase(partition);
    }
    ++releases_;
}

void lease_manager::release_all() {
    auto renewed = steady::now();
    for (int p : owned()) {
        release(p);
        // As in round(): the partitions still to release must not lapse meanwhile.
        if (steady::now() - renewed < options_.renew_interval) continue;
        if (!keep_alive()) return;  // NATS does not answer: the rest lapse at their TTL
        renewed = steady::now();
    }
}

}  // namespace redflag::cluster
