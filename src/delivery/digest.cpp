#include "delivery/digest.hpp"

#include <date/tz.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <exception>

namespace redflag::delivery {
namespace {

constexpr std::array<const char*, 7> weekday_names{"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

// "HH:MM" at the start of `text` with nothing after it → minutes of the day; -1 otherwise.
int read_time(const char* text) {
    int hh = -1, mm = -1;
    char extra = 0;
    if (std::sscanf(text, "%d:%d%c", &hh, &mm, &extra) != 2 || hh < 0 || hh > 23 || mm < 0 || mm > 59) return -1;
    return hh * 60 + mm;
}

// The (minute of day, weekday or -1) of `spec`, or nullopt.
std::optional<std::pair<int, int>> read_spec(const std::string& spec) {
    if (spec.rfind("daily ", 0) == 0) {
        int m = read_time(spec.c_str() + 6);
        if (m < 0) return std::nullopt;
        return std::pair{m, -1};
    }
    if (spec.rfind("weekly ", 0) == 0 && spec.size() > 11 && spec[10] == ' ') {
        for (int d = 0; d < 7; ++d)
            if (spec.compare(7, 3, weekday_names[d]) == 0) {
                int m = read_time(spec.c_str() + 11);
                if (m < 0) return std::nullopt;
                return std::pair{m, d};
            }
    }
    return std::nullopt;
}

}  // namespace

std::string digest_schedule::check_spec(std::string_view spec) {
    if (read_spec(std::string(spec))) return {};
    return "must be \"daily HH:MM\" or \"weekly DAY HH:MM\" (DAY: mon tue wed thu fri sat sun), not \"" +
           std::string(spec) + "\"";
}

std::optional<digest_schedule> digest_schedule::parse(std::string_view spec, std::string_view timezone,
                                                      std::string& error) {
    auto read = read_spec(std::string(spec));
    if (!read) {
        error = "schedule " + check_spec(spec);
        return std::nullopt;
    }
    digest_schedule s;
    s.minute_of_day_ = read->first;
    s.weekday_ = read->second;
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
    auto wanted_day = [&](auto local_day) {
        return weekday_ < 0 || date::weekday(local_day).c_encoding() == static_cast<unsigned>(weekday_);
    };
    if (!zone_) {
        auto d = floor<days>(t);
        for (int i = 0; i < 9; ++i, d += days(1)) {
            if (!wanted_day(date::sys_days(d.time_since_epoch()))) continue;
            timestamp candidate = d + offset;
            if (candidate > t) return candidate;
        }
        return t + day;  // unreachable
    }
    // Walk local days from the day before `t` (a zone ahead of UTC may still be there).
    auto local = zone_->to_local(t);
    auto local_day = floor<days>(local) - days(1);
    for (int i = 0; i < 10; ++i, local_day += days(1)) {
        if (!wanted_day(date::local_days(local_day.time_since_epoch()))) continue;
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

timestamp digest_schedule::last_at_or_before(timestamp t) const {
    // Instants are at most a week (and a daylight-saving hour) apart: walk forward from
    // eight days before `t`.
    timestamp last = next_after(t - 8 * day);
    for (auto next = next_after(last); next <= t; next = next_after(next)) last = next;
    return last;
}

}  // namespace redflag::delivery
