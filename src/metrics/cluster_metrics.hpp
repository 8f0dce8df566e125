// The metrics of cluster mode (issue 17, src/cluster/README.md "Metrics"), registered
// once here and fed by serve's cluster wiring (app/serve_cluster.cpp). Not registered in
// the single-process mode, so its /metrics stays as it was.
//
//   redflag_cluster_leases_owned                   gauge: partitions this instance holds
//   redflag_cluster_lease_events_total{event}      claimed | released | lost
//   redflag_cluster_rebalances_total               changes of the owned set (as sampled: each scrape and every 5 s)
//   redflag_cluster_live_members                   gauge: instances heartbeating, as last seen
//   redflag_cluster_partition_lag{partition}       gauge: messages of an owned partition still to apply
//   redflag_cluster_snapshots_total{outcome}       written | failed | restored
//   redflag_cluster_nats_connection_events_total{event}  disconnected | reconnected
//   redflag_cluster_published_events_total{outcome}      stored | duplicate | failed
//   redflag_cluster_publish_attempts_total         rounds of sending (resends included)
//   redflag_cluster_rules_mismatch                 gauge: live members whose rule fingerprint differs from this one's
//   redflag_cluster_reload_requests_total{direction}  sent | received: rule reloads asked of / by the other instances
//
// The cluster layer keeps its own counters (atomics); sample() turns them into these,
// adding what grew since the previous sample. Thread-safety: sample() from one thread;
// the publish counters from any (prometheus-cpp's are atomic).
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <cstdint>
#include <map>
#include <set>
#include <vector>

namespace redflag::metrics {

struct cluster_sample {
    std::set<int> owned;
    std::uint64_t claims = 0, releases = 0, losses = 0;
    std::size_t live_members = 0;
    std::map<int, std::uint64_t> lag;  // owned partitions being consumed
    std::uint64_t snapshots_written = 0, snapshot_failures = 0, restores = 0;
    std::uint64_t disconnects = 0, reconnects = 0;
    std::size_t rules_mismatch = 0;  // other live members running other rule texts
    std::uint64_t reloads_sent = 0, reloads_received = 0;
};

class cluster_metrics {
public:
    explicit cluster_metrics(prometheus::Registry& registry);

    void sample(const cluster_sample& s);

    prometheus::Counter& published_stored() { return *published_[0]; }
    prometheus::Counter& published_duplicate() { return *published_[1]; }
    prometheus::Counter& published_failed() { return *published_[2]; }
    prometheus::Counter& publish_attempts() { return *publish_attempts_; }

    std::uint64_t rebalances() const { return rebalances_; }

private:
    static void raise(prometheus::Counter& c, std::uint64_t now, std::uint64_t& last);

    prometheus::Gauge* owned_ = nullptr;
    prometheus::Counter* lease_events_[3]{};
    prometheus::Counter* rebalances_counter_ = nullptr;
    prometheus::Gauge* live_members_ = nullptr;
    prometheus::Family<prometheus::Gauge>* lag_family_ = nullptr;
    std::map<int, prometheus::Gauge*> lag_;
    prometheus::Counter* snapshots_[3]{};
    prometheus::Counter* connection_events_[2]{};
    prometheus::Counter* published_[3]{};
    prometheus::Counter* publish_attempts_ = nullptr;
    prometheus::Gauge* rules_mismatch_ = nullptr;
    prometheus::Counter* reload_requests_[2]{};

    cluster_sample last_;
    std::uint64_t rebalances_ = 0;
};

}  // namespace redflag::metrics
