// The KPI side of `redflag serve`: one shard_tracker per engine shard keeps that shard's
// aggregate (aggregate.hpp) up to date as its accounts are evaluated, and the hub merges
// what the trackers last published into the Prometheus families at scrape.
//
//   shard thread: core evaluates account ──► tracker.on_evaluated: contribution(now),
//                 aggregate −= previous, += new ──► every ≥ 200 ms of change: publish
//                 (copy of the aggregate into the hub's slot, under that slot's mutex)
//   GET /metrics: hub.refresh_metrics ──► merge the slots (one short lock each) ──►
//                 kpi_metrics::expose ──► serialise
//
// So the evaluation path takes no lock (the slot's mutex is taken once per publish, not
// per account), and a scrape costs O(label combinations), never O(accounts). A KPI is as
// fresh as the shard's last publish (≤ 1 s behind its latest work: an idle shard wakes
// at least every second) plus, for time-relative ones, the engine's tick (the account is
// re-contributed at the first evaluation instant after its contribution changes).
//
// Per-account series (kpi.per_account_metrics): each tracker sets its own accounts'
// redflag_account_value / _effort children from the shard thread. The hub counts the
// accounts the trackers have seen; when the count passes settings.per_account_limit the
// series are switched off for good (each tracker removes its children on its next
// evaluation) and an error is logged; `serve` also refuses to start with the option on
// when the store already holds more accounts than the limit.
//
// Thread-safety: tracker(i) is used only by shard i's thread; refresh_metrics() and the
// accessors are safe from any thread. Nothing throws after construction.
#pragma once

#include "kpi/aggregate.hpp"
#include "kpi/contribution.hpp"
#include "kpi/exposition.hpp"
#include "kpi/labels.hpp"

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <vector>

namespace redflag::kpi {

class hub;

class shard_tracker {
public:
    explicit shard_tracker(hub& owner);

    // After the engine evaluated the account at slot `index` (engine::core's account
    // index: dense and stable) at `at` with `rules` (account.alerts: its active alerts
    // after that evaluation): re-contributes it. Returns the next
    // instant at which its contribution changes with time alone (timestamp_max: never).
    timestamp on_evaluated(std::uint32_t index, const account_input& account, const rules::rule_set* rules, timestamp at);

    // The account at `index`, the highest index seen, is gone (the engine took back the
    // round that created it): its contribution leaves the aggregate.
    void on_forgotten(std::uint32_t index);

    // Copies the aggregate into the hub when it changed and `force` or the last publish
    // is at least publish_interval old.
    void publish(bool force = false);

    const aggregate& current() const { return aggregate_; }
    // How many evaluations recomputed the whole contribution (the rest took the fast
    // path): for tests and the benchmark's account of the upkeep.
    std::uint64_t full_contributions() const { return full_contributions_; }
    static constexpr std::chrono::milliseconds publish_interval{200};

private:
    friend class hub;
    struct account_series {
        prometheus::Gauge* value = nullptr;
        prometheus::Gauge* effort = nullptr;
        label_id segment = 0, band = 0;
    };
    void update_series(std::uint32_t index, const std::string& account, const contribution& c);
    void drop_series();

    // What a contribution was computed from, to skip recomputing it when an evaluation
    // changed nothing the KPIs read (most events: usage, users, activities) and no window
    // edge has passed: the record counts of the event types KPIs read (a new or expired
    // record changes them), the first event's instant, the rule layout, and the instants
    // the contribution changes with time: the active-user counts apart from the rest
    // (next_changes), so that a user's last usage leaving a window, which comes about
    // daily per account, costs a recount of the users, not the whole contribution.
    struct inputs {
        std::array<std::uint32_t, 9> records{};
        timestamp first_seen{};
        timestamp next_change = timestamp_min;   // every part but the active-user counts
        timestamp users_change = timestamp_min;  // the active-user counts
        std::uint32_t layout = 0;
    };
    static inputs inputs_of(const model::account_state& state);
    bool only_scores_may_differ(const inputs& memo, const model::account_state& state, timestamp at) const;
    bool same_scores(const contribution& c, const account_input& account) const;

    hub& hub_;
    label_caches labels_;
    rule_layout layout_;
    bool layout_ready_ = false;
    std::uint32_t layout_generation_ = 0;
    std::vector<contribution> previous_;  // by account index
    std::vector<inputs> inputs_;          // by account index
    contribution scratch_;
    std::vector<alert_entry> alert_scratch_;  // the fast path's view of the account's alerts
    aggregate aggregate_;
    bool changed_ = false;
    std::uint64_t full_contributions_ = 0;
    std::chrono::steady_clock::time_point last_publish_{};
    std::vector<account_series> series_;  // by account index, when per-account metrics are on
    bool series_dropped_ = false;
    struct slot;
    slot* slot_ = nullptr;
};

class hub {
public:
    // Registers the KPI families in `registry`; `shards` trackers.
    hub(settings config, prometheus::Registry& registry, int shards);
    ~hub();

    shard_tracker& tracker(int shard) { return *trackers_[static_cast<std::size_t>(shard)]; }
    int shard_count() const { return static_cast<int>(trackers_.size()); }

    // Merges the trackers' published aggregates and sets every KPI metric. Call before
    // serialising the registry (GET /metrics). Serialised by a mutex.
    void refresh_metrics();
    // The merged aggregate as last published (tests, benchmarks).
    aggregate merged() const;

    const settings& config() const { return config_; }
    label_tables& labels() { return labels_; }
    kpi_metrics& metrics() { return metrics_; }

    // How many accounts the trackers have seen.
    std::size_t accounts() const { return accounts_.load(std::memory_order_relaxed); }
    // True while per-account series are configured and within the limit.
    bool per_account_series() const { return per_account_on_.load(std::memory_order_relaxed); }

private:
    friend class shard_tracker;
    void count_new_account();
    void count_forgotten_account() { accounts_.fetch_sub(1, std::memory_order_relaxed); }

    settings config_;
    label_tables labels_;
    kpi_metrics metrics_;
    std::vector<std::unique_ptr<shard_tracker::slot>> slots_;
    std::vector<std::unique_ptr<shard_tracker>> trackers_;
    std::atomic<std::size_t> accounts_{0};
    std::atomic<bool> per_account_on_{false};
    std::mutex refresh_mutex_;
};

}  // namespace redflag::kpi
