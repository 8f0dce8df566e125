#include "delivery/digest.hpp"

#include <date/tz.h>

#include <cstdio>
#include <exception>

namespace redflag::delivery {

std::optional<digest_schedule> digest_schedule::parse(std::string_view spec, std::string_view timezone,
                                                      std::string& error) {
    int hh = -1, mm = -1;
    char extra = 0;
    std::string text(spec);
    if (std::sscanf(text.c_str(), "daily %d:%d%c", &hh, &mm, &extra) != 2 || hh < 0 || hh > 23 || mm < 0 || mm > 59) {
        error = "digest must be \"daily HH:MM\", not \"" + text + "\"";
        return std::nullopt;
    }
    digest_schedule s;
    s.minute_of_day_ = hh * 60 + mm;
    if (!timezone.empty() && timezone != "UTC" && timezone != "Etc/UTC") {
        try {
            s.zone_ = date::locate_zone(timezone);
        } catch (const std::exception& e) {  // the tz library reports an unknown zone by throwing
            error = "unknown time zone \"" + std::string(timezone) + "\": " + e.what();
            return std::nullopt;
        }
    }
    return s;
}

timestamp digest_schedule::next_after(timestamp t) const {
    using namespace std::chrono;
    const auto offset = minutes(minute_of_day_);
    if (!zone_) {
        auto day_start = floor<days>(t);
        timestamp candidate = day_start + offset;
        if (candidate <= t) candidate += days(1);
        return candidate;
    }
    // Walk local days from the day before `t` (a zone ahead of UTC may still be there).
    auto local = zone_->to_local(t);
    auto local_day = floor<days>(local) - days(1);
    for (int i = 0; i < 4; ++i, local_day += days(1)) {
        date::local_time<duration> wanted{(local_day + offset).time_since_epoch()};
        auto info = zone_->get_info(wanted);
        timestamp candidate;
        if (info.result == date::local_info::nonexistent)
            candidate = time_point_cast<duration>(info.first.end);  // the instant the gap ends
        else
            candidate = time_point_cast<duration>(sys_time<duration>{wanted.time_since_epoch()} - info.first.offset);
        if (candidate > t) return candidate;
    }
    return t + day;  // unreachable for real zones
}

}  // namespace redflag::delivery
