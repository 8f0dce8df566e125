// Runs the partitions this instance owns: the lease_listener that, when the lease manager
// hands it a partition, restores the partition (from its snapshot in JetStream when that
// is newer than the local state) and consumes it in order into the engine; snapshots
// each running partition every snapshot_interval; and on release or loss stops the
// consumer and hands the partition back. The engine side is the partition_engine
// interface below: the seams the engine offers for running past one machine
// (src/cluster/README.md explains them and the failover sequence).
//
//   acquired(p)   queued to the runner's worker thread, which (retrying while NATS does
//                 not answer) reads the snapshot, engine.restore()s it if its sequence is
//                 past engine.applied_sequence(p), then consumes p from the sequence after
//                 the one applied, each message into engine.apply().
//   releasing(p)  on the caller's thread: waits for a start in progress, stops the consumer
//                 (no apply after that), engine.flush(p), writes a last snapshot so the
//                 next owner replays little, engine.drop(p).
//   lost(p)       the same without flush or snapshot: someone else may own p already.
//
// The worker runs acquisitions so that a long restore never holds up the lease manager's
// renewals. A snapshot that fails its integrity check is not used: the partition's state
// is dropped and rebuilt from the start of the stream.
//
// Thread-safety: the listener calls come from the lease manager (one at a time); start(),
// stop() and the readers from any thread. engine.apply() runs on the consumers' delivery
// threads, engine.snapshot() on the worker or the releasing thread: the engine serialises
// per partition.
#pragma once

#include "cluster/connection.hpp"
#include "cluster/consumer.hpp"
#include "cluster/lease_manager.hpp"
#include "cluster/options.hpp"
#include "cluster/snapshot_store.hpp"
#include "cluster/status.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace redflag::cluster {

// What the engine offers the cluster layer for one partition (the wiring step builds it
// over the engine service; the tests have an in-memory one). Every call names the
// partition; calls for one partition never overlap except as noted.
class partition_engine {
public:
    virtual ~partition_engine() = default;
    // The last stream sequence whose effects this instance has committed locally for the
    // partition (0: none, or its state was dropped).
    virtual std::uint64_t applied_sequence(int partition) = 0;
    // Replaces the partition's state by a snapshot's bytes, which reflect the stream up to
    // and including `sequence`; applied_sequence() is `sequence` afterwards. An error
    // leaves the partition dropped.
    virtual status restore(int partition, std::uint64_t sequence, std::string_view bytes) = 0;
    // One event of the partition, in stream order, each once. The engine records `sequence`
    // as applied in the same write as the event's effects. `stored_ns` is when the stream
    // stored the event (the same on every instance that replays it). May block for back
    // pressure. Runs on a delivery thread.
    virtual void apply(int partition, std::uint64_t sequence, std::string_view data, std::int64_t stored_ns) = 0;
    // Commits everything applied so far (before a release hands the partition over).
    virtual void flush(int partition) = 0;
    // The partition's state as bytes, with the sequence it reflects (committed first).
    // May run while apply() is delivering the partition's later events.
    virtual result<partition_snapshot> snapshot(int partition) = 0;
    // Forgets the partition: its accounts leave memory, their timers stop, their pending
    // notifications are no longer sent by this instance. applied_sequence() may stay.
    virtual void drop(int partition) = 0;
};

class partition_runner final : public lease_listener {
public:
    partition_runner(connection& c, const options& o, snapshot_store& snapshots, partition_engine& engine,
                     duration snapshot_interval);
    ~partition_runner() override;  // stop()
    partition_runner(const partition_runner&) = delete;
    partition_runner& operator=(const partition_runner&) = delete;

    void start();
    // Stops every consumer without flushing or snapshotting (call after the lease manager
    // stopped, which releases properly when asked to) and joins the worker.
    void stop();

    void acquired(int partition, std::uint64_t revision) override;
    void releasing(int partition) override;
    void lost(int partition) override;

    std::vector<int> running() const;  // partitions being consumed now
    std::uint64_t restores() const { return restores_.load(); }          // snapshots restored
    std::uint64_t snapshots_written() const { return snapshots_written_.load(); }
    std::uint64_t snapshot_failures() const { return snapshot_failures_.load(); }
    // The partition's consumer lag: messages still to come after the last one applied, as
    // the server counted when delivering it (0 before any delivery).
    std::uint64_t pending(int partition) const;

private:
    enum class phase { queued, starting, running };
    struct partition_state {
        phase at = phase::queued;
        bool cancelled = false;
        std::unique_ptr<partition_consumer> consumer;
        std::uint64_t snapshotted = 0;  // sequence of the last snapshot written
    };

    void run();
    void start_partition(int partition);
    bool try_start(int partition);
    void take_snapshots();
    void snapshot_partition(int partition);
    // Waits for a start in progress, then takes the partition out; null when not held.
    std::unique_ptr<partition_state> take(int partition);

    connection& connection_;
    const options options_;
    snapshot_store& snapshots_;
    partition_engine& engine_;
    const duration snapshot_interval_;

    mutable std::mutex mu_;
    std::condition_variable changed_;  // a queued partition, a finished start, stop
    std::map<int, std::unique_ptr<partition_state>> partitions_;
    std::deque<int> queue_;
    bool stopping_ = false;
    std::thread worker_;

    std::atomic<std::uint64_t> restores_{0};
    std::atomic<std::uint64_t> snapshots_written_{0};
    std::atomic<std::uint64_t> snapshot_failures_{0};
    std::unique_ptr<std::atomic<std::uint64_t>[]> pending_;  // by partition
};

}  // namespace redflag::cluster
