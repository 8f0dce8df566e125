#include "report/weekly.hpp"

#include "world.hpp"

#include <gtest/gtest.h>

using namespace redflag;
using namespace redflag::report;
using namespace redflag::report::testing;

namespace {

template <class Rows>
std::vector<std::string> ids(const Rows& rows) {
    std::vector<std::string> out;
    for (const auto& r : rows) out.push_back(r.account.id);
    return out;
}

const csm_kpis* find_csm(const weekly_report& r, const std::string& csm) {
    for (const auto& c : r.csms)
        if (c.csm == csm) return &c;
    return nullptr;
}

}  // namespace

TEST(WeeklyReport, the_week_ends_now) {
    auto r = build_weekly(world());
    EXPECT_EQ(r.from, at("2026-11-02T08:00:00Z"));
    EXPECT_EQ(r.to, now);
    EXPECT_EQ(r.csm, "");
}

TEST(WeeklyReport, new_red_flags_are_the_alerts_that_fired_in_the_week_by_arr) {
    auto r = build_weekly(world());
    // a1 (acme, ARR 120,000) and a2 (beta, 24,000, resolved since); a3 fired in October,
    // a4 never fired, a5 fired at the week's start, which is not in (from, to].
    ASSERT_EQ(r.red_flags.size(), 2u);
    EXPECT_EQ(r.red_flags[0].alert_id, "a1");
    EXPECT_EQ(r.red_flags[0].account.arr, 120000);
    EXPECT_EQ(r.red_flags[0].state, "firing");
    EXPECT_EQ(r.red_flags[0].severity, "high");
    EXPECT_EQ(r.red_flags[1].alert_id, "a2");
    EXPECT_EQ(r.red_flags[1].state, "resolved");
}

TEST(WeeklyReport, turnarounds_are_recovered_alerts_and_health_bands_up) {
    auto r = build_weekly(world());
    // Resolved in the week after firing: a3 (gamma, 60,000), then a2 (beta, 24,000).
    ASSERT_EQ(r.recovered.size(), 2u);
    EXPECT_EQ(r.recovered[0].alert_id, "a3");
    EXPECT_EQ(r.recovered[0].resolved_at, at("2026-11-04T10:00:00Z"));
    EXPECT_EQ(r.recovered[1].alert_id, "a2");
    // acme went yellow → green; beta stayed red; gamma has no point a week ago.
    EXPECT_EQ(ids(r.bands_up), std::vector<std::string>{"acme"});
    EXPECT_EQ(r.bands_up[0].band_before, "yellow");
    EXPECT_EQ(r.bands_up[0].band_now, "green");
    EXPECT_EQ(r.bands_up[0].health_before, 55.0);
}

TEST(WeeklyReport, renewals_within_90_days_soonest_first_with_health) {
    auto r = build_weekly(world());
    // now + 90 days = 2027-02-07: acme (2026-12-01) and gamma (2027-02-01); beta's
    // 2027-03-01 is beyond.
    EXPECT_EQ(ids(r.renewals), (std::vector<std::string>{"acme", "gamma"}));
    EXPECT_EQ(r.renewals[0].health, 80.0);
    EXPECT_EQ(r.renewals[0].band, "green");
}

TEST(WeeklyReport, onboardings_completed_in_the_week) {
    auto r = build_weekly(world());
    ASSERT_EQ(ids(r.onboardings), std::vector<std::string>{"gamma"});
    EXPECT_EQ(r.onboardings[0].at, at("2026-11-06T00:00:00Z")) << "the October milestone is not this week's";
}

TEST(WeeklyReport, promoters_by_the_shipped_classify_or_nps_9_to_10_in_90_days) {
    auto r = build_weekly(world());
    // acme: NPS 10 on 2026-10-01 (in (2026-08-11, now]); gamma: classified; delta's 9 of
    // 2026-08-08 is older than 90 days; beta answered 3.
    ASSERT_EQ(ids(r.promoters), (std::vector<std::string>{"acme", "gamma"}));
    EXPECT_EQ(r.promoters[0].best_nps, 10.0);
    EXPECT_FALSE(r.promoters[0].classified);
    EXPECT_EQ(r.promoters[1].best_nps, std::nullopt);
    EXPECT_TRUE(r.promoters[1].classified);
}

TEST(WeeklyReport, goals_due_in_7_days_and_overdue) {
    auto r = build_weekly(world());
    ASSERT_EQ(r.goals_due.size(), 1u);
    EXPECT_EQ(r.goals_due[0].goal_id, "sso");  // due 2026-11-12, within (now, now + 7d]
    ASSERT_EQ(r.goals_overdue.size(), 1u);
    EXPECT_EQ(r.goals_overdue[0].goal_id, "qbr");  // open, due 2026-11-01
    EXPECT_EQ(r.goals_overdue[0].title, "Hold the QBR");
}

TEST(WeeklyReport, nrr_grr_and_nps_per_csm_now_and_a_week_ago) {
    auto r = build_weekly(world());
    ASSERT_EQ(r.csms.size(), 2u);
    const auto* ana = find_csm(r, "ana@example.com");
    ASSERT_NE(ana, nullptr);
    EXPECT_EQ(ana->accounts, 2u);
    // Now: cohort MRR a year before (2025-11-09) is acme 8000 + beta 3000 = 11000; MRR now
    // 10000 + 2000 = 12000: NRR = 12000 / 11000; GRR = (min(10000, 8000) + min(2000, 3000))
    // / 11000 = 10000 / 11000.
    EXPECT_DOUBLE_EQ(*ana->nrr, 12000.0 / 11000.0);
    EXPECT_DOUBLE_EQ(*ana->grr, 10000.0 / 11000.0);
    // A week ago (2026-11-02 08:00): both at their year-before MRR: 11000 / 11000.
    EXPECT_DOUBLE_EQ(*ana->nrr_week_ago, 1.0);
    EXPECT_DOUBLE_EQ(*ana->grr_week_ago, 1.0);
    // NPS now: acme's 10 (promoter) and beta's 3 (detractor): 100 × (1 - 1) / 2 = 0; a week
    // ago only acme's 10: 100 × 1 / 1 = 100.
    EXPECT_DOUBLE_EQ(*ana->nps, 0.0);
    EXPECT_DOUBLE_EQ(*ana->nps_week_ago, 100.0);

    const auto* bo = find_csm(r, "bo@example.com");
    ASSERT_NE(bo, nullptr);
    // Cohort: delta only (gamma was not paying a year ago). Now 0 / 1000, a week ago 1000 / 1000.
    EXPECT_DOUBLE_EQ(*bo->nrr, 0.0);
    EXPECT_DOUBLE_EQ(*bo->grr, 0.0);
    EXPECT_DOUBLE_EQ(*bo->nrr_week_ago, 1.0);
    // delta's 9 of 2026-08-08 is in (2026-08-04, 2026-11-02] but not in (2026-08-11, now].
    EXPECT_EQ(bo->nps, std::nullopt);
    EXPECT_DOUBLE_EQ(*bo->nps_week_ago, 100.0);
}

TEST(WeeklyReport, a_csm_filter_keeps_that_csms_accounts_and_alerts) {
    auto in = world();
    in.csm = "bo@example.com";
    auto r = build_weekly(in);
    EXPECT_EQ(r.csm, "bo@example.com");
    EXPECT_TRUE(r.red_flags.empty());
    ASSERT_EQ(r.recovered.size(), 1u);
    EXPECT_EQ(r.recovered[0].alert_id, "a3");
    EXPECT_EQ(ids(r.renewals), std::vector<std::string>{"gamma"});
    EXPECT_EQ(ids(r.promoters), std::vector<std::string>{"gamma"});
    EXPECT_TRUE(r.goals_due.empty());
    ASSERT_EQ(r.csms.size(), 1u);
    EXPECT_EQ(r.csms[0].csm, "bo@example.com");
    // By name too.
    in.csm = "Ana";
    EXPECT_EQ(build_weekly(in).red_flags.size(), 2u) << "alert records are matched by the CSM's email or name";
    EXPECT_EQ(ids(build_weekly(in).renewals), std::vector<std::string>{"acme"});
}
