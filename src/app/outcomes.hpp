// `redflag replay --outcomes`: how a rule's alerts compare with what happened afterwards
// in the same event log (../shared/spec/cli.md, "replay"). Two parts:
//  - compute_outcomes(), pure arithmetic over the alert firings, each account's churn
//    and contraction instants and the observation window, and its renderings as a text
//    table and as JSON;
//  - outcomes_observer, the replay_observer that gathers those inputs during a replay
//    (firings from the engine's transitions; churns and contractions from the contract
//    events, classified by model::account_state exactly as the engine and the KPIs do).
//
// Definitions (W is the outcome window, 90 days):
//  - An alert is a transition into `firing`. Pending alerts, repeats and resolutions
//    are not alerts. Only alerts inside the observation window count.
//  - The observation window is [--from, or the first event; --until, or the last event].
//  - An alert at t is *followed* when its account churns or contracts in (t, t + W].
//  - An alert is *judged* when t + W is inside the observation window (t <= end - W):
//    for later alerts the log cannot tell yet, so precision leaves them out.
//  - precision: of the accounts with a judged alert of the rule, the share with a
//    followed one. alert_precision: of the judged alerts, the share followed.
//  - A churn at c (a `churn` movement: MRR to 0, or status `churned`) inside the window
//    is *caught* by a rule when one of the rule's alerts on that account was firing at
//    some instant of [c - W, c): it started before c, after the account's previous churn
//    if any, and had not resolved by c - W. (So a flag raised 120 days ahead and still
//    firing in the last quarter counts; one that came and went half a year before does
//    not.) Its lead time is c minus the start of the earliest such alert.
//    recall: caught churns ÷ churns; recall_ahead: churns caught at least 30 days ahead.
//    median_lead_days: the median lead over caught churns.
//  - noise: alerts ÷ account-months, where an account is observed from its first event
//    (or --from) to the end of the window, and a month is 365.25 / 12 days.
//  - A rule labelled `indicator = "lagging"` reports a customer's decision (a
//    cancellation, a churn) rather than warning of it: it gets its own row, marked, and
//    is left out of the combined row, which treats every other rule as one: an account
//    is alerted when any of them fires.
//
// Not thread-safe. compute_outcomes never fails; the observer's finish() fails (false,
// with a message) only when the JSON file cannot be written.
#pragma once

#include "app/replay.hpp"
#include "model/account_state.hpp"

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace redflag::app {

struct outcome_rule {
    std::string name;
    bool lagging = false;  // labelled indicator = "lagging": excluded from the combined row
};

struct outcome_firing {
    std::size_t rule = 0;     // index into outcome_input::rules
    std::size_t account = 0;  // index into outcome_input::accounts
    timestamp at{};           // when it started firing
    std::optional<timestamp> resolved;  // unset: still firing at the end
};

struct outcome_account {
    std::string id;
    timestamp first_seen{};
    std::vector<timestamp> churns;        // sorted
    std::vector<timestamp> contractions;  // sorted
};

struct outcome_input {
    std::vector<outcome_rule> rules;
    std::vector<outcome_firing> firings;  // any order
    std::vector<outcome_account> accounts;
    timestamp from{};  // the observation window, both ends included
    timestamp until{};
};

struct outcome_options {
    duration window = 90 * day;  // alert → churn or contraction, for precision and recall
    duration ahead = 30 * day;   // the lead that counts as "ahead" (recall_ahead)
};

struct outcome_row {
    std::string rule;  // a rule's name, or "(combined)"
    bool lagging = false;
    std::size_t alerts = 0;
    std::size_t alerted_accounts = 0;
    std::size_t judged_accounts = 0;    // accounts with a judged alert
    std::size_t followed_accounts = 0;  // of those, accounts with a followed judged alert
    std::size_t judged_alerts = 0;
    std::size_t followed_alerts = 0;
    std::size_t caught = 0;        // churns caught
    std::size_t caught_ahead = 0;  // churns caught at least `ahead` before
    std::optional<double> precision;        // null when no alert was judged
    std::optional<double> alert_precision;  // likewise
    std::optional<double> recall;           // null when nothing churned
    std::optional<double> recall_ahead;
    std::optional<double> median_lead_days;  // null when no churn was caught
    double alerts_per_account_month = 0;
};

struct outcome_report {
    outcome_options options;
    timestamp from{};
    timestamp until{};
    std::size_t accounts = 0;
    double account_months = 0;
    std::size_t churns = 0;        // inside the window
    std::size_t contractions = 0;  // inside the window
    std::vector<outcome_row> rules;  // in the rule set's order
    outcome_row combined;            // every rule that is not lagging
};

outcome_report compute_outcomes(const outcome_input& input, const outcome_options& options = {});

// A fixed-width table for people, with a header line and a legend.
std::string render_table(const outcome_report& report);
// One JSON object: {"from","until","window_days","ahead_days","accounts","account_months",
// "churns","contractions","rules":[row...],"combined":row}; nulls where a ratio is undefined.
std::string render_json(const outcome_report& report);

// Gathers the inputs of compute_outcomes during a replay and writes the report at the
// end: the table to `err` (standard error, so that standard output stays the replay's
// NDJSON transitions), and the JSON to the file `json_path` when it is not empty.
class outcomes_observer final : public replay_observer {
public:
    outcomes_observer(std::optional<timestamp> from, std::optional<timestamp> until, std::string json_path,
                      outcome_options options = {});

    void on_rules(std::span<const rules::rule_definition> rules) override;
    void on_event(const model::event& e) override;
    void on_alert(const alerts::alert_event& e) override;
    bool finish(std::ostream& out, std::ostream& err) override;

    // The inputs gathered so far (for tests).
    outcome_input input() const;

private:
    struct account_track {
        std::size_t index = 0;
        timestamp first_seen{};
        model::account_state contracts;  // fed the account's contract events only
    };
    account_track& track(const std::string& account, timestamp at);

    std::optional<timestamp> from_;
    std::optional<timestamp> until_;
    std::string json_path_;
    outcome_options options_;
    std::vector<outcome_rule> rules_;
    std::unordered_map<std::string, account_track> accounts_;  // index: order of first event
    std::vector<outcome_firing> firings_;
    // The firing alert of each (rule, account index), as an index into firings_.
    std::map<std::pair<std::size_t, std::size_t>, std::size_t> open_;
    std::optional<timestamp> first_event_;
    std::optional<timestamp> last_event_;
};

}  // namespace redflag::app
