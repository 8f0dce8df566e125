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

TEST(DigestSchedule, rejects_bad_specs_and_zones) {
    std::string error;
    EXPECT_FALSE(digest_schedule::parse("weekly 08:00", "UTC", error));
    EXPECT_NE(error.find("daily HH:MM"), std::string::npos);
    EXPECT_FALSE(digest_schedule::parse("daily 24:00", "UTC", error));
    EXPECT_FALSE(digest_schedule::parse("daily 08:00", "Mars/Olympus", error));
    EXPECT_NE(error.find("Mars/Olympus"), std::string::npos);
}

}  // namespace
