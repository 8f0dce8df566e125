#include "ingest/adapters/unmatched.hpp"

#include "ingest/adapters/hook_codec.hpp"
#include "model/codec.hpp"

#include <prometheus/gauge.h>
#include <spdlog/spdlog.h>

#include <future>
#include <set>

namespace redflag::ingest::adapters {
namespace {

// The customer_ref a customer key stands for (hook_codec.hpp).
customer_ref customer_of(const std::string& vendor, const std::string& key) {
    constexpr std::string_view user = "user:";
    if (key.starts_with(user)) return {vendor, "user", key.substr(user.size())};
    return {vendor, "customer", key};
}

}  // namespace

unmatched_events::unmatched_events(store::store& store, engine::ingest_sink& sink, const account_resolver& resolver,
                                   prometheus::Gauge* waiting, options opts)
    : store_(store), sink_(sink), resolver_(resolver), gauge_(waiting), options_(opts) {}

unmatched_events::~unmatched_events() { stop(); }

void unmatched_events::add_waiting(std::int64_t n) {
    waiting_ += static_cast<std::size_t>(n);  // unsigned wrap-around makes a negative n subtract
    if (gauge_) gauge_->Set(double(waiting_.load()));
}

store::status unmatched_events::start() {
    std::size_t n = 0;
    std::set<std::pair<std::string, std::string>> customers;
    auto st = store_.for_each_prefix(store::column::unmatched, "", [&](std::string_view key, std::string_view) {
        ++n;
        if (auto parts = codec::parse_unmatched_key(key)) customers.emplace(parts->vendor, parts->customer);
        return true;
    });
    if (!st.ok()) return st;
    add_waiting(static_cast<std::int64_t>(n));
    std::vector<std::pair<std::string, std::string>> known;
    for (const auto& [vendor, customer] : customers)
        if (resolver_.resolve(customer_of(vendor, customer))) known.emplace_back(vendor, customer);
    if (!known.empty()) spdlog::info("hooks: {} customers with waiting events have an account now", known.size());
    thread_ = std::thread([this] { run(); });
    release(std::move(known));
    return st;
}

void unmatched_events::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wakeup_.notify_all();
    if (thread_.joinable()) thread_.join();
}

unmatched_events::kept unmatched_events::keep(std::string_view vendor, const std::vector<waiting_event>& events,
                                              timestamp received_at) {
    kept out;
    std::vector<std::pair<std::string, std::string>> customers;
    {
        std::lock_guard lock(write_mutex_);
        store::write_batch batch(store_);
        std::set<std::string> in_batch;
        for (const auto& w : events) {
            const auto customer = codec::customer_key(w.customer);
            auto key = codec::unmatched_key(vendor, customer, w.event->at, w.event->id);
            if (!in_batch.insert(key).second) {
                ++out.already;
                continue;
            }
            auto existing = store_.get(store::column::unmatched, key);
            if (!existing.ok()) {
                out.status = existing.error();
                return out;
            }
            if (existing.value()) {
                ++out.already;
                continue;
            }
            model::event e = *w.event;
            e.account = customer;  // a stand-in until the customer's account is known
            batch.put(store::column::unmatched, key, codec::unmatched_value(received_at, model::encode_event_json(e)));
            if (customers.empty() || customers.back().second != customer) customers.emplace_back(vendor, customer);
            ++out.stored;
        }
        if (!batch.empty()) {
            out.status = store_.write(batch);
            if (!out.status.ok()) {
                out.stored = 0;
                return out;
            }
        }
        add_waiting(static_cast<std::int64_t>(out.stored));
    }
    // A mapping may have become durable between the route's resolve and this write, its
    // release finding nothing yet: look again now that the events are stored.
    std::erase_if(customers, [&](const auto& c) { return !resolver_.resolve(customer_of(c.first, c.second)); });
    release(std::move(customers));
    return out;
}

void unmatched_events::release(std::vector<std::pair<std::string, std::string>> customers) {
    if (customers.empty()) return;
    {
        std::lock_guard lock(mutex_);
        for (auto& c : customers) queue_.push_back(std::move(c));
    }
    wakeup_.notify_all();
}

void unmatched_events::run() {
    for (;;) {
        std::pair<std::string, std::string> next;
        {
            std::unique_lock lock(mutex_);
            wakeup_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
            if (stopping_) return;
            next = std::move(queue_.front());
            queue_.pop_front();
        }
        bool failed = false;
        if (release_one(next.first, next.second, failed)) continue;
        // More to submit, or a refused submit: back of the queue (after a pause when refused).
        std::unique_lock lock(mutex_);
        if (failed && wakeup_.wait_for(lock, options_.retry, [&] { return stopping_; })) return;
        queue_.push_back(std::move(next));
    }
}

bool unmatched_events::release_one(const std::string& vendor, const std::string& customer, bool& failed) {
    auto account = resolver_.resolve(customer_of(vendor, customer));
    if (!account) return true;
    std::vector<std::string> keys;
    std::vector<model::event> batch;
    bool more = false;
    auto st = store_.for_each_prefix(
        store::column::unmatched, codec::unmatched_prefix(vendor, customer), [&](std::string_view key, std::string_view value) {
            if (batch.size() == options_.submit_chunk) {
                more = true;
                return false;
            }
            timestamp received{};
            std::string_view bytes;
            std::string why;
            std::optional<model::event> e;
            if (codec::parse_unmatched_value(value, received, bytes)) e = model::decode_event_json(bytes, &why);
            if (!e) {
                spdlog::error("hooks: skipping an unreadable waiting event of {} {}: {}", vendor, customer, why);
                return true;
            }
            e->account = *account;
            batch.push_back(std::move(*e));
            keys.emplace_back(key);
            return true;
        });
    if (!st.ok()) {
        spdlog::error("hooks: reading the waiting events of {} {} failed: {}", vendor, customer, st.message());
        failed = true;
        return false;
    }
    if (batch.empty()) return true;
    const std::size_t n = batch.size();
    std::promise<engine::ingest_outcome> promise;
    auto future = promise.get_future();
    sink_.submit(std::move(batch), [&promise](engine::ingest_outcome o) { promise.set_value(std::move(o)); });
    auto outcome = future.get();
    if (outcome.status != engine::ingest_outcome::status::stored) {
        spdlog::warn("hooks: submitting {} waiting events of {} {} was refused ({}); retrying",
                     n, vendor, customer, outcome.error.empty() ? "overloaded" : outcome.error);
        failed = true;
        return false;
    }
    std::lock_guard lock(write_mutex_);
    store::write_batch deletes(store_);
    for (const auto& k : keys) deletes.del(store::column::unmatched, k);
    if (auto d = store_.write(deletes); !d.ok()) {
        // Submitted already: the next try finds them as duplicates.
        spdlog::error("hooks: deleting {} released events of {} {} failed: {}", n, vendor, customer, d.message());
        failed = true;
        return false;
    }
    add_waiting(-static_cast<std::int64_t>(n));
    spdlog::info("hooks: {} waiting events of {} {} applied to account {} ({} new, {} duplicates)", n, vendor, customer,
                 *account, outcome.accepted, outcome.duplicates);
    return !more;
}

store::result<std::vector<unmatched_events::listed>> unmatched_events::list(std::string_view vendor,
                                                                            std::size_t limit) const {
    std::vector<listed> out;
    auto prefix = vendor.empty() ? std::string() : codec::unmatched_prefix(vendor);
    auto st = store_.for_each_prefix(store::column::unmatched, prefix, [&](std::string_view key, std::string_view value) {
        if (out.size() >= limit) return false;
        auto parts = codec::parse_unmatched_key(key);
        timestamp received{};
        std::string_view bytes;
        if (!parts || !codec::parse_unmatched_value(value, received, bytes)) return true;
        auto e = model::decode_event_json(bytes);
        out.push_back({parts->vendor, parts->customer, e ? std::string(model::name_of(e->type)) : "unknown", parts->id,
                       parts->at, received});
        return true;
    });
    if (!st.ok()) return st;
    return out;
}

}  // namespace redflag::ingest::adapters
