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
    s.put(model::profile_field::name, std::string("Acme Corp"));
    s.put(model::profile_field::csm_email, std::move(csm_email));
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

model::account_state account_with_arr(std::string id, double mrr, std::string segment) {
    auto s = account_with_csm(id, id + "@example.com");
    s.put(model::profile_field::mrr, mrr);
    s.put(model::profile_field::segment, std::move(segment));
    s.put(model::profile_field::renewal_at, t0 + 24h * 90);
    return s;
}

TEST(AlertRecord, keeps_arr_renewal_and_segment_for_the_inbox) {
    auto account = account_with_arr("acme", 1500, "enterprise");
    auto r = make_record(transition_of("acme", "usage_drop", alert_state::firing, t0), &account);
    auto object = boost::json::parse(encode_record(r)).as_object();
    EXPECT_EQ(object.at("arr"), 18000);
    EXPECT_EQ(object.at("segment").as_string(), "enterprise");
    EXPECT_EQ(object.at("renewal_at").as_string(), format_rfc3339(t0 + 24h * 90));
    auto back = decode_record(encode_record(r));
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, r);
}

// Pages through the list `limit` at a time; the ids of each page.
std::vector<std::vector<std::string>> pages(const store::store& s, const alert_filter& f, alert_order order,
                                            std::size_t limit) {
    std::vector<std::vector<std::string>> out;
    std::optional<alert_position> after;
    for (int guard = 0; guard < 100; ++guard) {
        alert_page page;
        EXPECT_TRUE(list_alert_page(s, f, order, after, limit, page).ok());
        std::vector<std::string> ids;
        for (const auto& r : page.alerts) ids.push_back(r.a.account);
        out.push_back(ids);
        if (!page.next) break;
        // Through the opaque text, as a client sends it back.
        after = decode_cursor(encode_cursor(*page.next), order);
        EXPECT_TRUE(after);
    }
    return out;
}

TEST(AlertQueries, pages_cover_every_alert_once_in_order) {
    temp_store db;
    for (int i = 0; i < 7; ++i) {
        auto a = account_with_arr("a" + std::to_string(i), 100.0 * ((i * 3) % 7), i % 2 ? "smb" : "enterprise");
        auto e = transition_of(a.id, "usage_drop", alert_state::firing, t0 + 1h * (i % 4));
        e.record.id = a.id;  // ties on the start go by id
        put(db.get(), make_record(e, &a));
    }
    using v = std::vector<std::vector<std::string>>;
    // Newest first; equal starts (a0/a4, a1/a5, a2/a6) by id.
    EXPECT_EQ(pages(db.get(), {}, alert_order::newest, 3), (v{{"a3", "a2", "a6"}, {"a1", "a5", "a0"}, {"a4"}}));
    // Highest ARR first: a_i has MRR 100 x (3i mod 7) = a0:0 a1:300 a2:600 a3:200 a4:500 a5:100 a6:400.
    EXPECT_EQ(pages(db.get(), {}, alert_order::arr, 2),
              (v{{"a2", "a4"}, {"a6", "a1"}, {"a3", "a5"}, {"a0"}}));
    EXPECT_EQ(pages(db.get(), {.segment = "smb"}, alert_order::arr, 10), (v{{"a1", "a3", "a5"}}));
    EXPECT_EQ(pages(db.get(), {}, alert_order::newest, 7), (v{{"a3", "a2", "a6", "a1", "a5", "a0", "a4"}}));
}

TEST(AlertQueries, a_page_is_stable_when_alerts_start_between_requests) {
    temp_store db;
    for (int i = 0; i < 4; ++i) {
        auto a = account_with_arr("a" + std::to_string(i), 100, "smb");
        put(db.get(), make_record(transition_of(a.id, "usage_drop", alert_state::firing, t0 + 1h * i), &a));
    }
    alert_page first;
    ASSERT_TRUE(list_alert_page(db.get(), {}, alert_order::newest, std::nullopt, 2, first).ok());
    ASSERT_EQ(first.alerts.size(), 2u);
    EXPECT_EQ(first.alerts[0].a.account, "a3");
    ASSERT_TRUE(first.next);
    // New alerts start (newer than everything), and one of the first page resolves.
    for (int i = 4; i < 6; ++i) {
        auto a = account_with_arr("a" + std::to_string(i), 100, "smb");
        put(db.get(), make_record(transition_of(a.id, "usage_drop", alert_state::firing, t0 + 1h * i), &a));
    }
    alert_page second;
    ASSERT_TRUE(list_alert_page(db.get(), {}, alert_order::newest, first.next, 2, second).ok());
    std::vector<std::string> ids;
    for (const auto& r : second.alerts) ids.push_back(r.a.account);
    EXPECT_EQ(ids, (std::vector<std::string>{"a1", "a0"}));  // an offset would have repeated a3, a2
    EXPECT_FALSE(second.next);
}

TEST(AlertQueries, filters_by_several_states_and_severity) {
    temp_store db;
    auto firing = transition_of("f", "usage_drop", alert_state::firing, t0);
    firing.record.severity = rules::alert_severity::high;
    put(db.get(), make_record(firing, nullptr));
    put(db.get(), make_record(transition_of("p", "usage_drop", alert_state::pending, t0 + 1h), nullptr));
    put(db.get(), make_record(transition_of("r", "usage_drop", alert_state::resolved, t0 + 2h), nullptr));
    using v = std::vector<std::vector<std::string>>;
    EXPECT_EQ(pages(db.get(), {.states = {alert_state::pending, alert_state::firing}}, alert_order::newest, 10),
              (v{{"p", "f"}}));
    EXPECT_EQ(pages(db.get(), {.severity = rules::alert_severity::high}, alert_order::newest, 10), (v{{"f"}}));
}

TEST(AlertQueries, cursors_of_another_order_or_not_ours_are_refused) {
    alert_position p{alert_order::arr, 1200, t0, "id/with:colons"};
    auto text = encode_cursor(p);
    auto back = decode_cursor(text, alert_order::arr);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->arr, 1200);
    EXPECT_EQ(back->started_at, t0);
    EXPECT_EQ(back->id, "id/with:colons");
    EXPECT_FALSE(decode_cursor(text, alert_order::newest));
    for (auto bad : {"", "zz", "abc", "6e3a", "6e3a78783a31323a"}) EXPECT_FALSE(decode_cursor(bad, alert_order::newest)) << bad;
}

}  // namespace
