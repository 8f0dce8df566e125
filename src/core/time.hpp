// Time as the engine sees it: UTC instants and durations with millisecond resolution,
// RFC 3339 text, the rule language's compound durations ("1d12h"), and the clock that
// is passed into everything that needs "now" (nothing reads the wall clock directly).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace redflag {

using duration = std::chrono::milliseconds;
using timestamp = std::chrono::sys_time<duration>;

inline constexpr duration seconds_ms{1000};
inline constexpr duration minute{60 * 1000};
inline constexpr duration hour{60 * minute};
inline constexpr duration day{24 * hour};
inline constexpr duration week{7 * day};

inline constexpr timestamp timestamp_min{duration{std::numeric_limits<std::int64_t>::min()}};
inline constexpr timestamp timestamp_max{duration{std::numeric_limits<std::int64_t>::max()}};

// Milliseconds since the Unix epoch, and back: the form used in storage keys and codecs.
constexpr std::int64_t to_millis(timestamp t) { return t.time_since_epoch().count(); }
constexpr timestamp from_millis(std::int64_t ms) { return timestamp{duration{ms}}; }

// Parses an RFC 3339 timestamp: "2026-11-02T09:00:00Z", "2026-11-02T09:00:00.250+01:00".
// A lower-case "t"/"z" and a space between date and time are accepted. Fractions finer
// than a millisecond are truncated. Returns nullopt for anything else.
std::optional<timestamp> parse_rfc3339(std::string_view text);

// "2026-11-02T09:00:00Z"; milliseconds are printed only when non-zero.
std::string format_rfc3339(timestamp t);

// "2026-11-02", the `date` format of message templates.
std::string format_date(timestamp t);

// Parses a compound duration: one or more NUMBER UNIT pairs, units w d h m s ms, largest
// first, e.g. "90d", "1d12h", "30m", "500ms". Returns nullopt for anything else.
std::optional<duration> parse_duration(std::string_view text);

// The canonical compound form: "1d12h", "90d", "0s"; negative durations get a leading '-'.
std::string format_duration(duration d);

// The source of "now". Implementations: system_clock (serve) and manual_clock (test,
// replay, unit tests). Thread-safe for reading.
class clock {
public:
    virtual ~clock() = default;
    virtual timestamp now() const = 0;
};

class system_clock final : public clock {
public:
    timestamp now() const override;
};

// A clock that only moves when told to. Not thread-safe for concurrent set/advance.
class manual_clock final : public clock {
public:
    explicit manual_clock(timestamp start = timestamp{}) : now_(start) {}
    timestamp now() const override { return now_; }
    void set(timestamp t) { now_ = t; }
    void advance(duration d) { now_ += d; }

private:
    timestamp now_;
};

}  // namespace redflag
