// The weekly report a head of CS sends (issue 16; README "The weekly report"): what
// happened in the book over the week (now - 7d, now] and what is coming, computed as a
// value from facts about the accounts and their alert records at one instant.
//
//   facts (gather.hpp: engine state, health history, alert records) ──► build_weekly()
//   ──► weekly_report ──► render.hpp (text, HTML, JSON) ──► GET /v1/reports/weekly,
//   `redflag report weekly`, the email channel's `report:` schedule.
//
// Sections:
//   red_flags      alerts that started firing in the week (any state now), highest ARR first;
//   recovered      alerts that had fired and resolved in the week, highest ARR first;
//   bands_up       accounts whose health band is better than on the day a week ago (the
//                  daily health history), highest ARR first;
//   renewals       renewal_at in (now, now + 90d], soonest first, with health now;
//   onboardings    an `onboarding_completed` milestone in the week, in time order;
//   promoters      the shipped classify `advocacy` says `promoter`, or an NPS answer of
//                  9-10 in (now - 90d, now]; highest ARR first;
//   goals_due      open goals due in (now, now + 7d]; goals_overdue: open, due at or before
//                  now; both soonest first;
//   csms           per CSM: NRR, GRR (cohort: MRR 365 days before > 0) and NPS (answers
//                  in 90 days) now and a week ago, over the CSM's accounts of today.
//
// With a CSM filter, only that CSM's accounts (by csm_email or csm name) and alerts.
// Pure functions, thread-safe; no failure modes.
#pragma once

#include "alerts/record.hpp"
#include "core/time.hpp"
#include "model/account_state.hpp"

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace redflag::report {

inline constexpr duration week = 7 * day;
inline constexpr duration renewal_horizon = 90 * day;
inline constexpr duration promoter_window = 90 * day;
inline constexpr duration nps_window = 90 * day;     // as redflag_nps
inline constexpr duration cohort_window = 365 * day;  // as redflag_nrr / redflag_grr

// A success-plan goal as its latest record (at or before now) has it.
struct goal_fact {
    std::string id;
    std::string title;
    std::optional<timestamp> due_at;
    std::string status;  // open | achieved | missed | dropped
};

// What the report needs of one account.
struct account_facts {
    std::string id, name, csm, csm_email, segment;
    double mrr = 0;  // now
    std::optional<timestamp> renewal_at;
    std::optional<double> health;  // score `health` now; nullopt when null or not defined
    std::string band;              // its band now ("unknown" when null)
    // The health history's point of the day a week ago (UTC day of now - 7d): empty band
    // when there is none (or it predates bands in the history).
    std::optional<double> health_week_ago;
    std::string band_week_ago;
    bool promoter = false;                           // classify `advocacy` says `promoter`
    std::vector<std::pair<timestamp, double>> nps;   // NPS answers (at, score), any age kept
    std::vector<model::mrr_movement> movements;      // MRR history, by time
    std::vector<timestamp> onboarded;                // `onboarding_completed` milestones
    std::vector<goal_fact> goals;                    // each goal's latest record at now
};

struct weekly_input {
    timestamp now{};
    std::string csm;                        // empty: every CSM
    std::vector<std::string> health_bands;  // score health's bands, best first
    std::vector<account_facts> accounts;
    std::vector<alerts::alert_record> alerts;
};

// The account a row is about.
struct account_ref {
    std::string id, name, csm;  // csm: the CSM's email, else name, else empty
    double arr = 0;
    friend bool operator==(const account_ref&, const account_ref&) = default;
};

struct red_flag {
    account_ref account;
    std::string alert_id, rule, severity, state;
    timestamp firing_since{};
};

struct recovery {
    account_ref account;
    std::string alert_id, rule, severity;
    timestamp firing_since{}, resolved_at{};
};

struct band_change {
    account_ref account;
    std::string band_before, band_now;
    std::optional<double> health_before, health_now;
};

struct renewal {
    account_ref account;
    timestamp renewal_at{};
    std::optional<double> health;
    std::string band;
};

struct onboarding {
    account_ref account;
    timestamp at{};
};

struct promoter {
    account_ref account;
    std::optional<double> best_nps;  // the highest answer in 90 days
    bool classified = false;         // by classify `advocacy`
};

struct goal_row {
    account_ref account;
    std::string goal_id, title;
    timestamp due_at{};
};

struct csm_kpis {
    std::string csm;
    std::size_t accounts = 0;
    // nullopt when undefined (no cohort, no answers).
    std::optional<double> nrr, nrr_week_ago, grr, grr_week_ago, nps, nps_week_ago;
};

struct weekly_report {
    timestamp from{}, to{};  // the week (from, to]
    std::string csm;         // the filter, empty for everyone
    std::vector<red_flag> red_flags;
    std::vector<recovery> recovered;
    std::vector<band_change> bands_up;
    std::vector<renewal> renewals;
    std::vector<onboarding> onboardings;
    std::vector<promoter> promoters;
    std::vector<goal_row> goals_due, goals_overdue;
    std::vector<csm_kpis> csms;  // by CSM name
};

// Whether the account belongs to CSM `csm` (its email or name); true for an empty filter.
bool matches(const account_facts& account, const std::string& csm);

weekly_report build_weekly(const weekly_input& in);

}  // namespace redflag::report
