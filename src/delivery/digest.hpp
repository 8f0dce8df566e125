// The schedules of an email channel (one owner for both): `digest: "daily HH:MM"` (the
// channel's alerts gathered into one email a day) and `report: "weekly DAY HH:MM"` (the
// weekly report, DAY one of mon tue wed thu fri sat sun). Both forms are accepted for
// both options. Times are wall-clock times in `engine.timezone` (an IANA name such as
// "Europe/Paris"; "UTC" by default). On a day when HH:MM does not exist (the
// spring-forward gap) the instant is the first one after the gap; when it exists twice
// (fall back) the first of the two.
//
// Immutable after parse(); thread-safe. parse() is start-up/reload time and reports
// problems as values.
#pragma once

#include "core/time.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace date {
class time_zone;
}

namespace redflag::delivery {

class digest_schedule {
public:
    // "daily HH:MM" or "weekly DAY HH:MM" in `timezone`; nullopt with `error` for a bad
    // spec or an unknown zone.
    static std::optional<digest_schedule> parse(std::string_view spec, std::string_view timezone, std::string& error);
    // Only the form of `spec` (no zone): empty when it is one of parse()'s, else why not.
    static std::string check_spec(std::string_view spec);

    // The first scheduled instant strictly after `t`.
    timestamp next_after(timestamp t) const;
    // The last scheduled instant at or before `t` (the one due now, or the latest missed).
    timestamp last_at_or_before(timestamp t) const;

    int minute_of_day() const { return minute_of_day_; }
    // 0 (Sunday) to 6 (Saturday) for a weekly schedule; -1 for a daily one.
    int weekday() const { return weekday_; }

    friend bool operator==(const digest_schedule&, const digest_schedule&) = default;

private:
    int minute_of_day_ = 0;
    int weekday_ = -1;
    const date::time_zone* zone_ = nullptr;  // nullptr: UTC
};

}  // namespace redflag::delivery
