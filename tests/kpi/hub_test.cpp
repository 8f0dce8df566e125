// The hub as the service uses it: two shard trackers fed evaluations, publish, merge at
// scrape, and the Prometheus text of the KPI families; per-account series and their limit.
#include "kpi/hub.hpp"
#include "kpi_support.hpp"
#include "metrics/engine_metrics.hpp"

#include <gtest/gtest.h>

#include <regex>

namespace redflag::kpi {
namespace {

using model::event_type;
using testing::now;

timestamp ago(int days) { return now - days * day; }

// The value of the sample `series` (name and labels exactly as serialised), or NaN.
double sample(const std::string& text, const std::string& series) {
    auto at = text.find("\n" + series + " ");
    if (at == std::string::npos) return std::nan("");
    return std::stod(text.substr(at + series.size() + 2));
}

struct evaluated_account {
    model::account_state state;
    rules::evaluation eval;
};

// Evaluates `state` with the test rules and reports it to `tracker` as account `index`.
timestamp report(shard_tracker& tracker, std::uint32_t index, evaluated_account& a, timestamp at) {
    auto rules = testing::test_rules();
    a.eval = rules->make_evaluation();
    rules->evaluate(a.state, at, hour, a.eval);
    return tracker.on_evaluated(index, account_input{a.state, a.eval.scores, a.eval.bands, a.eval.classes}, rules.get(), at);
}

evaluated_account make_account(std::string id, std::string csm, double mrr, int seats) {
    evaluated_account a;
    a.state.id = id;
    auto e = testing::make_event(event_type::account, ago(400), {{"csm", csm}, {"segment", "smb"}, {"seats", seats}});
    e.account = id;
    a.state.apply(e);
    auto c = testing::make_event(event_type::contract, ago(400), {{"mrr", mrr}, {"products", boost::json::array{"backup"}}});
    c.account = id;
    a.state.apply(c);
    return a;
}

TEST(Hub, merges_shards_at_scrape) {
    auto registry = std::make_shared<prometheus::Registry>();
    settings config;
    config.stack = {{"backup", 9}, {"archiving", 4}};
    hub h(config, *registry, 2);
    auto ana = make_account("a1", "Ana", 1000, 80);  // green
    auto ben = make_account("b1", "Ben", 500, 10);   // red
    report(h.tracker(0), 0, ana, now);
    report(h.tracker(1), 0, ben, now);

    // Nothing is visible before the trackers publish.
    h.refresh_metrics();
    auto text = metrics::serialize_text(*registry);
    EXPECT_TRUE(std::isnan(sample(text, R"(redflag_mrr{csm="Ana",health_band="green",segment="smb"})")));

    h.tracker(0).publish(true);
    h.tracker(1).publish(true);
    h.refresh_metrics();
    text = metrics::serialize_text(*registry);
    EXPECT_EQ(sample(text, R"(redflag_mrr{csm="Ana",health_band="green",segment="smb"})"), 1000);
    EXPECT_EQ(sample(text, R"(redflag_arr{csm="Ben",health_band="red",segment="smb"})"), 6000);
    EXPECT_EQ(sample(text, R"(redflag_accounts{csm="Ana",health_band="green",segment="smb",status="active"})"), 1);
    EXPECT_EQ(sample(text, R"(redflag_nrr_ratio)"), 1);
    EXPECT_EQ(sample(text, R"(redflag_csm_grr_ratio{csm="Ben"})"), 1);
    EXPECT_EQ(sample(text, R"(redflag_stack_alignment_ratio{product="backup"})"), 1);
    EXPECT_EQ(sample(text, R"(redflag_stack_alignment_ratio{product="archiving"})"), 0);
    EXPECT_EQ(sample(text, R"(redflag_opportunity_mrr{csm="Ana",health_band="green",product="archiving",segment="smb"})"),
              4 * 80);
    EXPECT_EQ(sample(text, R"(redflag_score{band="green",csm="Ana",health_band="green",score="health",segment="smb"})"), 1);
    EXPECT_EQ(sample(text, R"(redflag_classification{csm="Ben",health_band="red",label="small",name="size",segment="smb"})"),
              1);
    EXPECT_EQ(sample(text, R"(redflag_mrr_movement_total{kind="new"})"), 1500);
    EXPECT_EQ(sample(text, R"(redflag_tickets_open{csm="Ana",health_band="green",priority="urgent",segment="smb"})"), 0);

    // Ana's account moves to Ben: her series disappear instead of staying at 0.
    auto e = testing::make_event(event_type::account, ago(1), {{"csm", "Ben"}});
    e.account = "a1";
    ana.state.apply(e);
    report(h.tracker(0), 0, ana, now);
    h.tracker(0).publish(true);
    h.refresh_metrics();
    text = metrics::serialize_text(*registry);
    EXPECT_EQ(text.find(R"(csm="Ana")"), std::string::npos);
    EXPECT_EQ(sample(text, R"(redflag_mrr{csm="Ben",health_band="green",segment="smb"})"), 1000);
    EXPECT_EQ(sample(text, R"(redflag_csm_nrr_ratio{csm="Ben"})"), 1);
}

TEST(Hub, skips_evaluations_that_change_nothing_it_reads_but_not_window_edges) {
    auto registry = std::make_shared<prometheus::Registry>();
    hub h(settings{}, *registry, 1);
    auto a = make_account("a1", "Ana", 1000, 80);
    auto cut = testing::make_event(event_type::contract, ago(10), {{"mrr", 400.0}});
    cut.account = "a1";
    a.state.apply(cut);
    EXPECT_EQ(report(h.tracker(0), 0, a, now), now + 20 * day);  // the contraction turns 30 days old
    EXPECT_EQ(h.tracker(0).current().total().moved_in_month[std::size_t(model::movement_kind::contraction)],
              to_money(600));
    // A usage event: nothing the KPIs read; the same next instant comes back.
    auto use = testing::make_event(event_type::usage, now, {{"metric", "logins"}});
    use.account = "a1";
    a.state.apply(use);
    EXPECT_EQ(report(h.tracker(0), 0, a, now + hour), now + 20 * day);
    // The edge passes: recomputed although no event came.
    report(h.tracker(0), 0, a, now + 20 * day);
    auto total = h.tracker(0).current().total();
    EXPECT_EQ(total.moved_in_month[std::size_t(model::movement_kind::contraction)], 0);
    EXPECT_EQ(total.mrr, to_money(400));
    // A CSAT answer is read: recomputed at once.
    auto answer = testing::make_event(event_type::csat, now + 20 * day, {{"score", 4}});
    answer.account = "a1";
    a.state.apply(answer);
    report(h.tracker(0), 0, a, now + 20 * day + hour);
    EXPECT_EQ(h.tracker(0).current().total().csat_count, 1);
}

TEST(Hub, time_to_first_value_histogram_counts_an_account_once) {
    auto registry = std::make_shared<prometheus::Registry>();
    hub h(settings{}, *registry, 1);
    auto a = make_account("a1", "Ana", 100, 10);
    auto m = testing::make_event(event_type::milestone, ago(400) + 5 * day, {{"name", "first_value"}});
    m.account = "a1";
    a.state.apply(m);
    report(h.tracker(0), 0, a, now);
    h.tracker(0).publish(true);
    for (int scrape = 0; scrape < 2; ++scrape) {  // a second scrape does not add the account again
        h.refresh_metrics();
        auto text = metrics::serialize_text(*registry);
        const std::string dims = R"(csm="Ana",health_band="red",segment="smb")";
        EXPECT_EQ(sample(text, "redflag_time_to_first_value_seconds_count{" + dims + "}"), 1);
        EXPECT_EQ(sample(text, "redflag_time_to_first_value_seconds_bucket{" + dims + R"(,le="259200"})"), 0);
        EXPECT_EQ(sample(text, "redflag_time_to_first_value_seconds_bucket{" + dims + R"(,le="604800"})"), 1);
        EXPECT_EQ(sample(text, "redflag_time_to_first_value_seconds_sum{" + dims + "}"), 5 * 86400);
    }
}

TEST(Hub, time_to_first_value_histogram_never_decreases_when_an_account_changes_band) {
    auto registry = std::make_shared<prometheus::Registry>();
    hub h(settings{}, *registry, 1);
    auto m = testing::make_event(event_type::milestone, ago(400) + 5 * day, {{"name", "first_value"}});
    m.account = "a1";
    auto red = make_account("a1", "Ana", 100, 10);
    red.state.apply(m);
    report(h.tracker(0), 0, red, now);
    h.tracker(0).publish(true);
    h.refresh_metrics();
    const std::string red_dims = R"(csm="Ana",health_band="red",segment="smb")";
    const std::string green_dims = R"(csm="Ana",health_band="green",segment="smb")";
    EXPECT_EQ(sample(metrics::serialize_text(*registry), "redflag_time_to_first_value_seconds_count{" + red_dims + "}"), 1);

    // The account turns green: it reached first value while red, and is not observed again.
    auto green = make_account("a1", "Ana", 100, 80);
    green.state.apply(m);
    report(h.tracker(0), 0, green, now + hour);
    h.tracker(0).publish(true);
    h.refresh_metrics();
    auto text = metrics::serialize_text(*registry);
    EXPECT_EQ(sample(text, "redflag_time_to_first_value_seconds_count{" + red_dims + "}"), 1);
    EXPECT_EQ(sample(text, "redflag_time_to_first_value_seconds_sum{" + red_dims + "}"), 5 * 86400);
    EXPECT_EQ(text.find("redflag_time_to_first_value_seconds_count{" + green_dims + "}"), std::string::npos);

    // A second account reaching first value adds to its cell.
    auto b = make_account("b1", "Ana", 100, 10);
    auto mb = testing::make_event(event_type::milestone, ago(400) + 20 * day, {{"name", "first_value"}});
    mb.account = "b1";
    b.state.apply(mb);
    report(h.tracker(0), 1, b, now + hour);
    h.tracker(0).publish(true);
    h.refresh_metrics();
    text = metrics::serialize_text(*registry);
    EXPECT_EQ(sample(text, "redflag_time_to_first_value_seconds_count{" + red_dims + "}"), 2);
    EXPECT_EQ(sample(text, "redflag_time_to_first_value_seconds_bucket{" + red_dims + R"(,le="604800"})"), 1);
    EXPECT_EQ(sample(text, "redflag_time_to_first_value_seconds_sum{" + red_dims + "}"), 25 * 86400);
}

TEST(Hub, per_account_series_and_their_limit) {
    auto registry = std::make_shared<prometheus::Registry>();
    settings config;
    config.per_account_metrics = true;
    config.per_account_limit = 2;
    hub h(config, *registry, 1);
    auto a = make_account("a1", "Ana", 100, 80);
    auto b = make_account("b1", "Ben", 200, 10);
    report(h.tracker(0), 0, a, now);
    report(h.tracker(0), 1, b, now);
    auto text = metrics::serialize_text(*registry);
    EXPECT_EQ(sample(text, R"(redflag_account_value{account="a1",health_band="green",segment="smb"})"), 100);
    EXPECT_EQ(sample(text, R"(redflag_account_value{account="b1",health_band="red",segment="smb"})"), 200);
    EXPECT_TRUE(h.per_account_series());

    // A third account passes the limit: the series go, for good.
    auto c = make_account("c1", "Cy", 300, 10);
    report(h.tracker(0), 2, c, now);
    EXPECT_FALSE(h.per_account_series());
    text = metrics::serialize_text(*registry);
    EXPECT_EQ(text.find("redflag_account_value{"), std::string::npos);
    EXPECT_EQ(h.accounts(), 3u);
}

}  // namespace
}  // namespace redflag::kpi

namespace redflag::kpi {
namespace {

// An event of a type the contribution reads (activity, goal, spend) is seen at the next
// evaluation, not skipped as "only scores may differ"; and the families of issue 16 reach
// the Prometheus text: spend by segment, CAC, cost to serve, activities, goals.
TEST(Hub, activities_goals_and_spend_reach_the_text) {
    auto registry = std::make_shared<prometheus::Registry>();
    settings config;
    config.csm_hourly = 60;  // 1 per minute
    hub h(config, *registry, 1);
    auto ana = make_account("a1", "Ana", 1000, 80);
    auto new_one = make_account("n1", "Ana", 0, 80);
    auto c = testing::make_event(event_type::contract, ago(10), {{"mrr", 300}});
    c.account = "n1";
    new_one.state.apply(c);
    report(h.tracker(0), 0, ana, now);
    report(h.tracker(0), 1, new_one, now);
    evaluated_account company;
    company.state.id = std::string(model::company_account);
    report(h.tracker(0), 2, company, now);

    // Later events of the account, at the same instant's evaluation grid.
    auto add = [&](evaluated_account& a, event_type type, boost::json::object fields) {
        auto e = testing::make_event(type, ago(1), std::move(fields));
        e.account = a.state.id;
        a.state.apply(e);
    };
    add(ana, event_type::activity, {{"kind", "call"}, {"minutes", 45}});
    add(ana, event_type::goal, {{"goal_id", "g"}, {"status", "open"}, {"due_at", "2026-05-01T00:00:00Z"}});
    add(company, event_type::spend, {{"amount", 900}, {"category", "sales"}, {"segment", "smb"}});
    report(h.tracker(0), 0, ana, now);
    report(h.tracker(0), 2, company, now);
    h.tracker(0).publish(true);
    h.refresh_metrics();
    const auto text = metrics::serialize_text(*registry);
    const std::string dims = R"(csm="Ana",health_band="green",segment="smb")";
    EXPECT_EQ(sample(text, R"(redflag_activities_90d{csm="Ana",health_band="green",kind="call",segment="smb"})"), 1) << text;
    // 45 minutes × 60 / 60.
    EXPECT_EQ(sample(text, R"(redflag_cost_to_serve_90d{)" + dims + "}"), 45);
    // The goal was due a month before now: missed.
    EXPECT_EQ(sample(text, R"(redflag_goals{)" + dims + R"(,status="missed"})"), 1);
    EXPECT_EQ(sample(text, R"(redflag_acquisition_spend_90d{segment="smb"})"), 900);
    EXPECT_EQ(sample(text, R"(redflag_new_accounts_90d{)" + dims + "}"), 1);
    // CAC = 900 / 1 new account; payback = 900 / (300 × 0.8) = 3.75 months.
    EXPECT_EQ(sample(text, "redflag_cac"), 900);
    EXPECT_EQ(sample(text, "redflag_cac_payback_months"), 3.75);
    // Cost to serve ratio = 45 / (3 × (1000 + 300)).
    EXPECT_DOUBLE_EQ(sample(text, "redflag_cost_to_serve_ratio"), 45.0 / 3900.0);
    // The company is no account.
    EXPECT_EQ(sample(text, R"(redflag_accounts{)" + dims + R"(,status="active"})"), 2);
}

TEST(Hub, a_usage_event_that_changes_active_users_is_not_skipped) {
    auto registry = std::make_shared<prometheus::Registry>();
    hub h(settings{}, *registry, 1);
    auto a = make_account("a1", "Ana", 1000, 80);
    auto use = [&](timestamp at, const char* user) {
        auto e = testing::make_event(event_type::usage, at, {{"metric", "logins"}, {"user_id", user}});
        e.account = "a1";
        a.state.apply(e);
    };
    use(now - 2 * day, "u1");
    report(h.tracker(0), 0, a, now);
    EXPECT_EQ(h.tracker(0).current().total().users_day, 0);
    EXPECT_EQ(h.tracker(0).current().total().users_month, 1);
    // u1 is back within the hour: DAU 1, although no record the memo counts changed.
    use(now + minute, "u1");
    report(h.tracker(0), 0, a, now + minute);
    EXPECT_EQ(h.tracker(0).current().total().users_day, 1);
    // u1 again: the counts stay, the evaluation is skipped and the answer is the same.
    use(now + 2 * minute, "u1");
    report(h.tracker(0), 0, a, now + 2 * minute);
    EXPECT_EQ(h.tracker(0).current().total().users_day, 1);
}

TEST(Hub, product_led_growth_and_ticket_times_reach_the_text) {
    auto registry = std::make_shared<prometheus::Registry>();
    settings config;
    config.free_plans = {"free"};
    hub h(config, *registry, 1);
    auto a = make_account("a1", "Ana", 1000, 80);
    auto b = make_account("b1", "Ana", 1000, 80);
    auto add = [&](evaluated_account& x, event_type type, timestamp at, boost::json::object fields) {
        auto e = testing::make_event(type, at, std::move(fields));
        e.account = x.state.id;
        x.state.apply(e);
    };
    add(a, event_type::account, ago(400), {{"plan", "free"}, {"signed_at", format_rfc3339(ago(400))}});
    add(a, event_type::account, ago(10), {{"plan", "pro"}});
    add(a, event_type::milestone, ago(390), {{"name", "activated"}});
    add(b, event_type::account, ago(400), {{"plan", "free"}});
    add(a, event_type::usage, now - hour, {{"metric", "logins"}, {"user_id", "u1"}});
    add(a, event_type::usage, ago(10), {{"metric", "logins"}, {"user_id", "u2"}});
    add(b, event_type::usage, ago(2), {{"metric", "logins"}, {"user_id", "v1"}});
    add(b, event_type::ticket, ago(3), {{"ticket_id", "t"}, {"status", "open"}});
    add(b, event_type::ticket, ago(3) + hour,
        {{"ticket_id", "t"}, {"status", "solved"}, {"first_response_at", format_rfc3339(ago(3) + 10 * minute)}});
    report(h.tracker(0), 0, a, now);
    report(h.tracker(0), 1, b, now);
    h.tracker(0).publish(true);
    h.refresh_metrics();
    const auto text = metrics::serialize_text(*registry);
    const std::string dims = R"(csm="Ana",health_band="green",segment="smb")";
    EXPECT_EQ(sample(text, R"(redflag_activated_accounts{)" + dims + "}"), 1) << text;
    EXPECT_EQ(sample(text, "redflag_activation_ratio"), 0.5);  // 1 of 2 accounts
    // a: activated 10 days after signing: the 14-day bucket (1209600 s) and above.
    EXPECT_EQ(sample(text, R"(redflag_time_to_activate_seconds_bucket{)" + dims + R"(,le="604800"})"), 0);
    EXPECT_EQ(sample(text, R"(redflag_time_to_activate_seconds_bucket{)" + dims + R"(,le="1209600"})"), 1);
    EXPECT_EQ(sample(text, R"(redflag_time_to_activate_seconds_sum{)" + dims + "}"), 864000);
    // Both on the free plan in the window, a converted: 1 ÷ 2.
    EXPECT_EQ(sample(text, R"(redflag_free_accounts_90d{)" + dims + "}"), 2);
    EXPECT_EQ(sample(text, R"(redflag_free_to_paid_90d{)" + dims + "}"), 1);
    EXPECT_EQ(sample(text, "redflag_free_to_paid_ratio"), 0.5);
    // DAU: u1; MAU: u1, u2, v1; stickiness 1 ÷ 3.
    EXPECT_EQ(sample(text, R"(redflag_active_users_1d{)" + dims + "}"), 1);
    EXPECT_EQ(sample(text, R"(redflag_active_users_30d{)" + dims + "}"), 3);
    EXPECT_DOUBLE_EQ(sample(text, R"(redflag_stickiness_ratio{segment="smb"})"), 1.0 / 3.0);
    // b's ticket: answered after 10 minutes (600 s, le 900), solved after an hour (le 3600).
    EXPECT_EQ(sample(text, R"(redflag_ticket_first_response_seconds_bucket{)" + dims + R"(,le="900"})"), 1);
    EXPECT_EQ(sample(text, R"(redflag_ticket_first_response_seconds_sum{)" + dims + "}"), 600);
    EXPECT_EQ(sample(text, R"(redflag_ticket_resolution_seconds_bucket{)" + dims + R"(,le="3600"})"), 1);
    EXPECT_EQ(sample(text, R"(redflag_ticket_resolution_seconds_count{)" + dims + "}"), 1);
}

// Issue 16's upkeep: a user's last usage leaving the 1- or 30-day window is an edge of
// the active-user counts only. The tracker recounts the users then (fast path) instead of
// recomputing the whole contribution, and the counts and next instants stay exact:
// windows are (now - span, now], hand-computed below.
TEST(Hub, a_user_edge_alone_recounts_the_active_users_only) {
    auto registry = std::make_shared<prometheus::Registry>();
    hub h(settings{}, *registry, 1);
    auto& tracker = h.tracker(0);
    auto a = make_account("a1", "Ana", 1000, 80);
    auto use = [&](timestamp at, const char* user) {
        auto e = testing::make_event(event_type::usage, at, {{"metric", "logins"}, {"user_id", user}});
        e.account = "a1";
        a.state.apply(e);
    };
    auto users = [&] {
        auto t = tracker.current().total();
        return std::pair{t.users_day, t.users_month};
    };
    // An edge of another part: a contraction 10 days ago turns 30 days old at now + 20 d.
    auto cut = testing::make_event(event_type::contract, ago(10), {{"mrr", 400.0}});
    cut.account = "a1";
    a.state.apply(cut);
    use(now - 29 * day - 12 * hour, "u1");  // in MAU only; leaves it at now + 12 h
    use(now - hour, "u2");                  // in both; leaves DAU at now + 23 h, MAU at now + 30 d - 1 h
    EXPECT_EQ(report(tracker, 0, a, now), now + 12 * hour);
    EXPECT_EQ(users(), std::pair(std::int64_t{1}, std::int64_t{2}));
    EXPECT_EQ(tracker.full_contributions(), 1u);

    // u1 leaves MAU, u2 stays in both: the next edge is u2 leaving DAU.
    EXPECT_EQ(report(tracker, 0, a, now + 12 * hour), now + 23 * hour);
    EXPECT_EQ(users(), std::pair(std::int64_t{1}, std::int64_t{1}));
    // u2 leaves DAU while MAU keeps it; at the edge's very instant (now + 23 h) u2's last
    // usage (now - 1 h) is no longer in (now + 23 h - 1 d, now + 23 h].
    EXPECT_EQ(report(tracker, 0, a, now + 23 * hour), now + 20 * day);  // the contraction's edge comes first
    EXPECT_EQ(users(), std::pair(std::int64_t{0}, std::int64_t{1}));
    EXPECT_EQ(tracker.full_contributions(), 1u);

    // An event between edges: u3 at now + 2 d is in both windows; the next edge is its
    // own leaving DAU at now + 3 d.
    use(now + 2 * day, "u3");
    EXPECT_EQ(report(tracker, 0, a, now + 2 * day), now + 3 * day);
    EXPECT_EQ(users(), std::pair(std::int64_t{1}, std::int64_t{2}));
    // u3 again later that day: the counts stay, its DAU edge moves to now + 3 d + 6 h.
    use(now + 2 * day + 6 * hour, "u3");
    EXPECT_EQ(report(tracker, 0, a, now + 2 * day + 6 * hour), now + 3 * day + 6 * hour);
    EXPECT_EQ(users(), std::pair(std::int64_t{1}, std::int64_t{2}));
    EXPECT_EQ(tracker.full_contributions(), 1u);

    // The other edge passes with the users' (u3 left DAU at now + 3 d + 6 h): the whole
    // contribution is recomputed, users included.
    EXPECT_EQ(report(tracker, 0, a, now + 20 * day), now + 30 * day - hour);  // u2 leaves MAU
    EXPECT_EQ(users(), std::pair(std::int64_t{0}, std::int64_t{2}));
    EXPECT_EQ(tracker.current().total().moved_in_month[std::size_t(model::movement_kind::contraction)], 0);
    EXPECT_EQ(tracker.full_contributions(), 2u);

    // Both counts fall at one evaluation: u4 used the product at now + 25 d (in both);
    // the next evaluation comes late, at now + 60 d, when every user has left both
    // windows (u4's last usage is 35 days old, u3's 57 days).
    use(now + 25 * day, "u4");
    EXPECT_EQ(report(tracker, 0, a, now + 25 * day), now + 26 * day);
    EXPECT_EQ(users(), std::pair(std::int64_t{1}, std::int64_t{3}));
    EXPECT_EQ(report(tracker, 0, a, now + 60 * day), now + 80 * day);  // the contraction leaves 90 days
    EXPECT_EQ(users(), std::pair(std::int64_t{0}, std::int64_t{0}));
    EXPECT_EQ(tracker.full_contributions(), 2u);

    // The published text says the same as the tracker.
    tracker.publish(true);
    h.refresh_metrics();
    const auto text = metrics::serialize_text(*registry);
    const std::string dims = R"(csm="Ana",health_band="green",segment="smb")";
    EXPECT_EQ(sample(text, R"(redflag_active_users_1d{)" + dims + "}"), 0);
    EXPECT_EQ(sample(text, R"(redflag_active_users_30d{)" + dims + "}"), 0);
}

}  // namespace
}  // namespace redflag::kpi
