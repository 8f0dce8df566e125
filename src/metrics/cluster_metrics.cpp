#include "metrics/cluster_metrics.hpp"

#include <string>

namespace redflag::metrics {

cluster_metrics::cluster_metrics(prometheus::Registry& r) {
    owned_ = &prometheus::BuildGauge()
                  .Name("redflag_cluster_leases_owned")
                  .Help("Partitions whose lease this instance holds")
                  .Register(r)
                  .Add({});
    auto& lease_events = prometheus::BuildCounter()
                             .Name("redflag_cluster_lease_events_total")
                             .Help("Partition leases claimed, released on purpose and lost, by this instance")
                             .Register(r);
    const char* lease_names[] = {"claimed", "released", "lost"};
    for (int i = 0; i < 3; ++i) lease_events_[i] = &lease_events.Add({{"event", lease_names[i]}});
    rebalances_counter_ = &prometheus::BuildCounter()
                               .Name("redflag_cluster_rebalances_total")
                               .Help("Changes of the set of partitions this instance owns, as sampled at each scrape and every 5 s")
                               .Register(r)
                               .Add({});
    live_members_ = &prometheus::BuildGauge()
                         .Name("redflag_cluster_live_members")
                         .Help("Instances heartbeating in the members bucket, as this instance last read it")
                         .Register(r)
                         .Add({});
    lag_family_ = &prometheus::BuildGauge()
                       .Name("redflag_cluster_partition_lag")
                       .Help("Messages of an owned partition still to apply, as the server counted at the last delivery")
                       .Register(r);
    auto& snapshots = prometheus::BuildCounter()
                          .Name("redflag_cluster_snapshots_total")
                          .Help("Partition snapshots written to and restored from JetStream, and failed writes")
                          .Register(r);
    const char* snapshot_names[] = {"written", "failed", "restored"};
    for (int i = 0; i < 3; ++i) snapshots_[i] = &snapshots.Add({{"outcome", snapshot_names[i]}});
    auto& connection = prometheus::BuildCounter()
                           .Name("redflag_cluster_nats_connection_events_total")
                           .Help("Losses and recoveries of the connection to NATS")
                           .Register(r);
    connection_events_[0] = &connection.Add({{"event", "disconnected"}});
    connection_events_[1] = &connection.Add({{"event", "reconnected"}});
    auto& published = prometheus::BuildCounter()
                          .Name("redflag_cluster_published_events_total")
                          .Help("Events ingest published to the stream, by JetStream's answer")
                          .Register(r);
    const char* published_names[] = {"stored", "duplicate", "failed"};
    for (int i = 0; i < 3; ++i) published_[i] = &published.Add({{"outcome", published_names[i]}});
    publish_attempts_ = &prometheus::BuildCounter()
                             .Name("redflag_cluster_publish_attempts_total")
                             .Help("Rounds of sending a batch to the stream (more than one when some was resent)")
                             .Register(r)
                             .Add({});
    rules_mismatch_ = &prometheus::BuildGauge()
                           .Name("redflag_cluster_rules_mismatch")
                           .Help("Live instances whose rule fingerprint (SHA-256 of the rule texts) differs from this one's")
                           .Register(r)
                           .Add({});
    auto& reloads = prometheus::BuildCounter()
                        .Name("redflag_cluster_reload_requests_total")
                        .Help("Rule reloads this instance asked of the others (sent) and was asked by another (received)")
                        .Register(r);
    reload_requests_[0] = &reloads.Add({{"direction", "sent"}});
    reload_requests_[1] = &reloads.Add({{"direction", "received"}});
}

void cluster_metrics::raise(prometheus::Counter& c, std::uint64_t now, std::uint64_t& last) {
    if (now > last) c.Increment(double(now - last));
    last = now;
}

void cluster_metrics::sample(const cluster_sample& s) {
    owned_->Set(double(s.owned.size()));
    raise(*lease_events_[0], s.claims, last_.claims);
    raise(*lease_events_[1], s.releases, last_.releases);
    raise(*lease_events_[2], s.losses, last_.losses);
    if (s.owned != last_.owned) {
        ++rebalances_;
        rebalances_counter_->Increment();
        last_.owned = s.owned;
    }
    live_members_->Set(double(s.live_members));
    rules_mismatch_->Set(double(s.rules_mismatch));
    raise(*reload_requests_[0], s.reloads_sent, last_.reloads_sent);
    raise(*reload_requests_[1], s.reloads_received, last_.reloads_received);
    // Partitions no longer consumed leave the family: their lag is another instance's.
    for (auto it = lag_.begin(); it != lag_.end();) {
        if (!s.lag.contains(it->first)) {
            lag_family_->Remove(it->second);
            it = lag_.erase(it);
        } else {
            ++it;
        }
    }
    for (const auto& [p, pending] : s.lag) {
        auto& g = lag_[p];
        if (!g) g = &lag_family_->Add({{"partition", std::to_string(p)}});
        g->Set(double(pending));
    }
    raise(*snapshots_[0], s.snapshots_written, last_.snapshots_written);
    raise(*snapshots_[1], s.snapshot_failures, last_.snapshot_failures);
    raise(*snapshots_[2], s.restores, last_.restores);
    raise(*connection_events_[0], s.disconnects, last_.disconnects);
    raise(*connection_events_[1], s.reconnects, last_.reconnects);
}

}  // namespace redflag::metrics
