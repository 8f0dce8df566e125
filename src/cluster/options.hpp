// The `cluster:` block of the config (issue 17): which NATS servers to use, how the event
// stream is partitioned and replicated, this instance's name and roles, how it
// authenticates, and the lease timings. app/config.cpp reads it from YAML and checks it;
// the cluster module takes it as it is. Without a `cluster:` block the service runs as a
// single process and none of this is used.
//
// Plain values: not thread-safe, no failure modes.
#pragma once

#include "core/time.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace redflag::cluster {

struct options {
    // NATS server URLs ("nats://host:4222", "tls://host:4222"); the client connects to one
    // of them and reconnects to another when it is lost.
    std::vector<std::string> nats{"nats://127.0.0.1:4222"};
    // Names every JetStream asset, so that two Redflag clusters can share one NATS
    // system: the stream `<name>_events` with subjects `<name>.events.<partition>`, the
    // key-value buckets `<name>_leases`, `<name>_members` and `<name>_snapshots`.
    // Letters, digits, '_' and '-'.
    std::string name = "redflag";
    // Accounts are hashed (core/hash.hpp's fnv1a, as the shards are) to a partition. Fixed
    // for the life of a stream: changing it would move accounts between partitions.
    int partitions = 64;
    // Copies JetStream keeps of the stream and the buckets; an acknowledged publish is
    // stored on a majority of them. 1, 3 or 5 in practice.
    int replicas = 3;
    // This instance's name, unique in the cluster: the owner written in its leases.
    std::string node;
    struct roles_section {
        bool ingest = true;  // publishes accepted events to the stream
        bool engine = true;  // owns partitions: consumes them and evaluates their accounts
    } roles;

    // Authentication and TLS towards NATS; all optional.
    std::string credentials;  // a NATS .creds file (JWT and NKey seed)
    std::string user;
    std::string password;
    std::string token;
    struct tls_section {
        bool enabled = false;  // also implied by any file below or a tls:// URL
        std::string ca;        // trusted CA certificates (PEM)
        std::string cert;      // client certificate chain (PEM), with key
        std::string key;
        std::string hostname;  // expected server name, when it differs from the URL's host
    } tls;

    // Leases: an instance owns a partition while it renews the partition's key in the
    // leases bucket; a key not renewed for lease_ttl disappears and another instance
    // claims the partition at its next round. Failover takes at most about
    // lease_ttl + renew_interval, plus restoring the partition.
    duration lease_ttl = 10 * seconds_ms;
    duration renew_interval = 2 * seconds_ms;  // less than lease_ttl / 2

    // Publishing: how long a batch waits for JetStream's acknowledgements (retrying what
    // was not acknowledged, under the same message ids) before it is reported failed, and
    // the stream's window for recognising a retried message id as a duplicate.
    duration publish_timeout = 5 * seconds_ms;
    duration duplicate_window = 2 * minute;
    // How long the stream keeps events (0: until removed by hand). Must exceed the age of
    // the oldest snapshot a failover may restore from.
    duration stream_max_age = duration::zero();
    // Idle heartbeats of the ordered consumers: a consumer that misses two is recreated
    // from the sequence after the last one it delivered.
    duration consumer_heartbeat = 2 * seconds_ms;
    // Snapshots larger than this are stored in several chunks (and always in chunks that
    // fit the servers' max_payload).
    std::uint64_t snapshot_chunk_bytes = 512 * 1024;
    // How long `serve` retries connecting and opening the stream and buckets at start
    // (while the NATS cluster elects its leaders) before it gives up and exits 2.
    duration start_timeout = 30 * seconds_ms;

    std::string stream_name() const { return name + "_events"; }
    std::string subject_prefix() const { return name + ".events."; }
    std::string leases_bucket() const { return name + "_leases"; }
    std::string members_bucket() const { return name + "_members"; }
    std::string snapshots_bucket() const { return name + "_snapshots"; }
};

}  // namespace redflag::cluster
