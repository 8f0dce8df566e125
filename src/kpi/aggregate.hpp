// The sum of many accounts' KPI contributions (contribution.hpp), kept per shard: add()
// an account's new contribution and subtract its previous one after each evaluation;
// merge() the shards' aggregates at scrape. Everything additive is kept per cell of
// (csm, segment, health band), the finest grain any KPI is exposed at, and projected
// onto each metric's labels at exposition (exposition.hpp); scores, classifications and
// active alerts are counted per (cell, label id). The ratios (NRR, GRR, churn, quick ratio, LTV, NPS, CSAT,
// alignment) are derived from these sums by the functions below, never summed.
//
// Plain value type; not thread-safe. No failure modes.
#pragma once

#include "kpi/contribution.hpp"

#include <array>
#include <cstdint>
#include <unordered_map>
#include <vector>

namespace redflag::kpi {

struct cell {
    std::int64_t accounts = 0;  // every account of the cell, whatever its status
    std::array<std::int64_t, account_status_names.size()> accounts_by_status{};
    std::int64_t active = 0;
    money mrr = 0;

    // Cohort of accounts with MRR 365 days ago (NRR, GRR).
    std::int64_t cohort_accounts = 0;
    money cohort_arr_then = 0;    // 12 × MRR then
    money cohort_arr_now = 0;     // 12 × MRR now, of the same accounts
    money cohort_arr_capped = 0;  // Σ min(ARR now, ARR then)

    // The trailing 30 days.
    std::int64_t active_month_ago = 0;
    std::int64_t churned_in_month = 0;
    money mrr_month_ago = 0;
    std::array<money, movement_kinds> moved_in_month{};
    std::array<money, movement_kinds> moved_total{};

    // Voice of the customer.
    std::array<std::int64_t, 3> nps{};
    std::int64_t csat_sum = 0, csat_count = 0;
    std::array<std::int64_t, ticket_priority_names.size()> open_tickets{};
    std::array<std::int64_t, ttfv_bucket_days.size() + 1> ttfv_buckets{};  // not cumulative; last is +Inf
    std::int64_t ttfv_seconds = 0, ttfv_count = 0;

    // Acquisition (90 days): accounts whose first MRR > 0 is in the window, their MRR now.
    std::int64_t new_accounts = 0;
    money new_accounts_mrr = 0;

    // Alerts firing for over a day without an ack (CSM scorecard).
    std::int64_t alerts_unacked = 0;

    // Team and cost to serve (90 days), goals now.
    std::array<std::int64_t, activity_kind_names.size()> activities{};
    milli_minutes csm_minutes = 0, support_minutes = 0;
    std::array<std::int64_t, goal_status_names.size()> goals{};

    // Product-led growth: activated accounts; accounts on a free plan in the last 90
    // days and those of them that moved to a paid plan; users active within 1 and 30 days.
    std::int64_t activated = 0;
    std::int64_t free_accounts = 0, converted = 0;
    std::int64_t users_day = 0, users_month = 0;

    // Renewals (ARR of active accounts).
    money renewal_arr_near = 0, renewal_arr_far = 0;

    // Stack, per settings.stack product: active accounts having it, and the opportunity
    // (list price × seats) of active accounts lacking it.
    std::vector<std::int64_t> has_product;
    std::vector<money> opportunity;

    void add(const contribution& c, std::int64_t sign, const settings& config);
    void merge(const cell& other);
};

class aggregate {
public:
    // Adds `c` (sign +1) or takes it away (sign -1). A contribution that is not present
    // does nothing.
    void add(const contribution& c, std::int64_t sign, const settings& config);
    // Counts the alerts of `c` that started firing at its instant, except those that
    // `previous` (the account's contribution before, possibly at the same instant)
    // already counted. Only ever adds: redflag_book_alerts_fired_total.
    void count_fired(const contribution& previous, const contribution& c);
    // Observes `c`'s time to first value when the account reaches first value with `c`
    // (`previous` had none), in `c`'s cell. Only ever adds, once per account (per process):
    // the cumulative histogram redflag_time_to_first_value_seconds.
    void count_first_value(const contribution& previous, const contribution& c);
    // Observes, in `c`'s cell, the firing → first ack time of each alert of `c` that
    // `previous` did not have acknowledged. Only ever adds: redflag_alert_ack_seconds.
    void count_acked(const contribution& previous, const contribution& c);
    // Observes, in `c`'s cell, `c`'s time to activate when the account is activated with
    // `c` (`previous` was not). Only ever adds: redflag_time_to_activate_seconds.
    void count_activated(const contribution& previous, const contribution& c);
    // Observes, in `c`'s cell, each ticket's first-response and resolution time that `c`
    // has and `previous` had not (a ticket solved again after a reopening counts again).
    // Only ever adds: redflag_ticket_first_response_seconds, redflag_ticket_resolution_seconds.
    void count_tickets(const contribution& previous, const contribution& c);
    // Moves the DAU and MAU of `c`'s cell by the given differences (the tracker's fast
    // path: a usage event that changes only the account's active users).
    void add_active_users(const contribution& c, std::int64_t day, std::int64_t month);
    void merge(const aggregate& other);

    static std::uint64_t key(label_id csm, label_id segment, label_id band) {
        return (std::uint64_t{csm} << 32) | (std::uint64_t{segment} << 16) | band;
    }
    static label_id csm_of(std::uint64_t key) { return static_cast<label_id>(key >> 32); }
    static label_id segment_of(std::uint64_t key) { return static_cast<label_id>(key >> 16); }
    static label_id band_of(std::uint64_t key) { return static_cast<label_id>(key); }
    // A label id within a cell (a cell key has 48 bits): the key of the per-cell counts.
    static std::uint64_t item(std::uint64_t cell_key, label_id id) { return (cell_key << 16) | id; }
    static std::uint64_t cell_of_item(std::uint64_t item) { return item >> 16; }
    static label_id id_of_item(std::uint64_t item) { return static_cast<label_id>(item); }

    const std::unordered_map<std::uint64_t, cell>& cells() const { return cells_; }
    // Accounts per item(cell, score band id) and item(cell, classification label id).
    const std::unordered_map<std::uint64_t, std::int64_t>& score_bands() const { return score_bands_; }
    const std::unordered_map<std::uint64_t, std::int64_t>& class_labels() const { return class_labels_; }
    // Active alerts per item(cell, alert id): [0] pending, [1] firing.
    const std::unordered_map<std::uint64_t, std::array<std::int64_t, 2>>& alerts() const { return alerts_; }
    // Alerts that started firing, ever, per item(cell, alert id) (monotonic).
    const std::unordered_map<std::uint64_t, std::int64_t>& fired() const { return fired_; }
    // Accounts that reached first value, per cell (monotonic; count_first_value).
    struct first_values {
        std::array<std::int64_t, ttfv_bucket_days.size() + 1> buckets{};  // not cumulative; last is +Inf
        std::int64_t seconds = 0, count = 0;
    };
    const std::unordered_map<std::uint64_t, first_values>& reached_first_value() const { return reached_first_value_; }
    // Alerts acknowledged, per cell (monotonic; count_acked).
    struct ack_times {
        std::array<std::int64_t, ack_bucket_seconds.size() + 1> buckets{};  // not cumulative; last is +Inf
        std::int64_t seconds = 0, count = 0;
    };
    const std::unordered_map<std::uint64_t, ack_times>& acked() const { return acked_; }
    // Accounts activated, per cell (monotonic; count_activated), in the first-value buckets.
    const std::unordered_map<std::uint64_t, first_values>& activations() const { return activations_; }
    // Ticket first-response and resolution times, per cell (monotonic; count_tickets).
    struct ticket_observations {
        std::array<std::int64_t, first_response_bucket_seconds.size() + 1> response_buckets{};  // last is +Inf
        std::int64_t response_seconds = 0, response_count = 0;
        std::array<std::int64_t, resolution_bucket_seconds.size() + 1> resolution_buckets{};
        std::int64_t resolution_seconds = 0, resolution_count = 0;
    };
    const std::unordered_map<std::uint64_t, ticket_observations>& ticket_times_observed() const { return tickets_; }
    // Acquisition spend of the last 90 days per segment label (the company's contribution).
    const std::unordered_map<label_id, money>& spend() const { return spend_; }
    money total_spend() const;
    // Every cell added together.
    cell total() const;
    // An item count summed over every cell (tests).
    static std::int64_t sum_of(const std::unordered_map<std::uint64_t, std::int64_t>& items, label_id id);

private:
    std::unordered_map<std::uint64_t, cell> cells_;
    std::unordered_map<std::uint64_t, std::int64_t> score_bands_;
    std::unordered_map<std::uint64_t, std::int64_t> class_labels_;
    std::unordered_map<std::uint64_t, std::array<std::int64_t, 2>> alerts_;
    std::unordered_map<std::uint64_t, std::int64_t> fired_;
    std::unordered_map<std::uint64_t, first_values> reached_first_value_;
    std::unordered_map<label_id, money> spend_;
    std::unordered_map<std::uint64_t, ack_times> acked_;
    std::unordered_map<std::uint64_t, first_values> activations_;
    std::unordered_map<std::uint64_t, ticket_observations> tickets_;
};

// The derived KPIs, exactly as metrics.md defines them. A ratio whose denominator is 0 is
// NaN (undefined: no cohort, no answers); quick ratio and LTV are +Inf when there is
// growth or value but nothing lost.
double nrr(const cell& c);              // cohort ARR now ÷ cohort ARR then
double grr(const cell& c);              // Σ min(ARR now, ARR then) ÷ cohort ARR then
double logo_churn(const cell& c);       // churned in 30 d ÷ active 30 d ago
double revenue_churn(const cell& c);    // (churn + contraction MRR in 30 d) ÷ MRR 30 d ago
double quick_ratio(const cell& c);      // (new + expansion + reactivation) ÷ (contraction + churn), 30 d
double arpa(const cell& c);             // MRR now ÷ active accounts now
double ltv(const cell& c, double gross_margin);  // ARPA × margin ÷ revenue churn
double nps_score(const std::array<std::int64_t, 3>& answers);  // %promoters − %detractors
double csat_average(const cell& c);
double alignment(const cell& c, std::size_t product);  // active with product ÷ active
// Acquisition over 90 days. CAC = spend ÷ new accounts (NaN without new accounts);
// LTV:CAC = ltv ÷ CAC; CAC payback (months) = CAC ÷ (mean MRR now of the new accounts ×
// gross margin), NaN when that is 0.
double cac(money spend, const cell& c);
double ltv_cac_ratio(money spend, const cell& c, double gross_margin);
double cac_payback_months(money spend, const cell& c, double gross_margin);
// Cost to serve over 90 days (currency): CSM minutes × csm_hourly ÷ 60 + support
// minutes × support_hourly ÷ 60.
double cost_to_serve(const cell& c, const settings& config);
// cost_to_serve ÷ (3 × MRR now): the 90-day cost against the quarter's revenue.
double cost_to_serve_ratio(const cell& c, const settings& config);
// Product-led growth: activated ÷ accounts; converted ÷ accounts on a free plan in 90 days;
// stickiness = users active within a day ÷ users active within 30 days (DAU/MAU).
double activation_ratio(const cell& c);
double free_to_paid_ratio(const cell& c);
double stickiness(const cell& c);

}  // namespace redflag::kpi
