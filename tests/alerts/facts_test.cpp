// alerts::unacked_facts: which alerts count for alerts.unacked / alerts.unacked_for and
// since when they wait.
#include "alerts/facts.hpp"

#include <gtest/gtest.h>

namespace redflag::alerts {
namespace {

constexpr timestamp t0 = from_millis(1'767'225'600'000);  // 2026-01-01T00:00:00Z

alert firing_alert(std::uint32_t rule, timestamp since) {
    alert a;
    a.rule_index = rule;
    a.state = alert_state::firing;
    a.started_at = since;
    a.firing_since = since;
    return a;
}

TEST(AlertFacts, count_firing_unanswered_alerts_of_rules_that_do_not_read_alerts) {
    std::vector<rules::rule_definition> defs(3);
    defs[2].reads_alerts = true;
    std::vector<alert> active;
    active.push_back(firing_alert(0, t0 + day));
    active.push_back(firing_alert(1, t0 + 2 * day));
    active.push_back(firing_alert(2, t0));  // the team lead's own: never counted
    alert pending = firing_alert(1, t0);
    pending.state = alert_state::pending;
    active.push_back(pending);
    auto f = unacked_facts(active, defs, t0 + 5 * day);
    EXPECT_EQ(f.unacked, 2u);
    EXPECT_EQ(f.unacked_since, t0 + day);
    EXPECT_EQ(f.next_change, timestamp_max);

    active[0].acks.push_back({"dana", "", t0 + 3 * day});
    f = unacked_facts(active, defs, t0 + 5 * day);
    EXPECT_EQ(f.unacked, 1u);
    EXPECT_EQ(f.unacked_since, t0 + 2 * day);

    active[1].acks.push_back({"dana", "", t0 + 3 * day});
    f = unacked_facts(active, defs, t0 + 5 * day);
    EXPECT_EQ(f, rules::alert_facts{});
}

TEST(AlertFacts, a_snooze_holds_until_it_ends_then_the_wait_starts_again) {
    std::vector<rules::rule_definition> defs(1);
    std::vector<alert> active{firing_alert(0, t0)};
    snooze s;
    s.until = t0 + 4 * day;
    s.by = "dana";
    s.at = t0 + day;
    active[0].snoozes.push_back(s);
    auto f = unacked_facts(active, defs, t0 + 2 * day);
    EXPECT_EQ(f.unacked, 0u);
    EXPECT_FALSE(f.unacked_since);
    EXPECT_EQ(f.next_change, t0 + 4 * day);
    f = unacked_facts(active, defs, t0 + 4 * day);
    EXPECT_EQ(f.unacked, 1u);
    EXPECT_EQ(f.unacked_since, t0 + 4 * day);
    // Woken early by its wake_if: waiting from then.
    active[0].snoozes.back().woke_at = t0 + 3 * day;
    f = unacked_facts(active, defs, t0 + 3 * day);
    EXPECT_EQ(f.unacked_since, t0 + 3 * day);
}

TEST(AlertFacts, an_alert_of_a_rule_the_set_no_longer_has_is_not_counted) {
    std::vector<rules::rule_definition> defs(1);
    std::vector<alert> active{firing_alert(5, t0)};
    EXPECT_EQ(unacked_facts(active, defs, t0 + day).unacked, 0u);
}

}  // namespace
}  // namespace redflag::alerts
