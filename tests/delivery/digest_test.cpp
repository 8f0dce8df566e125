#include "delivery/digest.hpp"

#include <gtest/gtest.h>

using namespace redflag;
using namespace redflag::delivery;

namespace {

timestamp at(const char* text) { return *parse_rfc3339(text); }

TEST(DigestSchedule, daily_in_utc) {
    std::string error;
    auto d = digest_schedule::parse("daily 08:00", "UTC", error);
    ASSERT_TRUE(d) << error;
    EXPECT_EQ(d->next_after(at("2026-11-02T07:59:00Z")), at("2026-11-02T08:00:00Z"));
    EXPECT_EQ(d->next_after(at("2026-11-02T08:00:00Z")), at("2026-11-03T08:00:00Z"));
    EXPECT_EQ(d->next_after(at("2026-11-02T23:00:00Z")), at("2026-11-03T08:00:00Z"));
}

TEST(DigestSchedule, daily_in_a_time_zone_across_daylight_saving) {
    std::string error;
    auto d = digest_schedule::parse("daily 08:30", "Europe/Paris", error);
    ASSERT_TRUE(d) << error;
    // Summer (UTC+2) and winter (UTC+1): the wall-clock time stays 08:30.
    EXPECT_EQ(d->next_after(at("2026-07-01T00:00:00Z")), at("2026-07-01T06:30:00Z"));
    EXPECT_EQ(d->next_after(at("2026-10-24T07:00:00Z")), at("2026-10-25T07:30:00Z"));  // the day clocks go back
    EXPECT_EQ(d->next_after(at("2026-12-01T07:29:00Z")), at("2026-12-01T07:30:00Z"));
    // A zone ahead of UTC whose local day has already moved on.
    auto tokyo = digest_schedule::parse("daily 07:00", "Asia/Tokyo", error);
    ASSERT_TRUE(tokyo) << error;
    EXPECT_EQ(tokyo->next_after(at("2026-11-02T21:00:00Z")), at("2026-11-02T22:00:00Z"));
}

TEST(DigestSchedule, a_time_in_the_spring_gap_goes_at_its_end) {
    std::string error;
    auto d = digest_schedule::parse("daily 02:30", "Europe/Paris", error);
    ASSERT_TRUE(d) << error;
    // 2026-03-29: 02:00 local jumps to 03:00 (01:00Z).
    EXPECT_EQ(d->next_after(at("2026-03-28T12:00:00Z")), at("2026-03-29T01:00:00Z"));
}

TEST(DigestSchedule, weekly_in_utc) {
    std::string error;
    auto w = digest_schedule::parse("weekly mon 08:00", "UTC", error);
    ASSERT_TRUE(w) << error;
    EXPECT_EQ(w->weekday(), 1);
    // 2026-11-02 is a Monday.
    EXPECT_EQ(w->next_after(at("2026-11-02T07:59:00Z")), at("2026-11-02T08:00:00Z"));
    EXPECT_EQ(w->next_after(at("2026-11-02T08:00:00Z")), at("2026-11-09T08:00:00Z"));
    EXPECT_EQ(w->next_after(at("2026-11-04T12:00:00Z")), at("2026-11-09T08:00:00Z"));  // a Wednesday
    EXPECT_EQ(w->next_after(at("2026-11-08T23:59:00Z")), at("2026-11-09T08:00:00Z"));  // Sunday night
    auto sun = digest_schedule::parse("weekly sun 23:30", "UTC", error);
    ASSERT_TRUE(sun) << error;
    EXPECT_EQ(sun->next_after(at("2026-11-02T00:00:00Z")), at("2026-11-08T23:30:00Z"));
}

TEST(DigestSchedule, the_last_instant_at_or_before_a_time) {
    std::string error;
    auto w = digest_schedule::parse("weekly mon 08:00", "Europe/Paris", error);
    ASSERT_TRUE(w) << error;
    // Mondays 08:00 in Paris: 2026-11-02 07:00Z (winter), 2026-10-26 07:00Z (the day
    // after clocks went back), 2026-10-19 06:00Z (summer).
    EXPECT_EQ(w->last_at_or_before(at("2026-11-02T07:00:00Z")), at("2026-11-02T07:00:00Z"));  // due now
    EXPECT_EQ(w->last_at_or_before(at("2026-11-02T06:59:59Z")), at("2026-10-26T07:00:00Z"));
    EXPECT_EQ(w->last_at_or_before(at("2026-10-26T06:59:00Z")), at("2026-10-19T06:00:00Z"));
    EXPECT_EQ(w->last_at_or_before(at("2026-11-08T23:00:00Z")), at("2026-11-02T07:00:00Z"));
    auto d = digest_schedule::parse("daily 08:00", "UTC", error);
    ASSERT_TRUE(d) << error;
    EXPECT_EQ(d->last_at_or_before(at("2026-11-02T07:59:00Z")), at("2026-11-01T08:00:00Z"));
    EXPECT_EQ(d->last_at_or_before(at("2026-11-02T08:00:00Z")), at("2026-11-02T08:00:00Z"));
}

TEST(DigestSchedule, weekly_in_a_time_zone_across_daylight_saving) {
    std::string error;
    auto w = digest_schedule::parse("weekly mon 08:00", "Europe/Paris", error);
    ASSERT_TRUE(w) << error;
    // Monday 2026-10-19 (summer, UTC+2), then the clocks go back on Sunday 2026-10-25:
    // Monday 2026-10-26 is at UTC+1. The wall-clock time stays 08:00.
    EXPECT_EQ(w->next_after(at("2026-10-18T12:00:00Z")), at("2026-10-19T06:00:00Z"));
    EXPECT_EQ(w->next_after(at("2026-10-19T06:00:00Z")), at("2026-10-26T07:00:00Z"));
    // Spring: Sunday 2026-03-29 at 02:00 the clocks go forward; a Sunday 02:30 report goes
    // at the end of the gap (03:00 local = 01:00Z), the next Sunday at 02:30 CEST.
    auto gap = digest_schedule::parse("weekly sun 02:30", "Europe/Paris", error);
    ASSERT_TRUE(gap) << error;
    EXPECT_EQ(gap->next_after(at("2026-03-25T00:00:00Z")), at("2026-03-29T01:00:00Z"));
    EXPECT_EQ(gap->next_after(at("2026-03-29T01:00:00Z")), at("2026-04-05T00:30:00Z"));
    // A zone ahead of UTC: Monday 07:00 in Tokyo is Sunday 22:00Z.
    auto tokyo = digest_schedule::parse("weekly mon 07:00", "Asia/Tokyo", error);
    ASSERT_TRUE(tokyo) << error;
    EXPECT_EQ(tokyo->next_after(at("2026-11-08T21:00:00Z")), at("2026-11-08T22:00:00Z"));
    EXPECT_EQ(tokyo->next_after(at("2026-11-08T22:00:00Z")), at("2026-11-15T22:00:00Z"));
}

TEST(DigestSchedule, schedules_compare_by_day_and_time) {
    std::string error;
    auto a = digest_schedule::parse("weekly mon 08:00", "UTC", error);
    auto b = digest_schedule::parse("weekly tue 08:00", "UTC", error);
    auto c = digest_schedule::parse("daily 08:00", "UTC", error);
    ASSERT_TRUE(a && b && c);
    EXPECT_FALSE(*a == *b);
    EXPECT_FALSE(*a == *c);
    EXPECT_TRUE(*a == *digest_schedule::parse("weekly mon 08:00", "UTC", error));
}

TEST(DigestSchedule, rejects_bad_specs_and_zones) {
    std::string error;
    EXPECT_FALSE(digest_schedule::parse("weekly 08:00", "UTC", error));
    EXPECT_NE(error.find("daily HH:MM"), std::string::npos);
    EXPECT_NE(error.find("weekly DAY HH:MM"), std::string::npos);
    EXPECT_FALSE(digest_schedule::parse("weekly monday 08:00", "UTC", error));
    EXPECT_FALSE(digest_schedule::parse("weekly xyz 08:00", "UTC", error));
    EXPECT_FALSE(digest_schedule::parse("weekly mon 08:60", "UTC", error));
    EXPECT_FALSE(digest_schedule::parse("weekly mon 08:00 extra", "UTC", error));
    EXPECT_EQ(digest_schedule::check_spec("weekly fri 17:45"), "");
    EXPECT_NE(digest_schedule::check_spec("monthly 1 08:00"), "");
    EXPECT_FALSE(digest_schedule::parse("daily 24:00", "UTC", error));
    EXPECT_FALSE(digest_schedule::parse("daily 08:00", "Mars/Olympus", error));
    EXPECT_NE(error.find("Mars/Olympus"), std::string::npos);
}

}  // namespace
