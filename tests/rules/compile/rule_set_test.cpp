// Rule text end to end: load_sources (parse → check → compile) and evaluate() on account
// states built with account_state::apply, including the conformance scenarios of
// ../shared/conformance with their hand-worked numbers.
#include "rules/compile/compiler.hpp"
#include "rules/rule_set.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <sstream>

namespace redflag::rules {
namespace {

using model::event_type;
namespace json = boost::json;

const timestamp t0 = *parse_rfc3339("2026-01-01T00:00:00Z");

std::shared_ptr<const rule_set> load_text(const std::string& text) {
    std::vector<source_text> sources{{"test.rules", text}};
    load_result r = load_sources(std::move(sources));
    EXPECT_TRUE(r.rules) << render_text(r.problems);
    return r.rules;
}

std::string read(const std::string& path) {
    std::ifstream in(path);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::shared_ptr<const rule_set> load_conformance(const std::string& name) {
    std::string path = std::string(REDFLAG_SOURCE_DIR) + "/../shared/conformance/" + name;
    std::string text = read(path);
    std::vector<source_text> sources{{path, text}};
    load_result r = load_sources(std::move(sources));
    EXPECT_TRUE(r.rules) << render_text(r.problems);
    return r.rules;
}

// Events in time order, applied to a fresh state up to an instant.
struct history {
    std::vector<model::event> events;

    void add(event_type type, timestamp at, json::object fields) {
        model::event e;
        e.type = type;
        e.account = "acme";
        e.at = at;
        e.id = std::to_string(events.size());
        e.fields = std::move(fields);
        events.push_back(std::move(e));
    }
    void series(const std::string& metric, timestamp from, duration every, double value, int n) {
        for (int i = 0; i < n; ++i)
            add(event_type::usage, from + i * every, {{"metric", metric}, {"value", value}});
    }
    model::account_state at(timestamp t) const {
        std::vector<const model::event*> sorted;
        for (const auto& e : events)
            if (e.at <= t) sorted.push_back(&e);
        std::stable_sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->at < b->at; });
        model::account_state s;
        s.id = "acme";
        for (const auto* e : sorted) s.apply(*e);
        return s;
    }
};

struct result {
    evaluation e;
    const rule_set* rules;
    bool firing(std::string_view rule) const { return e.conditions[*rules->find_rule(rule)] != 0; }
};

result run(const rule_set& rules, const model::account_state& s, timestamp now, duration tick = minute) {
    result r{rules.make_evaluation(), &rules};
    rules.evaluate(s, now, tick, r.e);
    return r;
}

// --- conformance: health.rules ---------------------------------------------------------

history health_events() {
    history h;
    h.add(event_type::account, t0, {{"name", "Acme"}, {"seats", 50}, {"status", "active"}});
    h.series("active_users", t0, day, 25, 60);
    h.add(event_type::nps, t0 + 1 * day, {{"score", 8}});
    h.add(event_type::nps, t0 + 2 * day, {{"score", 6}});
    h.add(event_type::ticket, t0 + 20 * day, {{"ticket_id", "t1"}, {"status", "open"}});
    h.add(event_type::ticket, t0 + 21 * day, {{"ticket_id", "t2"}, {"status", "open"}});
    h.add(event_type::ticket, t0 + 22 * day, {{"ticket_id", "t3"}, {"status", "open"}});
    h.add(event_type::nps, t0 + 26 * day, {{"score", 0}});
    for (int i = 4; i <= 10; ++i)
        h.add(event_type::ticket, t0 + 28 * day, {{"ticket_id", "t" + std::to_string(i)}, {"status", "open"}});
    h.add(event_type::csat, t0 + 30 * day, {{"score", 1}});
    return h;
}

TEST(RuleSet, conformance_health_scores_renormalise_missing_components) {
    auto rules = load_conformance("health.rules");
    ASSERT_TRUE(rules);
    ASSERT_EQ(rules->scores().size(), 1u);
    const auto& bands = rules->scores()[0].bands;
    ASSERT_EQ(bands.size(), 3u);
    history h = health_events();
    struct expected {
        timestamp at;
        double score;
        std::string band;
        bool red;
    };
    for (const expected& x : {expected{t0 + 25 * day, 61, "yellow", false}, expected{t0 + 27 * day, 54, "yellow", false},
                              expected{t0 + 29 * day, 36, "red", true}, expected{t0 + 30 * day + 12 * hour, 29, "red", true}}) {
        result r = run(*rules, h.at(x.at), x.at);
        EXPECT_EQ(r.e.scores[0], x.score) << format_rfc3339(x.at);
        ASSERT_GE(r.e.bands[0], 0);
        EXPECT_EQ(bands[static_cast<std::size_t>(r.e.bands[0])], x.band);
        EXPECT_EQ(r.firing("red_health"), x.red);
        EXPECT_EQ(rules->classifications()[0].labels[r.e.classes[0]], "small");
    }
}

TEST(RuleSet, conformance_health_only_support_component_scores_100) {
    auto rules = load_conformance("health.rules");
    ASSERT_TRUE(rules);
    history h;
    h.add(event_type::account, t0, {{"name", "Big One"}, {"seats", 120}, {"status", "active"}});
    result r = run(*rules, h.at(t0 + 31 * day), t0 + 31 * day);
    EXPECT_EQ(r.e.scores[0], 100);
    EXPECT_EQ(rules->scores()[0].bands[static_cast<std::size_t>(r.e.bands[0])], "green");
    EXPECT_EQ(rules->classifications()[0].labels[r.e.classes[0]], "big");
}

TEST(RuleSet, score_with_every_component_null_is_unknown) {
    auto rules = load_text(R"(
score engagement {
  component survey weight 1 = avg(nps.score, 30d) / 10
  band good >= 50
  band poor
}
rule poor_engagement {
  when engagement.band == "unknown" and engagement.score == null
}
)");
    ASSERT_TRUE(rules);
    model::account_state s;
    s.id = "acme";
    result r = run(*rules, s, t0);
    EXPECT_TRUE(std::isnan(r.e.scores[0]));
    EXPECT_EQ(r.e.bands[0], -1);
    EXPECT_TRUE(r.firing("poor_engagement"));
}

TEST(RuleSet, score_components_are_clamped_and_readable_by_rules) {
    auto rules = load_text(R"(
score s {
  component over  weight 1 = account.seats / 10
  component under weight 3 = 0 - 5
  band top >= 50
  band rest
}
rule over_is_one {
  when s.over == 1 and s.under == 0 and s.score == 25
}
)");
    ASSERT_TRUE(rules);
    history h;
    h.add(event_type::account, t0, {{"seats", 50}});
    result r = run(*rules, h.at(t0), t0);
    EXPECT_EQ(r.e.scores[0], 25);  // 100 * (1*1 + 3*0) / 4
    EXPECT_TRUE(r.firing("over_is_one"));
}

TEST(RuleSet, classify_takes_the_first_match_then_the_default) {
    auto rules = load_text(R"(
classify size {
  huge  when account.seats >= 1000
  big   when account.seats >= 100
  also_big when account.seats >= 100
  default small
}
rule is_big {
  when size == "big"
}
)");
    ASSERT_TRUE(rules);
    ASSERT_EQ(rules->classifications()[0].labels.size(), 4u);
    for (auto [seats, label] : {std::pair{5000, "huge"}, std::pair{150, "big"}, std::pair{3, "small"}}) {
        history h;
        h.add(event_type::account, t0, {{"seats", seats}});
        result r = run(*rules, h.at(t0), t0);
        EXPECT_EQ(rules->classifications()[0].labels[r.e.classes[0]], label);
        EXPECT_EQ(r.firing("is_big"), std::string(label) == "big");
    }
    model::account_state none;  // seats null: no case matches
    result r = run(*rules, none, t0);
    EXPECT_EQ(rules->classifications()[0].labels[r.e.classes[0]], "small");
}

// --- conformance: no_activity.rules ----------------------------------------------------

TEST(RuleSet, conformance_no_activity_fires_at_day_90_and_wakes_then) {
    auto rules = load_conformance("no_activity.rules");
    ASSERT_TRUE(rules);
    history acme;
    acme.add(event_type::account, t0, {{"name", "Acme"}, {"status", "active"}});
    acme.add(event_type::activity, t0, {{"kind", "call"}});
    acme.add(event_type::activity, t0 + 100 * day, {{"kind", "meeting"}});

    result r = run(*rules, acme.at(t0), t0);
    EXPECT_FALSE(r.firing("no_activity_90d"));
    EXPECT_EQ(r.e.next_change, t0 + 90 * day);  // the clock alone will fire it
    r = run(*rules, acme.at(t0 + 89 * day + 12 * hour), t0 + 89 * day + 12 * hour);
    EXPECT_FALSE(r.firing("no_activity_90d"));
    EXPECT_EQ(r.e.next_change, t0 + 90 * day);
    r = run(*rules, acme.at(t0 + 90 * day), t0 + 90 * day);
    EXPECT_TRUE(r.firing("no_activity_90d"));
    r = run(*rules, acme.at(t0 + 99 * day + 12 * hour), t0 + 99 * day + 12 * hour);
    EXPECT_TRUE(r.firing("no_activity_90d"));
    r = run(*rules, acme.at(t0 + 100 * day + 12 * hour), t0 + 100 * day + 12 * hour);
    EXPECT_FALSE(r.firing("no_activity_90d"));
    EXPECT_EQ(r.e.next_change, t0 + 190 * day);

    history gamma;  // first seen on day 10, never any activity
    gamma.add(event_type::account, t0 + 10 * day, {{"name", "Gamma"}, {"status", "active"}});
    r = run(*rules, gamma.at(t0 + 99 * day + 12 * hour), t0 + 99 * day + 12 * hour);
    EXPECT_FALSE(r.firing("no_activity_90d"));
    EXPECT_EQ(r.e.next_change, t0 + 100 * day);
    r = run(*rules, gamma.at(t0 + 100 * day + 12 * hour), t0 + 100 * day + 12 * hour);
    EXPECT_TRUE(r.firing("no_activity_90d"));

    history beta;  // onboarding: the status test is false and does not depend on time
    beta.add(event_type::account, t0, {{"name", "Beta"}, {"status", "onboarding"}});
    r = run(*rules, beta.at(t0), t0);
    EXPECT_FALSE(r.firing("no_activity_90d"));
    EXPECT_EQ(r.e.next_change, timestamp_max);
}

// --- conformance: superuser.rules ------------------------------------------------------

TEST(RuleSet, conformance_inactive_superuser_wakes_at_last_seen_plus_14d) {
    auto rules = load_conformance("superuser.rules");
    ASSERT_TRUE(rules);
    history h;
    h.add(event_type::account, t0, {{"name", "Acme"}, {"status", "active"}});
    h.add(event_type::user, t0, {{"user_id", "u1"}, {"role", "superuser"}});
    h.add(event_type::user, t0, {{"user_id", "u2"}, {"role", "member"}});
    h.add(event_type::usage, t0 + 1 * day, {{"metric", "logins"}, {"user_id", "u1"}});
    h.add(event_type::usage, t0 + 1 * day, {{"metric", "logins"}, {"user_id", "u2"}});
    h.add(event_type::usage, t0 + 20 * day, {{"metric", "logins"}, {"user_id", "u1"}});

    result r = run(*rules, h.at(t0), t0);  // never seen: since(first_seen)
    EXPECT_FALSE(r.firing("inactive_superuser"));
    EXPECT_EQ(r.e.next_change, t0 + 14 * day);
    r = run(*rules, h.at(t0 + 14 * day + 12 * hour), t0 + 14 * day + 12 * hour);
    EXPECT_FALSE(r.firing("inactive_superuser"));
    EXPECT_EQ(r.e.next_change, t0 + 15 * day);
    // At exactly last_seen + 14d, `> 14d` is not yet true: wake a millisecond later.
    r = run(*rules, h.at(t0 + 15 * day), t0 + 15 * day);
    EXPECT_FALSE(r.firing("inactive_superuser"));
    EXPECT_EQ(r.e.next_change, t0 + 15 * day + duration{1});
    r = run(*rules, h.at(t0 + 15 * day + 12 * hour), t0 + 15 * day + 12 * hour);
    EXPECT_TRUE(r.firing("inactive_superuser"));
    r = run(*rules, h.at(t0 + 20 * day + hour), t0 + 20 * day + hour);
    EXPECT_FALSE(r.firing("inactive_superuser"));
    EXPECT_EQ(r.e.next_change, t0 + 34 * day);
    r = run(*rules, h.at(t0 + 33 * day), t0 + 33 * day);
    EXPECT_FALSE(r.firing("inactive_superuser"));
    r = run(*rules, h.at(t0 + 35 * day), t0 + 35 * day);
    EXPECT_TRUE(r.firing("inactive_superuser"));
}

// --- conformance: usage_drop.rules -----------------------------------------------------

TEST(RuleSet, conformance_usage_drop_holds_from_day_31) {
    auto rules = load_conformance("usage_drop.rules");
    ASSERT_TRUE(rules);
    EXPECT_EQ(rules->rules()[0].for_duration, 2 * day);
    EXPECT_EQ(rules->rules()[0].severity, alert_severity::high);
    history h;
    h.add(event_type::account, t0, {{"name", "Acme"}, {"seats", 50}, {"status", "active"}});
    h.series("active_users", t0, day, 40, 28);
    h.series("active_users", t0 + 28 * day, day, 15, 10);
    // Day 30: 7d holds days 24..30 = (4*40 + 3*15)/7 = 29.3 >= 0.7 * 40.
    result r = run(*rules, h.at(t0 + 30 * day), t0 + 30 * day);
    EXPECT_FALSE(r.firing("usage_drop"));
    // The points are daily: the next one enters the 7d window on day 31, the oldest
    // (day 24) leaves the 7d window at day 31 too.
    EXPECT_EQ(r.e.next_change, t0 + 31 * day);
    // Day 31: days 25..31 = (3*40 + 4*15)/7 = 25.7 < 28.
    r = run(*rules, h.at(t0 + 31 * day), t0 + 31 * day);
    EXPECT_TRUE(r.firing("usage_drop"));
    r = run(*rules, h.at(t0 + 40 * day), t0 + 40 * day);
    EXPECT_TRUE(r.firing("usage_drop"));

    // Steady usage never fires.
    history calm;
    calm.add(event_type::account, t0, {{"name", "Calm"}, {"seats", 10}, {"status", "active"}});
    calm.series("active_users", t0, day, 8, 60);
    for (int d = 0; d < 60; d += 7) EXPECT_FALSE(run(*rules, calm.at(t0 + d * day), t0 + d * day).firing("usage_drop"));
}

// --- expressions through the whole pipeline --------------------------------------------

TEST(RuleSet, goals_overdue_and_achieved) {
    auto rules = load_text(R"(
rule overdue {
  when goals.overdue >= 1
}
rule two_achieved {
  when goals.achieved == 2
}
)");
    ASSERT_TRUE(rules);
    history h;
    const auto due = [](duration d) { return format_rfc3339(t0 + d); };
    h.add(event_type::goal, t0, {{"goal_id", "a"}, {"status", "open"}, {"due_at", due(10 * day)}});
    h.add(event_type::goal, t0, {{"goal_id", "b"}, {"status", "open"}, {"due_at", due(20 * day)}});
    h.add(event_type::goal, t0, {{"goal_id", "c"}, {"status", "achieved"}});
    h.add(event_type::goal, t0 + 5 * day, {{"goal_id", "b"}, {"status", "achieved"}});
    // Day 5: a is open and not yet due; b and c achieved.
    result r = run(*rules, h.at(t0 + 5 * day), t0 + 5 * day);
    EXPECT_FALSE(r.firing("overdue"));
    EXPECT_TRUE(r.firing("two_achieved"));
    EXPECT_EQ(r.e.next_change, t0 + 10 * day);  // a's due date: the clock alone will fire it
    // Day 10: a is due (due_at itself is past due).
    r = run(*rules, h.at(t0 + 10 * day), t0 + 10 * day);
    EXPECT_TRUE(r.firing("overdue"));
    // Achieving a clears it; achieved now counts three.
    h.add(event_type::goal, t0 + 11 * day, {{"goal_id", "a"}, {"status", "achieved"}});
    r = run(*rules, h.at(t0 + 11 * day), t0 + 11 * day);
    EXPECT_FALSE(r.firing("overdue"));
    EXPECT_FALSE(r.firing("two_achieved"));
}

TEST(RuleSet, alerts_unacked_and_unacked_for_read_the_facts_given) {
    auto rules = load_text(R"(
let waiting = alerts.unacked_for
rule lead { when waiting > 2d  message "{alerts.unacked} for {alerts.unacked_for | days}" }
rule many { when alerts.unacked >= 2 }
rule plain { when account.mrr > 0 }
)");
    ASSERT_TRUE(rules);
    // Rules reading alerts.* (through a let too) are marked: the engine leaves their
    // alerts out of the facts.
    EXPECT_TRUE(rules->rules()[*rules->find_rule("lead")].reads_alerts);
    EXPECT_TRUE(rules->rules()[*rules->find_rule("many")].reads_alerts);
    EXPECT_FALSE(rules->rules()[*rules->find_rule("plain")].reads_alerts);
    model::account_state s;
    s.id = "acme";
    const timestamp now = t0 + 10 * day;
    // Without facts: no alert waits (0, null).
    result r = run(*rules, s, now);
    EXPECT_FALSE(r.firing("lead"));
    EXPECT_FALSE(r.firing("many"));
    EXPECT_EQ(r.e.next_change, timestamp_max);
    // Two alerts, the oldest waiting since day 9: 1 day now; exactly 2 days on day 11
    // (the crossing: noted), over it one millisecond later.
    alert_facts facts{.unacked = 2, .unacked_since = t0 + 9 * day};
    r = result{rules->make_evaluation(), rules.get()};
    rules->evaluate(s, now, minute, r.e, nullptr, &facts);
    EXPECT_FALSE(r.firing("lead"));
    EXPECT_TRUE(r.firing("many"));
    EXPECT_EQ(r.e.next_change, t0 + 11 * day);
    rules->evaluate(s, t0 + 11 * day, minute, r.e, nullptr, &facts);
    EXPECT_FALSE(r.firing("lead"));
    EXPECT_EQ(r.e.next_change, t0 + 11 * day + duration{1});
    rules->evaluate(s, t0 + 11 * day + duration{1}, minute, r.e, nullptr, &facts);
    EXPECT_TRUE(r.firing("lead"));
    EXPECT_EQ(rules->render_message(*rules->find_rule("lead"), s, t0 + 12 * day, &facts), "2 for 3 days");
    // A snooze in force ending on day 10.5 is a next change too.
    facts.next_change = t0 + 10 * day + 12 * hour;
    rules->evaluate(s, now, minute, r.e, nullptr, &facts);
    EXPECT_EQ(r.e.next_change, t0 + 10 * day + 12 * hour);
}

TEST(RuleSet, account_fields_derived_values_and_history) {
    auto rules = load_text(R"(
rule arr_is_twelve_mrr {
  when account.arr == 12 * account.mrr and account.arr == 60000
}
rule first_seen {
  when account.first_seen == now() - 10d
}
rule id {
  when account.id == "acme"
}
rule csm_changed {
  when changed(account.csm, 30d)
}
rule csm_was {
  when previous(account.csm) == "ann"
}
rule seats_from_contract {
  when account.seats == 70
}
rule no_plan_change {
  when previous(account.plan) == null and not changed(account.plan, 30d)
}
rule has_backup {
  when "backup" in account.products and count(products where product == "backup") == 1
}
)");
    ASSERT_TRUE(rules);
    history h;
    h.add(event_type::account, t0, {{"name", "Acme"}, {"csm", "ann"}, {"seats", 50}});
    h.add(event_type::contract, t0 + day, {{"mrr", 5000}, {"seats", 70}, {"products", json::array{"backup", "mail"}}});
    h.add(event_type::account, t0 + 5 * day, {{"csm", "bob"}});
    timestamp now = t0 + 10 * day;
    result r = run(*rules, h.at(now), now);
    for (const char* name : {"arr_is_twelve_mrr", "first_seen", "id", "csm_changed", "csm_was", "seats_from_contract",
                             "has_backup", "no_plan_change"})
        EXPECT_TRUE(r.firing(name)) << name;
    // The csm change leaves the 30d window at day 35.
    EXPECT_LE(r.e.next_change, t0 + 35 * day);
    now = t0 + 35 * day;
    r = run(*rules, h.at(now), now);
    EXPECT_FALSE(r.firing("csm_changed"));
    EXPECT_TRUE(r.firing("csm_was"));
}

TEST(RuleSet, lets_compile_in_dependency_order_whatever_the_file_order) {
    auto rules = load_text(R"(
rule both {
  when big and active_big
}
let active_big = big and account.status == "active"
let big = account.seats >= seat_floor
let seat_floor = 100
)");
    ASSERT_TRUE(rules);
    history h;
    h.add(event_type::account, t0, {{"seats", 150}, {"status", "active"}});
    EXPECT_TRUE(run(*rules, h.at(t0), t0).firing("both"));
    history small;
    small.add(event_type::account, t0, {{"seats", 15}, {"status", "active"}});
    EXPECT_FALSE(run(*rules, small.at(t0), t0).firing("both"));
}

TEST(RuleSet, attribute_type_mismatch_counts_for_the_rules_that_read_it) {
    auto rules = load_text(R"(
let gold = account.attributes.tier > 3
rule via_let {
  when gold
}
rule direct {
  when account.attributes.tier == "gold"
}
rule other {
  when account.seats > 1
}
)");
    ASSERT_TRUE(rules);
    history h;
    h.add(event_type::account, t0, {{"seats", 5}, {"attributes", json::object{{"tier", "gold"}}}});
    result r = run(*rules, h.at(t0), t0);
    EXPECT_FALSE(r.firing("via_let"));
    EXPECT_EQ(r.e.runtime_errors[*rules->find_rule("via_let")], 1u);
    EXPECT_TRUE(r.firing("direct"));
    EXPECT_EQ(r.e.runtime_errors[*rules->find_rule("direct")], 0u);
    EXPECT_EQ(r.e.runtime_errors[*rules->find_rule("other")], 0u);
}

TEST(RuleSet, where_filters_streams_and_collections) {
    auto rules = load_text(R"(
rule urgent_open {
  when count(ticket where priority == "urgent" and status == "open", 30d) == 1
}
rule open_tickets {
  when count(tickets) == 2 and any(tickets where priority == "urgent")
}
rule all_active {
  when all(users where active) and count(users where role == "admin") == 1
}
rule recent_qbr {
  when since(activity where kind == "qbr") < 10d
}
rule distinct_kind {
  when distinct(nps.score, 90d) == 2
}
)");
    ASSERT_TRUE(rules);
    history h;
    h.add(event_type::ticket, t0, {{"ticket_id", "a"}, {"status", "open"}, {"priority", "urgent"}});
    h.add(event_type::ticket, t0, {{"ticket_id", "b"}, {"status", "open"}});
    h.add(event_type::ticket, t0, {{"ticket_id", "c"}, {"status", "open"}});
    h.add(event_type::ticket, t0 + day, {{"ticket_id", "c"}, {"status", "solved"}});
    h.add(event_type::user, t0, {{"user_id", "u1"}, {"role", "admin"}});
    h.add(event_type::user, t0, {{"user_id", "u2"}, {"role", "member"}});
    h.add(event_type::activity, t0 + 2 * day, {{"kind", "qbr"}});
    h.add(event_type::activity, t0 + 5 * day, {{"kind", "call"}});
    h.add(event_type::nps, t0, {{"score", 9}});
    h.add(event_type::nps, t0 + day, {{"score", 9}});
    h.add(event_type::nps, t0 + 2 * day, {{"score", 3}});
    timestamp now = t0 + 6 * day;
    result r = run(*rules, h.at(now), now);
    for (const char* name : {"urgent_open", "open_tickets", "all_active", "recent_qbr", "distinct_kind"})
        EXPECT_TRUE(r.firing(name)) << name;
    // The qbr turns 10 days old at day 12; the call on day 5 must not count.
    EXPECT_LE(r.e.next_change, t0 + 12 * day);
    now = t0 + 12 * day;
    EXPECT_FALSE(run(*rules, h.at(now), now).firing("recent_qbr"));
}

TEST(RuleSet, now_in_arithmetic_inverts_or_falls_back_to_the_tick) {
    auto rules = load_text(R"(
rule renewal_soon {
  when account.renewal_at - now() < 30d
}
)");
    ASSERT_TRUE(rules);
    history h;
    h.add(event_type::contract, t0, {{"mrr", 100}, {"renewal_at", "2026-06-01T00:00:00Z"}});
    timestamp renewal = *parse_rfc3339("2026-06-01T00:00:00Z");
    result r = run(*rules, h.at(t0), t0);
    EXPECT_FALSE(r.firing("renewal_soon"));
    EXPECT_EQ(r.e.next_change, renewal - 30 * day);
    r = run(*rules, h.at(t0), renewal - 30 * day + duration{1});
    EXPECT_TRUE(r.firing("renewal_soon"));

    auto fuzzy = load_text(R"(
rule odd {
  when round(days(since(activity))) == 3
}
)");
    ASSERT_TRUE(fuzzy);
    history a;
    a.add(event_type::activity, t0, {{"kind", "call"}});
    r = run(*fuzzy, a.at(t0), t0 + day, hour);
    EXPECT_EQ(r.e.next_change, t0 + day + hour);
}

TEST(RuleSet, score_moving_with_now_wakes_on_the_tick) {
    auto rules = load_text(R"(
score touch {
  component recency weight 1 = 1 - days(since(activity)) / 30
  band fresh >= 50
  band stale
}
)");
    ASSERT_TRUE(rules);
    history h;
    h.add(event_type::activity, t0, {{"kind", "call"}});
    result r = run(*rules, h.at(t0), t0 + 3 * day, hour);
    EXPECT_EQ(r.e.scores[0], 90);
    EXPECT_EQ(r.e.next_change, t0 + 3 * day + hour);
    r = run(*rules, h.at(t0), t0 + 40 * day, hour);  // clamped at 0, still not inverted
    EXPECT_EQ(r.e.scores[0], 0);
    EXPECT_EQ(r.e.next_change, t0 + 40 * day + hour);
}

TEST(RuleSet, messages_titles_and_formats) {
    auto rules = load_text(R"(
rule usage_drop {
  title    "Usage dropped"
  when     true
  message  "{account.name}: weekly active users {avg(usage.active_users, 7d) | round} vs {avg(usage.active_users, 28d offset 7d) | round} the four weeks before"
}
rule money {
  when true
  message "{account.arr | money} ({0.25 | pct}), renews {account.renewal_at | date}, idle {since(activity) | days}, {account.csm} {{x}}"
}
rule plain {
  title "Plain"
  when true
}
rule untitled {
  when true
}
)");
    ASSERT_TRUE(rules);
    history h;
    h.add(event_type::account, t0, {{"name", "Acme"}});
    h.add(event_type::contract, t0, {{"mrr", 1033.5}, {"renewal_at", "2026-11-22T00:00:00Z"}});
    h.add(event_type::activity, t0, {{"kind", "call"}});
    h.series("active_users", t0, day, 40, 28);
    h.series("active_users", t0 + 28 * day, day, 15, 10);
    timestamp now = t0 + 31 * day;
    auto s = h.at(now);
    EXPECT_EQ(rules->render_message(0, s, now), "Acme: weekly active users 26 vs 40 the four weeks before");
    EXPECT_EQ(rules->render_message(1, s, now), "$12,402 (25%), renews 2026-11-22, idle 31 days, \u2014 {x}");
    EXPECT_EQ(rules->render_message(2, s, now), "Plain: Acme");
    model::account_state anonymous;
    anonymous.id = "acct-9";
    EXPECT_EQ(rules->render_message(3, anonymous, now), "untitled: acct-9");
}

TEST(RuleSet, repeat_interval_is_evaluated_at_the_instant) {
    auto rules = load_text(R"(
rule r {
  when true
  repeat if account.renewal_at - now() < 30d then 1d else 7d
}
rule never {
  when true
}
)");
    ASSERT_TRUE(rules);
    EXPECT_TRUE(rules->rules()[0].has_repeat);
    history h;
    h.add(event_type::contract, t0, {{"mrr", 100}, {"renewal_at", "2026-02-15T00:00:00Z"}});
    auto s = h.at(t0);
    EXPECT_EQ(rules->repeat_interval(0, s, t0), 7 * day);
    EXPECT_EQ(rules->repeat_interval(0, s, t0 + 20 * day), 1 * day);
    EXPECT_EQ(rules->repeat_interval(1, s, t0), std::nullopt);
}

TEST(RuleSet, definitions_carry_the_rule_fields) {
    auto rules = load_text(R"(
rule r {
  title "T"
  when account.seats > 1
  for 2d
  keep_firing_for 1h
  severity critical
  resolve silent
  labels { team = "emea" }
}
)");
    ASSERT_TRUE(rules);
    const rule_definition& d = rules->rules()[0];
    EXPECT_EQ(d.name, "r");
    EXPECT_EQ(d.title, "T");
    EXPECT_EQ(d.for_duration, 2 * day);
    EXPECT_EQ(d.keep_firing_for, hour);
    EXPECT_EQ(d.severity, alert_severity::critical);
    EXPECT_FALSE(d.resolve_notify);
    ASSERT_EQ(d.labels.size(), 1u);
    EXPECT_EQ(d.labels[0], (std::pair<std::string, std::string>{"team", "emea"}));
    EXPECT_EQ(d.file, "test.rules");
    EXPECT_EQ(d.line, 2u);
}

TEST(RuleSet, fingerprint_follows_meaning_not_layout) {
    auto fp = [](const std::string& text, std::string_view rule) {
        auto rules = load_text(text);
        return rules ? rules->rules()[*rules->find_rule(rule)].fingerprint : 0;
    };
    std::string base = "let big = account.seats > 100\nlet other = 1\nrule r {\n  when big and account.status == \"active\"\n}\n";
    std::uint64_t a = fp(base, "r");
    EXPECT_NE(a, 0u);
    EXPECT_EQ(a, fp(base, "r"));  // stable
    EXPECT_EQ(a, fp("# comment\nlet big = account.seats > 100\nlet other = 1\n\nrule r {\n  when big\n    and account.status == \"active\"\n}\n", "r"));
    EXPECT_EQ(a, fp("let big = account.seats > 100\nlet other = 2\nrule r {\n  when big and account.status == \"active\"\n}\n", "r"));
    EXPECT_NE(a, fp("let big = account.seats > 200\nlet other = 1\nrule r {\n  when big and account.status == \"active\"\n}\n", "r"));
    EXPECT_NE(a, fp("let big = account.seats > 100\nlet other = 1\nrule r {\n  when big and account.status == \"active\"\n  severity high\n}\n", "r"));
    EXPECT_EQ(fp("rule r {\n when true\n}", "r"), fp("rule   r {\n\n  when true # yes\n}", "r"));
    // Pinned: a new build must not change fingerprints, or every alert loses its state
    // on upgrade. Change this value only with a deliberate change of the hash.
    EXPECT_EQ(fp("rule r {\n when true\n}", "r"), 6648322025789888354ULL);
}

TEST(RuleSet, compile_template_uses_the_rule_sets_names) {
    auto rules = load_text("let greeting = \"hello\"\nrule r {\n  when true\n}\n");
    ASSERT_TRUE(rules);
    template_result t = compile_template("{greeting} {account.csm_email}", "redflag.yaml: channels.x.to", rules.get());
    ASSERT_TRUE(t.compiled) << render_text(t.problems);
    history h;
    h.add(event_type::account, t0, {{"csm_email", "ann@example.com"}});
    EXPECT_EQ(t.compiled->render(h.at(t0), t0), "hello ann@example.com");
    template_result bare = compile_template("{account.id}", "x", nullptr);
    ASSERT_TRUE(bare.compiled) << render_text(bare.problems);
    EXPECT_EQ(bare.compiled->render(h.at(t0), t0), "acme");
    template_result bad = compile_template("{nope}", "x", rules.get());
    EXPECT_FALSE(bad.compiled);
    EXPECT_TRUE(has_errors(bad.problems));
}

TEST(RuleSet, load_reports_errors_and_returns_no_rules) {
    std::vector<source_text> sources{{"bad.rules", "rule r {\n  when since(activity) > 90\n}\n"}};
    load_result r = load_sources(std::move(sources));
    EXPECT_FALSE(r.rules);
    EXPECT_TRUE(has_errors(r.problems));
}

// next_change may be early, never late: between an evaluation and the next_change it
// reported (with no new event), every sampled instant gives the same outcome.
TEST(RuleSet, next_change_is_never_late) {
    auto rules = load_text(R"(
let high_value = account.mrr >= 5000
score health {
  component surveys weight 25 = avg(nps.score, 30d) / 10
  component seats   weight 35 = avg(usage.active_users, 7d) / account.seats
  component support weight 20 = 1 - count(ticket where status == "open", 10d) / 10
  band green  >= 70
  band yellow >= 40
  band red
}
classify quadrant {
  hv when high_value and health.band == "green"
  default other
}
rule drop {
  when avg(usage.active_users, 3d) < 70% * avg(usage.active_users, 6d offset 3d)
}
rule idle {
  when any(users where role == "superuser" and since(last_seen ?? first_seen) > 5d)
}
rule quiet {
  when account.status == "active" and since(activity) >= 9d and since(usage) >= 4d
}
rule urgent {
  when count(ticket where priority == "urgent", 4d) >= 2
}
rule csm {
  when changed(account.csm, 6d)
}
rule renewal {
  when account.renewal_at - now() < 20d
}
rule red {
  when high_value and health.band == "red"
}
rule qbr {
  when days(since(activity where kind == "qbr")) > 12.5
}
)");
    ASSERT_TRUE(rules);
    history h;
    h.add(event_type::account, t0, {{"name", "Acme"}, {"seats", 20}, {"status", "active"}, {"csm", "ann"}});
    h.add(event_type::contract, t0, {{"mrr", 6000}, {"renewal_at", "2026-02-20T00:00:00Z"}});
    h.add(event_type::user, t0, {{"user_id", "u1"}, {"role", "superuser"}});
    h.add(event_type::activity, t0 + 2 * day, {{"kind", "qbr"}});
    h.add(event_type::account, t0 + 11 * day + 3 * hour, {{"csm", "bob"}});
    for (int d = 0; d < 30; d += 1)
        if (d % 9 != 4)
            h.add(event_type::usage, t0 + d * day + 7 * hour,
                  {{"metric", "active_users"}, {"value", d < 15 ? 18 : 6}, {"user_id", d < 8 ? "u1" : "u2"}});
    h.add(event_type::ticket, t0 + 5 * day + 90 * minute, {{"ticket_id", "a"}, {"status", "open"}, {"priority", "urgent"}});
    h.add(event_type::ticket, t0 + 6 * day, {{"ticket_id", "b"}, {"status", "open"}, {"priority", "urgent"}});
    h.add(event_type::nps, t0 + 3 * day, {{"score", 9}});
    h.add(event_type::nps, t0 + 20 * day, {{"score", 2}});

    auto same = [](const evaluation& a, const evaluation& b) {
        if (a.conditions != b.conditions || a.bands != b.bands || a.classes != b.classes) return false;
        for (std::size_t i = 0; i < a.scores.size(); ++i)
            if (!(a.scores[i] == b.scores[i] || (std::isnan(a.scores[i]) && std::isnan(b.scores[i])))) return false;
        return true;
    };
    timestamp end = t0 + 70 * day;
    timestamp t = t0;
    int checked = 0;
    while (t < end) {
        timestamp next_event = timestamp_max;
        for (const auto& e : h.events)
            if (e.at > t && e.at < next_event) next_event = e.at;
        auto state = h.at(t);
        result base = run(*rules, state, t, hour);
        ASSERT_GT(base.e.next_change, t);
        timestamp until = std::min({base.e.next_change, next_event, end});
        duration span = until - t;
        for (int k = 1; k <= 40; ++k) {
            timestamp probe = t + span * k / 41;
            if (probe <= t) continue;
            ASSERT_TRUE(same(base.e, run(*rules, state, probe, hour).e))
                << "changed at " << format_rfc3339(probe) << " before next_change " << format_rfc3339(base.e.next_change)
                << " reported at " << format_rfc3339(t);
            ++checked;
        }
        if (until - duration{1} > t) {
            ASSERT_TRUE(same(base.e, run(*rules, state, until - duration{1}, hour).e))
                << "changed just before " << format_rfc3339(until) << ", reported at " << format_rfc3339(t);
        }
        t = until;
    }
    EXPECT_GT(checked, 1000);
}

TEST(RuleSet, evaluation_of_a_dozen_rules_takes_microseconds) {
    auto rules = load_text(R"(
let high_value = account.mrr >= 5000
score health {
  component c_nps     weight 25 = avg(nps.score, 180d) / 10
  component c_csat    weight 20 = (avg(csat.score, 90d) - 1) / 4
  component c_usage   weight 35 = avg(usage.active_users, 28d) / account.seats
  component c_support weight 20 = 1 - count(ticket where status == "open", 30d) / 10
  band green  >= 70
  band yellow >= 40
  band red
}
classify quadrant {
  hv when high_value and health.band == "green"
  default other
}
rule r1 {
  when avg(usage.active_users, 7d) < 70% * avg(usage.active_users, 28d offset 7d)
}
rule r2 {
  when any(users where role == "superuser" and since(last_seen ?? first_seen) > 14d)
}
rule r3 {
  when account.status == "active" and since(activity) >= 90d and since(usage) >= 90d
}
rule r4 {
  when high_value and health.band == "red"
}
rule r5 {
  when count(ticket where priority == "urgent", 7d) >= 2
}
rule r6 {
  when avg(nps.score, 90d) < 7
}
rule r7 {
  when changed(account.csm, 30d)
}
rule r8 {
  when account.renewal_at - now() < 60d and health.score < 50
}
rule r9 {
  when count(tickets) > 5
}
rule r10 {
  when sum(usage.logins, 7d) == 0
}
rule r11 {
  when quadrant == "hv"
}
rule r12 {
  when last(csat.score) <= 2
}
)");
    ASSERT_TRUE(rules);
    history h = health_events();
    h.add(event_type::contract, t0, {{"mrr", 6000}, {"renewal_at", "2026-03-01T00:00:00Z"}});
    for (int u = 0; u < 20; ++u)
        h.add(event_type::user, t0, {{"user_id", "u" + std::to_string(u)}, {"role", u % 5 ? "member" : "superuser"}});
    h.series("logins", t0, hour, 1, 24 * 40);
    timestamp now = t0 + 40 * day;
    auto s = h.at(now);
    evaluation e = rules->make_evaluation();
    rules->evaluate(s, now, minute, e);
    constexpr int n = 2000;
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i) rules->evaluate(s, now + duration{i}, minute, e);
    auto per = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count() / n;
    std::cout << "evaluate: " << per << " us per account (12 rules, 1 score, 1 class)\n";
#ifdef NDEBUG
    EXPECT_LT(per, 50.0);
#endif
}

}  // namespace
}  // namespace redflag::rules

namespace redflag::rules {
namespace {

// evaluation::evaluated and runtime_errors, per rule: what the engine counts.
TEST(RuleSet, evaluations_say_which_rules_were_computed_and_which_met_runtime_errors) {
    auto rules = load_text(R"(
rule tier_check {
  when account.attributes.tier > 3
}
rule answers {
  when count(nps, 30d) > 0
}
)");
    ASSERT_TRUE(rules);
    history h;
    h.add(event_type::account, t0, {{"attributes", json::object{{"tier", "gold"}}}});
    auto s = h.at(t0);
    evaluation full = rules->make_evaluation();
    rules->evaluate(s, t0, minute, full);
    EXPECT_EQ(full.evaluated, (std::vector<std::uint8_t>{1, 1}));
    EXPECT_EQ(full.runtime_errors, (std::vector<std::uint32_t>{1, 0}));

    // Nothing changed and nothing is due: both reused, nothing counted again.
    previous_evaluation previous{0, full.conditions, full.scores, full.bands, full.classes, full.item_next,
                                 full.components};
    evaluation again = rules->make_evaluation();
    rules->evaluate(s, t0 + hour, minute, again, &previous);
    EXPECT_EQ(again.evaluated, (std::vector<std::uint8_t>{0, 0}));
    EXPECT_EQ(again.runtime_errors, (std::vector<std::uint32_t>{0, 0}));
    EXPECT_EQ(again.conditions, full.conditions);
}

// Every function that meets an attribute of a kind it cannot take counts it, not only
// comparisons and arithmetic (these gave null or false silently).
TEST(RuleSet, functions_given_a_mistyped_attribute_count_a_runtime_error) {
    const char* conditions[] = {
        "abs(account.attributes.tier) > 1",          "days(account.attributes.tier) > 1",
        "lower(account.attributes.n) == \"x\"",      "upper(account.attributes.n) == \"X\"",
        "contains(account.attributes.n, \"a\")",     "contains(\"abc\", account.attributes.n)",
        "starts_with(account.attributes.n, \"a\")", "pct_change(account.attributes.tier, 2) > 0",
        "clamp(1, account.attributes.tier, 2) > 0",
    };
    history h;
    h.add(event_type::account, t0, {{"attributes", json::object{{"tier", "gold"}, {"n", 7}}}});
    auto s = h.at(t0);
    for (const char* when : conditions) {
        auto rules = load_text(std::string("rule r {\n  when ") + when + "\n}\n");
        ASSERT_TRUE(rules) << when;
        evaluation e = rules->make_evaluation();
        rules->evaluate(s, t0, minute, e);
        EXPECT_EQ(e.conditions[0], 0) << when;
        EXPECT_EQ(e.runtime_errors[0], 1u) << when;
    }
    // Of the right kind, or absent (null), they are no error.
    auto fine = load_text("rule r {\n  when abs(account.attributes.n) > 1 and days(account.attributes.none ?? 1d) > 0\n}\n");
    ASSERT_TRUE(fine);
    evaluation e = fine->make_evaluation();
    fine->evaluate(s, t0, minute, e);
    EXPECT_EQ(e.conditions[0], 1);
    EXPECT_EQ(e.runtime_errors[0], 0u);
}

}  // namespace
}  // namespace redflag::rules

namespace redflag::rules {
namespace {

TEST(RuleSet, issue_13_clauses_compile_into_the_definitions) {
    auto rules = load_text(R"(
rule churned {
  when account.status == "churned"
}
rule risk {
  when account.seats < 10
  inhibited_by [churned, cancellation_requested]
  escalate after 3d to leadership
  snooze_wake_if account.mrr < 100 or account.renewal_at - now() < 30d
}
rule cancellation_requested {
  when account.contract_status == "cancellation_requested"
}
)");
    ASSERT_TRUE(rules);
    const rule_definition& d = rules->rules()[1];
    EXPECT_EQ(d.inhibited_by, (std::vector<std::string>{"churned", "cancellation_requested"}));
    EXPECT_EQ(d.inhibitors, (std::vector<std::uint32_t>{0, 2}));
    EXPECT_EQ(d.escalate_after, 3 * day);
    EXPECT_EQ(d.escalate_to, "leadership");
    EXPECT_EQ(rules->default_wake_if("risk"), "account.mrr < 100 or account.renewal_at - now() < 30d");
    EXPECT_EQ(rules->default_wake_if("churned"), std::nullopt);
    EXPECT_EQ(rules->default_wake_if("nope"), std::nullopt);
    EXPECT_TRUE(rules->rules()[0].inhibitors.empty());
    EXPECT_EQ(rules->rules()[0].escalate_after, duration::zero());

    history h;
    h.add(event_type::contract, t0, {{"mrr", 500}, {"renewal_at", "2026-03-15T00:00:00Z"}});
    auto s = h.at(t0);
    EXPECT_EQ(rules->snooze_wake_if_holds(1, s, t0), false);
    EXPECT_EQ(rules->snooze_wake_if_holds(1, s, t0 + 50 * day), true);  // renewal within 30 days
    EXPECT_EQ(rules->snooze_wake_if_holds(0, s, t0), std::nullopt);
}

TEST(RuleSet, issue_13_clauses_change_the_fingerprint_only_when_present) {
    auto fp = [](const std::string& text) {
        auto rules = load_text(text);
        return rules ? rules->rules()[*rules->find_rule("r")].fingerprint : 0;
    };
    const std::string other = "rule o {\n when true\n}\n";
    auto plain = fp(other + "rule r {\n when true\n}");
    EXPECT_EQ(plain, 6648322025789888354ULL);  // unchanged by the new clauses' existence
    EXPECT_NE(plain, fp(other + "rule r {\n when true\n inhibited_by [o]\n}"));
    EXPECT_NE(plain, fp(other + "rule r {\n when true\n escalate after 1d to x\n}"));
    EXPECT_NE(fp(other + "rule r {\n when true\n escalate after 1d to x\n}"),
              fp(other + "rule r {\n when true\n escalate after 2d to x\n}"));
    EXPECT_NE(plain, fp(other + "rule r {\n when true\n snooze_wake_if true\n}"));
}

}  // namespace
}  // namespace redflag::rules
