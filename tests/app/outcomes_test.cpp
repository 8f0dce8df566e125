#include "app/outcomes.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <tuple>

namespace redflag::app {
namespace {

namespace fs = std::filesystem;

const timestamp t0 = *parse_rfc3339("2026-01-01T00:00:00Z");
timestamp on(int d) { return t0 + d * day; }

// Four accounts over 364 days (days from t0):
//   acme  churns on 200;
//   beta  contracts on 100;
//   gamma is first seen on 182 and nothing happens;
//   delta churns on 50 (comes back) and again on 300.
// usage_drop fires on acme 150 and 190, gamma 200, delta 100 (and beta -5, before the window);
// detractor on acme 190, beta 20 and 300, delta 10; churned (lagging) on acme 200.
// Each alert resolves 5 days after it fired, except churned, which never resolves.
outcome_input hand_made() {
    outcome_input in;
    in.rules = {{"usage_drop", false}, {"detractor", false}, {"churned", true}};
    in.accounts = {
        {"acme", t0, {on(200)}, {}},
        {"beta", t0, {}, {on(100)}},
        {"gamma", on(182), {}, {}},
        {"delta", t0, {on(50), on(300)}, {}},
    };
    for (auto [rule, account, d] : {std::tuple{0, 0, 190}, {0, 0, 150}, {0, 2, 200}, {0, 3, 100}, {0, 1, -5},
                                    {1, 0, 190}, {1, 1, 20}, {1, 1, 300}, {1, 3, 10}})
        in.firings.push_back({std::size_t(rule), std::size_t(account), on(d), on(d + 5)});
    in.firings.push_back({2, 0, on(200), std::nullopt});
    in.from = t0;
    in.until = on(364);
    return in;
}

const double account_months = (364.0 * 3 + 182.0) / (365.25 / 12);

TEST(Outcomes, counts_accounts_churns_and_contractions_in_the_window) {
    auto report = compute_outcomes(hand_made());
    EXPECT_EQ(report.accounts, 4u);
    EXPECT_NEAR(report.account_months, account_months, 1e-9);
    EXPECT_EQ(report.churns, 3u);
    EXPECT_EQ(report.contractions, 1u);
    ASSERT_EQ(report.rules.size(), 3u);
}

TEST(Outcomes, per_rule_precision_recall_lead_and_noise) {
    auto report = compute_outcomes(hand_made());
    const auto& usage = report.rules[0];
    EXPECT_EQ(usage.rule, "usage_drop");
    EXPECT_EQ(usage.alerts, 4u);  // the one before the window is not counted
    EXPECT_EQ(usage.alerted_accounts, 3u);
    // acme's alerts are followed by its churn; gamma never churns; delta's on 100 is 200
    // days before its next churn.
    EXPECT_EQ(usage.judged_accounts, 3u);
    EXPECT_EQ(usage.followed_accounts, 1u);
    EXPECT_DOUBLE_EQ(*usage.precision, 1.0 / 3);
    EXPECT_DOUBLE_EQ(*usage.alert_precision, 2.0 / 4);
    // acme's churn is caught 50 days ahead (the earliest alert in the 90 days before);
    // neither of delta's churns has a usage_drop alert in the 90 days before it.
    EXPECT_EQ(usage.caught, 1u);
    EXPECT_EQ(usage.caught_ahead, 1u);
    EXPECT_DOUBLE_EQ(*usage.recall, 1.0 / 3);
    EXPECT_DOUBLE_EQ(*usage.median_lead_days, 50);
    EXPECT_NEAR(usage.alerts_per_account_month, 4 / account_months, 1e-12);

    const auto& detractor = report.rules[1];
    EXPECT_EQ(detractor.alerts, 4u);
    EXPECT_EQ(detractor.alerted_accounts, 3u);
    // beta's alert on 300 is too late to judge (less than 90 days before the end).
    EXPECT_EQ(detractor.judged_alerts, 3u);
    EXPECT_EQ(detractor.followed_alerts, 3u);
    EXPECT_DOUBLE_EQ(*detractor.precision, 1.0);
    // acme 10 days ahead, delta's first churn 40 days ahead; the alert on 10 does not
    // count for delta's second churn (it is before the first).
    EXPECT_EQ(detractor.caught, 2u);
    EXPECT_EQ(detractor.caught_ahead, 1u);
    EXPECT_DOUBLE_EQ(*detractor.recall, 2.0 / 3);
    EXPECT_DOUBLE_EQ(*detractor.recall_ahead, 1.0 / 3);
    EXPECT_DOUBLE_EQ(*detractor.median_lead_days, 25);
}

TEST(Outcomes, a_lagging_rule_is_reported_but_not_combined) {
    auto report = compute_outcomes(hand_made());
    const auto& churned = report.rules[2];
    EXPECT_TRUE(churned.lagging);
    EXPECT_EQ(churned.alerts, 1u);
    // It fires at the churn itself: not before it, and nothing follows.
    EXPECT_EQ(churned.caught, 0u);
    EXPECT_DOUBLE_EQ(*churned.precision, 0.0);
    EXPECT_FALSE(churned.median_lead_days.has_value());

    const auto& all = report.combined;
    EXPECT_EQ(all.rule, "(combined)");
    EXPECT_EQ(all.alerts, 8u);
    EXPECT_EQ(all.alerted_accounts, 4u);
    EXPECT_EQ(all.judged_accounts, 4u);
    EXPECT_EQ(all.followed_accounts, 3u);
    EXPECT_DOUBLE_EQ(*all.precision, 0.75);
    EXPECT_EQ(all.judged_alerts, 7u);
    EXPECT_EQ(all.followed_alerts, 5u);
    EXPECT_EQ(all.caught, 2u);
    EXPECT_EQ(all.caught_ahead, 2u);
    EXPECT_DOUBLE_EQ(*all.median_lead_days, 45);
    EXPECT_NEAR(all.alerts_per_account_month, 8 / account_months, 1e-12);
}

TEST(Outcomes, window_edges_are_included) {
    outcome_input in;
    in.rules = {{"r", false}};
    in.accounts = {{"a", t0, {on(190)}, {}}, {"b", t0, {}, {on(200)}}};
    // a: 90 days before its churn (caught, lead 90); b: followed exactly 90 days later
    // and judged exactly 90 days before the end.
    in.firings = {{0, 0, on(100), on(101)}, {0, 1, on(110), on(111)}};
    in.from = t0;
    in.until = on(200);
    auto row = compute_outcomes(in).rules[0];
    EXPECT_EQ(row.caught, 1u);
    EXPECT_DOUBLE_EQ(*row.median_lead_days, 90);
    EXPECT_EQ(row.judged_alerts, 2u);
    EXPECT_EQ(row.followed_alerts, 2u);

    // One day outside on each side: a's alert resolves the day before the 90 days start.
    in.firings = {{0, 0, on(98), on(100)}, {0, 1, on(111), on(112)}};
    row = compute_outcomes(in).rules[0];
    EXPECT_EQ(row.caught, 0u);
    EXPECT_EQ(row.judged_alerts, 1u);  // 111 is too late to judge
    EXPECT_EQ(row.followed_alerts, 0u);
}

TEST(Outcomes, an_alert_still_firing_in_the_last_quarter_catches_the_churn) {
    outcome_input in;
    in.rules = {{"r", false}};
    in.accounts = {{"a", t0, {on(200)}, {}}};
    in.from = t0;
    in.until = on(300);
    in.firings = {{0, 0, on(70), std::nullopt}};  // 130 days ahead, firing until the churn
    auto row = compute_outcomes(in).rules[0];
    EXPECT_EQ(row.caught, 1u);
    EXPECT_DOUBLE_EQ(*row.median_lead_days, 130);
    EXPECT_EQ(row.followed_alerts, 0u);  // precision asks for a churn within 90 days of the start

    in.firings = {{0, 0, on(70), on(110)}};  // resolved when the last 90 days begin
    EXPECT_EQ(compute_outcomes(in).rules[0].caught, 0u);
    in.firings = {{0, 0, on(70), on(111)}, {0, 0, on(150), on(151)}};  // the earliest one counts
    EXPECT_DOUBLE_EQ(*compute_outcomes(in).rules[0].median_lead_days, 130);
}

TEST(Outcomes, nothing_to_judge_gives_nulls) {
    outcome_input in;
    in.rules = {{"r", false}};
    in.accounts = {{"a", t0, {}, {}}};
    in.from = t0;
    in.until = on(30);
    auto report = compute_outcomes(in);
    EXPECT_FALSE(report.rules[0].precision.has_value());
    EXPECT_FALSE(report.rules[0].recall.has_value());
    auto text = render_json(report);
    EXPECT_NE(text.find(R"("precision":null)"), std::string::npos) << text;
    EXPECT_NE(render_table(report).find("(combined)"), std::string::npos);
}

TEST(Outcomes, json_has_every_row) {
    auto text = render_json(compute_outcomes(hand_made()));
    EXPECT_NE(text.find(R"("churns":3)"), std::string::npos) << text;
    EXPECT_NE(text.find(R"({"rule":"usage_drop","lagging":false,"alerts":4,"alerted_accounts":3)"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find(R"x("combined":{"rule":"(combined)")x"), std::string::npos) << text;
}

std::string data(std::string_view name) { return std::string(REDFLAG_TEST_DATA) + "/" + std::string(name); }

TEST(OutcomesObserver, gathers_firings_and_movements_during_a_replay) {
    replay_options options;
    options.rules = {data("outcomes.rules")};
    options.events = data("outcomes.ndjson");
    options.outcomes = true;
    outcomes_observer observer(std::nullopt, std::nullopt, "");
    std::ostringstream out, err;
    ASSERT_EQ(run_replay(options, out, err, &observer), 0) << err.str();

    auto in = observer.input();
    EXPECT_EQ(in.from, t0);
    EXPECT_EQ(in.until, *parse_rfc3339("2026-07-01T00:00:00Z"));
    ASSERT_EQ(in.rules.size(), 2u);
    EXPECT_FALSE(in.rules[0].lagging);
    EXPECT_TRUE(in.rules[1].lagging);
    // The log's company-level spend event is no account.
    ASSERT_EQ(in.accounts.size(), 2u);
    EXPECT_EQ(in.accounts[0].id, "acme");
    EXPECT_EQ(in.accounts[0].churns, std::vector<timestamp>{*parse_rfc3339("2026-03-15T10:00:00Z")});
    EXPECT_EQ(in.accounts[1].contractions, std::vector<timestamp>{*parse_rfc3339("2026-02-10T00:00:00Z")});

    auto report = compute_outcomes(in);
    const auto& low_nps = report.rules[0];
    EXPECT_EQ(low_nps.alerts, 1u);
    EXPECT_DOUBLE_EQ(*low_nps.precision, 1.0);
    EXPECT_DOUBLE_EQ(*low_nps.recall, 1.0);
    EXPECT_NEAR(*low_nps.median_lead_days, 42, 1e-9);  // 02-01 10:00 to 03-15 10:00
    EXPECT_EQ(report.rules[1].alerts, 1u);
    EXPECT_EQ(report.combined.alerts, 1u);

    // The table goes to err; the transitions stay alone on out.
    EXPECT_NE(err.str().find("low_nps"), std::string::npos) << err.str();
    EXPECT_NE(err.str().find("churned *"), std::string::npos) << err.str();
    EXPECT_EQ(out.str().find("precision"), std::string::npos) << out.str();
}

TEST(OutcomesObserver, from_and_until_bound_the_window_and_json_goes_to_a_file) {
    fs::path path = fs::temp_directory_path() / "redflag-outcomes-test.json";
    fs::remove(path);
    replay_options options;
    options.rules = {data("outcomes.rules")};
    options.events = data("outcomes.ndjson");
    options.outcomes = true;
    options.from = parse_rfc3339("2026-03-01T00:00:00Z");
    outcomes_observer observer(options.from, std::nullopt, path.string());
    std::ostringstream out, err;
    ASSERT_EQ(run_replay(options, out, err, &observer), 0) << err.str();
    std::ifstream file(path);
    std::stringstream text;
    text << file.rdbuf();
    // low_nps fired before --from: not counted; the churn after it is.
    EXPECT_NE(text.str().find(R"({"rule":"low_nps","lagging":false,"alerts":0)"), std::string::npos) << text.str();
    EXPECT_NE(text.str().find(R"("churns":1,"contractions":0)"), std::string::npos) << text.str();

    outcomes_observer unwritable(std::nullopt, std::nullopt, "/nonexistent-dir/outcomes.json");
    std::ostringstream out2, err2;
    EXPECT_EQ(run_replay(options, out2, err2, &unwritable), 1);
    EXPECT_NE(err2.str().find("cannot write"), std::string::npos) << err2.str();
    fs::remove(path);
}

}  // namespace
}  // namespace redflag::app
