#include "alerts/lifecycle.hpp"

#include <gtest/gtest.h>

#include <map>

namespace redflag::alerts {
namespace {

constexpr timestamp t0 = from_millis(1'767'225'600'000);  // 2026-01-01T00:00:00Z

// A `repeat` that gives a fixed interval, and counts how often it was asked.
class fixed_repeats final : public repeat_source {
public:
    explicit fixed_repeats(std::optional<duration> interval) : interval_(interval) {}
    std::optional<duration> repeat_interval(std::size_t, timestamp) const override {
        ++asked;
        return interval_;
    }
    mutable int asked = 0;

private:
    std::optional<duration> interval_;
};

rules::rule_definition make_rule(duration for_duration = duration::zero(), duration keep = duration::zero()) {
    rules::rule_definition r;
    r.name = "usage_drop";
    r.title = "Usage dropped";
    r.severity = rules::alert_severity::high;
    r.for_duration = for_duration;
    r.keep_firing_for = keep;
    r.fingerprint = 42;
    return r;
}

struct harness {
    explicit harness(rules::rule_definition r) : rule(std::move(r)) {}

    rules::rule_definition rule;
    fixed_repeats repeats{std::nullopt};
    alert_set set;
    std::vector<alert_event> out;

    void at(timestamp t, bool condition) { set.evaluate(0, rule, "acme", condition, t, repeats, out); }
    const alert* current() const { return set.find(0); }
};

TEST(Lifecycle, for_zero_fires_at_once_without_pending) {
    harness h{make_rule()};
    h.at(t0, false);
    EXPECT_TRUE(h.out.empty());
    EXPECT_TRUE(h.set.empty());
    h.at(t0 + hour, true);
    ASSERT_EQ(h.out.size(), 1u);
    EXPECT_EQ(h.out[0].kind, event_kind::transition);
    EXPECT_EQ(h.out[0].from, alert_state::inactive);
    EXPECT_EQ(h.out[0].to, alert_state::firing);
    EXPECT_EQ(h.out[0].at, t0 + hour);
    EXPECT_TRUE(h.out[0].notify);
    EXPECT_EQ(h.out[0].record.severity, rules::alert_severity::high);
    ASSERT_NE(h.current(), nullptr);
    EXPECT_EQ(h.current()->state, alert_state::firing);
    EXPECT_EQ(h.current()->transitions, (std::vector<transition>{{alert_state::inactive, alert_state::firing, t0 + hour}}));
    EXPECT_EQ(h.current()->notifications, 1u);
    EXPECT_EQ(h.current()->id, make_alert_id("usage_drop", "acme", t0 + hour));
    // Staying true changes nothing.
    h.at(t0 + 2 * hour, true);
    EXPECT_EQ(h.out.size(), 1u);
}

TEST(Lifecycle, for_holds_pending_until_elapsed_inclusive) {
    harness h{make_rule(2 * day)};
    h.at(t0, true);
    ASSERT_EQ(h.out.size(), 1u);
    EXPECT_EQ(h.out[0].to, alert_state::pending);
    EXPECT_FALSE(h.out[0].notify);
    EXPECT_EQ(h.set.next_deadline(std::span(&h.rule, 1)), t0 + 2 * day);
    h.at(t0 + 2 * day - duration{1}, true);
    EXPECT_EQ(h.out.size(), 1u);
    EXPECT_EQ(h.current()->state, alert_state::pending);
    h.at(t0 + 2 * day, true);  // exactly `for` after the first evaluation that saw it: due
    ASSERT_EQ(h.out.size(), 2u);
    EXPECT_EQ(h.out[1].from, alert_state::pending);
    EXPECT_EQ(h.out[1].to, alert_state::firing);
    EXPECT_TRUE(h.out[1].notify);
    EXPECT_EQ(h.out[1].record.id, h.out[0].record.id);  // the same alert
    EXPECT_EQ(h.current()->started_at, t0);
    EXPECT_EQ(h.current()->firing_since, t0 + 2 * day);
    EXPECT_EQ(h.current()->transitions.size(), 2u);
    EXPECT_EQ(h.set.next_deadline(std::span(&h.rule, 1)), timestamp_max);
}

TEST(Lifecycle, pending_cancelled_goes_back_to_nothing_silently) {
    harness h{make_rule(2 * day)};
    h.at(t0, true);
    h.at(t0 + day, false);
    ASSERT_EQ(h.out.size(), 2u);
    EXPECT_EQ(h.out[1].from, alert_state::pending);
    EXPECT_EQ(h.out[1].to, alert_state::inactive);
    EXPECT_FALSE(h.out[1].notify);
    EXPECT_TRUE(h.set.empty());
    // True again: the wait starts over, as a new alert.
    h.at(t0 + day + hour, true);
    ASSERT_EQ(h.out.size(), 3u);
    EXPECT_EQ(h.out[2].to, alert_state::pending);
    EXPECT_NE(h.out[2].record.id, h.out[0].record.id);
    h.at(t0 + 2 * day + hour, true);  // two days after the first start, one after the restart
    EXPECT_EQ(h.out.size(), 3u);
    h.at(t0 + 3 * day + hour, true);
    ASSERT_EQ(h.out.size(), 4u);
    EXPECT_EQ(h.out[3].to, alert_state::firing);
}

TEST(Lifecycle, resolves_at_once_without_keep_firing_for_and_refire_is_a_new_alert) {
    harness h{make_rule()};
    h.at(t0, true);
    h.at(t0 + hour, false);
    ASSERT_EQ(h.out.size(), 2u);
    EXPECT_EQ(h.out[1].from, alert_state::firing);
    EXPECT_EQ(h.out[1].to, alert_state::resolved);
    EXPECT_TRUE(h.out[1].notify);  // `resolve notify` is the default
    EXPECT_EQ(h.out[1].record.resolved_at, t0 + hour);
    EXPECT_EQ(h.out[1].record.notifications, 2u);  // firing + recovery
    EXPECT_TRUE(h.set.empty());
    h.at(t0 + 2 * hour, true);
    ASSERT_EQ(h.out.size(), 3u);
    EXPECT_EQ(h.out[2].from, alert_state::inactive);
    EXPECT_EQ(h.out[2].to, alert_state::firing);
    EXPECT_NE(h.out[2].record.id, h.out[0].record.id);
}

TEST(Lifecycle, resolve_silent_rule_does_not_notify) {
    harness h{make_rule()};
    h.rule.resolve_notify = false;
    h.at(t0, true);
    h.at(t0 + hour, false);
    ASSERT_EQ(h.out.size(), 2u);
    EXPECT_EQ(h.out[1].to, alert_state::resolved);
    EXPECT_FALSE(h.out[1].notify);
}

TEST(Lifecycle, keep_firing_for_rides_out_flapping) {
    harness h{make_rule(duration::zero(), 6 * hour)};
    h.at(t0, true);
    h.at(t0 + hour, false);  // clears: stays firing for 6h
    EXPECT_EQ(h.out.size(), 1u);
    EXPECT_EQ(h.current()->cleared_since, t0 + hour);
    EXPECT_EQ(h.set.next_deadline(std::span(&h.rule, 1)), t0 + 7 * hour);
    h.at(t0 + 3 * hour, true);  // flaps back: the clearing is forgotten
    EXPECT_EQ(h.current()->cleared_since, std::nullopt);
    EXPECT_EQ(h.set.next_deadline(std::span(&h.rule, 1)), timestamp_max);
    h.at(t0 + 4 * hour, false);
    h.at(t0 + 10 * hour - duration{1}, false);
    EXPECT_EQ(h.out.size(), 1u);
    EXPECT_EQ(h.current()->state, alert_state::firing);
    h.at(t0 + 10 * hour, false);  // false for exactly 6h since the first evaluation that saw it
    ASSERT_EQ(h.out.size(), 2u);
    EXPECT_EQ(h.out[1].to, alert_state::resolved);
    EXPECT_EQ(h.out[1].at, t0 + 10 * hour);
    EXPECT_EQ(h.out[1].record.transitions.size(), 2u);
}

TEST(Lifecycle, repeats_while_firing_until_acknowledged) {
    harness h{make_rule()};
    h.rule.has_repeat = true;
    h.repeats = fixed_repeats(day);
    h.at(t0, true);
    EXPECT_EQ(h.current()->next_repeat, t0 + day);
    EXPECT_EQ(h.current()->last_notified, t0);
    EXPECT_EQ(h.set.next_deadline(std::span(&h.rule, 1)), t0 + day);
    h.at(t0 + day - hour, true);
    EXPECT_EQ(h.out.size(), 1u);
    h.at(t0 + day + hour, true);  // first evaluation at or after the due instant
    ASSERT_EQ(h.out.size(), 2u);
    EXPECT_EQ(h.out[1].kind, event_kind::repeat_due);
    EXPECT_TRUE(h.out[1].notify);
    EXPECT_EQ(h.out[1].record.notifications, 2u);
    EXPECT_EQ(h.current()->last_notified, t0 + day + hour);
    EXPECT_EQ(h.current()->next_repeat, t0 + 2 * day + hour);

    std::string id = h.current()->id;
    EXPECT_FALSE(h.set.acknowledge("nope", {"ann", "", t0}, h.out));
    ASSERT_TRUE(h.set.acknowledge(id, {"ann@example.com", "on it", t0 + 2 * day}, h.out));
    ASSERT_EQ(h.out.size(), 3u);
    EXPECT_EQ(h.out[2].kind, event_kind::acknowledged);
    EXPECT_FALSE(h.out[2].notify);
    EXPECT_EQ(h.current()->acks.size(), 1u);
    EXPECT_EQ(h.current()->next_repeat, std::nullopt);
    EXPECT_EQ(h.set.next_deadline(std::span(&h.rule, 1)), timestamp_max);
    h.at(t0 + 5 * day, true);
    EXPECT_EQ(h.out.size(), 3u);  // no more repeats
}

TEST(Lifecycle, repeat_interval_null_means_no_repeat) {
    harness h{make_rule()};
    h.rule.has_repeat = true;
    h.repeats = fixed_repeats(std::nullopt);
    h.at(t0, true);
    EXPECT_EQ(h.repeats.asked, 1);
    EXPECT_EQ(h.current()->next_repeat, std::nullopt);
    EXPECT_EQ(h.set.next_deadline(std::span(&h.rule, 1)), timestamp_max);
    harness g{make_rule()};  // a rule without repeat is not even asked
    g.at(t0, true);
    EXPECT_EQ(g.repeats.asked, 0);
}

TEST(Lifecycle, repeats_continue_during_keep_firing_for) {
    harness h{make_rule(duration::zero(), 2 * day)};
    h.rule.has_repeat = true;
    h.repeats = fixed_repeats(day);
    h.at(t0, true);
    h.at(t0 + hour, false);
    h.at(t0 + day, false);
    ASSERT_EQ(h.out.size(), 2u);
    EXPECT_EQ(h.out[1].kind, event_kind::repeat_due);
}

TEST(Lifecycle, a_snooze_holds_repeats_until_it_ends) {
    harness h{make_rule()};
    h.rule.has_repeat = true;
    h.repeats = fixed_repeats(hour);
    h.at(t0, true);
    std::string id = h.current()->id;
    snooze z;
    z.by = "ann";
    z.at = t0 + 10 * minute;
    z.until = t0 + 5 * hour;
    z.key = "slack:U1:1.2";
    EXPECT_FALSE(h.set.snooze("nope", z, h.out));
    ASSERT_TRUE(h.set.snooze(id, z, h.out));
    ASSERT_EQ(h.out.size(), 2u);
    EXPECT_EQ(h.out[1].kind, event_kind::snoozed);
    EXPECT_FALSE(h.out[1].notify);
    EXPECT_TRUE(h.current()->acted_on("slack:U1:1.2"));
    EXPECT_FALSE(h.current()->acted_on("slack:U1:9.9"));
    EXPECT_FALSE(h.current()->acted_on(""));
    // The repeat due at t0 + 1h waits for the snooze's end; nothing goes out meanwhile.
    EXPECT_EQ(h.set.next_deadline(std::span(&h.rule, 1)), t0 + 5 * hour);
    h.at(t0 + hour, true);
    h.at(t0 + 3 * hour, true);
    EXPECT_EQ(h.out.size(), 2u);
    EXPECT_EQ(h.current()->snoozed_at(t0 + 3 * hour), &h.current()->snoozes.back());
    EXPECT_EQ(h.current()->snoozed_at(t0 + 5 * hour), nullptr);
    h.at(t0 + 5 * hour, true);  // over: the repeats resume
    ASSERT_EQ(h.out.size(), 3u);
    EXPECT_EQ(h.out[2].kind, event_kind::repeat_due);
    EXPECT_TRUE(h.out[2].notify);
}

TEST(Lifecycle, wake_ends_a_snooze_early_and_notifies_once) {
    harness h{make_rule()};
    h.rule.has_repeat = true;
    h.repeats = fixed_repeats(hour);
    h.at(t0, true);
    std::string id = h.current()->id;
    snooze z;
    z.at = t0;
    z.until = t0 + day;
    z.wake_if = "health.score < 30";
    ASSERT_TRUE(h.set.snooze(id, z, h.out));
    EXPECT_FALSE(h.set.wake(id, h.rule, t0 + day, "late", h.repeats, h.out));  // over by then: nothing to wake
    ASSERT_TRUE(h.set.wake(id, h.rule, t0 + 2 * hour, "wake_if health.score < 30 turned true", h.repeats, h.out));
    ASSERT_EQ(h.out.size(), 3u);
    EXPECT_EQ(h.out[2].kind, event_kind::woke);
    EXPECT_TRUE(h.out[2].notify);
    EXPECT_EQ(h.out[2].record.notifications, 2u);
    EXPECT_EQ(h.current()->snoozes.back().woke_at, t0 + 2 * hour);
    EXPECT_EQ(h.current()->snoozed_at(t0 + 2 * hour), nullptr);
    EXPECT_FALSE(h.set.wake(id, h.rule, t0 + 2 * hour, "again", h.repeats, h.out));  // once
    EXPECT_EQ(h.current()->next_repeat, t0 + 3 * hour);  // repeats resume from the wake
    h.at(t0 + 3 * hour, true);
    ASSERT_EQ(h.out.size(), 4u);
    EXPECT_EQ(h.out[3].kind, event_kind::repeat_due);
}

TEST(Lifecycle, only_firing_alerts_are_snoozed) {
    harness h{make_rule(day)};
    h.at(t0, true);  // pending
    snooze z;
    z.until = t0 + day;
    EXPECT_FALSE(h.set.snooze(h.current()->id, z, h.out));
    EXPECT_EQ(h.out.size(), 1u);
}

TEST(Lifecycle, resolve_silently_ends_pending_and_firing_without_notice) {
    harness h{make_rule()};
    h.at(t0, true);
    h.set.resolve_silently(0, t0 + hour, h.out);
    ASSERT_EQ(h.out.size(), 2u);
    EXPECT_EQ(h.out[1].to, alert_state::resolved);
    EXPECT_FALSE(h.out[1].notify);
    EXPECT_TRUE(h.set.empty());

    harness p{make_rule(day)};
    p.at(t0, true);
    p.set.resolve_silently(0, t0 + hour, p.out);
    ASSERT_EQ(p.out.size(), 2u);
    EXPECT_EQ(p.out[1].to, alert_state::inactive);
    EXPECT_TRUE(p.set.empty());
}

TEST(Lifecycle, rules_are_independent_within_an_account) {
    auto a = make_rule();
    auto b = make_rule(day);
    b.name = "other";
    fixed_repeats repeats{std::nullopt};
    alert_set set;
    std::vector<alert_event> out;
    set.evaluate(0, a, "acme", true, t0, repeats, out);
    set.evaluate(1, b, "acme", true, t0, repeats, out);
    EXPECT_EQ(set.active().size(), 2u);
    EXPECT_EQ(set.find(0)->state, alert_state::firing);
    EXPECT_EQ(set.find(1)->state, alert_state::pending);
    EXPECT_EQ(set.find(1)->rule, "other");
    set.evaluate(0, a, "acme", false, t0 + hour, repeats, out);
    EXPECT_EQ(set.find(0), nullptr);
    EXPECT_NE(set.find(1), nullptr);
    rules::rule_definition defs[] = {a, b};
    EXPECT_EQ(set.next_deadline(defs), t0 + day);
}

TEST(AlertId, stable_hex_and_distinct_per_rule_account_and_start) {
    auto id = make_alert_id("usage_drop", "acme", t0);
    EXPECT_EQ(id.size(), 32u);
    EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos);
    EXPECT_EQ(id, make_alert_id("usage_drop", "acme", t0));
    EXPECT_NE(id, make_alert_id("usage_drop", "acme", t0 + duration{1}));
    EXPECT_NE(id, make_alert_id("usage_drop", "acmf", t0));
    EXPECT_NE(id, make_alert_id("usage_dro", "pacme", t0));  // the separator matters
}

}  // namespace
}  // namespace redflag::alerts

namespace redflag::alerts {
namespace {

// Two rules of one account, evaluated like the engine does: every rule, then inhibitions.
struct pair_harness {
    std::vector<rules::rule_definition> rules;
    fixed_repeats repeats{std::nullopt};
    alert_set set;
    std::vector<alert_event> out;

    pair_harness() {
        rules::rule_definition risk = make_rule();
        risk.name = "churn_risk";
        risk.inhibited_by = {"cancellation_requested"};
        risk.inhibitors = {1};
        rules::rule_definition cancel = make_rule();
        cancel.name = "cancellation_requested";
        rules = {risk, cancel};
    }
    // The events of this evaluation.
    std::vector<alert_event> at(timestamp t, bool risk, bool cancel) {
        std::size_t first = out.size();
        set.evaluate(0, rules[0], "acme", risk, t, repeats, out);
        set.evaluate(1, rules[1], "acme", cancel, t, repeats, out);
        set.apply_inhibitions(rules, t, first, out);
        return {out.begin() + static_cast<std::ptrdiff_t>(first), out.end()};
    }
    static int notifying(const std::vector<alert_event>& events, std::size_t rule) {
        int n = 0;
        for (const auto& e : events) n += e.notify && e.record.rule_index == rule;
        return n;
    }
};

TEST(Lifecycle, inhibited_alert_changes_state_but_holds_its_firing_notice_until_the_inhibitor_resolves) {
    pair_harness h;
    h.at(t0, false, true);  // the inhibitor fires first
    auto started = h.at(t0 + hour, true, true);
    ASSERT_EQ(started.size(), 1u);
    EXPECT_EQ(started[0].to, alert_state::firing);
    EXPECT_FALSE(started[0].notify);
    EXPECT_EQ(started[0].record.inhibited_by, "cancellation_requested");
    EXPECT_TRUE(started[0].record.held);
    ASSERT_NE(h.set.find(0), nullptr);
    EXPECT_EQ(h.set.find(0)->inhibited_by, "cancellation_requested");

    EXPECT_TRUE(h.at(t0 + 2 * hour, true, true).empty());  // nothing while both fire

    auto released = h.at(t0 + 3 * hour, true, false);  // the inhibitor resolves
    EXPECT_EQ(pair_harness::notifying(released, 1), 1);  // its own recovery
    ASSERT_EQ(pair_harness::notifying(released, 0), 1);
    const auto& r = released.back();
    EXPECT_EQ(r.kind, event_kind::released);
    EXPECT_TRUE(r.notify);
    EXPECT_TRUE(r.record.inhibited_by.empty());
    EXPECT_FALSE(r.record.held);
    EXPECT_EQ(r.record.notifications, 2u);  // a fresh sequence number for its key
    EXPECT_TRUE(h.at(t0 + 4 * hour, true, false).empty());  // once
}

TEST(Lifecycle, an_alert_resolving_while_held_sends_no_recovery_and_a_late_inhibitor_holds_the_rest) {
    pair_harness h;
    h.at(t0, true, true);  // both start in one evaluation: the inhibition holds whatever the order
    ASSERT_NE(h.set.find(0), nullptr);
    EXPECT_TRUE(h.set.find(0)->held);
    auto resolved = h.at(t0 + hour, false, true);
    ASSERT_EQ(resolved.size(), 1u);
    EXPECT_EQ(resolved[0].to, alert_state::resolved);
    EXPECT_FALSE(resolved[0].notify);

    // Announced before the inhibitor fired: stays announced, later notices are held and
    // the inhibition shows (an `inhibition` event stores it).
    pair_harness late;
    auto first = late.at(t0, true, false);
    EXPECT_EQ(pair_harness::notifying(first, 0), 1);
    auto later = late.at(t0 + hour, true, true);
    ASSERT_EQ(later.back().kind, event_kind::inhibition);
    EXPECT_EQ(later.back().record.inhibited_by, "cancellation_requested");
    EXPECT_FALSE(later.back().record.held);
    auto recovery = late.at(t0 + 2 * hour, false, true);
    EXPECT_EQ(pair_harness::notifying(recovery, 0), 0);
}

TEST(Lifecycle, escalation_notifies_once_after_the_duration_unless_acknowledged) {
    rules::rule_definition r = make_rule();
    r.escalate_after = 3 * day;
    r.escalate_to = "leadership";
    harness h{r};
    h.at(t0, true);
    ASSERT_NE(h.current(), nullptr);
    EXPECT_EQ(h.current()->escalate_at, t0 + 3 * day);
    EXPECT_EQ(h.set.next_deadline(std::span(&h.rule, 1)), t0 + 3 * day);
    h.at(t0 + 3 * day - minute, true);
    EXPECT_EQ(h.out.size(), 1u);
    h.at(t0 + 3 * day, true);
    ASSERT_EQ(h.out.size(), 2u);
    EXPECT_EQ(h.out[1].kind, event_kind::escalation_due);
    EXPECT_TRUE(h.out[1].notify);
    EXPECT_TRUE(h.out[1].record.escalated);
    EXPECT_FALSE(h.out[1].record.escalate_at);
    h.at(t0 + 10 * day, true);
    EXPECT_EQ(h.out.size(), 2u);  // never twice
    EXPECT_EQ(h.set.next_deadline(std::span(&h.rule, 1)), timestamp_max);

    harness acked{r};
    acked.at(t0, true);
    ASSERT_TRUE(acked.set.acknowledge(acked.current()->id, {"ana@acme.com", "on it", t0 + day}, acked.out));
    EXPECT_FALSE(acked.current()->escalate_at);
    acked.at(t0 + 5 * day, true);
    for (const auto& e : acked.out) EXPECT_NE(e.kind, event_kind::escalation_due);
}

// Alertmanager's semantics: inhibited means not notified, not forgotten. An escalation
// that falls due while its alert is inhibited waits and goes out once when the inhibition
// ends, if the alert still fires unacknowledged.
TEST(Lifecycle, an_escalation_due_while_inhibited_goes_out_once_the_inhibition_ends) {
    auto escalating = [] {
        pair_harness h;
        h.rules[0].escalate_after = 3 * day;
        h.rules[0].escalate_to = "leadership";
        return h;
    };
    auto escalations = [](const std::vector<alert_event>& events) {
        int n = 0;
        for (const auto& e : events) n += e.kind == event_kind::escalation_due && e.notify;
        return n;
    };

    // The inhibitor fires before the escalation falls due.
    auto h = escalating();
    h.at(t0, true, false);
    h.at(t0 + hour, true, true);
    EXPECT_EQ(escalations(h.at(t0 + 3 * day, true, true)), 0);
    // Waiting for the inhibition's end, not for a timer already past (no busy wake-ups).
    EXPECT_EQ(h.set.next_deadline(h.rules), timestamp_max);
    EXPECT_FALSE(h.set.find(0)->escalated);
    auto lifted = h.at(t0 + 4 * day, true, false);
    ASSERT_EQ(escalations(lifted), 1);
    EXPECT_EQ(lifted.back().kind, event_kind::escalation_due);
    EXPECT_EQ(lifted.back().at, t0 + 4 * day);
    EXPECT_TRUE(h.set.find(0)->escalated);
    EXPECT_EQ(escalations(h.at(t0 + 5 * day, true, false)), 0);  // once
    EXPECT_EQ(escalations(h.at(t0 + 6 * day, true, true)), 0);
    EXPECT_EQ(escalations(h.at(t0 + 7 * day, true, false)), 0);

    // The inhibitor starts in the very evaluation the escalation falls due.
    auto same = escalating();
    same.at(t0, true, false);
    EXPECT_EQ(escalations(same.at(t0 + 3 * day, true, true)), 0);
    EXPECT_FALSE(same.set.find(0)->escalated);
    EXPECT_EQ(escalations(same.at(t0 + 4 * day, true, false)), 1);

    // Acknowledged while inhibited: nothing to escalate when it ends.
    auto acked = escalating();
    acked.at(t0, true, false);
    acked.at(t0 + hour, true, true);
    ASSERT_TRUE(acked.set.acknowledge(acked.set.find(0)->id, {"ana@acme.com", "on it", t0 + day}, acked.out));
    acked.at(t0 + 3 * day, true, true);
    EXPECT_EQ(escalations(acked.at(t0 + 4 * day, true, false)), 0);
}

}  // namespace
}  // namespace redflag::alerts
