// Partition leases and instance heartbeats in two JetStream key-value buckets whose TTL
// (the buckets' MaxAge) is the lease TTL, keeping only the latest value of each key:
//
//   <name>_leases:  key "<partition>" = the owning node's name
//   <name>_members: key "<node>"      = the node's advertised info (opaque here)
//
// A lease is claimed with kvStore_Create (fails when the key is present), renewed with
// kvStore_Update against the revision last written (a compare-and-set: fails when anyone
// else wrote the key since, or when it expired), and released with a delete marker
// published under the same compare-and-set, so an instance can never delete a lease that
// has meanwhile passed to another. A key not renewed for the TTL is removed by the servers
// and the partition is free to claim.
//
// Thread-safe (the buckets' handles are nats.c's, which are). Data-plane calls return a
// status: `conflict` when a compare-and-set lost, `timeout`/`unavailable` when NATS did not
// answer (the lease may or may not still be held).
#pragma once

#include "cluster/connection.hpp"
#include "cluster/options.hpp"
#include "cluster/status.hpp"

#include <cstdint>
#include <map>
#include <memory>
#include <string>

namespace redflag::cluster {

struct lease_holder {
    std::string node;
    std::uint64_t revision = 0;
};

class lease_table {
public:
    // Creates or binds the two buckets (start-up: may fail while NATS elects leaders).
    static result<std::unique_ptr<lease_table>> open(connection& c, const options& o);
    // How long one request may wait for its answer: the renew interval (at least 200 ms),
    // so that a round cannot outlast a lease while NATS does not answer.
    duration request_timeout() const { return wait_; }
    ~lease_table();
    lease_table(const lease_table&) = delete;
    lease_table& operator=(const lease_table&) = delete;

    // The new revision of the lease key.
    result<std::uint64_t> claim(int partition, const std::string& node);
    result<std::uint64_t> renew(int partition, const std::string& node, std::uint64_t revision);
    status release(int partition, std::uint64_t revision);

    // Every lease currently held, by partition.
    result<std::map<int, lease_holder>> holders();

    status heartbeat(const std::string& node, const std::string& info);
    status leave(const std::string& node);  // removes the node's heartbeat at once
    // Live members (heartbeat younger than the TTL) and their info.
    result<std::map<std::string, std::string>> members();

private:
    lease_table(jsCtx* js, kvStore* leases, kvStore* members, std::string leases_bucket, duration wait)
        : js_(js), leases_(leases), members_(members), leases_bucket_(std::move(leases_bucket)), wait_(wait) {}

    jsCtx* js_;  // its own context, with the short request timeout
    kvStore* leases_;
    kvStore* members_;
    std::string leases_bucket_;
    duration wait_;
};

}  // namespace redflag::cluster
