// "Health development vs our actions" (the reporting guide; issue 16): one account's
// daily health next to what the team did (activity events) and what its alerts did
// (started firing, were acknowledged, resolved) on the same days, over (from, to].
//
//   facts: the health history's points (engine/history), the account's activity
//   records (its state), its alert records  ──► build_account() ──► account_report
//   ──► to_json / render_text (GET /v1/reports/account/{id}, `redflag report account ID`)
//
// Days are UTC calendar days, oldest first; a day appears when it has a history point,
// an activity or an alert change. Pure functions, thread-safe; no failure modes.
#pragma once

#include "alerts/record.hpp"
#include "core/time.hpp"
#include "engine/history.hpp"
#include "model/account_state.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace redflag::report {

struct activity {
    timestamp at{};
    std::string kind, by, note;
    std::optional<double> minutes;
};

struct alert_change {
    timestamp at{};
    std::string alert_id, rule, severity;
    std::string what;  // "fired", "acknowledged by NAME", "resolved"
};

struct account_day {
    std::int64_t day = 0;  // days since 1970-01-01 (UTC)
    std::optional<double> health;
    std::string band;  // empty when the day has no point or the point no band
    std::vector<activity> activities;
    std::vector<alert_change> alerts;
};

struct account_report {
    std::string account, name;
    timestamp from{}, to{};
    std::vector<account_day> days;
};

// The account's activity records (state streams) with at in (from, to].
std::vector<activity> activities_of(const model::account_state& state, timestamp from, timestamp to);

account_report build_account(std::string account, std::string name, timestamp from, timestamp to,
                             const std::vector<engine::history::point>& history, const std::vector<activity>& activities,
                             const std::vector<alerts::alert_record>& alert_records);

boost::json::object to_json(const account_report& r);
std::string render_text(const account_report& r);

}  // namespace redflag::report
