#include "delivery/outbox.hpp"

#include "support.hpp"

#include <gtest/gtest.h>

using namespace redflag;
using namespace redflag::delivery;
using namespace redflag::delivery::testing;
using namespace std::chrono_literals;

namespace {

TEST(Outbox, an_entry_round_trips_through_its_stored_form) {
    auto n = make_notification("a1", 3, notice_kind::acknowledged, "slack", t0, t0 + 5ms);
    n.ack_by = "liam";
    n.ack_comment = "on it";
    n.resolved_at = t0 + 1h;
    n.recipient = "dana@vendor.example";
    n.account_url = "https://crm/acme";
    auto e = make_entry(n);
    e.outcome = delivery_outcome::retry;
    e.attempts = 2;
    e.next_attempt = t0 + 3s;
    e.last_error = "HTTP 503";
    std::string why;
    auto back = parse_entry(e.storage_key, serialize(e), &why);
    ASSERT_TRUE(back) << why;
    EXPECT_EQ(*back, e);
}

TEST(Outbox, rejects_malformed_records) {
    std::string why;
    EXPECT_FALSE(parse_entry("k", "not json", &why));
    EXPECT_FALSE(parse_entry("k", R"({"outcome":"sent"})", &why));
    EXPECT_NE(why.find("notification"), std::string::npos);
    auto e = make_entry(make_notification("a1", 1, notice_kind::firing, "slack", t0, t0));
    auto text = serialize(e);
    auto bad = text;
    bad.replace(bad.find("\"pending\""), 9, "\"maybe\"");
    EXPECT_FALSE(parse_entry(e.storage_key, bad, &why));
    EXPECT_NE(why.find("outcome"), std::string::npos) << why;
}

TEST(Outbox, an_alerts_keys_share_a_prefix_and_sort_by_time) {
    auto first = outbox_key("a1", t0, "a1-1", "slack");
    auto later = outbox_key("a1", t0 + 1s, "a1-2", "slack");
    auto other_channel = outbox_key("a1", t0, "a1-1", "mail");
    auto other_alert = outbox_key("a10", t0, "a10-1", "slack");
    EXPECT_EQ(first.rfind(alert_prefix("a1"), 0), 0u);
    EXPECT_EQ(later.rfind(alert_prefix("a1"), 0), 0u);
    EXPECT_NE(other_alert.rfind(alert_prefix("a1"), 0), 0u);  // "a10" is not under "a1"
    EXPECT_LT(first, later);
    EXPECT_NE(first, other_channel);
}

TEST(Outbox, history_shows_outcome_attempts_error_and_sent_at) {
    auto e = make_entry(make_notification("a1", 1, notice_kind::firing, "slack", t0, t0));
    e.outcome = delivery_outcome::sent;
    e.attempts = 2;
    e.last_error = "";
    e.sent_at = t0 + 2s;
    auto h = history_json(e);
    EXPECT_EQ(h.at("key"), "a1-1");
    EXPECT_EQ(h.at("channel"), "slack");
    EXPECT_EQ(h.at("kind"), "firing");
    EXPECT_EQ(h.at("outcome"), "sent");
    EXPECT_EQ(h.at("attempts"), 2);
    EXPECT_EQ(h.at("sent_at"), "2026-11-02T09:00:02Z");
    EXPECT_EQ(h.at("last_error"), "");
}

}  // namespace
