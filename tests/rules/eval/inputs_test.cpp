// Incremental evaluation (rules/eval/inputs.hpp, rule_set::evaluate with a
// previous_evaluation): the inputs each item reads, the inputs each event changes, and
// the property that matters: reusing unaffected items gives exactly what a full
// evaluation gives, over a long random history of every event type, out-of-order
// events and time-only wakes, with the shipped rules.
#include "rules/compile/compiler.hpp"
#include "rules/eval/inputs.hpp"
#include "rules/rule_set.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace redflag::rules {
namespace {

using model::event_type;
namespace json = boost::json;
namespace in = eval::inputs;

const timestamp t0 = *parse_rfc3339("2026-01-01T00:00:00Z");

std::shared_ptr<const compile::compiled_rule_set> load_text(const std::string& text) {
    load_result r = load_sources({{"test.rules", text}});
    EXPECT_TRUE(r.rules) << render_text(r.problems);
    return std::dynamic_pointer_cast<const compile::compiled_rule_set>(r.rules);
}

model::event make_event(event_type type, timestamp at, json::object fields, std::string account = "acme") {
    model::event e;
    e.type = type;
    e.account = std::move(account);
    e.at = at;
    e.fields = std::move(fields);
    return e;
}

const char* const sample_rules = R"(
let live = account.status != "churned"
rule nps_low { when live and min(nps.score, 30d) <= 6 }
rule drop { when avg(usage.active_users, 7d) < 10 }
rule idle { when since(activity) > 30d }
rule busy { when count(tickets where priority == "urgent") > 2 }
score s {
  component a weight 1 = count(tickets) / 5
  band hi >= 50
  band lo
}
rule red { when s.band == "lo" and any(users where role == "admin") }
)";

TEST(Inputs, EachRuleReadsWhatItsExpressionNames) {
    auto set = load_text(sample_rules);
    ASSERT_TRUE(set);
    const auto& code = set->code();
    ASSERT_EQ(code.input_metrics, std::vector<std::string>{"active_users"});
    const eval::input_mask active_users = eval::input_mask{1} << in::first_metric_bit;
    auto rule = [&](std::string_view name) { return code.rule_inputs[*set->find_rule(name)]; };
    EXPECT_EQ(rule("nps_low"), in::profile | in::stream(event_type::nps));
    EXPECT_EQ(rule("drop"), active_users);
    EXPECT_EQ(rule("idle"), in::stream(event_type::activity) | in::first_seen);
    EXPECT_EQ(rule("busy"), in::tickets);
    EXPECT_EQ(rule("red"), in::tickets | in::users);  // through the score
}

TEST(Inputs, AlertFactsAreAnInputOfTheirOwnThatNoEventChanges) {
    auto set = load_text(R"(
let waiting = alerts.unacked_for > 2d
rule lead { when waiting }
rule other { when account.mrr > 0 }
)");
    ASSERT_TRUE(set);
    const auto& code = set->code();
    EXPECT_EQ(code.rule_inputs[*set->find_rule("lead")], in::alerts);
    EXPECT_EQ(code.rule_inputs[*set->find_rule("other")], in::profile);
    model::account_state s;
    s.id = "acme";
    for (auto type : {event_type::account, event_type::ticket, event_type::nps})
        EXPECT_EQ(set->inputs_changed_by(make_event(type, t0, {{"name", "x"}, {"ticket_id", "t"}, {"status", "open"}, {"score", 5}}), s) & in::alerts, 0u);
    // Reused while the facts do not change, recomputed when the engine says they did.
    alert_facts facts{.unacked = 1, .unacked_since = t0};
    evaluation e = set->make_evaluation();
    set->evaluate(s, t0 + 3 * day, minute, e, nullptr, &facts);
    ASSERT_EQ(e.conditions[0], 1);
    evaluation next = set->make_evaluation();
    alert_facts none;
    previous_evaluation unchanged{0, e.conditions, e.scores, e.bands, e.classes, e.item_next, e.components};
    set->evaluate(s, t0 + 3 * day + hour, minute, next, &unchanged, &none);
    EXPECT_EQ(next.conditions[0], 1);  // kept: nothing said the facts changed
    EXPECT_EQ(next.evaluated[0], 0);
    previous_evaluation changed{alert_facts::changed_input, e.conditions, e.scores, e.bands, e.classes, e.item_next, e.components};
    set->evaluate(s, t0 + 3 * day + hour, minute, next, &changed, &none);
    EXPECT_EQ(next.conditions[0], 0);  // the ack: recomputed
    EXPECT_EQ(next.evaluated[0], 1);
}

TEST(Inputs, UsersLastSeenIsAnInputOfItsOwn) {
    auto set = load_text(R"(
rule idle_admin { when any(users where role == "admin" and since(last_seen ?? first_seen) > 14d) }
rule no_admin { when not any(users where role == "admin") }
)");
    ASSERT_TRUE(set);
    const auto& code = set->code();
    EXPECT_EQ(code.rule_inputs[0], in::users | in::user_seen);
    EXPECT_EQ(code.rule_inputs[1], in::users);
    model::account_state before;
    before.apply(make_event(event_type::user, t0, {{"user_id", "u1"}, {"role", "admin"}}));
    // Usage of a known user moves its last_seen only; of a new one, adds a member.
    auto known = make_event(event_type::usage, t0 + day, {{"metric", "logins"}, {"user_id", "u1"}});
    EXPECT_EQ(eval::inputs_changed_by(code, known, before), in::stream(event_type::usage) | in::user_seen);
    auto unknown = make_event(event_type::usage, t0 + day, {{"metric", "logins"}, {"user_id", "u2"}});
    EXPECT_EQ(eval::inputs_changed_by(code, unknown, before),
              in::stream(event_type::usage) | in::user_seen | in::users);
}

TEST(Inputs, EachEventChangesWhatApplyingItTouches) {
    auto set = load_text(sample_rules);
    ASSERT_TRUE(set);
    const auto& code = set->code();
    const eval::input_mask active_users = eval::input_mask{1} << in::first_metric_bit;
    model::account_state before;
    before.apply(make_event(event_type::account, t0, {{"name", "Acme"}}));

    auto usage = make_event(event_type::usage, t0 + day, {{"metric", "active_users"}, {"value", 3}, {"user_id", "u1"}});
    EXPECT_EQ(eval::inputs_changed_by(code, usage, before),
              in::stream(event_type::usage) | active_users | in::users | in::user_seen);
    // A metric no rule names by itself only changes `usage` as a whole.
    auto logins = make_event(event_type::usage, t0 + day, {{"metric", "logins"}});
    EXPECT_EQ(eval::inputs_changed_by(code, logins, before), in::stream(event_type::usage));
    auto nps = make_event(event_type::nps, t0 + day, {{"score", 3}});
    EXPECT_EQ(eval::inputs_changed_by(code, nps, before), in::stream(event_type::nps));
    auto contract = make_event(event_type::contract, t0 + day, {{"mrr", 100}});
    EXPECT_EQ(eval::inputs_changed_by(code, contract, before), in::stream(event_type::contract) | in::profile);
    auto ticket = make_event(event_type::ticket, t0 + day, {{"ticket_id", "t1"}});
    EXPECT_EQ(eval::inputs_changed_by(code, ticket, before), in::stream(event_type::ticket) | in::tickets);
    // An event older than the account's first one moves first_seen.
    auto early = make_event(event_type::nps, t0 - day, {{"score", 3}});
    EXPECT_EQ(eval::inputs_changed_by(code, early, before), in::stream(event_type::nps) | in::first_seen);
}

TEST(Inputs, AnUnaffectedRuleIsReusedAndAnAffectedOneRecomputed) {
    auto set = load_text(sample_rules);
    ASSERT_TRUE(set);
    model::account_state s;
    s.apply(make_event(event_type::account, t0, {{"name", "Acme"}, {"status", "active"}}));
    auto first = set->make_evaluation();
    set->evaluate(s, t0, hour, first);
    const std::uint32_t all = first.items_evaluated;
    EXPECT_EQ(all, 6u);  // five rules and a score

    auto nps = make_event(event_type::nps, t0 + hour, {{"score", 2}});
    auto changed = set->inputs_changed_by(nps, s);
    s.apply(nps);
    previous_evaluation previous{changed, first.conditions, first.scores, first.bands, first.classes, first.item_next, first.components};
    auto second = set->make_evaluation();
    set->evaluate(s, t0 + hour, hour, second, &previous);
    EXPECT_EQ(second.items_evaluated, 1u);  // only nps_low reads NPS answers
    EXPECT_EQ(second.conditions[*set->find_rule("nps_low")], 1);

    // With nothing changed, an item is recomputed once its own next change has come: the
    // answer leaves the 30-day window then.
    previous_evaluation after{0, second.conditions, second.scores, second.bands, second.classes, second.item_next, second.components};
    auto third = set->make_evaluation();
    set->evaluate(s, t0 + 20 * day, hour, third, &after);
    EXPECT_EQ(third.conditions[*set->find_rule("nps_low")], 1);
    auto fourth = set->make_evaluation();
    set->evaluate(s, t0 + hour + 30 * day, hour, fourth, &after);
    EXPECT_EQ(fourth.conditions[*set->find_rule("nps_low")], 0);
}

TEST(Inputs, ARecomputedRuleReadsAReusedScoreAndClass) {
    auto set = load_text(R"(
score s {
  component a weight 1 = count(tickets) / 5
  band hi >= 50
  band lo
}
classify size {
  big when count(tickets) >= 3
  default small
}
rule late { when s.band == "hi" and size == "big" and since(activity) > 10d }
)");
    ASSERT_TRUE(set);
    model::account_state s;
    for (int i = 0; i < 3; ++i)
        s.apply(make_event(event_type::ticket, t0, {{"ticket_id", "t" + std::to_string(i)}, {"status", "open"}}));
    s.apply(make_event(event_type::activity, t0, {{"kind", "call"}}));
    auto first = set->make_evaluation();
    set->evaluate(s, t0, hour, first);
    EXPECT_EQ(first.bands[0], 0);
    EXPECT_EQ(first.conditions[0], 0);
    // Eleven days later only the rule's since() crossing is due: the score and the class
    // are reused, and the rule reads them as they were.
    previous_evaluation previous{0, first.conditions, first.scores, first.bands, first.classes, first.item_next, first.components};
    auto later = set->make_evaluation();
    set->evaluate(s, t0 + 11 * day, hour, later, &previous);
    EXPECT_EQ(later.items_evaluated, 1u);
    EXPECT_EQ(later.conditions[0], 1);
}

TEST(Inputs, AScoreRecomputedForOneComponentKeepsTheOthers) {
    auto set = load_text(R"(
score s {
  component tickets weight 1 = count(tickets) / 4
  component answers weight 1 = avg(nps.score, 90d) / 10
  band hi >= 50
  band lo
}
)");
    ASSERT_TRUE(set);
    model::account_state s;
    s.apply(make_event(event_type::ticket, t0, {{"ticket_id", "t1"}, {"status", "open"}}));
    s.apply(make_event(event_type::nps, t0, {{"score", 6}}));
    auto first = set->make_evaluation();
    set->evaluate(s, t0, hour, first);
    EXPECT_EQ(first.scores[0], 43);  // (0.25 + 0.6) / 2
    // A new ticket: the `answers` component is not recomputed but taken from what the
    // previous evaluation left; a planted value shows it is.
    auto ticket = make_event(event_type::ticket, t0 + hour, {{"ticket_id", "t2"}, {"status", "open"}});
    auto changed = set->inputs_changed_by(ticket, s);
    s.apply(ticket);
    auto kept = first.components;
    kept[1].value = 1.0;
    previous_evaluation previous{changed, first.conditions, first.scores, first.bands, first.classes, first.item_next, kept};
    auto second = set->make_evaluation();
    set->evaluate(s, t0 + hour, hour, second, &previous);
    EXPECT_EQ(second.scores[0], 75);  // (0.5 + 1.0) / 2: the planted answer component
    EXPECT_EQ(second.components[1].value, 1.0);
    EXPECT_EQ(second.components[0].value, 0.5);
    // Once its own next change has come (the answer leaves the 90-day window), it is
    // recomputed: null, so the score is the tickets component alone.
    previous_evaluation later{0, second.conditions, second.scores, second.bands, second.classes, second.item_next, second.components};
    auto third = set->make_evaluation();
    set->evaluate(s, t0 + 91 * day, hour, third, &later);
    EXPECT_EQ(third.scores[0], 50);
    EXPECT_TRUE(std::isnan(third.components[1].value));
}

// --- the property ----------------------------------------------------------------------

std::shared_ptr<const rule_set> shipped_rules() {
    std::vector<std::string> paths{std::string(REDFLAG_SOURCE_DIR) + "/rules"};
    load_result r = load(paths);
    EXPECT_TRUE(r.rules) << render_text(r.problems);
    return r.rules;
}

// A random but plausible event of any type for account `a`.
model::event random_event(std::mt19937_64& rng, const std::string& a, timestamp at) {
    auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<std::uint64_t>(n)); };
    const char* statuses[] = {"active", "onboarding", "churned"};
    const char* roles[] = {"superuser", "decision_maker", "member"};
    const char* priorities[] = {"low", "normal", "high", "urgent"};
    const char* ticket_statuses[] = {"open", "pending", "solved", "closed"};
    const char* csms[] = {"Ana", "Ben"};
    switch (pick(12)) {
        case 0:
            return make_event(event_type::account, at,
                              {{"name", "Customer " + a}, {"status", statuses[pick(3)]}, {"csm", csms[pick(2)]},
                               {"seats", 10 + pick(100)}, {"plan", pick(2) ? "enterprise" : "growth"},
                               {"signed_at", format_rfc3339(at - pick(400) * day)}},
                              a);
        case 1: {
            json::object f{{"mrr", pick(4) == 0 ? 0 : 1000 * pick(9)}, {"seats", 10 + pick(100)},
                           {"renewal_at", format_rfc3339(at + pick(200) * day)}};
            if (pick(6) == 0) f["status"] = pick(2) ? "cancel_requested" : "churned";
            return make_event(event_type::contract, at, std::move(f), a);
        }
        case 2:
            return make_event(event_type::user, at,
                              {{"user_id", "u" + std::to_string(pick(5))}, {"role", roles[pick(3)]},
                               {"active", pick(4) != 0}},
                              a);
        case 3:
            return make_event(event_type::ticket, at,
                              {{"ticket_id", "t" + std::to_string(pick(8))}, {"status", ticket_statuses[pick(4)]},
                               {"priority", priorities[pick(4)]}},
                              a);
        case 4: return make_event(event_type::nps, at, {{"score", pick(11)}}, a);
        case 5: return make_event(event_type::csat, at, {{"score", 1 + pick(5)}}, a);
        case 6: return make_event(event_type::activity, at, {{"kind", "call"}}, a);
        case 7: return make_event(event_type::milestone, at, {{"name", pick(2) ? "onboarding_completed" : "kickoff"}}, a);
        default: {
            json::object f{{"metric", pick(3) ? "active_users" : "logins"}, {"value", pick(60)}};
            if (pick(2)) f["user_id"] = "u" + std::to_string(pick(5));
            return make_event(event_type::usage, at, std::move(f), a);
        }
    }
}

void expect_same(const evaluation& full, const evaluation& incremental, const std::string& where) {
    ASSERT_EQ(full.conditions, incremental.conditions) << where;
    ASSERT_EQ(full.bands, incremental.bands) << where;
    ASSERT_EQ(full.classes, incremental.classes) << where;
    ASSERT_EQ(full.scores.size(), incremental.scores.size());
    for (std::size_t i = 0; i < full.scores.size(); ++i) {
        if (std::isnan(full.scores[i])) ASSERT_TRUE(std::isnan(incremental.scores[i])) << where << " score " << i;
        else ASSERT_EQ(full.scores[i], incremental.scores[i]) << where << " score " << i;
    }
    ASSERT_EQ(full.next_change, incremental.next_change) << where;
    ASSERT_EQ(full.item_next, incremental.item_next) << where;
    ASSERT_EQ(full.components, incremental.components) << where;
}

TEST(Inputs, ReusingUnaffectedItemsGivesWhatAFullEvaluationGives) {
    auto set = shipped_rules();
    ASSERT_TRUE(set);
    std::mt19937_64 rng(20261122);
    struct account {
        model::account_state state;
        evaluation last;
        std::uint64_t changed = ~std::uint64_t{0};
        timestamp evaluated_at = timestamp_min;
    };
    std::vector<account> accounts(4);
    for (std::size_t i = 0; i < accounts.size(); ++i) accounts[i].state.id = "a" + std::to_string(i);
    timestamp now = t0;
    std::uint64_t computed = 0, items = 0;
    auto full = set->make_evaluation();
    for (int step = 0; step < 6000; ++step) {
        auto& a = accounts[rng() % accounts.size()];
        // Time moves by minutes to days; every fifth step is a wake with no event.
        now += duration{static_cast<std::int64_t>(rng() % (36 * 3600 * 1000ull))};
        if (rng() % 5 != 0) {
            // One in eight events arrives late, placed in the past.
            timestamp at = rng() % 8 == 0 ? now - duration{static_cast<std::int64_t>(rng() % (20 * 86'400'000ull))} : now;
            auto e = random_event(rng, a.state.id, at);
            a.changed |= set->inputs_changed_by(e, a.state);
            a.state.apply(e);
        }
        timestamp at = std::max(now, a.evaluated_at);
        auto incremental = set->make_evaluation();
        if (a.last.item_next.empty()) {
            set->evaluate(a.state, at, hour, incremental);
        } else {
            previous_evaluation previous{a.changed, a.last.conditions, a.last.scores, a.last.bands, a.last.classes, a.last.item_next, a.last.components};
            set->evaluate(a.state, at, hour, incremental, &previous);
        }
        set->evaluate(a.state, at, hour, full);
        expect_same(full, incremental, "step " + std::to_string(step) + " account " + a.state.id);
        if (HasFatalFailure()) return;
        computed += incremental.items_evaluated;
        items += incremental.item_next.size();
        a.last = std::move(incremental);
        a.changed = 0;
        a.evaluated_at = at;
    }
    // The point of it: a good share of items is reused.
    EXPECT_LT(computed, items * 3 / 4) << computed << " of " << items;
}

}  // namespace
}  // namespace redflag::rules
