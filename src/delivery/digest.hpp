// The schedule of an email channel's `digest: "daily HH:MM"`: once a day at HH:MM in
// `engine.timezone` (an IANA name such as "Europe/Paris"; "UTC" by default). On a day
// when HH:MM does not exist (the spring-forward gap) the digest goes out at the first
// instant after the gap; when it exists twice (fall back) at the first of the two.
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
    // "daily HH:MM" in `timezone`; nullopt with `error` for a bad spec or an unknown zone.
    static std::optional<digest_schedule> parse(std::string_view spec, std::string_view timezone, std::string& error);

    // The first digest instant strictly after `t`.
    timestamp next_after(timestamp t) const;

    int minute_of_day() const { return minute_of_day_; }

private:
    int minute_of_day_ = 0;
    const date::time_zone* zone_ = nullptr;  // nullptr: UTC
};

}  // namespace redflag::delivery
