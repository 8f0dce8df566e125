// Success-plan goals (event type `goal`, ../shared/spec/events.md): each goal's state is
// its latest record (by `at`) in the account's goal stream, at a given instant. One owner
// for what "open", "achieved", "missed" and "overdue" mean, read by the KPIs
// (redflag_goals) and the rule language (goals.overdue, goals.achieved).
//
// Goals live in the stream records of account_state, so they follow its retention: a goal
// whose latest event is older than storage.retention is forgotten (README, "Goals").
//
// Pure functions; no allocation; no failure modes.
#pragma once

#include "core/time.hpp"
#include "model/account_state.hpp"

#include <array>
#include <cstdint>
#include <string_view>

namespace redflag::model {

// A goal's status now: its latest status, except that an open goal whose due_at is at or
// before now is missed (metrics.md, redflag_goals).
enum class goal_status : std::uint8_t { open, achieved, missed, dropped };
inline constexpr std::array<std::string_view, 4> goal_status_names{"open", "achieved", "missed", "dropped"};

struct goal_counts {
    std::array<std::uint16_t, goal_status_names.size()> by_status{};
    std::uint16_t overdue = 0;  // open past due: counted in by_status[missed] too

    std::uint16_t of(goal_status s) const { return by_status[static_cast<std::size_t>(s)]; }
};

// The account's goals at `now`: each goal's latest record at or before now. The next
// instant after now at which the counts change with no new event (a due_at passing, a
// record stamped in the future coming due) is `next`, timestamp_max when never.
goal_counts count_goals(const account_state& state, timestamp now, timestamp& next);

}  // namespace redflag::model
