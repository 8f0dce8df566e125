#include "alerts/record.hpp"
#include "alerts/queries.hpp"

#include "alerts/codec.hpp"
#include "../delivery/support.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

using namespace redflag;
using namespace redflag::alerts;
using namespace redflag::delivery::testing;
using namespace std::chrono_literals;

namespace {

alert_event transition_of(std::string account, std::string rule, alert_state to, timestamp started) {
    alert_event e;
    e.kind = event_kind::transition;
    e.from = alert_state::inactive;
    e.to = to;
    e.at = started;
    e.record.rule = std::move(rule);
    e.record.account = std::move(account);
    e.record.id = make_alert_id(e.record.rule, e.record.account, started);
    e.record.state = to;
    e.record.started_at = started;
    if (to == alert_state::firing) e.record.firing_since = started;
    e.record.transitions.push_back({alert_state::inactive, to, started});
    return e;
}

model::account_state account_with_csm(std::string id, std::string csm_email) {
    model::account_state s;
    s.id = id;
    s.profile[static_cast<std::size_t>(model::profile_field::name)] = std::string("Acme Corp");
    s.profile[static_cast<std::size_t>(model::profile_field::csm_email)] = std::move(csm_email);
    return s;
}

// The record's bytes are the alert's JSON plus the account's profile and the message,
// as the engine wrote them before the record had a type (stored records stay readable).
TEST(AlertRecord, bytes_are_the_alert_plus_profile_and_message_and_round_trip) {
    auto e = transition_of("acme", "usage_drop", alert_state::firing, t0);
    e.message = "usage fell by 40%";
    auto account = account_with_csm("acme", "dana@example.com");
    auto r = make_record(e, &account);
    auto bytes = encode_record(r);
    auto object = boost::json::parse(bytes).as_object();
    EXPECT_EQ(object.at("account_name").as_string(), "Acme Corp");
    EXPECT_EQ(object.at("csm").as_string(), "");
    EXPECT_EQ(object.at("csm_email").as_string(), "dana@example.com");
    EXPECT_EQ(object.at("message").as_string(), "usage fell by 40%");
    auto plain = to_json(e.record);
    for (const auto& [key, value] : plain) EXPECT_EQ(object.at(key), value) << key;

    std::string why;
    auto back = decode_record(bytes, &why);
    ASSERT_TRUE(back) << why;
    EXPECT_EQ(*back, r);
    EXPECT_EQ(encode_record(*back), bytes);
}

TEST(AlertRecord, without_an_account_has_no_profile_members_and_an_empty_message_is_omitted) {
    auto e = transition_of("acme", "usage_drop", alert_state::pending, t0);
    auto r = make_record(e, nullptr);
    auto object = boost::json::parse(encode_record(r)).as_object();
    EXPECT_FALSE(object.contains("account_name"));
    EXPECT_FALSE(object.contains("csm_email"));
    EXPECT_FALSE(object.contains("message"));
    auto back = decode_record(encode_record(r));
    ASSERT_TRUE(back);
    EXPECT_FALSE(back->profile);
    EXPECT_EQ(*back, r);
}

TEST(AlertRecord, unreadable_bytes_say_why) {
    std::string why;
    EXPECT_FALSE(decode_record("{not json", &why));
    EXPECT_NE(why.find("malformed"), std::string::npos) << why;
    EXPECT_FALSE(decode_record(R"({"id":"x"})", &why));
    EXPECT_FALSE(why.empty());
}

void put(store::store& s, const alert_record& r) {
    store::write_batch batch(s);
    batch.put(store::column::alerts, r.a.id, encode_record(r));
    ASSERT_TRUE(s.write(batch).ok());
}

std::vector<std::string> ids(const store::store& s, const alert_filter& f) {
    std::vector<alert_record> out;
    EXPECT_TRUE(list_alerts(s, f, out).ok());
    std::vector<std::string> result;
    for (const auto& r : out) result.push_back(r.a.account + "/" + r.a.rule);
    return result;
}

TEST(AlertQueries, list_filters_by_state_rule_account_and_csm_newest_first) {
    temp_store db;
    auto dana = account_with_csm("acme", "dana@example.com");
    put(db.get(), make_record(transition_of("acme", "usage_drop", alert_state::firing, t0), &dana));
    put(db.get(), make_record(transition_of("acme", "churn_risk", alert_state::pending, t0 + 2h), &dana));
    put(db.get(), make_record(transition_of("globex", "usage_drop", alert_state::firing, t0 + 1h), nullptr));
    {
        store::write_batch batch(db.get());
        batch.put(store::column::alerts, "broken", "{not json");
        ASSERT_TRUE(db.get().write(batch).ok());
    }
    using v = std::vector<std::string>;
    EXPECT_EQ(ids(db.get(), {}), (v{"acme/churn_risk", "globex/usage_drop", "acme/usage_drop"}));
    EXPECT_EQ(ids(db.get(), {.state = alert_state::firing}), (v{"globex/usage_drop", "acme/usage_drop"}));
    EXPECT_EQ(ids(db.get(), {.rule = "usage_drop"}), (v{"globex/usage_drop", "acme/usage_drop"}));
    EXPECT_EQ(ids(db.get(), {.account = "acme"}), (v{"acme/churn_risk", "acme/usage_drop"}));
    EXPECT_EQ(ids(db.get(), {.csm = "dana@example.com"}), (v{"acme/churn_risk", "acme/usage_drop"}));
    EXPECT_EQ(ids(db.get(), {.state = alert_state::firing, .csm = "dana@example.com"}), (v{"acme/usage_drop"}));
    EXPECT_TRUE(ids(db.get(), {.csm = "nobody"}).empty());
}

TEST(AlertQueries, find_gives_the_record_or_nothing) {
    temp_store db;
    auto r = make_record(transition_of("acme", "usage_drop", alert_state::firing, t0), nullptr);
    put(db.get(), r);
    auto found = find_alert(db.get(), r.a.id);
    ASSERT_TRUE(found.ok());
    ASSERT_TRUE(found.value());
    EXPECT_EQ(*found.value(), r);
    auto missing = find_alert(db.get(), "nope");
    ASSERT_TRUE(missing.ok());
    EXPECT_FALSE(missing.value());
}

TEST(AlertQueries, history_skips_and_counts_unreadable_outbox_records) {
    temp_store db;
    store::write_batch batch(db.get());
    batch.put(store::column::outbox, delivery::alert_prefix("a1") + "garbage", "x");
    ASSERT_TRUE(db.get().write(batch).ok());
    boost::json::array out;
    std::size_t unreadable = 0;
    ASSERT_TRUE(notification_history(db.get(), "a1", out, unreadable).ok());
    EXPECT_TRUE(out.empty());
    EXPECT_EQ(unreadable, 1u);
}

}  // namespace
