// Keeps this instance's fair share of the partitions: a thread that, every renew
// interval, writes the instance's heartbeat, renews the leases it holds, reads who is
// alive and which partitions are held, and then releases or claims partitions as
// lease_plan.hpp says (so leases rebalance when an instance joins or leaves, and the
// partitions of an instance that stopped renewing are claimed once its leases lapse).
// Its first round only writes the heartbeat: claims start one renew interval after
// start(), once instances started at the same time can see each other.
//
// The owner of a partition is told through a lease_listener, on the manager's thread:
//   acquired(p, revision)  the lease is ours: restore the partition and start consuming it.
//   releasing(p)           we give it up on purpose (rebalance, stop): stop consuming and
//                          flush what was applied before returning; the lease is deleted
//                          only after that, and then another instance may claim it.
//   lost(p)                the lease lapsed or was taken: stop at once, without flushing
//                          anything more to shared state, and drop the partition.
// A lease counts as held until t + lease_ttl - one request timeout after the renewal sent
// at t (the servers expire it no earlier than t + lease_ttl, and a request in progress
// delays the manager by at most its timeout, the renew interval), so `lost` comes before
// anyone else can claim the partition, as long as the listener returns promptly. While
// NATS does not answer, a round stops at the first request that times out.
//
// Timing is real time (std::chrono::steady_clock), not the engine's injected clock: the
// TTLs run on the servers' clocks. Failover: a dead instance's leases lapse lease_ttl
// after its last renewal and are claimed at the next round of the others, so within
// lease_ttl + renew_interval (plus the time of one round).
//
// Thread-safety: start() and stop() from one thread; owned(), owns(), set_info(), view()
// and the counters from any. The listener is called from the manager's thread, or from stop()'s caller
// once that thread has ended: never concurrently. Its calls should return promptly: while
// `releasing` flushes, no lease is renewed (a round with several releases renews the
// heartbeat and the leases it keeps between them, once per renew interval).
#pragma once

#include "cluster/connection.hpp"
#include "cluster/lease_table.hpp"
#include "cluster/options.hpp"
#include "cluster/status.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace redflag::cluster {

class lease_listener {
public:
    virtual ~lease_listener() = default;
    virtual void acquired(int partition, std::uint64_t revision) = 0;
    virtual void releasing(int partition) = 0;
    virtual void lost(int partition) = 0;
};

// What the last round read of the cluster: the live members with their heartbeat info,
// and the holder of each held partition (for routing reads to a partition's owner). As
// old as one renew interval; empty before the first round that read them.
struct cluster_view {
    std::map<std::string, std::string> members;  // node -> info
    std::map<int, std::string> holders;          // partition -> node
};

class lease_manager {
public:
    // `info` is what this instance's heartbeat carries (e.g. its HTTP address, for
    // routing reads to a partition's owner later).
    lease_manager(connection& c, const options& o, lease_listener& listener, std::string info = {});
    ~lease_manager();  // stop(false) if still running
    lease_manager(const lease_manager&) = delete;
    lease_manager& operator=(const lease_manager&) = delete;

    // Opens the buckets and starts the thread (its first round runs at once). Fails when
    // the node name is not a valid key or the buckets cannot be opened.
    status start();
    // Stops the thread. With `release`, every lease is released (listener.releasing, then
    // delete) and the heartbeat removed, so others take over at their next round; without,
    // the leases are left to lapse (what a crash does, but the listener hears nothing).
    void stop(bool release = true);

    std::vector<int> owned() const;
    bool owns(int partition) const;
    // The heartbeat's info from the next round on (e.g. after a rule reload).
    void set_info(std::string info);
    cluster_view view() const;
    std::size_t live_members() const { return live_members_.load(); }

    std::uint64_t claims() const { return claims_.load(); }
    std::uint64_t releases() const { return releases_.load(); }
    std::uint64_t losses() const { return losses_.load(); }
    std::uint64_t rounds() const { return rounds_.load(); }

private:
    using steady = std::chrono::steady_clock;
    struct lease {
        std::uint64_t revision = 0;
        steady::time_point valid_until;
    };

    void run();
    void round();
    bool keep_alive();  // the heartbeat, then renew_all(); false when NATS did not answer
    bool renew_all();  // false when NATS did not answer
    static bool unreachable(const status& st);
    steady::time_point valid_until(steady::time_point sent) const;
    void expire(steady::time_point now);
    void lose(int partition);
    void release(int partition);
    void release_all();
    steady::time_point next_wake(steady::time_point next_round) const;

    connection& connection_;
    const options options_;
    lease_listener& listener_;
    std::unique_ptr<lease_table> table_;

    mutable std::mutex view_mu_;  // guards info_ and view_
    std::string info_;
    cluster_view view_;

    mutable std::mutex mu_;  // guards leases_ (written by the manager thread only)
    std::map<int, lease> leases_;

    std::mutex wake_mu_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::thread thread_;

    std::atomic<std::size_t> live_members_{0};
    std::atomic<std::uint64_t> claims_{0};
    std::atomic<std::uint64_t> releases_{0};
    std::atomic<std::uint64_t> losses_{0};
    std::atomic<std::uint64_t> rounds_{0};
};

}  // namespace redflag::cluster
