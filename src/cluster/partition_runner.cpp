#include "cluster/partition_runner.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace redflag::cluster {

partition_runner::partition_runner(connection& c, const options& o, snapshot_store& snapshots,
                                   partition_engine& engine, duration snapshot_interval)
    : connection_(c),
      options_(o),
      snapshots_(snapshots),
      engine_(engine),
      snapshot_interval_(snapshot_interval),
      pending_(std::make_unique<std::atomic<std::uint64_t>[]>(static_cast<std::size_t>(std::max(1, o.partitions)))) {}

std::uint64_t partition_runner::pending(int partition) const {
    if (partition < 0 || partition >= options_.partitions) return 0;
    return pending_[static_cast<std::size_t>(partition)].load();
}

partition_runner::~partition_runner() { stop(); }

void partition_runner::start() {
    std::lock_guard lock(mu_);
    stopping_ = false;
    if (!worker_.joinable()) worker_ = std::thread([this] { run(); });
}

void partition_runner::stop() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
        for (auto& [p, st] : partitions_) st->cancelled = true;
    }
    changed_.notify_all();
    if (worker_.joinable()) worker_.join();
    std::map<int, std::unique_ptr<partition_state>> left;
    {
        std::lock_guard lock(mu_);
        left.swap(partitions_);
        queue_.clear();
    }
    for (auto& [p, st] : left)
        if (st->consumer) st->consumer->stop();
}

void partition_runner::acquired(int partition, std::uint64_t) {
    {
        std::lock_guard lock(mu_);
        partitions_[partition] = std::make_unique<partition_state>();
        queue_.push_back(partition);
    }
    changed_.notify_all();
}

std::unique_ptr<partition_runner::partition_state> partition_runner::take(int partition) {
    std::unique_lock lock(mu_);
    auto it = partitions_.find(partition);
    if (it == partitions_.end()) return nullptr;
    it->second->cancelled = true;
    changed_.notify_all();
    // A start in progress sees `cancelled` between its retries and ends soon.
    changed_.wait(lock, [&] {
        auto i = partitions_.find(partition);
        return i == partitions_.end() || i->second->at != phase::starting;
    });
    it = partitions_.find(partition);
    if (it == partitions_.end()) return nullptr;
    auto st = std::move(it->second);
    partitions_.erase(it);
    std::erase(queue_, partition);
    return st;
}

void partition_runner::releasing(int partition) {
    auto st = take(partition);
    if (!st) return;
    if (st->consumer) st->consumer->stop();  // no apply() after this
    if (st->at == phase::running) {
        engine_.flush(partition);
        // A last snapshot, so that the next owner replays little of the stream.
        auto snap = engine_.snapshot(partition);
        if (snap && snap->sequence > st->snapshotted) {
            if (auto put = snapshots_.put(partition, snap->sequence, snap->bytes); put.ok()) ++snapshots_written_;
            else ++snapshot_failures_, spdlog::warn("cluster {}: {}", options_.node, put.message());
        }
    }
    engine_.drop(partition);
}

void partition_runner::lost(int partition) {
    auto st = take(partition);
    if (!st) return;
    if (st->consumer) st->consumer->stop();
    engine_.drop(partition);
}

std::vector<int> partition_runner::running() const {
    std::lock_guard lock(mu_);
    std::vector<int> out;
    for (const auto& [p, st] : partitions_)
        if (st->at == phase::running) out.push_back(p);
    return out;
}

void partition_runner::run() {
    auto next_snapshot = std::chrono::steady_clock::now() + snapshot_interval_;
    std::unique_lock lock(mu_);
    while (!stopping_) {
        if (!queue_.empty()) {
            int p = queue_.front();
            queue_.pop_front();
            auto it = partitions_.find(p);
            if (it == partitions_.end() || it->second->cancelled) continue;
            it->second->at = phase::starting;
            lock.unlock();
            start_partition(p);
            lock.lock();
            changed_.notify_all();
            continue;
        }
        if (std::chrono::steady_clock::now() >= next_snapshot) {
            lock.unlock();
            take_snapshots();
            lock.lock();
            next_snapshot = std::chrono::steady_clock::now() + snapshot_interval_;
            continue;
        }
        changed_.wait_until(lock, next_snapshot, [&] { return stopping_ || !queue_.empty(); });
    }
}

// Retries while NATS does not answer, until the partition is released, lost or stopped.
void partition_runner::start_partition(int partition) {
    auto wait = std::chrono::milliseconds(100);
    while (!try_start(partition)) {
        std::unique_lock lock(mu_);
        if (changed_.wait_for(lock, wait, [&] {
                auto it = partitions_.find(partition);
                return stopping_ || it == partitions_.end() || it->second->cancelled;
            })) {
            if (auto it = partitions_.find(partition); it != partitions_.end()) it->second->at = phase::queued;
            return;
        }
        wait = std::min(wait * 2, std::chrono::milliseconds(2000));
    }
}

bool partition_runner::try_start(int partition) {
    std::uint64_t applied = engine_.applied_sequence(partition);
    auto snap = snapshots_.get(partition);
    std::uint64_t snapshotted = 0;
    if (!snap && snap.error().error_code() == status::code::corrupt) {
        // Not to be trusted: rebuild the partition from the whole stream instead.
        spdlog::error("cluster {}: {}; replaying partition {} from the start of the stream", options_.node,
                      snap.error().message(), partition);
        engine_.drop(partition);
        applied = 0;
    } else if (!snap) {
        spdlog::warn("cluster {}: partition {}: {}", options_.node, partition, snap.error().message());
        return false;
    } else if (*snap && (*snap)->sequence > applied) {
        if (auto st = engine_.restore(partition, (*snap)->sequence, (*snap)->bytes); !st.ok()) {
            spdlog::error("cluster {}: restoring partition {}: {}; replaying it from the start of the stream",
                          options_.node, partition, st.message());
            engine_.drop(partition);
            applied = 0;
        } else {
            applied = snapshotted = (*snap)->sequence;
            ++restores_;
        }
    }
    auto consumer = partition_consumer::start(connection_, options_, partition, applied + 1,
                                              [this](const consumed_message& m) {
                                                  engine_.apply(m.partition, m.sequence, m.data, m.stored_ns);
                                                  pending_[static_cast<std::size_t>(m.partition)].store(m.pending);
                                              });
    if (!consumer) {
        spdlog::warn("cluster {}: {}", options_.node, consumer.error().message());
        return false;
    }
    std::lock_guard lock(mu_);
    auto it = partitions_.find(partition);
    if (it == partitions_.end()) {  // cannot happen while `starting`: take() waits for it
        (*consumer)->stop();
        return true;
    }
    it->second->consumer = std::move(*consumer);
    it->second->snapshotted = snapshotted;
    it->second->at = phase::running;
    return true;
}

void partition_runner::take_snapshots() {
    for (int p : running()) snapshot_partition(p);
}

void partition_runner::snapshot_partition(int partition) {
    std::uint64_t last = 0;
    {
        std::lock_guard lock(mu_);
        auto it = partitions_.find(partition);
        if (it == partitions_.end() || it->second->at != phase::running) return;
        last = it->second->snapshotted;
    }
    if (engine_.applied_sequence(partition) <= last) return;  // nothing new since the last one
    auto snap = engine_.snapshot(partition);
    if (!snap) {
        ++snapshot_failures_;
        spdlog::warn("cluster {}: snapshot of partition {}: {}", options_.node, partition, snap.error().message());
        return;
    }
    if (auto st = snapshots_.put(partition, snap->sequence, snap->bytes); !st.ok()) {
        ++snapshot_failures_;
        spdlog::warn("cluster {}: {}", options_.node, st.message());
        return;
    }
    ++snapshots_written_;
    std::lock_guard lock(mu_);
    if (auto it = partitions_.find(partition); it != partitions_.end()) it->second->snapshotted = snap->sequence;
}

}  // namespace redflag::cluster
