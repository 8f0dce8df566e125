#include "core/time.hpp"

#include <date/date.h>

#include <charconv>
#include <cstdio>

namespace redflag {
namespace {

bool read_digits(std::string_view text, std::size_t& pos, std::size_t count, int& out) {
    if (pos + count > text.size()) return false;
    int value = 0;
    for (std::size_t i = 0; i < count; ++i) {
        char c = text[pos + i];
        if (c < '0' || c > '9') return false;
        value = value * 10 + (c - '0');
    }
    pos += count;
    out = value;
    return true;
}

bool expect(std::string_view text, std::size_t& pos, char c) {
    if (pos >= text.size() || text[pos] != c) return false;
    ++pos;
    return true;
}

}  // namespace

std::optional<timestamp> parse_rfc3339(std::string_view text) {
    std::size_t pos = 0;
    int year = 0, month = 0, mday = 0, hh = 0, mm = 0, ss = 0;
    if (!read_digits(text, pos, 4, year) || !expect(text, pos, '-') ||
        !read_digits(text, pos, 2, month) || !expect(text, pos, '-') ||
        !read_digits(text, pos, 2, mday))
        return std::nullopt;
    if (pos >= text.size() || (text[pos] != 'T' && text[pos] != 't' && text[pos] != ' '))
        return std::nullopt;
    ++pos;
    if (!read_digits(text, pos, 2, hh) || !expect(text, pos, ':') || !read_digits(text, pos, 2, mm) ||
        !expect(text, pos, ':') || !read_digits(text, pos, 2, ss))
        return std::nullopt;
    int millis = 0;
    if (pos < text.size() && text[pos] == '.') {
        ++pos;
        std::size_t digits = 0;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
            if (digits < 3) millis = millis * 10 + (text[pos] - '0');
            ++digits;
            ++pos;
        }
        if (digits == 0) return std::nullopt;
        for (std::size_t d = digits; d < 3; ++d) millis *= 10;
    }
    int offset_minutes = 0;
    if (pos >= text.size()) return std::nullopt;
    if (text[pos] == 'Z' || text[pos] == 'z') {
        ++pos;
    } else if (text[pos] == '+' || text[pos] == '-') {
        int sign = text[pos] == '-' ? -1 : 1;
        ++pos;
        int oh, om;
        if (!read_digits(text, pos, 2, oh) || !expect(text, pos, ':') || !read_digits(text, pos, 2, om))
            return std::nullopt;
        if (oh > 23 || om > 59) return std::nullopt;
        offset_minutes = sign * (oh * 60 + om);
    } else {
        return std::nullopt;
    }
    if (pos != text.size()) return std::nullopt;
    if (month < 1 || month > 12 || hh > 23 || mm > 59 || ss > 60) return std::nullopt;
    date::year_month_day ymd{date::year{year}, date::month{static_cast<unsigned>(month)},
                             date::day{static_cast<unsigned>(mday)}};
    if (!ymd.ok()) return std::nullopt;
    auto days = date::sys_days{ymd};
    // A leap second (":60") is folded onto the next second, as POSIX time does.
    auto t = timestamp{days} + std::chrono::hours{hh} + std::chrono::minutes{mm} +
             std::chrono::seconds{ss} + duration{millis} - std::chrono::minutes{offset_minutes};
    return t;
}

std::string format_rfc3339(timestamp t) {
    auto days = std::chrono::floor<date::days>(t);
    date::year_month_day ymd{days};
    date::hh_mm_ss<duration> tod{t - days};
    char buffer[40];
    int ms = static_cast<int>(tod.subseconds().count());
    if (ms != 0)
        std::snprintf(buffer, sizeof buffer, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", int(ymd.year()),
                      unsigned(ymd.month()), unsigned(ymd.day()), int(tod.hours().count()),
                      int(tod.minutes().count()), int(tod.seconds().count()), ms);
    else
        std::snprintf(buffer, sizeof buffer, "%04d-%02u-%02uT%02d:%02d:%02dZ", int(ymd.year()),
                      unsigned(ymd.month()), unsigned(ymd.day()), int(tod.hours().count()),
                      int(tod.minutes().count()), int(tod.seconds().count()));
    return buffer;
}

std::string format_date(timestamp t) {
    date::year_month_day ymd{std::chrono::floor<date::days>(t)};
    char buffer[16];
    std::snprintf(buffer, sizeof buffer, "%04d-%02u-%02u", int(ymd.year()), unsigned(ymd.month()),
                  unsigned(ymd.day()));
    return buffer;
}

std::optional<duration> parse_duration(std::string_view text) {
    if (text.empty()) return std::nullopt;
    struct unit { std::string_view name; duration size; };
    static constexpr unit units[] = {{"w", week},   {"d", day},         {"h", hour},
                                     {"m", minute}, {"s", seconds_ms}, {"ms", duration{1}}};
    duration total{0};
    std::size_t pos = 0;
    int last_unit = -1;
    while (pos < text.size()) {
        std::int64_t number = 0;
        auto [end, ec] = std::from_chars(text.data() + pos, text.data() + text.size(), number);
        if (ec != std::errc{} || end == text.data() + pos || number < 0) return std::nullopt;
        pos = static_cast<std::size_t>(end - text.data());
        int found = -1;
        // "ms" must be tried before "m".
        if (text.substr(pos, 2) == "ms") found = 5;
        else
            for (int i = 0; i < 5; ++i)
                if (text.substr(pos, 1) == units[i].name) found = i;
        if (found < 0 || found <= last_unit) return std::nullopt;  // units largest first, once
        pos += units[found].name.size();
        total += units[found].size * number;
        last_unit = found;
    }
    return total;
}

std::string format_duration(duration d) {
    if (d == duration{0}) return "0s";
    std::string out;
    if (d < duration{0}) {
        out += '-';
        d = -d;
    }
    struct unit { const char* name; duration size; };
    static constexpr unit units[] = {{"d", day}, {"h", hour}, {"m", minute}, {"s", seconds_ms}, {"ms", duration{1}}};
    for (const auto& u : units) {
        auto n = d / u.size;
        if (n > 0) {
            out += std::to_string(n);
            out += u.name;
            d -= u.size * n;
        }
    }
    return out;
}

timestamp system_clock::now() const {
    return std::chrono::time_point_cast<duration>(std::chrono::system_clock::now());
}

}  // namespace redflag
