#include "ingest/adapters/hook_codec.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

using namespace redflag;
using namespace redflag::ingest::adapters;

namespace {
const timestamp t0 = *parse_rfc3339("2026-11-01T00:00:00Z");
}

TEST(HookCodec, customer_keys_mark_people) {
    EXPECT_EQ(codec::customer_key({"stripe", "customer", "cus_1"}), "cus_1");
    EXPECT_EQ(codec::customer_key({"zendesk", "user", "42"}), "user:42");
}

TEST(HookCodec, external_id_keys_round_trip_and_reject_malformed_keys) {
    auto key = codec::external_id_key("stripe", "cus_1");
    EXPECT_EQ(key, std::string("stripe\0cus_1", 12));
    std::string vendor, customer;
    ASSERT_TRUE(codec::parse_external_id_key(key, vendor, customer));
    EXPECT_EQ(vendor, "stripe");
    EXPECT_EQ(customer, "cus_1");
    EXPECT_FALSE(codec::parse_external_id_key("stripe", vendor, customer));
    EXPECT_FALSE(codec::parse_external_id_key(std::string("\0x", 2), vendor, customer));
    EXPECT_FALSE(codec::parse_external_id_key(std::string("s\0", 2), vendor, customer));
}

TEST(HookCodec, unmatched_keys_round_trip_and_sort_by_customer_then_time_before_1970_too) {
    const std::vector<timestamp> times{from_millis(-5000), from_millis(0), t0, t0 + 1 * seconds_ms};
    std::vector<std::string> keys;
    for (auto it = times.rbegin(); it != times.rend(); ++it) keys.push_back(codec::unmatched_key("stripe", "cus_1", *it, "stripe:evt_9"));
    keys.push_back(codec::unmatched_key("stripe", "cus_0", t0 + 10 * seconds_ms, "stripe:evt_1"));
    std::sort(keys.begin(), keys.end());
    EXPECT_TRUE(keys[0].starts_with(codec::unmatched_prefix("stripe", "cus_0")));
    for (std::size_t i = 0; i < times.size(); ++i) {
        auto parts = codec::parse_unmatched_key(keys[i + 1]);
        ASSERT_TRUE(parts);
        EXPECT_EQ(parts->vendor, "stripe");
        EXPECT_EQ(parts->customer, "cus_1");
        EXPECT_EQ(parts->at, times[i]);
        EXPECT_EQ(parts->id, "stripe:evt_9");
    }
    // A customer's prefix does not select a customer whose key extends it.
    EXPECT_FALSE(codec::unmatched_key("stripe", "cus_10", t0, "x").starts_with(codec::unmatched_prefix("stripe", "cus_1")));
    EXPECT_FALSE(codec::parse_unmatched_key("stripe"));
    EXPECT_FALSE(codec::parse_unmatched_key(codec::unmatched_prefix("stripe", "cus_1") + "short"));
}

TEST(HookCodec, unmatched_values_keep_the_receive_time_and_the_event_bytes) {
    auto v = codec::unmatched_value(t0, R"({"type":"contract"})");
    timestamp received{};
    std::string_view bytes;
    ASSERT_TRUE(codec::parse_unmatched_value(v, received, bytes));
    EXPECT_EQ(received, t0);
    EXPECT_EQ(bytes, R"({"type":"contract"})");
    EXPECT_FALSE(codec::parse_unmatched_value("1234", received, bytes));
}
