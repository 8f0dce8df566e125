#include "alerts/codec.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

namespace redflag::alerts {
namespace {

constexpr timestamp t0 = from_millis(1'767'225'600'000);  // 2026-01-01T00:00:00Z

alert full_alert() {
    alert a;
    a.id = make_alert_id("usage_drop", "acme", t0);
    a.rule = "usage_drop";
    a.rule_fingerprint = 0xfedcba9876543210ull;  // above int64: must survive
    a.account = "acme";
    a.severity = rules::alert_severity::critical;
    a.state = alert_state::firing;
    a.started_at = t0;
    a.firing_since = t0 + 2 * day;
    a.cleared_since = t0 + 3 * day + duration{250};
    a.transitions = {{alert_state::inactive, alert_state::pending, t0},
                     {alert_state::pending, alert_state::firing, t0 + 2 * day}};
    a.acks = {{"ann@example.com", "on it \"now\"", t0 + 2 * day + hour, "slack:U1:1700000000.1"}};
    snooze quiet;
    quiet.until = t0 + 9 * day;
    quiet.by = "slack:U2";
    quiet.comment = "from Slack";
    quiet.at = t0 + 2 * day;
    quiet.key = "slack:U2:1700000000.2";
    snooze woken = quiet;
    woken.wake_if = "health.score < 30";
    woken.key.clear();
    woken.woke_at = t0 + 3 * day;
    woken.woke_why = "wake_if turned true";
    a.snoozes = {quiet, woken};
    a.next_repeat = t0 + 9 * day;
    a.last_notified = t0 + 2 * day;
    a.notifications = 3;
    return a;
}

TEST(AlertCodec, round_trips_every_member) {
    auto a = full_alert();
    std::string error;
    auto back = parse_alert(serialize(a), &error);
    ASSERT_TRUE(back) << error;
    EXPECT_EQ(*back, a);
}

TEST(AlertCodec, inhibition_and_escalation_survive_a_round_trip_and_show) {
    auto a = full_alert();
    a.inhibited_by = "cancellation_requested";
    a.held = true;
    a.escalate_at = t0 + 5 * day;
    std::string error;
    auto back = parse_alert(serialize(a), &error);
    ASSERT_TRUE(back) << error;
    EXPECT_EQ(*back, a);
    auto o = to_json(a);
    EXPECT_EQ(o.at("inhibited"), true);
    EXPECT_EQ(o.at("inhibited_by"), "cancellation_requested");
    EXPECT_EQ(o.at("escalate_at"), "2026-01-06T00:00:00Z");
    a.escalate_at.reset();
    a.escalated = true;
    a.inhibited_by.clear();
    a.held = false;
    back = parse_alert(serialize(a), &error);
    ASSERT_TRUE(back) << error;
    EXPECT_EQ(*back, a);
    o = to_json(a);
    EXPECT_EQ(o.at("inhibited"), false);
    EXPECT_EQ(o.at("escalated"), true);
    EXPECT_FALSE(o.contains("inhibited_by"));
    auto bad = to_json(a);
    bad["escalated"] = "yes";
    EXPECT_FALSE(alert_from_json(bad, &error));
    EXPECT_NE(error.find("escalated"), std::string::npos) << error;
}

TEST(AlertCodec, writes_readable_json) {
    auto o = to_json(full_alert());
    EXPECT_EQ(o.at("state").as_string(), "firing");
    EXPECT_EQ(o.at("severity").as_string(), "critical");
    EXPECT_EQ(o.at("started_at").as_string(), "2026-01-01T00:00:00Z");
    EXPECT_EQ(o.at("cleared_since").as_string(), "2026-01-04T00:00:00.250Z");
    EXPECT_EQ(o.at("rule_fingerprint").as_string(), "18364758544493064720");
    EXPECT_EQ(o.at("transitions").as_array().size(), 2u);
    EXPECT_FALSE(o.contains("resolved_at"));  // unset optionals are omitted
}

TEST(AlertCodec, minimal_record_has_no_optionals) {
    alert a;
    a.id = "x";
    a.rule = "r";
    a.account = "acme";
    a.state = alert_state::pending;
    a.started_at = t0;
    auto back = parse_alert(serialize(a));
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, a);
}

TEST(AlertCodec, records_without_snoozes_or_keys_still_read) {
    auto a = full_alert();
    a.acks[0].key.clear();
    a.snoozes.clear();
    auto o = to_json(a);
    EXPECT_FALSE(o.contains("snoozes"));
    EXPECT_FALSE(o.at("acks").as_array()[0].as_object().contains("key"));
    auto back = parse_alert(serialize(a));
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, a);
    std::string error;
    EXPECT_FALSE(parse_alert(R"({"id":"x","rule":"r","account":"a","severity":"low","state":"firing",)"
                             R"("started_at":"2026-01-01T00:00:00Z","snoozes":[{"by":"x"}]})", &error));
    EXPECT_EQ(error, "snoozes: until: missing");
}

TEST(AlertCodec, rejects_malformed_records_without_throwing) {
    std::string error;
    EXPECT_FALSE(parse_alert("{not json", &error));
    EXPECT_NE(error.find("malformed"), std::string::npos);
    EXPECT_FALSE(parse_alert("[]", &error));

    auto o = to_json(full_alert());
    o["state"] = "exploded";
    EXPECT_FALSE(alert_from_json(o, &error));
    EXPECT_EQ(error, "state: unknown state");

    o = to_json(full_alert());
    o["started_at"] = "yesterday";
    EXPECT_FALSE(alert_from_json(o, &error));
    EXPECT_EQ(error, "started_at: expected an RFC 3339 string");

    o = to_json(full_alert());
    o.erase("id");
    EXPECT_FALSE(alert_from_json(o, &error));
    EXPECT_EQ(error, "id: missing");

    o = to_json(full_alert());
    o["transitions"] = boost::json::parse(R"([{"from":"pending"}])");
    EXPECT_FALSE(alert_from_json(o, &error));
    EXPECT_EQ(error, "transitions: expected {from, to, at}");
}

TEST(AlertCodec, compaction_drops_alerts_over_before_the_horizon_only) {
    auto a = full_alert();  // firing since t0 + 2 days
    const std::string key = a.id;
    EXPECT_FALSE(alert_record_expired(key, serialize(a), t0 + 900 * day));  // active: kept
    a.state = alert_state::resolved;
    a.resolved_at = t0 + 10 * day;
    a.transitions.push_back({alert_state::firing, alert_state::resolved, t0 + 10 * day});
    EXPECT_TRUE(alert_record_expired(key, serialize(a), t0 + 10 * day + duration{1}));
    EXPECT_FALSE(alert_record_expired(key, serialize(a), t0 + 10 * day));  // not older than the horizon
    // A pending alert that cleared (inactive) ends at its last transition.
    auto p = full_alert();
    p.state = alert_state::inactive;
    p.transitions = {{alert_state::inactive, alert_state::pending, t0}, {alert_state::pending, alert_state::inactive, t0 + hour}};
    EXPECT_TRUE(alert_record_expired(p.id, serialize(p), t0 + 2 * hour));
    EXPECT_FALSE(alert_record_expired(p.id, serialize(p), t0 + hour));
    EXPECT_FALSE(alert_record_expired(key, "not json", t0 + 900 * day));
}

TEST(AlertCodec, event_json_names_rule_account_and_alert) {
    alert_event e;
    e.kind = event_kind::transition;
    e.from = alert_state::pending;
    e.to = alert_state::firing;
    e.at = t0;
    e.notify = true;
    e.record = full_alert();
    e.message = "Acme dropped";
    auto o = to_json(e);
    EXPECT_EQ(o.at("kind").as_string(), "transition");
    EXPECT_EQ(o.at("to").as_string(), "firing");
    EXPECT_EQ(o.at("alert").as_string(), e.record.id);
    EXPECT_EQ(o.at("message").as_string(), "Acme dropped");
    EXPECT_TRUE(o.at("notify").as_bool());
}

}  // namespace
}  // namespace redflag::alerts
