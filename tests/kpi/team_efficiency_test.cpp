// The CSM scorecard's activities and goals, and cost to serve, on hand-computed accounts
// (issue 16): redflag_activities_90d, redflag_goals, redflag_cost_to_serve_90d and
// redflag_cost_to_serve_ratio.
#include "kpi_support.hpp"

#include <gtest/gtest.h>

namespace redflag::kpi {
namespace {

using model::event_type;
using testing::account;
using testing::now;

timestamp ago(int days) { return now - days * day; }
timestamp ahead(int days) { return now + days * day; }

struct fixture {
    settings config;
    label_tables tables;
    label_caches labels{tables};
    fixture() {
        config.csm_hourly = 90;      // 1.5 per minute
        config.support_hourly = 30;  // 0.5 per minute
    }
};

std::uint16_t activities_of(const contribution& c, std::string_view kind) {
    for (std::size_t i = 0; i < activity_kind_names.size(); ++i)
        if (activity_kind_names[i] == kind) return c.activities[i];
    return 0xffff;
}

std::uint16_t goals_of(const contribution& c, goal_status s) { return c.goals[static_cast<std::size_t>(s)]; }

TEST(Team, activities_by_kind_over_90_days) {
    fixture f;
    account a("a");
    a.apply(event_type::activity, ago(1), {{"kind", "call"}});
    a.apply(event_type::activity, ago(10), {{"kind", "call"}});
    a.apply(event_type::activity, ago(89), {{"kind", "qbr"}});
    a.apply(event_type::activity, ago(90), {{"kind", "meeting"}});  // exactly 90 days: outside (now - 90d, now]
    a.apply(event_type::activity, ago(200), {{"kind", "email"}});
    a.apply(event_type::activity, ahead(1), {{"kind", "note"}});     // not yet
    auto next = a.contribute_at(now, f.config, f.labels);
    const auto& c = a.last();
    EXPECT_EQ(activities_of(c, "call"), 2);
    EXPECT_EQ(activities_of(c, "qbr"), 1);
    EXPECT_EQ(activities_of(c, "meeting"), 0);
    EXPECT_EQ(activities_of(c, "email"), 0);
    EXPECT_EQ(activities_of(c, "note"), 0);
    // The next change: the 89-day-old qbr leaves in 1 day, the same instant the note comes in.
    EXPECT_EQ(next, now + 1 * day);
}

TEST(Efficiency, cost_to_serve_prices_csm_and_support_minutes) {
    fixture f;
    account a("a");
    a.contract(ago(100), 1000);
    a.apply(event_type::activity, ago(5), {{"kind", "meeting"}, {"minutes", 60}});
    a.apply(event_type::activity, ago(20), {{"kind", "call"}, {"minutes", 30.5}});
    a.apply(event_type::activity, ago(95), {{"kind", "qbr"}, {"minutes", 600}});  // outside 90 days
    a.apply(event_type::activity, ago(3), {{"kind", "email"}});                    // no minutes
    a.apply(event_type::ticket, ago(7), {{"ticket_id", "t1"}, {"status", "open"}, {"handle_minutes", 20}});
    a.apply(event_type::ticket, ago(6), {{"ticket_id", "t1"}, {"status", "solved"}, {"handle_minutes", 10}});
    a.apply(event_type::ticket, ago(91), {{"ticket_id", "t0"}, {"status", "solved"}, {"handle_minutes", 500}});
    a.contribute_at(now, f.config, f.labels);
    const auto& c = a.last();
    EXPECT_EQ(c.csm_minutes, 90'500);      // 60 + 30.5 minutes, in thousandths
    EXPECT_EQ(c.support_minutes, 30'000);  // 20 + 10
    cell sum;
    sum.add(c, 1, f.config);
    // 90.5 min × 90/h ÷ 60 = 135.75; 30 min × 30/h ÷ 60 = 15; total 150.75.
    EXPECT_DOUBLE_EQ(cost_to_serve(sum, f.config), 150.75);
    // ÷ (3 × MRR 1000) = 150.75 / 3000.
    EXPECT_DOUBLE_EQ(cost_to_serve_ratio(sum, f.config), 150.75 / 3000.0);
}

TEST(Efficiency, cost_to_serve_adds_and_subtracts_across_accounts) {
    fixture f;
    account a("a"), b("b");
    a.contract(ago(100), 400);
    b.contract(ago(100), 600);
    a.apply(event_type::activity, ago(1), {{"kind", "call"}, {"minutes", 40}});
    b.apply(event_type::ticket, ago(1), {{"ticket_id", "x"}, {"status", "open"}, {"handle_minutes", 120}});
    a.contribute_at(now, f.config, f.labels);
    b.contribute_at(now, f.config, f.labels);
    cell sum;
    sum.add(a.last(), 1, f.config);
    sum.add(b.last(), 1, f.config);
    // a: 40 × 1.5 = 60; b: 120 × 0.5 = 60; ÷ (3 × (400 + 600)).
    EXPECT_DOUBLE_EQ(cost_to_serve(sum, f.config), 120.0);
    EXPECT_DOUBLE_EQ(cost_to_serve_ratio(sum, f.config), 120.0 / 3000.0);
    sum.add(a.last(), -1, f.config);
    EXPECT_DOUBLE_EQ(cost_to_serve(sum, f.config), 60.0);
    // No revenue: the ratio is undefined.
    cell none;
    EXPECT_TRUE(std::isnan(cost_to_serve_ratio(none, f.config)));
}

TEST(Team, goals_by_latest_status_with_open_past_due_as_missed) {
    fixture f;
    account a("a");
    const auto due = [](int days) { return format_rfc3339(now + days * day); };
    // g1: open, then achieved.
    a.apply(event_type::goal, ago(30), {{"goal_id", "g1"}, {"status", "open"}, {"due_at", due(10)}});
    a.apply(event_type::goal, ago(2), {{"goal_id", "g1"}, {"status", "achieved"}});
    // g2: open, due in 5 days.
    a.apply(event_type::goal, ago(20), {{"goal_id", "g2"}, {"status", "open"}, {"due_at", due(5)}});
    // g3: open, due 3 days ago: missed.
    a.apply(event_type::goal, ago(20), {{"goal_id", "g3"}, {"status", "open"}, {"due_at", due(-3)}});
    // g4: dropped; g5: missed as sent; g6: open without a due date.
    a.apply(event_type::goal, ago(9), {{"goal_id", "g4"}, {"status", "dropped"}});
    a.apply(event_type::goal, ago(9), {{"goal_id", "g5"}, {"status", "missed"}});
    a.apply(event_type::goal, ago(9), {{"goal_id", "g6"}, {"status", "open"}});
    // g2 is reopened later than now: not yet.
    a.apply(event_type::goal, ahead(2), {{"goal_id", "g2"}, {"status", "dropped"}});
    auto next = a.contribute_at(now, f.config, f.labels);
    const auto& c = a.last();
    EXPECT_EQ(goals_of(c, goal_status::open), 2);      // g2, g6
    EXPECT_EQ(goals_of(c, goal_status::achieved), 1);  // g1
    EXPECT_EQ(goals_of(c, goal_status::missed), 2);    // g3 (past due), g5
    EXPECT_EQ(goals_of(c, goal_status::dropped), 1);   // g4
    // The next change: g2's future record in 2 days (before its due date in 5).
    EXPECT_EQ(next, now + 2 * day);

    // Five days on: g2 was dropped at +2 (no longer open); nothing else changed.
    a.contribute_at(ahead(5), f.config, f.labels);
    EXPECT_EQ(goals_of(a.last(), goal_status::open), 1);
    EXPECT_EQ(goals_of(a.last(), goal_status::dropped), 2);
    EXPECT_EQ(goals_of(a.last(), goal_status::missed), 2);
}

TEST(Team, an_open_goal_turns_missed_when_its_due_date_passes) {
    fixture f;
    account a("a");
    a.apply(event_type::goal, ago(1), {{"goal_id", "g"}, {"status", "open"}, {"due_at", format_rfc3339(ahead(4))}});
    EXPECT_EQ(a.contribute_at(now, f.config, f.labels), now + 4 * day);
    EXPECT_EQ(goals_of(a.last(), goal_status::open), 1);
    a.contribute_at(ahead(4), f.config, f.labels);  // due_at itself: past due
    EXPECT_EQ(goals_of(a.last(), goal_status::open), 0);
    EXPECT_EQ(goals_of(a.last(), goal_status::missed), 1);
}

}  // namespace
}  // namespace redflag::kpi

namespace redflag::kpi {
namespace {

using model::event_type;
using testing::account;
using testing::now;

timestamp days_ago(int days) { return now - days * day; }

// The company's internal account, holding spend events.
account company() { return account(std::string(model::company_account)); }

TEST(Acquisition, spend_of_the_last_90_days_by_segment_and_no_account) {
    settings config;
    label_tables tables;
    label_caches labels{tables};
    account c = company();
    c.apply(event_type::spend, days_ago(10), {{"amount", 30000}, {"category", "marketing"}, {"segment", "smb"}});
    c.apply(event_type::spend, days_ago(40), {{"amount", 20000.25}, {"category", "sales"}, {"segment", "smb"}});
    c.apply(event_type::spend, days_ago(5), {{"amount", 50000}, {"category", "sales"}});  // no segment: "none"
    c.apply(event_type::spend, days_ago(90), {{"amount", 99999}, {"category", "sales"}});  // exactly 90 days: out
    auto next = c.contribute_at(now, config, labels);
    const auto& k = c.last();
    EXPECT_TRUE(k.company);
    aggregate agg;
    agg.add(k, 1, config);
    // It counts as no account: no cell at all.
    EXPECT_TRUE(agg.cells().empty());
    ASSERT_EQ(agg.spend().size(), 2u);
    EXPECT_EQ(agg.spend().at(labels.segment.get("smb")), to_money(30000 + 20000.25));
    EXPECT_EQ(agg.spend().at(labels.segment.get("none")), to_money(50000));
    EXPECT_EQ(agg.total_spend(), to_money(100000.25));
    // The 40-day-old spend leaves the window in 50 days; the 90-day-old one left now.
    EXPECT_EQ(next, now + 50 * day);
    agg.add(k, -1, config);
    EXPECT_EQ(agg.total_spend(), 0);
}

TEST(Acquisition, new_accounts_cac_ltv_cac_and_payback) {
    settings config;
    config.gross_margin = 0.8;
    label_tables tables;
    label_caches labels{tables};
    // Two new accounts in the window (first MRR 20 and 60 days ago), one older, one
    // whose first MRR is exactly 90 days old (out), one that churned and came back
    // (reactivation is not new).
    account a("a"), b("b"), old("old"), edge("edge"), back("back");
    a.contract(days_ago(20), 1000);
    b.contract(days_ago(60), 500);
    b.contract(days_ago(10), 1500);  // expansion: its MRR now is 1500
    old.contract(days_ago(200), 2000);
    edge.contract(days_ago(90), 700);
    back.contract(days_ago(300), 400);
    back.contract(days_ago(100), 0);
    back.contract(days_ago(30), 400);
    account c = company();
    c.apply(event_type::spend, days_ago(15), {{"amount", 12000}, {"category", "sales"}});
    aggregate agg;
    for (auto* x : {&a, &b, &old, &edge, &back, &c}) {
        x->contribute_at(now, config, labels);
        agg.add(x->last(), 1, config);
    }
    EXPECT_TRUE(a.last().new_in_quarter);
    EXPECT_TRUE(b.last().new_in_quarter);
    EXPECT_FALSE(old.last().new_in_quarter);
    EXPECT_FALSE(edge.last().new_in_quarter);
    EXPECT_FALSE(back.last().new_in_quarter);
    const cell total = agg.total();
    EXPECT_EQ(total.new_accounts, 2);
    EXPECT_EQ(total.new_accounts_mrr, to_money(1000 + 1500));
    // CAC = 12000 / 2 = 6000.
    EXPECT_DOUBLE_EQ(cac(agg.total_spend(), total), 6000.0);
    // Payback = 6000 / ((2500 / 2) × 0.8) = 6000 / 1000 = 6 months.
    EXPECT_DOUBLE_EQ(cac_payback_months(agg.total_spend(), total, 0.8), 6.0);
    // LTV:CAC = LTV / 6000, LTV as redflag_ltv computes it.
    EXPECT_DOUBLE_EQ(ltv_cac_ratio(agg.total_spend(), total, 0.8), ltv(total, 0.8) / 6000.0);
    // Revenue churn in 30 days: nothing lost (back's reactivation is a gain), so LTV and
    // LTV:CAC are +Inf.
    EXPECT_TRUE(std::isinf(ltv_cac_ratio(agg.total_spend(), total, 0.8)));
    // No new accounts: CAC and payback undefined.
    cell none;
    EXPECT_TRUE(std::isnan(cac(agg.total_spend(), none)));
    EXPECT_TRUE(std::isnan(cac_payback_months(agg.total_spend(), none, 0.8)));
}

TEST(Acquisition, an_account_stops_being_new_after_90_days) {
    settings config;
    label_tables tables;
    label_caches labels{tables};
    account a("a");
    a.contract(days_ago(80), 100);
    EXPECT_EQ(a.contribute_at(now, config, labels), now + 10 * day);
    EXPECT_TRUE(a.last().new_in_quarter);
    a.contribute_at(now + 10 * day, config, labels);
    EXPECT_FALSE(a.last().new_in_quarter);
}

}  // namespace
}  // namespace redflag::kpi

namespace redflag::kpi {
namespace {

using testing::now;

// A firing alert of the test rules' `few_seats` (severity high) on `account`.
alerts::alert firing_alert(std::string account, timestamp since) {
    alerts::alert a;
    a.id = "al-" + account;
    a.rule = "few_seats";
    a.account = std::move(account);
    a.severity = rules::alert_severity::high;
    a.state = alerts::alert_state::firing;
    a.started_at = since;
    a.firing_since = since;
    a.rule_index = 0;
    return a;
}

contribution contribute_with(const model::account_state& state, std::span<const alerts::alert> active, timestamp at,
                             label_caches& labels, const contribution& previous, timestamp* next = nullptr) {
    settings config;
    auto rules = testing::test_rules();
    auto eval = rules->make_evaluation();
    rules->evaluate(state, at, hour, eval);
    rule_layout layout(rules.get(), labels);
    contribution out;
    auto n = contribute({state, eval.scores, eval.bands, eval.classes, active}, at, config, layout, labels, previous, out);
    if (next) *next = n;
    return out;
}

TEST(Team, alerts_firing_over_a_day_without_an_ack_are_unacked) {
    label_tables tables;
    label_caches labels{tables};
    model::account_state s;
    s.id = "a";
    std::vector<alerts::alert> active{firing_alert("a", now - 30 * hour), firing_alert("a", now - 2 * hour)};
    active[1].id = "al-2";
    timestamp next{};
    auto c = contribute_with(s, active, now, labels, {}, &next);
    EXPECT_EQ(c.unacked, 1);               // 30 hours: over a day; 2 hours: not yet
    EXPECT_EQ(next, now + 22 * hour);      // the second one turns a day old then
    active[0].acks.push_back({"ana", "", now - hour});
    c = contribute_with(s, active, now, labels, c);
    EXPECT_EQ(c.unacked, 0);
    ASSERT_EQ(c.acked.size(), 1u);
    EXPECT_EQ(c.acked[0].seconds, 29 * 3600);  // firing 30 h ago, acked 1 h ago
}

TEST(Team, ack_time_is_observed_once_per_alert) {
    label_tables tables;
    label_caches labels{tables};
    model::account_state s;
    s.id = "a";
    std::vector<alerts::alert> active{firing_alert("a", now - 10 * hour)};
    aggregate agg;
    settings config;
    contribution before = contribute_with(s, active, now, labels, {});
    agg.add(before, 1, config);
    agg.count_acked({}, before);
    EXPECT_TRUE(agg.acked().empty());
    // Acked 3 hours after firing: bucket le=4h (the fourth, 14400 s).
    active[0].acks.push_back({"ana", "on it", now - 7 * hour});
    contribution acked = contribute_with(s, active, now, labels, before);
    agg.count_acked(before, acked);
    // A later evaluation (or a second ack) does not observe it again.
    active[0].acks.push_back({"ben", "", now - hour});
    contribution again = contribute_with(s, active, now + hour, labels, acked);
    agg.count_acked(acked, again);
    ASSERT_EQ(agg.acked().size(), 1u);
    const auto& t = agg.acked().begin()->second;
    EXPECT_EQ(t.count, 1);
    EXPECT_EQ(t.seconds, 3 * 3600);
    EXPECT_EQ(t.buckets[3], 1);
}

}  // namespace
}  // namespace redflag::kpi
