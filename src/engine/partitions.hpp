// The engine side of cluster mode (issue 17, src/cluster/README.md "The seams"): the
// cluster::partition_engine the partition_runner drives, over the engine service. One
// partition's accounts all live on one shard (engine.threads divides cluster.partitions,
// checked by the config), so each call names that shard.
//
//   applied_sequence(p)  meta column, key "cluster/applied/<p>" (8 bytes, big-endian),
//                        written by the shard's round in the same batch as the events
//   apply(p, seq, ...)   decodes the stream's canonical event, posts it to the shard
//                        (retrying while the shard's queue is full: back pressure), the
//                        round evaluating it at the stream's timestamp and staging
//                        applied[p] = seq. After a failed write the partition refuses
//                        its later events (so applied[p] never passes a lost event) until
//                        it is dropped and acquired again.
//   flush(p)             waits for a call on the shard: every earlier event is committed
//   snapshot(p)          on the shard between rounds: applied[p] and, for each account of
//                        p, its state and active alert records; the undelivered outbox
//                        records and the dedup ids of p's accounts (format below)
//   restore(p, seq, b)   writes the accounts, their alerts, the outbox records and
//                        applied[p] = seq in one batch, then the core takes them and
//                        reschedules their wakes, and the outbox sink gets the records
//                        (same keys: at least once across a failover)
//   drop(p)              p is no longer owned: its accounts' alert events get no outbox
//                        records (only the owner notifies). The accounts stay in the
//                        core's memory (the core cannot forget one yet).
//
// Snapshot bytes, version 2: "RFP2", u32 account count, then per account: u32 length +
// model::encode_state, u32 alert count, and per alert u32 length + alerts::encode_record;
// then u32 outbox record count, and per record u32 length + key, u32 length + value (as
// stored); then u32 dedup id count, and per id u32 length + key, u32 length + value (the
// dedup column's records of the partition's accounts). Big-endian. Version 1 ("RFP1") is
// the same without the dedup ids (still restored). The outbox section is a scan of the
// outbox column per snapshot; the ids one prefix scan per account of the partition.
//
// Thread-safety: every call from any thread; calls for one partition as the runner
// makes them (apply in order from one delivery thread).
#pragma once

#include "cluster/partition_runner.hpp"
#include "engine/service.hpp"

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace redflag::engine {

class partitions final : public cluster::partition_engine {
public:
    // `count` partitions over `service`, whose shard count must divide it. Installs the
    // service's notification owner (before the service starts).
    partitions(service& service, int count);

    std::uint64_t applied_sequence(int partition) override;
    cluster::status restore(int partition, std::uint64_t sequence, std::string_view bytes) override;
    void apply(int partition, std::uint64_t sequence, std::string_view data, std::int64_t stored_ns) override;
    void flush(int partition) override;
    cluster::result<cluster::partition_snapshot> snapshot(int partition) override;
    void drop(int partition) override;

    // Whether this instance owns the account's partition (restored or applied since the
    // last drop).
    bool owns(std::string_view account) const;
    int count() const { return count_; }
    // Events of the stream that could not be decoded (skipped; the sequence still counts).
    std::uint64_t undecodable() const { return undecodable_.load(); }

    static std::string applied_key(int partition);
    // Where restored undelivered notifications go (the dispatcher); null: nowhere.
    void set_outbox_sink(delivery::outbox_sink* sink) { outbox_sink_ = sink; }

private:
    struct partition_flags {
        std::atomic<bool> owned{false};
        std::atomic<bool> broken{false};  // a write failed: later events are refused
    };
    std::size_t shard_of(int partition) const { return static_cast<std::size_t>(partition) % shards_; }

    service& service_;
    const int count_;
    const std::size_t shards_;
    std::unique_ptr<partition_flags[]> flags_;
    std::atomic<std::uint64_t> undecodable_{0};
    delivery::outbox_sink* outbox_sink_ = nullptr;
};

}  // namespace redflag::engine
