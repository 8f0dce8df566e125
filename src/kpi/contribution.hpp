// One account's share of every CS KPI of ../shared/spec/metrics.md at one instant: what
// the account adds to the shard's aggregate (aggregate.hpp). The engine computes it after
// each evaluation of the account, subtracts the account's previous contribution from the
// aggregate and adds the new one, so KPIs follow events without scanning accounts.
//
// Time. A contribution depends on `now` through its windows (30, 90 and 365 days back,
// renewals 30 and 90 days ahead). contribute() returns the next instant at which the
// contribution would change with no new event (a movement, an NPS or CSAT answer leaving
// a window, a renewal entering one); the engine wakes the account then and contributes
// it again. Windows are (now - span, now]; "MRR at t" is the MRR after the last movement
// at or before t, so an event stamped in the future counts from its own instant.
//
// Money is kept in thousandths of the currency unit (std::int64_t), so that adding and
// subtracting contributions millions of times leaves no rounding drift.
//
// Every additive part is kept with the account's current (csm, segment, health band),
// so each KPI can be exposed with those three labels and filtered by them; an account
// that changes CSM, segment or band moves its whole contribution (cohort, 30-day
// movements, open alerts included) to its new cell at its next evaluation.
//
// Pure functions over account state; no failure modes, no allocation beyond the
// contribution's few small vectors.
#pragma once

#include "alerts/alert.hpp"
#include "core/time.hpp"
#include "kpi/labels.hpp"
#include "model/account_state.hpp"
#include "model/goals.hpp"
#include "rules/rule_set.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace redflag::kpi {

using money = std::int64_t;  // thousandths of the currency unit
inline money to_money(double amount) { return static_cast<money>(std::llround(amount * 1000.0)); }
inline double from_money(money m) { return static_cast<double>(m) / 1000.0; }

// The spans of the windows (metrics.md: "12 months" is 365 days).
inline constexpr duration churn_window = 30 * day;
inline constexpr duration voice_window = 90 * day;
inline constexpr duration cohort_window = 365 * day;
inline constexpr duration renewal_near = 30 * day;
inline constexpr duration renewal_far = 90 * day;
inline constexpr duration acquisition_window = 90 * day;  // spend, new accounts, CAC

// redflag_accounts{status}: the profile's status when it is one of events.md's values;
// otherwise "active" while MRR > 0, else "none".
enum class account_status : std::uint8_t { onboarding, active, churned, none };
inline constexpr std::array<std::string_view, 4> account_status_names{"onboarding", "active", "churned", "none"};

// redflag_tickets_open{priority}: events.md's priorities, and "other" for anything else
// a stored log might hold.
inline constexpr std::array<std::string_view, 5> ticket_priority_names{"low", "normal", "high", "urgent", "other"};

// redflag_nps_responses{category}
enum class nps_category : std::uint8_t { promoter, passive, detractor };
inline constexpr std::array<std::string_view, 3> nps_category_names{"promoter", "passive", "detractor"};
constexpr nps_category category_of_nps(double score) {
    return score >= 9 ? nps_category::promoter : score >= 7 ? nps_category::passive : nps_category::detractor;
}

inline constexpr std::size_t movement_kinds = model::movement_kind_names.size();

// redflag_activities_90d{kind}: events.md's activity kinds, and "other" for anything else
// a stored log might hold.
inline constexpr std::array<std::string_view, 7> activity_kind_names{"meeting", "call",     "email", "qbr",
                                                                     "training", "note", "other"};

// redflag_goals{status}: model/goals.hpp says what each status means.
using model::goal_status;
using model::goal_status_names;

// Minutes (activity `minutes`, ticket `handle_minutes`) are kept in thousandths of a
// minute, integers like money, so that sums of contributions do not drift.
using milli_minutes = std::int64_t;
inline milli_minutes to_milli_minutes(double minutes) { return static_cast<milli_minutes>(std::llround(minutes * 1000.0)); }

// Time to first value: upper bounds of the buckets, in days. Exposed in seconds as
// redflag_time_to_first_value_seconds (metrics.md names it ..._days, but Prometheus's
// naming rules, which `promtool check metrics` enforces, want the base unit).
inline constexpr std::array<double, 12> ttfv_bucket_days{1, 3, 7, 14, 21, 30, 45, 60, 90, 120, 180, 365};

// Product-led growth (issue 16). Time to activate (signed_at, or first seen, → the
// `activated` milestone) uses the time-to-first-value buckets. Active users are the
// account's users whose last usage (user_state::last_seen) is within the window.
inline constexpr std::string_view activated_milestone = "activated";
inline constexpr duration daily_window = day;
inline constexpr duration monthly_window = 30 * day;
inline constexpr duration conversion_window = 90 * day;

// Support tickets' first-response and resolution times (histogram buckets, seconds).
// Each ticket is observed once per process, when its first response (or its resolution)
// is first seen within 90 days of it; see contribution::tickets.
inline constexpr duration ticket_window = 90 * day;
inline constexpr std::array<double, 9> first_response_bucket_seconds{900,       3600,      4 * 3600,  8 * 3600, 86400,
                                                                      2 * 86400, 4 * 86400, 7 * 86400, 14 * 86400};
inline constexpr std::array<double, 9> resolution_bucket_seconds{3600,      4 * 3600,  86400,      2 * 86400, 4 * 86400,
                                                                  7 * 86400, 14 * 86400, 30 * 86400, 90 * 86400};

// The configuration the KPIs need (config `kpi:`). Stack products beyond 64 are ignored
// (a contribution keeps one bit per product).
struct settings {
    std::string currency = "USD";
    double gross_margin = 0.8;
    std::vector<std::pair<std::string, double>> stack;  // product, list price per seat and month
    bool per_account_metrics = false;
    std::size_t per_account_limit = 5000;
    std::size_t label_cap = 1000;  // distinct values per label before "other"
    // Cost to serve (kpi.cost): what an hour of a CSM's and of support's time costs.
    double csm_hourly = 0;
    double support_hourly = 0;
    // kpi.free_plans: the plans that are free; a move from one of them to any other plan
    // is a free → paid conversion.
    std::vector<std::string> free_plans;
    bool is_free(std::string_view plan) const {
        return std::find(free_plans.begin(), free_plans.end(), plan) != free_plans.end();
    }
};
inline constexpr std::size_t max_stack_products = 64;

// What the KPIs need of one rule set, resolved once per rule set: where the scores
// `health` and `effort` are, and the label ids of every score band and classification
// label, so that contribute() interns nothing per evaluation.
struct rule_layout {
    const rules::rule_set* rules = nullptr;
    std::optional<std::size_t> health;  // score `health`
    std::optional<std::size_t> effort;  // score `effort` (per-account metrics)
    std::vector<label_id> health_bands;                // band table ids: [0] unknown, [1 + b] band b
    std::vector<std::vector<label_id>> score_bands;    // [score]: [0] unknown, [1 + b] band b
    std::vector<std::vector<label_id>> class_labels;   // [classify][label]
    // Alerts: per rule of the set, its name, severity and alert table id
    // (rule + separator + severity), so an active alert's label costs no lookup.
    struct alert_rule {
        std::string name;
        rules::alert_severity severity{};
        label_id id = 0;
    };
    std::vector<alert_rule> alert_rules;

    rule_layout() = default;
    rule_layout(const rules::rule_set* r, label_caches& labels);
};

// One active alert of the account, as redflag_book_alerts counts it.
struct alert_entry {
    label_id rule_severity = 0;  // label_tables::alert id
    bool firing = false;         // else pending
    bool acknowledged = false;   // so that an ack alone changes the contribution
    friend bool operator==(const alert_entry&, const alert_entry&) = default;
};

// The CSM scorecard's alert parts: redflag_alerts_unacked counts alerts firing for over
// a day without an acknowledgement; redflag_alert_ack_seconds observes, once per alert,
// the time from firing to its first ack (buckets in seconds: 5 min to 7 days).
inline constexpr duration unacked_after = day;
inline constexpr std::array<double, 9> ack_bucket_seconds{300, 900, 3600, 4 * 3600, 12 * 3600, 86400,
                                                          2 * 86400, 4 * 86400, 7 * 86400};

// An acknowledged firing alert: when it was first acknowledged, and after how long.
struct acked_alert {
    label_id rule_severity = 0;
    timestamp first_ack{};
    std::int64_t seconds = 0;  // firing_since → first ack, 0 when acked before firing
    friend bool operator==(const acked_alert&, const acked_alert&) = default;
};

// A ticket of the last 90 days with a first response or a resolution: the times
// aggregate::count_tickets observes once (-1: none yet, or older than the window).
struct ticket_times {
    std::uint64_t ticket = 0;           // fnv1a of its id; contribution::tickets is sorted by it
    std::int64_t first_response = -1;   // opened_at → first_response_at, seconds
    std::int64_t resolution = -1;       // opened_at → its latest event while solved or closed
    friend bool operator==(const ticket_times&, const ticket_times&) = default;
};

struct contribution {
    bool present = false;  // false: contributes nothing (never computed)
    timestamp at{};        // the evaluation instant it was computed at
    // The company's internal account (model::company_account): counts as no account and
    // contributes only `spend`.
    bool company = false;
    // Company only: acquisition spend of the last 90 days per segment label (sorted by id).
    std::vector<std::pair<label_id, money>> spend;

    // Dimensions.
    label_id csm = 0, segment = 0, band = 0;
    account_status status = account_status::none;

    // Revenue now.
    bool active = false;  // MRR now > 0
    money mrr = 0;
    // NRR/GRR: MRR 365 days ago (the account is in the cohort when above 0).
    money mrr_year_ago = 0;
    // Logo and revenue churn, quick ratio: the trailing 30 days.
    money mrr_month_ago = 0;
    bool churned_in_month = false;  // active 30 days ago and a churn movement since
    std::array<money, movement_kinds> moved_in_month{};  // |after - before| by kind
    std::array<money, movement_kinds> moved_total{};     // every movement ever, by kind
    // Acquisition: first MRR > 0 (the `new` movement) in the last 90 days.
    bool new_in_quarter = false;

    // Voice of the customer.
    std::array<std::uint16_t, 3> nps{};  // answers in 90 days by category
    std::uint32_t csat_sum = 0;          // CSAT answers in 90 days
    std::uint16_t csat_count = 0;
    std::array<std::uint16_t, ticket_priority_names.size()> open_tickets{};
    std::int64_t ttfv_seconds = -1;  // signed_at (or first seen) → first_value; -1 none

    // Team and cost to serve over 90 days: activities by kind, the minutes of the
    // activities (CSM time) and of ticket handling (support time).
    std::array<std::uint16_t, activity_kind_names.size()> activities{};
    milli_minutes csm_minutes = 0;
    milli_minutes support_minutes = 0;
    // Success-plan goals by status now (goal_status).
    std::array<std::uint16_t, goal_status_names.size()> goals{};
    // Tickets with a first response or resolution in the last 90 days (count_tickets).
    std::vector<ticket_times> tickets;

    // Product-led growth: the `activated` milestone (kept from `previous` once it has
    // expired from state, like time to first value) and the time to it; on a free plan at
    // some point of the last 90 days, and moved from a free plan to a paid one in them;
    // users whose last usage is within 1 and 30 days.
    std::int64_t activate_seconds = -1;  // -1: not activated
    bool free_in_quarter = false;
    bool converted_in_quarter = false;
    std::uint32_t users_day = 0;
    std::uint32_t users_month = 0;
    bool activated() const { return activate_seconds >= 0; }

    // Renewals: ARR renewing within 30 days counts in both spans.
    bool renews_within_near = false;  // renewal_at in (now, now + 30d]
    bool renews_within_far = false;   // renewal_at in (now, now + 90d]

    // Stack: bit i set when the account has settings.stack[i]; seats for opportunity.
    std::uint64_t products = 0;
    double seats = 0;

    // redflag_score / redflag_classification: one label id per score, per classify.
    std::vector<label_id> score_bands;
    std::vector<label_id> class_labels;

    // Active (pending or firing) alerts, in the account's alert_set order.
    std::vector<alert_entry> alerts;
    // Alerts that started firing at `at` (firing_since == at). Counted once into
    // redflag_book_alerts_fired_total by aggregate::count_fired, outside the
    // subtract-and-add of contributions (a counter never goes down).
    std::vector<label_id> fired;
    // Firing for over `unacked_after` without an ack; and the acknowledged active alerts
    // (aggregate::count_acked observes each once).
    std::uint16_t unacked = 0;
    std::vector<acked_alert> acked;

    // Per-account metrics: value (MRR now) and effort (score `effort`, NaN when null).
    double effort = std::numeric_limits<double>::quiet_NaN();

    money arr() const { return 12 * mrr; }
    money arr_year_ago() const { return 12 * mrr_year_ago; }
    bool in_cohort() const { return mrr_year_ago > 0; }
};

// What contribute() reads of one evaluated account (engine::account_record's parts).
struct account_input {
    const model::account_state& state;
    std::span<const double> scores;        // per score of the rule set, NaN when null
    std::span<const std::int16_t> bands;   // per score, -1 "unknown"
    std::span<const std::uint16_t> classes;
    std::span<const alerts::alert> alerts = {};  // the account's active alerts after the evaluation
};

// The account's active alerts as alert entries (into `out`, cleared first).
void alert_entries(std::span<const alerts::alert> active, const rule_layout& layout, label_caches& labels,
                   std::vector<alert_entry>& out);

// The account's users whose last usage is in (now - 1 d, now] and (now - 30 d, now]
// (redflag_active_users_1d / _30d). O(users), no allocation. With `next`, also the
// earliest instant after now at which the counts change with no new event (a user's last
// usage leaving a window, or a usage stamped after now coming due); timestamp_max if none.
struct active_users {
    std::uint32_t day = 0, month = 0;
    friend bool operator==(const active_users&, const active_users&) = default;
};
active_users count_active_users(const model::account_state& s, timestamp now, timestamp* next = nullptr);

// The account's MRR after its last movement at or before `t` (0 before any).
double mrr_at(const std::vector<model::mrr_movement>& movements, timestamp t);

// When a contribution changes with time alone, the active-user counts apart from the
// rest: each user's last usage leaves the 1-day window a day later, so with users active
// daily a user edge passes before nearly every event of the account, while the other
// edges (movements, answers, renewals...) are rare. The tracker recomputes only the two
// counts (count_active_users) when only a user edge has passed.
struct next_changes {
    timestamp users = timestamp_max;   // the active-user counts (users_day, users_month)
    timestamp others = timestamp_max;  // every other part of the contribution
    timestamp earliest() const { return std::min(users, others); }
};

// Computes `out` (the account's contribution at `now`) and returns the next instant after
// `now` at which it changes with no new event, timestamp_max when never; with `split`,
// also that instant for the active-user counts and for the rest apart. `previous` is the
// account's last contribution: time to first value is kept from it when the milestone
// has since expired from state (retention).
timestamp contribute(const account_input& account, timestamp now, const settings& config, const rule_layout& layout,
                     label_caches& labels, const contribution& previous, contribution& out,
                     next_changes* split = nullptr);

}  // namespace redflag::kpi
