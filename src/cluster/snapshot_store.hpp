// Partition snapshots kept in JetStream, for failover: the new owner of a partition
// restores the latest snapshot and consumes the stream from the sequence after it. A
// snapshot is (the last stream sequence it reflects, opaque bytes the engine produced).
//
// Stored in the key-value bucket `<name>_snapshots` (file storage, `replicas` copies):
//   "m.<partition>"                 the manifest: sequence, size, chunk count, generation,
//                                   SHA-256 of the bytes (one line of text)
//   "c.<partition>.<generation>.<i>"  chunk i of the bytes
// Chunks are at most options.snapshot_chunk_bytes and always fit the servers'
// max_payload. A put writes the chunks under a fresh generation (its time and a random
// part), then the manifest with a compare-and-set against the manifest it started from (so
// of two writers, one wins and the other is told `conflict` and drops its chunks), then
// purges the generation it replaced and orphans over an hour old (chunks of a writer that
// died before its manifest; younger ones may belong to a put still in progress). A reader
// thus sees the old snapshot or the new one whole; get() checks the size and digest and
// answers `corrupt` rather than wrong bytes.
//
// Thread-safe. Data-plane calls return a status.
#pragma once

#include "cluster/connection.hpp"
#include "cluster/options.hpp"
#include "cluster/status.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>

namespace redflag::cluster {

struct partition_snapshot {
    std::uint64_t sequence = 0;  // the last stream sequence the bytes reflect
    std::string bytes;
};

class snapshot_store {
public:
    // Creates or binds the bucket (start-up).
    static result<std::unique_ptr<snapshot_store>> open(connection& c, const options& o);
    ~snapshot_store();
    snapshot_store(const snapshot_store&) = delete;
    snapshot_store& operator=(const snapshot_store&) = delete;

    // `conflict` when the stored snapshot is at a later sequence, or another put replaced
    // it meanwhile.
    status put(int partition, std::uint64_t sequence, std::string_view bytes);
    // The partition's latest snapshot; nullopt when it has none.
    result<std::optional<partition_snapshot>> get(int partition);

    // How large the chunks of a put are (after clamping to the servers' max_payload).
    std::size_t chunk_bytes() const;

private:
    snapshot_store(connection& c, const options& o, kvStore* kv) : connection_(c), options_(o), kv_(kv) {}

    struct manifest;
    result<std::optional<manifest>> read_manifest(int partition, std::uint64_t* revision);
    result<std::set<std::string>> generations(int partition);  // of the chunks stored
    status purge_generations(int partition, const std::set<std::string>& garbage);

    connection& connection_;
    const options options_;
    kvStore* kv_;
};

}  // namespace redflag::cluster
