// The "CS KPIs" families of ../shared/spec/metrics.md, registered once in the service's
// prometheus::Registry, and expose(): sets them from the shards' merged aggregate at
// scrape. Cost is proportional to the number of label combinations (CSMs × segments ×
// bands, products, score bands), never to the number of accounts. Children whose label
// combination no longer has accounts are removed, so a CSM who leaves every book
// disappears from the board instead of lingering at 0.
//
// Filtering. The board's variables csm, segment and health_band filter every KPI panel:
// every additive series carries the three labels (an account counts under its current
// CSM, segment and health band), and what is not additive (NRR, GRR, churn, quick ratio,
// LTV, NPS, CSAT, alignment) is also exposed as its additive numerators and
// denominators with the three labels, so PromQL computes the ratio under any filter as
// sum(numerator{...}) / sum(denominator{...}). The spec's ratio gauges stay as they are.
//
// Thread-safety: expose() must not run concurrently with itself (kpi::hub serialises
// it); the families themselves are prometheus-cpp's (thread-safe). The constructor throws
// only when a family of the same name and another type is already registered (a
// start-up programming error).
#pragma once

#include "kpi/aggregate.hpp"
#include "kpi/labels.hpp"
#include "metrics/kpi_families.hpp"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <map>
#include <string>
#include <vector>

namespace redflag::kpi {

// The children of one gauge family set during one scrape: set() the current ones between
// begin() and end(); end() removes those not set this time.
class gauge_children {
public:
    explicit gauge_children(prometheus::Family<prometheus::Gauge>& family) : family_(&family) {}
    void begin() { ++generation_; }
    void set(const prometheus::Labels& labels, double value);
    void end();

private:
    struct child {
        prometheus::Gauge* gauge = nullptr;
        std::uint64_t generation = 0;
    };
    prometheus::Family<prometheus::Gauge>* family_;
    std::map<prometheus::Labels, child> children_;
    std::uint64_t generation_ = 0;
};

class kpi_metrics {
public:
    // Registers the families (metrics/kpi_families) in `registry`.
    kpi_metrics(prometheus::Registry& registry, const settings& config);

    // Sets every family from `merged` (the sum of every shard's aggregate).
    void expose(const aggregate& merged, const label_tables& labels);

    // redflag_account_value / redflag_account_effort{account,segment,health_band}, set
    // by the shards themselves (kpi.per_account_metrics).
    prometheus::Family<prometheus::Gauge>& account_value_family() { return *account_value_; }
    prometheus::Family<prometheus::Gauge>& account_effort_family() { return *account_effort_; }

private:
    kpi_metrics(const metrics::kpi_families& families, const settings& config);

    const settings& config_;
    gauge_children accounts_, mrr_, arr_, nrr_, csm_nrr_, grr_, csm_grr_, logo_churn_, revenue_churn_, quick_ratio_,
        ltv_, nps_, nps_responses_, csat_, tickets_open_, renewal_arr_, opportunity_, alignment_, score_,
        classification_;
    // The additive parts of the ratios, per (csm, segment, health_band).
    gauge_children active_accounts_, cohort_arr_then_, cohort_arr_now_, cohort_arr_retained_, mrr_month_ago_,
        active_month_ago_, churned_month_, moved_month_, csat_sum_, csat_responses_, stack_accounts_, book_alerts_;
    // Acquisition, team and efficiency (issue 16).
    gauge_children acquisition_spend_, new_accounts_, new_accounts_mrr_, cac_, ltv_cac_, cac_payback_, alerts_unacked_,
        activities_, goals_, cost_to_serve_, cost_to_serve_ratio_;
    // Product-led growth.
    gauge_children activated_accounts_, activation_ratio_, free_accounts_, free_to_paid_, free_to_paid_ratio_,
        active_users_day_, active_users_month_, stickiness_;
    std::vector<gauge_children*> all_gauges_;
    prometheus::Gauge* gross_margin_;
    prometheus::Family<prometheus::Counter>* movements_;
    std::array<prometheus::Counter*, movement_kinds> movement_counters_{};
    std::array<double, movement_kinds> movement_exposed_{};
    // redflag_book_alerts_fired_total, per aggregate::item(cell, alert id).
    struct fired_child {
        prometheus::Counter* counter = nullptr;
        double exposed = 0;
    };
    prometheus::Family<prometheus::Counter>* book_alerts_fired_;
    std::map<std::uint64_t, fired_child> fired_children_;
    // redflag_time_to_first_value_seconds, per cell: observed once per account, when it
    // reaches first value (aggregate::reached_first_value), so that it never decreases.
    struct ttfv_child {
        prometheus::Histogram* histogram = nullptr;
        aggregate::first_values exposed;
    };
    prometheus::Family<prometheus::Histogram>* ttfv_;
    std::map<std::uint64_t, ttfv_child> ttfv_children_;
    prometheus::Family<prometheus::Gauge>* account_value_;
    prometheus::Family<prometheus::Gauge>* account_effort_;
    // redflag_alert_ack_seconds, per cell, cumulative like the first-value histogram.
    struct ack_child {
        prometheus::Histogram* histogram = nullptr;
        aggregate::ack_times exposed;
    };
    prometheus::Family<prometheus::Histogram>* alert_ack_;
    std::map<std::uint64_t, ack_child> ack_children_;
    // redflag_time_to_activate_seconds, per cell, cumulative like the first-value histogram.
    prometheus::Family<prometheus::Histogram>* time_to_activate_;
    std::map<std::uint64_t, ttfv_child> activate_children_;
    // redflag_ticket_first_response_seconds and redflag_ticket_resolution_seconds, per
    // cell, cumulative: each adds what the merged aggregate observed since the last scrape.
    struct ticket_child {
        prometheus::Histogram* response = nullptr;
        prometheus::Histogram* resolution = nullptr;
        aggregate::ticket_observations exposed;
    };
    prometheus::Family<prometheus::Histogram>* ticket_first_response_;
    prometheus::Family<prometheus::Histogram>* ticket_resolution_;
    std::map<std::uint64_t, ticket_child> ticket_children_;
};

}  // namespace redflag::kpi
