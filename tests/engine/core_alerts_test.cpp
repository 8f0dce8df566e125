// The core's part in alerts.unacked / alerts.unacked_for (engine/core.hpp,
// alerts/facts.hpp) with real compiled rules: the team lead's rule fires on the clock
// once another alert waited past its threshold, resolves at an ack or a snooze, never
// counts its own alert, and comes back the same after a restore from stored alerts.
#include "engine/core.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace redflag::engine {
namespace {

using alerts::alert_state;

constexpr timestamp t0 = from_millis(1'767'225'600'000);  // 2026-01-01T00:00:00Z

const char* const rules_text = R"(
rule flag { when account.status == "at_risk" }
rule lead { when alerts.unacked_for > 2d }
rule lead_too { when alerts.unacked >= 1 }
)";

std::shared_ptr<const rules::rule_set> load() {
    auto r = rules::load_sources({{"t.rules", rules_text}});
    EXPECT_TRUE(r.rules) << (r.problems.empty() ? "" : r.problems.front().message);
    return r.rules;
}

model::event account_event(timestamp at, std::string status) {
    model::event e;
    e.type = model::event_type::account;
    e.account = "acme";
    e.at = at;
    e.fields["status"] = std::move(status);
    return e;
}

std::vector<std::string> firing(const core& c) {
    std::vector<std::string> out;
    if (const auto* r = c.find("acme"))
        for (const auto& a : r->alerts.active())
            if (a.state == alert_state::firing) out.push_back(a.rule);
    std::sort(out.begin(), out.end());
    return out;
}

std::string id_of(const core& c, std::string_view rule) {
    for (const auto& a : c.find("acme")->alerts.active())
        if (a.rule == rule) return a.id;
    return {};
}

using names = std::vector<std::string>;

alerts::acknowledgement ack_at(timestamp at) {
    alerts::acknowledgement a;
    a.by = "dana";
    a.at = at;
    return a;
}

TEST(CoreAlerts, fires_on_the_clock_past_the_threshold_and_resolves_at_the_ack) {
    core c(load(), core_options{t0, hour, true});
    c.apply(account_event(t0, "at_risk"));
    // The flag fired; lead_too saw it in the same instant (second pass), lead waits 2 days
    // and the account is woken for it (no event needed): at the crossing, then on the
    // grid after it.
    EXPECT_EQ(firing(c), (names{"flag", "lead_too"}));
    EXPECT_EQ(c.find("acme")->wake, t0 + 2 * day);
    c.advance_to(t0 + 2 * day);
    EXPECT_EQ(firing(c), (names{"flag", "lead_too"}));
    c.advance_to(t0 + 2 * day + hour);
    EXPECT_EQ(firing(c), (names{"flag", "lead", "lead_too"}));
    // The team lead's alerts do not count themselves: only flag's alert is counted.
    c.clear_events();
    ASSERT_TRUE(c.acknowledge("acme", id_of(c, "flag"), ack_at(t0 + 2 * day + 90 * minute)));
    EXPECT_EQ(firing(c), (names{"flag"}));
    // Resolved at the ack's instant, in the events the caller writes with the ack.
    int resolved = 0;
    for (const auto& e : c.events())
        if (e.kind == alerts::event_kind::transition && e.to == alert_state::resolved) {
            EXPECT_EQ(e.at, t0 + 2 * day + 90 * minute);
            ++resolved;
        }
    EXPECT_EQ(resolved, 2);
    c.advance_to(t0 + 30 * day);
    EXPECT_EQ(firing(c), (names{"flag"}));
}

TEST(CoreAlerts, a_snooze_answers_until_it_ends) {
    core c(load(), core_options{t0, hour, true});
    c.apply(account_event(t0, "at_risk"));
    alerts::snooze s;
    s.until = t0 + 3 * day;
    s.by = "dana";
    s.at = t0 + day;
    ASSERT_TRUE(c.snooze("acme", id_of(c, "flag"), s));
    EXPECT_EQ(firing(c), (names{"flag"}));
    // Waiting again from day 3 (lead_too at once, on the snooze's end); lead 2 days later.
    c.advance_to(t0 + 3 * day);
    EXPECT_EQ(firing(c), (names{"flag", "lead_too"}));
    c.advance_to(t0 + 5 * day);
    EXPECT_EQ(firing(c), (names{"flag", "lead_too"}));
    c.advance_to(t0 + 5 * day + hour);
    EXPECT_EQ(firing(c), (names{"flag", "lead", "lead_too"}));
}

TEST(CoreAlerts, the_flag_resolving_resolves_the_lead_in_the_same_evaluation) {
    core c(load(), core_options{t0, hour, true});
    c.apply(account_event(t0, "at_risk"));
    c.advance_to(t0 + 3 * day);
    EXPECT_EQ(firing(c), (names{"flag", "lead", "lead_too"}));
    c.apply(account_event(t0 + 3 * day + minute, "active"));
    EXPECT_TRUE(firing(c).empty());
}

TEST(CoreAlerts, a_restore_from_stored_alerts_gives_the_same_answer) {
    auto rules = load();
    core before(rules, core_options{t0, hour, true});
    before.apply(account_event(t0, "at_risk"));
    before.advance_to(t0 + 3 * day);
    ASSERT_EQ(firing(before), (names{"flag", "lead", "lead_too"}));
    // As serve's start-up does after kill -9: the state and the active alerts from the store.
    std::vector<alerts::alert> stored(before.find("acme")->alerts.active().begin(),
                                      before.find("acme")->alerts.active().end());
    core after(rules, core_options{t0, hour, true});
    after.restore(before.find("acme")->state, stored);
    after.advance_to(t0 + 3 * day);
    after.reevaluate_all();
    EXPECT_TRUE(after.events().empty());  // nothing changed: the lead is still due
    EXPECT_EQ(firing(after), (names{"flag", "lead", "lead_too"}));
    ASSERT_TRUE(after.acknowledge("acme", id_of(after, "flag"), ack_at(t0 + 3 * day + hour)));
    EXPECT_EQ(firing(after), (names{"flag"}));
}

}  // namespace
}  // namespace redflag::engine
