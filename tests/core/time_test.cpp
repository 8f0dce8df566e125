#include "core/time.hpp"

#include <gtest/gtest.h>

using namespace redflag;

TEST(Time, parses_rfc3339_with_zone_and_fraction) {
    auto t = parse_rfc3339("2026-11-02T09:00:00Z");
    ASSERT_TRUE(t);
    EXPECT_EQ(format_rfc3339(*t), "2026-11-02T09:00:00Z");
    auto shifted = parse_rfc3339("2026-11-02T10:30:00.250+01:30");
    ASSERT_TRUE(shifted);
    EXPECT_EQ(*shifted - *t, duration{250});
    EXPECT_EQ(format_rfc3339(*shifted), "2026-11-02T09:00:00.250Z");
}

TEST(Time, rejects_malformed_timestamps) {
    for (auto bad : {"2026-11-02", "2026-13-02T09:00:00Z", "2026-02-30T09:00:00Z", "2026-11-02T09:00:00",
                     "2026-11-02T25:00:00Z", "2026-11-02T09:00:00Zjunk", "2026-11-02T09:00:00.Z"})
        EXPECT_FALSE(parse_rfc3339(bad)) << bad;
}

TEST(Time, parses_compound_durations_largest_unit_first) {
    EXPECT_EQ(parse_duration("90d"), 90 * day);
    EXPECT_EQ(parse_duration("1d12h"), day + 12 * hour);
    EXPECT_EQ(parse_duration("2w"), 2 * week);
    EXPECT_EQ(parse_duration("30m"), 30 * minute);
    EXPECT_EQ(parse_duration("500ms"), duration{500});
    EXPECT_FALSE(parse_duration("12h1d"));
    EXPECT_FALSE(parse_duration("1d1d"));
    EXPECT_FALSE(parse_duration("d"));
    EXPECT_FALSE(parse_duration("5y"));
    EXPECT_FALSE(parse_duration(""));
}

TEST(Time, formats_durations_canonically) {
    EXPECT_EQ(format_duration(day + 12 * hour), "1d12h");
    EXPECT_EQ(format_duration(14 * day), "14d");
    EXPECT_EQ(format_duration(duration{0}), "0s");
    EXPECT_EQ(format_duration(-hour), "-1h");
}

TEST(Time, manual_clock_moves_only_when_told) {
    manual_clock clock{from_millis(1000)};
    EXPECT_EQ(to_millis(clock.now()), 1000);
    clock.advance(seconds_ms);
    EXPECT_EQ(to_millis(clock.now()), 2000);
}
