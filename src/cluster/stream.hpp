// The event stream: one JetStream stream, `<name>_events`, with one subject per partition
// (`<name>.events.<p>`), file storage, `replicas` copies, a duplicate window for publisher
// retries and an optional maximum age. An account's events all go to its partition's
// subject, so each partition is an ordered log that one owner consumes.
//
// Free functions; thread-safe. ensure_stream() is for start-up (it may fail while the
// NATS cluster elects its leaders: the caller retries or exits).
#pragma once

#include "cluster/connection.hpp"
#include "cluster/options.hpp"
#include "cluster/status.hpp"

#include <string>
#include <string_view>

namespace redflag::cluster {

// The partition of an account: the same FNV-1a hash the engine's shards use, so with a
// number of shards that divides `partitions`, a partition's accounts share one shard.
int partition_of(std::string_view account, int partitions);

// "<name>.events.<partition>".
std::string subject_of(const options& o, int partition);

// Creates the stream, or updates an existing one to `o`'s replicas, duplicate window and
// maximum age. An existing stream with another set of partition subjects is refused
// (`invalid`): changing the number of partitions would move accounts between them.
status ensure_stream(connection& c, const options& o);

// The stream's last sequence (0 when empty), e.g. to tell how far a consumer lags.
result<std::uint64_t> last_sequence(connection& c, const options& o);

}  // namespace redflag::cluster
