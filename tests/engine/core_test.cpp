#include "engine/core.hpp"

#include "fake_rules.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <map>

namespace redflag::engine {
namespace {

using testing::fake_rules;
using testing::rule;
using alerts::alert_state;

constexpr timestamp t0 = from_millis(1'767'225'600'000);  // 2026-01-01T00:00:00Z

model::event account_event(std::string account, timestamp at, std::string status = "active") {
    model::event e;
    e.type = model::event_type::account;
    e.account = std::move(account);
    e.at = at;
    e.fields["status"] = status;
    return e;
}

core_options grid(duration tick = hour) { return core_options{t0, tick, true}; }

// Flags set by the test decide each account's condition of rule 0.
struct flags {
    std::map<std::string, bool> on;
    bool operator()(const model::account_state& a) const {
        auto it = on.find(a.id);
        return it != on.end() && it->second;
    }
};

std::vector<std::string> states_of(const std::vector<alerts::alert_event>& events) {
    std::vector<std::string> out;
    for (const auto& e : events)
        out.push_back(e.record.account + ":" + e.record.rule + ":" + std::string(alerts::name_of(e.from)) + ">" +
                      std::string(alerts::name_of(e.to)) + "@" + format_rfc3339(e.at));
    return out;
}

TEST(Core, clock_alone_fires_a_since_rule_without_looking_at_idle_ticks) {
    auto rules = std::make_shared<fake_rules>();
    rules->rule_list = {rule("quiet")};
    rules->eval = [](const model::account_state& a, timestamp now, rules::evaluation& out) {
        bool quiet = now - a.latest_at >= 90 * day;
        out.conditions[0] = quiet;
        if (!quiet) out.next_change = a.latest_at + 90 * day;
    };
    core c(rules, grid());
    c.apply(account_event("acme", t0));
    EXPECT_TRUE(c.events().empty());
    EXPECT_EQ(c.find("acme")->wake, t0 + 90 * day);
    c.advance_to(t0 + 90 * day - duration{1});
    EXPECT_TRUE(c.events().empty());
    EXPECT_EQ(rules->evaluations, 1u);  // 2159 idle ticks cost nothing
    c.advance_to(t0 + 90 * day + 30 * minute);
    EXPECT_EQ(states_of(c.events()),
              std::vector<std::string>{"acme:quiet:inactive>firing@2026-04-01T00:00:00Z"});
    EXPECT_EQ(c.events()[0].message, "quiet: acme @ 2026-04-01T00:00:00Z");
    EXPECT_EQ(rules->evaluations, 2u);
    EXPECT_EQ(c.now(), t0 + 90 * day + 30 * minute);
    c.clear_events();
    c.apply(account_event("acme", t0 + 100 * day + 5 * minute));  // an event resolves it, at its own time
    EXPECT_EQ(states_of(c.events()),
              std::vector<std::string>{"acme:quiet:firing>resolved@2026-04-11T00:05:00Z"});
}

TEST(Core, for_deadline_rounds_up_to_the_grid) {
    auto rules = std::make_shared<fake_rules>();
    rules->rule_list = {rule("r", 2 * hour)};
    flags f{{{"acme", true}}};
    rules->eval = [&](const model::account_state& a, timestamp, rules::evaluation& out) { out.conditions[0] = f(a); };
    core c(rules, grid());
    c.apply(account_event("acme", t0 + 10 * minute));
    EXPECT_EQ(states_of(c.events()), std::vector<std::string>{"acme:r:inactive>pending@2026-01-01T00:10:00Z"});
    EXPECT_EQ(c.find("acme")->wake, t0 + 3 * hour);  // deadline 02:10, next grid instant 03:00
    c.clear_events();
    c.advance_to(t0 + 2 * hour + 59 * minute);
    EXPECT_TRUE(c.events().empty());
    c.advance_to(t0 + 3 * hour);
    EXPECT_EQ(states_of(c.events()), std::vector<std::string>{"acme:r:pending>firing@2026-01-01T03:00:00Z"});
    EXPECT_EQ(c.find("acme")->wake, timestamp_max);  // nothing left to wait for
}

TEST(Core, keep_firing_for_resolves_on_the_clock_at_the_next_grid_instant) {
    auto rules = std::make_shared<fake_rules>();
    rules->rule_list = {rule("r", duration::zero(), 3 * hour)};
    flags f{{{"acme", true}}};
    rules->eval = [&](const model::account_state& a, timestamp, rules::evaluation& out) { out.conditions[0] = f(a); };
    core c(rules, grid());
    c.apply(account_event("acme", t0));
    f.on["acme"] = false;
    c.apply(account_event("acme", t0 + 20 * minute));  // first evaluation that sees it false
    EXPECT_EQ(c.find("acme")->wake, t0 + 4 * hour);   // 03:20 rounded up
    c.advance_to(t0 + 3 * hour + 59 * minute);
    EXPECT_EQ(c.events().size(), 1u);
    c.advance_to(t0 + 4 * hour);
    EXPECT_EQ(states_of(c.events()), (std::vector<std::string>{"acme:r:inactive>firing@2026-01-01T00:00:00Z",
                                                               "acme:r:firing>resolved@2026-01-01T04:00:00Z"}));
}

TEST(Core, grid_helpers_handle_instants_before_the_origin) {
    core c(nullptr, grid());
    EXPECT_EQ(c.grid_ceil(t0 - 30 * minute), t0);
    EXPECT_EQ(c.grid_floor(t0 - 30 * minute), t0 - hour);
    EXPECT_EQ(c.grid_ceil(t0 + hour), t0 + hour);
    EXPECT_EQ(c.grid_floor(t0 + hour + duration{1}), t0 + hour);
}

TEST(Core, wakes_of_many_accounts_fire_in_time_order) {
    auto rules = std::make_shared<fake_rules>();
    rules->rule_list = {rule("late")};
    std::map<std::string, duration> delay{{"a", 2 * hour}, {"b", 3 * hour}, {"c", 5 * hour}};
    rules->eval = [&](const model::account_state& a, timestamp now, rules::evaluation& out) {
        timestamp due = a.latest_at + delay[a.id];
        out.conditions[0] = now >= due;
        if (now < due) out.next_change = due;
    };
    core c(rules, grid());
    c.apply(account_event("c", t0));
    c.apply(account_event("a", t0));
    c.apply(account_event("b", t0 + 30 * minute));  // due 03:30, evaluated at 04:00
    c.advance_to(t0 + 10 * hour);
    EXPECT_EQ(states_of(c.events()), (std::vector<std::string>{"a:late:inactive>firing@2026-01-01T02:00:00Z",
                                                               "b:late:inactive>firing@2026-01-01T04:00:00Z",
                                                               "c:late:inactive>firing@2026-01-01T05:00:00Z"}));
}

TEST(Core, time_never_goes_backwards) {
    auto rules = std::make_shared<fake_rules>();
    rules->rule_list = {rule("r")};
    rules->eval = [](const model::account_state&, timestamp, rules::evaluation& out) { out.conditions[0] = 1; };
    core c(rules, grid());
    c.advance_to(t0 + 5 * hour);
    c.apply(account_event("acme", t0 + hour));  // a late event is evaluated at the core's now
    EXPECT_EQ(states_of(c.events()), std::vector<std::string>{"acme:r:inactive>firing@2026-01-01T05:00:00Z"});
    c.advance_to(t0);  // ignored
    EXPECT_EQ(c.now(), t0 + 5 * hour);
}

TEST(Core, a_wake_that_would_not_move_still_makes_progress) {
    // An evaluator that always claims a change "now" must not spin.
    auto rules = std::make_shared<fake_rules>();
    rules->rule_list = {rule("r")};
    rules->eval = [](const model::account_state&, timestamp now, rules::evaluation& out) { out.next_change = now; };
    core c(rules, grid());
    c.apply(account_event("acme", t0));
    c.advance_to(t0 + 10 * hour);
    EXPECT_EQ(rules->evaluations, 11u);  // once per grid instant, no more
}

TEST(Core, swap_rules_keeps_unchanged_alerts_and_silently_resolves_gone_or_changed) {
    auto v1 = std::make_shared<fake_rules>();
    v1->rule_list = {rule("keep"), rule("gone"), rule("changed")};
    auto all_true = [](const model::account_state&, timestamp, rules::evaluation& out) {
        std::fill(out.conditions.begin(), out.conditions.end(), 1);
    };
    v1->eval = all_true;
    core c(v1, grid());
    c.apply(account_event("acme", t0));
    ASSERT_EQ(c.events().size(), 3u);
    std::string keep_id = c.find("acme")->alerts.find(0)->id;
    c.clear_events();

    auto v2 = std::make_shared<fake_rules>();
    v2->rule_list = {rule("added"), rule("changed", duration::zero(), duration::zero(), 2), rule("keep")};
    v2->eval = all_true;
    c.advance_to(t0 + hour);
    c.swap_rules(v2);
    EXPECT_EQ(states_of(c.events()), (std::vector<std::string>{"acme:gone:firing>resolved@2026-01-01T01:00:00Z",
                                                               "acme:changed:firing>resolved@2026-01-01T01:00:00Z",
                                                               "acme:added:inactive>firing@2026-01-01T01:00:00Z",
                                                               "acme:changed:inactive>firing@2026-01-01T01:00:00Z"}));
    EXPECT_FALSE(c.events()[0].notify);
    EXPECT_FALSE(c.events()[1].notify);
    EXPECT_TRUE(c.events()[2].notify);
    const auto* kept = c.find("acme")->alerts.find(2);  // "keep" is rule 2 now
    ASSERT_NE(kept, nullptr);
    EXPECT_EQ(kept->id, keep_id);
    EXPECT_EQ(kept->rule, "keep");
    EXPECT_NE(c.find("acme")->alerts.find(1)->id, alerts::make_alert_id("changed", "acme", t0));
    EXPECT_EQ(v2->evaluations, 1u);
}

TEST(Core, swap_rules_reevaluates_100k_accounts_within_two_seconds) {
    auto v1 = std::make_shared<fake_rules>();
    v1->rule_list = {rule("r")};
    v1->score_list = {{"health", {"c"}, {"green", "red"}}};
    v1->eval = [](const model::account_state& a, timestamp, rules::evaluation& out) {
        out.conditions[0] = a.id.back() == '7';
        out.scores[0] = 50;
        out.bands[0] = 1;
    };
    core c(v1, grid());
    constexpr int n = 100'000;
    for (int i = 0; i < n; ++i) c.apply(account_event("account-" + std::to_string(i), t0));
    EXPECT_EQ(c.account_count(), static_cast<std::size_t>(n));
    EXPECT_EQ(c.events().size(), static_cast<std::size_t>(n / 10));
    c.clear_events();
    auto v2 = std::make_shared<fake_rules>(*v1);
    v2->evaluations = 0;
    auto start = std::chrono::steady_clock::now();
    c.swap_rules(v2);
    auto took = std::chrono::steady_clock::now() - start;
    EXPECT_LT(took, std::chrono::seconds(2));
    EXPECT_EQ(v2->evaluations, static_cast<std::size_t>(n));
    EXPECT_TRUE(c.events().empty());  // same rules: every alert kept, nothing new
    std::size_t firing = 0;
    c.for_each_account([&](const account_record& a) { firing += a.alerts.active().size(); });
    EXPECT_EQ(firing, static_cast<std::size_t>(n / 10));
}

TEST(Core, acknowledge_stops_repeats) {
    auto rules = std::make_shared<fake_rules>();
    auto r = rule("r");
    r.has_repeat = true;
    rules->rule_list = {r};
    rules->eval = [](const model::account_state&, timestamp, rules::evaluation& out) { out.conditions[0] = 1; };
    rules->repeat = [](std::size_t, const model::account_state&, timestamp) { return std::optional<duration>(day); };
    core c(rules, grid());
    c.apply(account_event("acme", t0 + 20 * minute));
    EXPECT_EQ(c.find("acme")->wake, t0 + day + hour);  // due 1d after 00:20, on the grid at 01:00
    c.clear_events();
    c.advance_to(t0 + day + hour);
    ASSERT_EQ(c.events().size(), 1u);
    EXPECT_EQ(c.events()[0].kind, alerts::event_kind::repeat_due);
    EXPECT_EQ(c.events()[0].at, t0 + day + hour);
    c.clear_events();
    std::string id = c.find("acme")->alerts.find(0)->id;
    EXPECT_FALSE(c.acknowledge("acme", "no-such-alert", {"ann", "", t0 + day + 2 * hour}));
    EXPECT_FALSE(c.acknowledge("nobody", id, {"ann", "", t0 + day + 2 * hour}));
    EXPECT_TRUE(c.acknowledge("acme", id, {"ann", "on it", t0 + day + 2 * hour}));
    ASSERT_EQ(c.events().size(), 1u);
    EXPECT_EQ(c.events()[0].kind, alerts::event_kind::acknowledged);
    EXPECT_EQ(c.find("acme")->wake, timestamp_max);
    c.clear_events();
    c.advance_to(t0 + 10 * day);
    EXPECT_TRUE(c.events().empty());
}

TEST(Core, scores_and_classes_of_the_last_evaluation) {
    auto rules = std::make_shared<fake_rules>();
    rules->score_list = {{"health", {"usage"}, {"green", "yellow", "red"}}};
    rules->class_list = {{"tier", {"big", "small"}}};
    rules->eval = [](const model::account_state& a, timestamp, rules::evaluation& out) {
        if (a.id == "acme") {
            out.scores[0] = 61;
            out.bands[0] = 1;
            out.classes[0] = 1;
        }
    };
    core c(rules, grid());
    c.apply(account_event("acme", t0));
    c.apply(account_event("empty", t0));
    auto s = c.score("acme", "health");
    ASSERT_TRUE(s);
    EXPECT_EQ(s->value, 61.0);
    EXPECT_EQ(s->band, "yellow");
    EXPECT_EQ(c.classification("acme", "tier"), "small");
    auto null_score = c.score("empty", "health");
    ASSERT_TRUE(null_score);
    EXPECT_FALSE(null_score->value);
    EXPECT_EQ(null_score->band, "unknown");
    EXPECT_EQ(c.classification("empty", "tier"), "big");
    EXPECT_FALSE(c.score("acme", "nope"));
    EXPECT_FALSE(c.score("nobody", "health"));
    EXPECT_FALSE(c.classification("acme", "nope"));
}

TEST(Core, restore_keeps_alerts_of_matching_rules_and_ends_the_others) {
    auto rules = std::make_shared<fake_rules>();
    rules->rule_list = {rule("a", day), rule("b")};
    rules->eval = [](const model::account_state&, timestamp, rules::evaluation& out) { out.conditions[0] = 1; };
    core c(rules, grid());

    model::account_state state;
    state.id = "acme";
    state.latest_at = t0;
    alerts::alert pending;
    pending.id = "p1";
    pending.rule = "a";
    pending.rule_fingerprint = 1;
    pending.account = "acme";
    pending.state = alert_state::pending;
    pending.started_at = t0;
    alerts::alert stale = pending;
    stale.id = "s1";
    stale.rule = "b";
    stale.rule_fingerprint = 99;  // the rule changed since
    stale.state = alert_state::firing;
    c.restore(std::move(state), {pending, stale});
    EXPECT_EQ(states_of(c.events()), std::vector<std::string>{"acme:b:firing>resolved@2026-01-01T00:00:00Z"});
    c.clear_events();
    c.advance_to(t0 + 2 * hour);
    c.reevaluate_all();
    EXPECT_TRUE(c.events().empty());
    EXPECT_EQ(c.find("acme")->wake, t0 + day);  // the restored pending alert keeps its start
    c.advance_to(t0 + day);
    EXPECT_EQ(states_of(c.events()), std::vector<std::string>{"acme:a:pending>firing@2026-01-02T00:00:00Z"});
    EXPECT_EQ(c.events()[0].record.id, "p1");
}

TEST(Core, expire_before_drops_old_records_but_keeps_the_latest) {
    core c(nullptr, grid());  // no rules: state is still kept
    for (int d = 0; d < 10; ++d) {
        model::event e;
        e.type = model::event_type::activity;
        e.account = "acme";
        e.at = t0 + d * day;
        e.fields["kind"] = "call";
        c.apply(e);
    }
    const auto& records = c.find("acme")->state.stream(model::event_type::activity);
    ASSERT_EQ(records.size(), 10u);
    c.expire_before(t0 + 7 * day);
    ASSERT_EQ(records.size(), 3u);
    EXPECT_EQ(records.front().at, t0 + 7 * day);
    c.expire_before(t0 + 100 * day);
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records.front().at, t0 + 9 * day);
}

TEST(Core, prefetch_steps_find_known_accounts_and_change_nothing) {
    auto rules = std::make_shared<fake_rules>();
    rules->rule_list = {rule("r")};
    rules->eval = [](const model::account_state&, timestamp, rules::evaluation& out) { out.conditions[0] = 0; };
    core c(rules, grid());
    for (int i = 0; i < 100; ++i) c.apply(account_event("acct-" + std::to_string(i), t0));
    // A known account's record is found by its hash; an unknown one gives no_account.
    std::uint32_t known = c.prefetch_record(c.prefetch_slot("acct-42"));
    EXPECT_NE(known, core::no_account);
    EXPECT_NE(c.prefetch_record(c.prefetch_slot("acct-43")), known);
    EXPECT_EQ(c.prefetch_record(c.prefetch_slot("nobody")), core::no_account);
    c.prefetch_contents(known);
    c.prefetch_contents(core::no_account);
    EXPECT_EQ(c.account_count(), 100u);
    EXPECT_EQ(c.find("nobody"), nullptr);
    // An empty core has nothing to find.
    core empty(rules, grid());
    EXPECT_EQ(empty.prefetch_record(empty.prefetch_slot("acct-1")), core::no_account);
}

// A round whose write failed is taken back: the alerts it changed, the state its events
// changed and the accounts it created, so that nothing of it can pass for durable later.
TEST(Core, rollback_round_takes_back_alerts_state_and_created_accounts) {
    auto rules = std::make_shared<fake_rules>();
    rules->rule_list = {rule("r")};
    flags f;
    rules->eval = [&](const model::account_state& a, timestamp, rules::evaluation& out) { out.conditions[0] = f(a); };
    core c(rules, grid());
    c.apply(account_event("acme", t0));
    const auto durable = c.find("acme")->state;  // what the store holds after that round
    c.clear_events();

    c.begin_round();
    f.on["acme"] = true;
    f.on["newco"] = true;
    c.apply(account_event("acme", t0 + minute, "churned"));
    c.apply(account_event("newco", t0 + minute));
    ASSERT_EQ(c.events().size(), 2u);  // both fire
    ASSERT_EQ(c.account_count(), 2u);
    std::vector<std::string> asked;
    auto unreadable = c.rollback_round([&](std::string_view account) -> std::optional<model::account_state> {
        asked.emplace_back(account);
        return durable;
    });
    EXPECT_TRUE(unreadable.empty());
    EXPECT_EQ(asked, std::vector<std::string>{"acme"});  // newco is removed, not read back
    EXPECT_TRUE(c.events().empty());
    EXPECT_EQ(c.account_count(), 1u);
    EXPECT_EQ(c.find("newco"), nullptr);
    ASSERT_NE(c.find("acme"), nullptr);
    EXPECT_TRUE(c.find("acme")->alerts.empty());
    EXPECT_EQ(c.find("acme")->state.get(model::profile_field::status), durable.get(model::profile_field::status));

    // The restored account is evaluated again at the next advance: the condition is still
    // true for acme, so its alert fires then (and is written with that round).
    c.advance_to(t0 + minute);
    EXPECT_EQ(states_of(c.events()), std::vector<std::string>{"acme:r:inactive>firing@2026-01-01T00:01:00Z"});
    c.clear_events();
    // A new account of the same name starts afresh.
    c.apply(account_event("newco", t0 + 2 * minute));
    EXPECT_EQ(c.account_count(), 2u);
    EXPECT_EQ(states_of(c.events()), std::vector<std::string>{"newco:r:inactive>firing@2026-01-01T00:02:00Z"});
}

TEST(Core, rollback_round_restores_an_acknowledged_and_a_resolved_alert) {
    auto rules = std::make_shared<fake_rules>();
    rules->rule_list = {rule("r")};
    flags f{{{"acme", true}}};
    rules->eval = [&](const model::account_state& a, timestamp, rules::evaluation& out) { out.conditions[0] = f(a); };
    core c(rules, grid());
    c.apply(account_event("acme", t0));
    ASSERT_EQ(c.find("acme")->alerts.active().size(), 1u);
    const auto before = c.find("acme")->alerts.active()[0];
    c.clear_events();

    c.begin_round();
    ASSERT_TRUE(c.acknowledge("acme", before.id, alerts::acknowledgement{"ana", "on it", t0 + minute}));
    f.on["acme"] = false;
    c.advance_to(t0 + hour);  // the wake re-evaluates it: resolved
    c.apply(account_event("acme", t0 + hour));
    EXPECT_TRUE(c.find("acme")->alerts.empty());
    c.rollback_round([&](std::string_view) { return std::optional<model::account_state>{}; });
    ASSERT_EQ(c.find("acme")->alerts.active().size(), 1u);
    EXPECT_EQ(c.find("acme")->alerts.active()[0], before);
    EXPECT_TRUE(c.events().empty());
}

TEST(Core, rollback_round_reports_accounts_it_could_not_read_back_and_reload_restores_them) {
    core c(nullptr, grid());
    c.apply(account_event("acme", t0));
    c.begin_round();
    c.apply(account_event("acme", t0 + minute, "churned"));
    auto unreadable = c.rollback_round([](std::string_view) { return std::optional<model::account_state>{}; });
    EXPECT_EQ(unreadable, std::vector<std::string>{"acme"});
    model::account_state state;
    state.id = "acme";
    state.apply(account_event("acme", t0));
    EXPECT_TRUE(c.reload(state));
    EXPECT_EQ(c.find("acme")->state.latest_at, t0);
    EXPECT_FALSE(c.reload(model::account_state{}));  // unknown account
}

TEST(Core, without_a_round_nothing_is_journaled_or_taken_back) {
    core c(nullptr, grid());
    c.apply(account_event("acme", t0));
    auto unreadable = c.rollback_round([](std::string_view) { return std::optional<model::account_state>{}; });
    EXPECT_TRUE(unreadable.empty());
    EXPECT_NE(c.find("acme"), nullptr);
}

}  // namespace
}  // namespace redflag::engine
