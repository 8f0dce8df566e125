#include "model/account_state.hpp"
#include "model/schema.hpp"

#include "test_events.hpp"

#include <gtest/gtest.h>

using namespace redflag;
using namespace redflag::model;
using model::testing::make_event;
using model::testing::t0;
namespace json = boost::json;

namespace {

std::string str(const scalar& s) { return std::holds_alternative<std::string>(s) ? std::get<std::string>(s) : "<not a string>"; }

const std::vector<field_change>& history_of(const account_state& s, profile_field f) {
    return s.history_of(f);
}

const std::vector<stream_record>& stream_of(const account_state& s, event_type t) {
    return s.stream(t);
}

scalar value_of(const stream_record& r, event_type t, std::string_view field) { return r.values[*stream_field_index(t, field)]; }

void contract(account_state& s, timestamp at, double mrr, std::string status = "") {
    json::object f{{"mrr", mrr}};
    if (!status.empty()) f["status"] = status;
    s.apply(make_event(event_type::contract, at, std::move(f)));
}

}  // namespace

TEST(AccountState, account_event_sets_profile_and_records_real_changes_only) {
    account_state s;
    s.apply(make_event(event_type::account, t0, {{"name", "Acme"}, {"csm", "alice"}, {"seats", 10}}));
    EXPECT_EQ(s.id, "acme");
    EXPECT_EQ(str(s.get(profile_field::name)), "Acme");
    EXPECT_EQ(std::get<double>(s.get(profile_field::seats)), 10.0);
    EXPECT_TRUE(history_of(s, profile_field::csm).empty()) << "the first value is not a change";

    s.apply(make_event(event_type::account, t0 + day, {{"csm", "alice"}}));
    EXPECT_TRUE(history_of(s, profile_field::csm).empty()) << "the same value again is not a change";

    s.apply(make_event(event_type::account, t0 + 2 * day, {{"csm", "bob"}}));
    ASSERT_EQ(history_of(s, profile_field::csm).size(), 1u);
    const auto& c = history_of(s, profile_field::csm)[0];
    EXPECT_EQ(c.at, t0 + 2 * day);
    EXPECT_EQ(str(c.before), "alice");
    EXPECT_EQ(str(c.after), "bob");
    EXPECT_EQ(str(s.get(profile_field::csm)), "bob");
    EXPECT_EQ(str(s.get(profile_field::name)), "Acme") << "fields absent from the event are unchanged";
    EXPECT_TRUE(history_of(s, profile_field::name).empty());
}

TEST(AccountState, account_event_parses_times_and_merges_attributes) {
    account_state s;
    s.apply(make_event(event_type::account, t0,
                       {{"signed_at", "2025-06-01T00:00:00Z"}, {"attributes", json::object{{"tier", "gold"}, {"nps_goal", 50}}}}));
    s.apply(make_event(event_type::account, t0 + hour, {{"attributes", json::object{{"tier", "platinum"}, {"beta", true}}}}));
    EXPECT_EQ(std::get<timestamp>(s.get(profile_field::signed_at)), *parse_rfc3339("2025-06-01T00:00:00Z"));
    ASSERT_EQ(s.attributes.size(), 3u);
    EXPECT_EQ(str(s.attributes.at("tier")), "platinum");
    EXPECT_EQ(std::get<double>(s.attributes.at("nps_goal")), 50.0);
    EXPECT_EQ(std::get<bool>(s.attributes.at("beta")), true);

    // A late event only adds keys it does not know yet.
    s.apply(make_event(event_type::account, t0 - hour, {{"attributes", json::object{{"tier", "bronze"}, {"region", "eu"}}}}));
    EXPECT_EQ(str(s.attributes.at("tier")), "platinum");
    EXPECT_EQ(str(s.attributes.at("region")), "eu");
}

TEST(AccountState, every_event_updates_first_seen_latest_at_and_latest_of_type) {
    account_state s;
    s.apply(make_event(event_type::nps, t0 + day, {{"score", 9}}));
    s.apply(make_event(event_type::usage, t0 + 3 * day, {{"metric", "logins"}}));
    s.apply(make_event(event_type::activity, t0, {{"kind", "call"}}));
    EXPECT_EQ(s.first_seen, t0);
    EXPECT_EQ(s.latest_at, t0 + 3 * day);
    EXPECT_EQ(s.latest_of(event_type::usage), t0 + 3 * day);
    EXPECT_EQ(s.latest_of(event_type::nps), t0 + day);
    EXPECT_EQ(s.latest_of(event_type::activity), t0);
    EXPECT_FALSE(s.latest_of(event_type::ticket));
    EXPECT_TRUE(stream_of(s, event_type::usage).empty()) << "usage lives in series, not stream records";
}

TEST(AccountState, stream_records_follow_schema_order_with_defaults) {
    account_state s;
    s.apply(make_event(event_type::nps, t0, {{"score", 3}, {"comment", "slow"}}));
    s.apply(make_event(event_type::ticket, t0, {{"ticket_id", "T1"}, {"status", "open"}}));
    s.apply(make_event(event_type::user, t0, {{"user_id", "u1"}}));
    s.apply(make_event(event_type::csat, t0, {{"score", 4}, {"ticket_id", "T1"}}));
    s.apply(make_event(event_type::activity, t0, {{"kind", "qbr"}, {"by", "alice"}}));
    s.apply(make_event(event_type::milestone, t0, {{"name", "first_value"}, {"extra", "kept but not streamed"}}));

    const auto& nps = stream_of(s, event_type::nps);
    ASSERT_EQ(nps.size(), 1u);
    ASSERT_EQ(nps[0].values.size(), 3u);
    EXPECT_EQ(std::get<double>(nps[0].values[0]), 3.0);
    EXPECT_TRUE(is_null(nps[0].values[1])) << "respondent not sent";
    EXPECT_EQ(str(nps[0].values[2]), "slow");

    const auto& tickets = stream_of(s, event_type::ticket);
    ASSERT_EQ(tickets.size(), 1u);
    EXPECT_EQ(str(value_of(tickets[0], event_type::ticket, "priority")), "normal");
    const auto& users = stream_of(s, event_type::user);
    EXPECT_EQ(std::get<bool>(value_of(users[0], event_type::user, "active")), true);
    EXPECT_EQ(str(value_of(stream_of(s, event_type::csat)[0], event_type::csat, "ticket_id")), "T1");
    EXPECT_EQ(str(value_of(stream_of(s, event_type::activity)[0], event_type::activity, "by")), "alice");
    const auto& milestones = stream_of(s, event_type::milestone);
    ASSERT_EQ(milestones[0].values.size(), stream_field_count(event_type::milestone));
    EXPECT_EQ(str(value_of(milestones[0], event_type::milestone, "name")), "first_value");
    // Account records leave out the attributes object.
    s.apply(make_event(event_type::account, t0, {{"name", "A"}, {"attributes", json::object{{"k", 1}}}}));
    EXPECT_EQ(stream_of(s, event_type::account)[0].values.size(), stream_field_count(event_type::account));
}

TEST(AccountState, out_of_order_records_are_inserted_at_their_time) {
    account_state s;
    for (int d : {1, 5, 3, 0, 4, 4})
        s.apply(make_event(event_type::nps, t0 + d * day, {{"score", d}}));
    const auto& nps = stream_of(s, event_type::nps);
    ASSERT_EQ(nps.size(), 6u);
    for (std::size_t i = 1; i < nps.size(); ++i) EXPECT_LE(nps[i - 1].at, nps[i].at);
    EXPECT_EQ(nps.front().at, t0);
    EXPECT_EQ(nps.back().at, t0 + 5 * day);
    EXPECT_EQ(s.latest_of(event_type::nps), t0 + 5 * day);
}

TEST(AccountState, contract_sets_contract_fields_and_new_business) {
    account_state s;
    s.apply(make_event(event_type::contract, t0,
                       {{"mrr", 1000}, {"seats", 20}, {"products", json::array{"crm", "cpq"}},
                        {"renewal_at", "2027-01-01T00:00:00Z"}, {"status", "active"}}));
    EXPECT_EQ(s.mrr(), 1000.0);
    EXPECT_EQ(std::get<double>(s.get(profile_field::seats)), 20.0);
    EXPECT_EQ(std::get<string_list>(s.get(profile_field::products)), (string_list{"crm", "cpq"}));
    EXPECT_EQ(std::get<timestamp>(s.get(profile_field::renewal_at)), *parse_rfc3339("2027-01-01T00:00:00Z"));
    EXPECT_EQ(str(s.get(profile_field::contract_status)), "active");
    ASSERT_EQ(s.movements.size(), 1u);
    EXPECT_EQ(s.movements[0].kind, movement_kind::new_business);
    EXPECT_EQ(s.movements[0].before, 0.0);
    EXPECT_EQ(s.movements[0].after, 1000.0);
    EXPECT_TRUE(history_of(s, profile_field::mrr).empty());
}

TEST(AccountState, mrr_movements_expansion_contraction_churn_reactivation) {
    account_state s;
    EXPECT_EQ(s.mrr(), 0.0);
    contract(s, t0, 100);
    contract(s, t0 + day, 150);
    contract(s, t0 + 2 * day, 150);  // unchanged: no movement
    contract(s, t0 + 3 * day, 120);
    EXPECT_NE(str(s.get(profile_field::status)), "churned") << "contraction above zero is not churn";
    contract(s, t0 + 4 * day, 0);
    EXPECT_EQ(str(s.get(profile_field::status)), "churned");
    contract(s, t0 + 5 * day, 80);
    EXPECT_EQ(str(s.get(profile_field::status)), "active");

    ASSERT_EQ(s.movements.size(), 5u);
    const movement_kind expected[] = {movement_kind::new_business, movement_kind::expansion, movement_kind::contraction,
                                      movement_kind::churn, movement_kind::reactivation};
    for (std::size_t i = 0; i < 5; ++i) EXPECT_EQ(s.movements[i].kind, expected[i]) << i;
    EXPECT_EQ(s.movements[2].before, 150.0);
    EXPECT_EQ(s.movements[2].after, 120.0);
    EXPECT_EQ(s.movements[3].before, 120.0);
    EXPECT_EQ(s.movements[3].after, 0.0);
    EXPECT_EQ(s.movements[4].after, 80.0);
    // The mrr history has every real change.
    EXPECT_EQ(history_of(s, profile_field::mrr).size(), 4u);
    // Status: churned at day 4, active at day 5.
    const auto& status = history_of(s, profile_field::status);
    ASSERT_EQ(status.size(), 1u) << "the first status (churned) is not a change";
    EXPECT_EQ(status[0].at, t0 + 5 * day);
    EXPECT_EQ(str(status[0].before), "churned");
}

TEST(AccountState, contract_status_churned_is_churn_even_with_mrr) {
    account_state s;
    s.apply(make_event(event_type::account, t0, {{"status", "active"}}));
    contract(s, t0, 500, "active");
    contract(s, t0 + day, 500, "cancel_requested");
    EXPECT_EQ(s.movements.size(), 1u);
    EXPECT_EQ(str(s.get(profile_field::status)), "active");
    contract(s, t0 + 2 * day, 500, "churned");
    ASSERT_EQ(s.movements.size(), 2u);
    EXPECT_EQ(s.movements[1].kind, movement_kind::churn);
    EXPECT_EQ(s.movements[1].before, 500.0);
    EXPECT_EQ(s.movements[1].after, 0.0);
    EXPECT_EQ(str(s.get(profile_field::status)), "churned");
    EXPECT_EQ(str(s.get(profile_field::contract_status)), "churned");
    EXPECT_EQ(s.mrr(), 500.0) << "mrr itself is what was sent";
}

TEST(AccountState, late_contract_event_recomputes_movements_in_time_order) {
    account_state s;
    contract(s, t0, 100);
    contract(s, t0 + 10 * day, 300);
    ASSERT_EQ(s.movements.size(), 2u);
    EXPECT_EQ(s.movements[1].kind, movement_kind::expansion);

    // A churn that happened in between arrives late: 100 → 0 → 300 is churn then reactivation.
    contract(s, t0 + 5 * day, 0);
    ASSERT_EQ(s.movements.size(), 3u);
    EXPECT_EQ(s.movements[0].kind, movement_kind::new_business);
    EXPECT_EQ(s.movements[1].kind, movement_kind::churn);
    EXPECT_EQ(s.movements[1].at, t0 + 5 * day);
    EXPECT_EQ(s.movements[2].kind, movement_kind::reactivation);
    EXPECT_EQ(s.movements[2].before, 0.0);
    EXPECT_EQ(s.movements[2].after, 300.0);
    EXPECT_EQ(s.mrr(), 300.0) << "the late event does not overwrite the newer value";
    EXPECT_EQ(str(s.get(profile_field::status)), "active");

    // A contraction before everything else: it becomes the new business.
    contract(s, t0 - day, 50);
    ASSERT_EQ(s.movements.size(), 4u);
    EXPECT_EQ(s.movements[0].kind, movement_kind::new_business);
    EXPECT_EQ(s.movements[0].after, 50.0);
    EXPECT_EQ(s.movements[1].kind, movement_kind::expansion);
    EXPECT_EQ(s.movements[1].before, 50.0);
    EXPECT_EQ(s.movements[1].after, 100.0);
}

TEST(AccountState, seats_is_latest_from_account_or_contract) {
    account_state s;
    s.apply(make_event(event_type::account, t0, {{"seats", 10}}));
    s.apply(make_event(event_type::contract, t0 + day, {{"mrr", 10}, {"seats", 25}}));
    EXPECT_EQ(std::get<double>(s.get(profile_field::seats)), 25.0);
    s.apply(make_event(event_type::account, t0 + hour, {{"seats", 12}}));  // late
    EXPECT_EQ(std::get<double>(s.get(profile_field::seats)), 25.0);
    const auto& h = history_of(s, profile_field::seats);
    ASSERT_EQ(h.size(), 2u);
    EXPECT_EQ(h[0].at, t0 + hour);
    EXPECT_EQ(std::get<double>(h[0].after), 12.0);
    EXPECT_EQ(std::get<double>(h[1].before), 12.0) << "the neighbour's before is fixed up";
    EXPECT_EQ(std::get<double>(h[1].after), 25.0);
}

TEST(AccountState, late_profile_change_keeps_history_consistent) {
    account_state s;
    s.apply(make_event(event_type::account, t0, {{"csm", "alice"}}));
    s.apply(make_event(event_type::account, t0 + 10 * day, {{"csm", "carol"}}));
    // bob took over at day 5, reported late.
    s.apply(make_event(event_type::account, t0 + 5 * day, {{"csm", "bob"}}));
    EXPECT_EQ(str(s.get(profile_field::csm)), "carol");
    const auto& h = history_of(s, profile_field::csm);
    ASSERT_EQ(h.size(), 2u);
    EXPECT_EQ(h[0].at, t0 + 5 * day);
    EXPECT_EQ(str(h[0].before), "alice");
    EXPECT_EQ(str(h[0].after), "bob");
    EXPECT_EQ(h[1].at, t0 + 10 * day);
    EXPECT_EQ(str(h[1].before), "bob");
    EXPECT_EQ(str(h[1].after), "carol");

    // carol, reported late at day 7, makes the day-10 event a repeat: no change there.
    s.apply(make_event(event_type::account, t0 + 7 * day, {{"csm", "carol"}}));
    ASSERT_EQ(h.size(), 2u);
    EXPECT_EQ(h[1].at, t0 + 7 * day);
    EXPECT_EQ(str(h[1].before), "bob");
    EXPECT_EQ(str(h[1].after), "carol");

    // A late repeat of the value in force then changes nothing.
    s.apply(make_event(event_type::account, t0 + 6 * day, {{"csm", "bob"}}));
    EXPECT_EQ(h.size(), 2u);
}

TEST(AccountState, late_value_within_the_last_value_is_undone_by_its_resend) {
    account_state s;
    s.apply(make_event(event_type::account, t0, {{"plan", "pro"}}));
    s.apply(make_event(event_type::account, t0 + 10 * day, {{"plan", "pro"}}));
    s.apply(make_event(event_type::account, t0 + 5 * day, {{"plan", "basic"}}));
    EXPECT_EQ(str(s.get(profile_field::plan)), "pro");
    const auto& h = history_of(s, profile_field::plan);
    ASSERT_EQ(h.size(), 2u);
    EXPECT_EQ(h[0].at, t0 + 5 * day);
    EXPECT_EQ(str(h[0].after), "basic");
    EXPECT_EQ(h[1].at, t0 + 10 * day);
    EXPECT_EQ(str(h[1].before), "basic");
    EXPECT_EQ(str(h[1].after), "pro");
}

TEST(AccountState, backfill_older_than_every_value_orders_the_history) {
    account_state s;
    s.apply(make_event(event_type::account, t0 + 100 * day, {{"csm", "bob"}}));  // live
    s.apply(make_event(event_type::account, t0, {{"csm", "alice"}}));            // backfill
    {
        const auto& h = history_of(s, profile_field::csm);
        ASSERT_EQ(h.size(), 1u);
        EXPECT_EQ(h[0].at, t0 + 100 * day) << "bob first appeared at day 100";
        EXPECT_EQ(str(h[0].before), "alice");
    }
    s.apply(make_event(event_type::account, t0 + 50 * day, {{"csm", "bob"}}));
    const auto& h = history_of(s, profile_field::csm);
    ASSERT_EQ(h.size(), 1u);
    EXPECT_EQ(h[0].at, t0 + 50 * day);
    EXPECT_EQ(str(h[0].before), "alice");
    EXPECT_EQ(str(h[0].after), "bob");
    EXPECT_EQ(str(s.get(profile_field::csm)), "bob");
    EXPECT_EQ(s.set_at(profile_field::csm), t0 + 100 * day);
}

TEST(AccountState, usage_merges_per_minute_and_tracks_users) {
    account_state s;
    s.apply(make_event(event_type::usage, t0 + 10 * seconds_ms, {{"metric", "logins"}, {"user_id", "u1"}}));
    s.apply(make_event(event_type::usage, t0 + 50 * seconds_ms, {{"metric", "logins"}, {"value", 4}}));
    s.apply(make_event(event_type::usage, t0 + 30 * seconds_ms, {{"metric", "logins"}, {"user_id", "u1"}}));  // late, same minute
    s.apply(make_event(event_type::usage, t0 + 60 * seconds_ms, {{"metric", "logins"}}));  // next minute
    s.apply(make_event(event_type::usage, t0 + 20 * seconds_ms, {{"metric", "api_calls"}, {"value", 2.5}}));

    const auto& logins = s.usage.at("logins").points;
    ASSERT_EQ(logins.size(), 2u);
    EXPECT_EQ(logins[0].count, 3u);
    EXPECT_EQ(logins[0].sum, 6.0) << "value defaults to 1";
    EXPECT_EQ(logins[0].at, t0 + 50 * seconds_ms) << "the latest of the merged events";
    EXPECT_EQ(logins[1].at, t0 + minute);
    EXPECT_EQ(logins[1].count, 1u);
    ASSERT_EQ(s.usage.at("api_calls").points.size(), 1u);
    EXPECT_EQ(s.usage.at("api_calls").points[0].sum, 2.5);

    const auto* u = s.find_user("u1");
    ASSERT_NE(u, nullptr);
    EXPECT_EQ(u->first_seen, t0 + 10 * seconds_ms);
    EXPECT_EQ(u->last_seen, t0 + 30 * seconds_ms);
    EXPECT_EQ(s.find_user("nobody"), nullptr);
}

TEST(AccountState, late_usage_goes_into_its_own_minute) {
    account_state s;
    s.apply(make_event(event_type::usage, t0 + 10 * minute, {{"metric", "m"}}));
    s.apply(make_event(event_type::usage, t0 + 2 * minute + seconds_ms, {{"metric", "m"}}));
    s.apply(make_event(event_type::usage, t0 + 5 * minute, {{"metric", "m"}}));
    s.apply(make_event(event_type::usage, t0 + 2 * minute + 59 * seconds_ms, {{"metric", "m"}, {"value", 3}}));
    s.apply(make_event(event_type::usage, t0 - 1 * seconds_ms, {{"metric", "m"}}));  // minute before t0
    const auto& p = s.usage.at("m").points;
    ASSERT_EQ(p.size(), 4u);
    EXPECT_EQ(p[0].at, t0 - seconds_ms);
    EXPECT_EQ(p[1].count, 2u);
    EXPECT_EQ(p[1].sum, 4.0);
    EXPECT_EQ(p[1].at, t0 + 2 * minute + 59 * seconds_ms);
    EXPECT_EQ(p[2].at, t0 + 5 * minute);
    EXPECT_EQ(p[3].at, t0 + 10 * minute);
}

TEST(AccountState, user_events_upsert_and_first_seen_is_earliest) {
    account_state s;
    s.apply(make_event(event_type::usage, t0 + day, {{"metric", "logins"}, {"user_id", "u2"}}));
    s.apply(make_event(event_type::user, t0 + 2 * day, {{"user_id", "u2"}, {"email", "a@x.io"}, {"role", "admin"}}));
    s.apply(make_event(event_type::user, t0, {{"user_id", "u1"}, {"active", false}}));
    s.apply(make_event(event_type::user, t0 + 3 * day, {{"user_id", "u2"}, {"role", "champion"}}));
    // A late event does not overwrite the newer role, but fills fields never set.
    s.apply(make_event(event_type::user, t0 + day, {{"user_id", "u2"}, {"role", "viewer"}, {"name", "Ann"}}));
    ASSERT_EQ(s.users.size(), 2u);
    const auto* u2 = s.find_user("u2");
    ASSERT_NE(u2, nullptr);
    EXPECT_EQ(u2->email, "a@x.io");
    EXPECT_EQ(u2->role, "champion");
    EXPECT_EQ(u2->name, "Ann");
    EXPECT_TRUE(u2->active);
    EXPECT_EQ(u2->first_seen, t0 + day);
    EXPECT_EQ(u2->last_seen, t0 + day);
    const auto* u1 = s.find_user("u1");
    ASSERT_NE(u1, nullptr);
    EXPECT_FALSE(u1->active);
    EXPECT_FALSE(u1->last_seen) << "no usage yet";
    s.apply(make_event(event_type::usage, t0 - day, {{"metric", "x"}, {"user_id", "u1"}}));
    EXPECT_EQ(s.find_user("u1")->first_seen, t0 - day);
}

TEST(AccountState, tickets_upsert_with_latest_status_by_time) {
    account_state s;
    s.apply(make_event(event_type::ticket, t0 + hour, {{"ticket_id", "T1"}, {"status", "pending"}, {"subject", "Login"}}));
    s.apply(make_event(event_type::ticket, t0 + 3 * hour, {{"ticket_id", "T1"}, {"status", "solved"}}));
    s.apply(make_event(event_type::ticket, t0, {{"ticket_id", "T1"}, {"status", "open"}, {"priority", "urgent"}}));  // late
    s.apply(make_event(event_type::ticket, t0, {{"ticket_id", "T2"}, {"status", "open"}}));
    ASSERT_EQ(s.tickets.size(), 2u);
    const auto& t1 = s.tickets[0];
    EXPECT_EQ(t1.id, "T1");
    EXPECT_EQ(t1.status, "solved");
    EXPECT_FALSE(t1.is_open());
    EXPECT_EQ(t1.opened_at, t0);
    EXPECT_EQ(t1.updated_at, t0 + 3 * hour);
    EXPECT_EQ(t1.subject, "Login");
    const auto& t2 = s.tickets[1];
    EXPECT_EQ(t2.priority, "normal");
    EXPECT_TRUE(t2.is_open());
    s.apply(make_event(event_type::ticket, t0 + hour, {{"ticket_id", "T2"}, {"status", "pending"}, {"priority", "high"}}));
    EXPECT_TRUE(s.tickets[1].is_open());
    EXPECT_EQ(s.tickets[1].priority, "high");
    EXPECT_EQ(stream_of(s, event_type::ticket).size(), 5u);
}

TEST(AccountState, expire_keeps_latest_record_change_and_point) {
    account_state s;
    for (int d = 0; d < 10; ++d) {
        s.apply(make_event(event_type::nps, t0 + d * day, {{"score", d}}));
        s.apply(make_event(event_type::usage, t0 + d * day, {{"metric", "logins"}}));
        s.apply(make_event(event_type::account, t0 + d * day, {{"plan", d % 2 ? "pro" : "basic"}}));
    }
    s.apply(make_event(event_type::activity, t0, {{"kind", "call"}}));
    s.apply(make_event(event_type::ticket, t0, {{"ticket_id", "old-closed"}, {"status", "closed"}}));
    s.apply(make_event(event_type::ticket, t0, {{"ticket_id", "old-open"}, {"status", "open"}}));
    contract(s, t0, 100);
    contract(s, t0 + day, 200);

    s.expire(t0 + 7 * day);
    const auto& nps = stream_of(s, event_type::nps);
    ASSERT_EQ(nps.size(), 3u);
    EXPECT_EQ(nps.front().at, t0 + 7 * day) << "at the cutoff is kept";
    ASSERT_EQ(stream_of(s, event_type::activity).size(), 1u) << "the latest record stays although old";
    EXPECT_EQ(s.usage.at("logins").points.size(), 3u);
    EXPECT_EQ(history_of(s, profile_field::plan).size(), 3u);
    ASSERT_EQ(s.tickets.size(), 1u);
    EXPECT_EQ(s.tickets[0].id, "old-open");
    EXPECT_EQ(stream_of(s, event_type::contract).size(), 2u) << "contract records stay for movements";
    EXPECT_EQ(s.movements.size(), 2u);

    s.expire(t0 + 100 * day);
    EXPECT_EQ(stream_of(s, event_type::nps).size(), 1u);
    EXPECT_EQ(stream_of(s, event_type::nps)[0].at, t0 + 9 * day);
    EXPECT_EQ(s.usage.at("logins").points.size(), 1u);
    ASSERT_EQ(history_of(s, profile_field::plan).size(), 1u);
    EXPECT_EQ(history_of(s, profile_field::plan)[0].at, t0 + 9 * day) << "previous() still works";
}

TEST(AccountState, expire_gives_back_growth_slack) {
    account_state s;
    for (int m = 0; m < 1000; ++m) s.apply(make_event(event_type::usage, t0 + m * minute, {{"metric", "logins"}}));
    auto& points = s.usage.at("logins").points;
    ASSERT_EQ(points.size(), 1000u);
    s.expire(t0);  // drops nothing
    EXPECT_EQ(points.size(), 1000u);
    EXPECT_LE(points.capacity(), 1000u + 1000u / 8 + 4);
}

// Memory: an account keeps entries only for the fields and event types it has (the state
// of 100,000 accounts must fit in a few hundred MiB, bench/RESULTS.md). The fixed part
// was 1,784 bytes with an array slot for every field and type.
TEST(AccountState, fixed_part_is_small) {
    EXPECT_LE(sizeof(account_state), 320u);
}

TEST(AccountState, usage_only_account_keeps_no_profile_history_or_records) {
    account_state s;
    for (int m = 0; m < 30; ++m)
        s.apply(make_event(event_type::usage, t0 + m * hour, {{"metric", "logins"}, {"value", m}}));
    EXPECT_TRUE(s.profile_values().empty());
    EXPECT_TRUE(s.histories().empty());
    ASSERT_EQ(s.streams().size(), 1u) << "usage has an entry for its latest time only";
    EXPECT_EQ(s.streams()[0].type, event_type::usage);
    EXPECT_TRUE(s.streams()[0].records.empty());
    EXPECT_EQ(s.latest_of(event_type::usage), t0 + 29 * hour);
    EXPECT_FALSE(s.latest_of(event_type::nps));
    EXPECT_TRUE(s.stream(event_type::nps).empty());
    for (std::size_t i = 0; i < profile_field_count; ++i) {
        const auto f = static_cast<profile_field>(i);
        EXPECT_TRUE(is_null(s.get(f))) << name_of(f);
        EXPECT_EQ(s.set_at(f), timestamp{}) << name_of(f);
        EXPECT_TRUE(s.history_of(f).empty()) << name_of(f);
    }
}

// Each kind of profile value (string, number, time, string list) set, sent again unchanged
// and overwritten, in an order that makes the sorted entries insert in the middle.
TEST(AccountState, compact_profile_sets_and_overwrites_each_field_kind) {
    account_state s;
    s.apply(make_event(event_type::contract, t0, {{"mrr", 1000}, {"renewal_at", "2027-01-01T00:00:00Z"}}));
    s.apply(make_event(event_type::account, t0 + day, {{"csm", "alice"}, {"seats", 10}}));
    s.apply(make_event(event_type::contract, t0 + day, {{"mrr", 1000}, {"products", json::array{"crm"}}}));
    std::vector<profile_field> fields;
    for (const auto& v : s.profile_values()) fields.push_back(v.field);
    EXPECT_EQ(fields, (std::vector<profile_field>{profile_field::csm, profile_field::seats, profile_field::mrr,
                                                  profile_field::renewal_at, profile_field::products}))
        << "sorted by field, only those set";
    EXPECT_TRUE(s.histories().empty()) << "first values and repeats are no changes";
    EXPECT_EQ(s.set_at(profile_field::mrr), t0 + day);
    EXPECT_EQ(s.first_set_at(profile_field::mrr), t0);

    s.apply(make_event(event_type::account, t0 + 2 * day, {{"csm", "bob"}, {"seats", 12}}));
    s.apply(make_event(event_type::contract, t0 + 2 * day,
                       {{"mrr", 1500}, {"renewal_at", "2028-01-01T00:00:00Z"}, {"products", json::array{"crm", "cpq"}}}));
    EXPECT_EQ(str(s.get(profile_field::csm)), "bob");
    EXPECT_EQ(s.get(profile_field::seats), scalar{12.0});
    EXPECT_EQ(s.get(profile_field::mrr), scalar{1500.0});
    EXPECT_EQ(s.get(profile_field::renewal_at), scalar{*parse_rfc3339("2028-01-01T00:00:00Z")});
    EXPECT_EQ(s.get(profile_field::products), (scalar{string_list{"crm", "cpq"}}));
    for (auto f : {profile_field::csm, profile_field::seats, profile_field::mrr, profile_field::renewal_at,
                   profile_field::products}) {
        ASSERT_EQ(s.history_of(f).size(), 1u) << name_of(f);
        EXPECT_EQ(s.history_of(f)[0].at, t0 + 2 * day) << name_of(f);
        EXPECT_EQ(s.set_at(f), t0 + 2 * day) << name_of(f);
    }
    EXPECT_EQ(str(s.history_of(profile_field::csm)[0].before), "alice");
    EXPECT_EQ(s.history_of(profile_field::seats)[0].before, scalar{10.0});
    EXPECT_TRUE(is_null(s.get(profile_field::name)));
    EXPECT_TRUE(s.history_of(profile_field::name).empty());
    EXPECT_EQ(s.histories().size(), 5u);

    // A state built by hand: put() sets and, with no value and no time, unsets.
    s.put(profile_field::name, std::string("Acme"), t0);
    EXPECT_EQ(str(s.get(profile_field::name)), "Acme");
    s.put(profile_field::name, scalar{});
    EXPECT_TRUE(is_null(s.get(profile_field::name)));
    EXPECT_EQ(s.profile_values().size(), 5u) << "unset again: no entry";
    s.put_history(profile_field::csm, {});
    EXPECT_TRUE(s.history_of(profile_field::csm).empty());
    EXPECT_EQ(s.histories().size(), 4u) << "no empty entry stays";
}
