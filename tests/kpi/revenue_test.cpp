// Revenue KPIs on a hand-computed book of eight accounts (see the table in
// revenue_book()): NRR and GRR by 365-day cohort, logo and revenue churn, quick ratio,
// ARPA, LTV and the movement totals, with the cohort's edge cases.
#include "kpi_support.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace redflag::kpi {
namespace {

using testing::account;
using testing::now;
using model::movement_kind;

timestamp ago(int days) { return now - days * day; }

// now = 2026-06-01. MRR by account (d = days before now):
//   steady    1000 since -400d                                  cohort: then 1000, now 1000
//   expander  1000 since -400d, 1500 at -100d (expansion)        then 1000, now 1500, capped 1000
//   comeback  2000 since -500d, churned -200d, back 1000 at -50d then 2000, now 1000 (churned and came back)
//   young      800 since -335d (11 months ago)                   not in the cohort
//   zeroed     600 since -380d, contract mrr 0 at -10d           then 600, now 0 (contraction to zero = churn)
//   cancelled  400 since -380d, status churned at -20d           then 400, now 0 (churn by status)
//   shrunk    1000 since -400d, 700 at -5d (contraction)         then 1000, now 700
//   fresh      500 since -3d (new)                               not in the cohort
struct book {
    std::vector<account> accounts;
    settings config;
    label_tables tables;
    label_caches labels{tables};
    aggregate sum;

    book() {
        auto& steady = accounts.emplace_back("steady");
        steady.contract(ago(400), 1000);
        auto& expander = accounts.emplace_back("expander");
        expander.contract(ago(400), 1000).contract(ago(100), 1500);
        auto& comeback = accounts.emplace_back("comeback");
        comeback.contract(ago(500), 2000).contract(ago(200), 2000, {{"status", "churned"}}).contract(ago(50), 1000);
        auto& young = accounts.emplace_back("young");
        young.contract(ago(335), 800);
        auto& zeroed = accounts.emplace_back("zeroed");
        zeroed.contract(ago(380), 600).contract(ago(10), 0);
        auto& cancelled = accounts.emplace_back("cancelled");
        cancelled.contract(ago(380), 400).contract(ago(20), 400, {{"status", "churned"}});
        auto& shrunk = accounts.emplace_back("shrunk");
        shrunk.contract(ago(400), 1000).contract(ago(5), 700);
        auto& fresh = accounts.emplace_back("fresh");
        fresh.contract(ago(3), 500);
        config.gross_margin = 0.8;
    }

    // Contributes every account at `at` (subtracting its previous contribution), as the
    // engine's trackers do.
    void contribute_all(timestamp at) {
        for (auto& a : accounts) {
            sum.add(a.last(), -1, config);
            a.contribute_at(at, config, labels);
            sum.add(a.last(), +1, config);
        }
    }
    account& find(std::string_view id) {
        for (auto& a : accounts)
            if (a.state().id == id) return a;
        throw std::logic_error("no such test account");
    }
};

TEST(Revenue, classifies_contraction_to_zero_and_churn_status_alike) {
    book b;
    const auto& zeroed = b.find("zeroed").state().movements;
    const auto& cancelled = b.find("cancelled").state().movements;
    ASSERT_EQ(zeroed.size(), 2u);
    ASSERT_EQ(cancelled.size(), 2u);
    EXPECT_EQ(zeroed.back().kind, movement_kind::churn);
    EXPECT_EQ(cancelled.back().kind, movement_kind::churn);
    EXPECT_EQ(zeroed.back().before, 600);
    EXPECT_EQ(cancelled.back().before, 400);
    b.contribute_all(now);
    for (const char* id : {"zeroed", "cancelled"}) {
        const auto& c = b.find(id).last();
        EXPECT_FALSE(c.active) << id;
        EXPECT_TRUE(c.in_cohort()) << id;
        EXPECT_TRUE(c.churned_in_month) << id;
        EXPECT_EQ(c.moved_in_month[std::size_t(movement_kind::contraction)], 0) << id;
    }
}

TEST(Revenue, cohort_edges) {
    book b;
    b.contribute_all(now);
    // Churned and came back: in the cohort at its ARR then (2000 × 12), counted at 1000 now.
    const auto& comeback = b.find("comeback").last();
    EXPECT_TRUE(comeback.in_cohort());
    EXPECT_EQ(comeback.arr_year_ago(), to_money(24000));
    EXPECT_EQ(comeback.arr(), to_money(12000));
    // Started 11 months ago: not in the cohort yet...
    EXPECT_FALSE(b.find("young").last().in_cohort());
    // ...until its first contract is 365 days old, which contribute() says when.
    auto& young = b.find("young");
    EXPECT_EQ(young.contribute_at(now, b.config, b.labels), now + 30 * day);
    young.contribute_at(now + 30 * day, b.config, b.labels);
    EXPECT_TRUE(young.last().in_cohort());
    EXPECT_EQ(young.last().arr_year_ago(), to_money(9600));
    EXPECT_FALSE(b.find("fresh").last().in_cohort());
}

TEST(Revenue, nrr_and_grr) {
    book b;
    b.contribute_all(now);
    auto total = b.sum.total();
    EXPECT_EQ(total.cohort_accounts, 6);
    EXPECT_EQ(total.cohort_arr_then, to_money(12 * 6000.0));
    EXPECT_EQ(total.cohort_arr_now, to_money(12 * 4200.0));
    EXPECT_EQ(total.cohort_arr_capped, to_money(12 * 3700.0));
    EXPECT_DOUBLE_EQ(nrr(total), 4200.0 / 6000.0);
    EXPECT_DOUBLE_EQ(grr(total), 3700.0 / 6000.0);
}

TEST(Revenue, churn_quick_ratio_arpa_ltv) {
    book b;
    b.contribute_all(now);
    auto total = b.sum.total();
    // Active 30 days ago: all but fresh (comeback was back by then). Churned since: zeroed, cancelled.
    EXPECT_EQ(total.active_month_ago, 7);
    EXPECT_EQ(total.churned_in_month, 2);
    EXPECT_DOUBLE_EQ(logo_churn(total), 2.0 / 7.0);
    // MRR 30 days ago 6300; churned 600 + 400, contracted 300.
    EXPECT_EQ(total.mrr_month_ago, to_money(6300));
    EXPECT_DOUBLE_EQ(revenue_churn(total), 1300.0 / 6300.0);
    // New 500 (fresh); no expansion or reactivation in the window.
    EXPECT_DOUBLE_EQ(quick_ratio(total), 500.0 / 1300.0);
    // MRR now 5500 over 6 active accounts.
    EXPECT_EQ(total.active, 6);
    EXPECT_EQ(total.mrr, to_money(5500));
    EXPECT_DOUBLE_EQ(arpa(total), 5500.0 / 6.0);
    EXPECT_NEAR(ltv(total, 0.8), (5500.0 / 6.0) * 0.8 / (1300.0 / 6300.0), 1e-9);
}

TEST(Revenue, movement_totals) {
    book b;
    b.contribute_all(now);
    auto total = b.sum.total();
    auto moved = [&](movement_kind k) { return from_money(total.moved_total[std::size_t(k)]); };
    EXPECT_DOUBLE_EQ(moved(movement_kind::new_business), 7300);
    EXPECT_DOUBLE_EQ(moved(movement_kind::expansion), 500);
    EXPECT_DOUBLE_EQ(moved(movement_kind::contraction), 300);
    EXPECT_DOUBLE_EQ(moved(movement_kind::churn), 3000);
    EXPECT_DOUBLE_EQ(moved(movement_kind::reactivation), 1000);
}

TEST(Revenue, windows_move_with_time_and_re_contribution_keeps_sums_exact) {
    book b;
    b.contribute_all(now);
    // 21 days later: zeroed's churn (-10d) is 31 days old, cancelled's (-20d) 41 days.
    auto& zeroed = b.find("zeroed");
    EXPECT_EQ(zeroed.contribute_at(now, b.config, b.labels), now + 20 * day);
    b.contribute_all(now + 21 * day);
    auto later = b.sum.total();
    EXPECT_EQ(later.churned_in_month, 0);
    EXPECT_EQ(later.moved_in_month[std::size_t(movement_kind::churn)], 0);
    // Back at `now`: the incremental sums equal a fresh aggregate of the same accounts.
    b.contribute_all(now);
    aggregate fresh;
    for (const auto& a : b.accounts) fresh.add(a.last(), +1, b.config);
    auto x = b.sum.total(), y = fresh.total();
    EXPECT_EQ(x.cohort_arr_then, y.cohort_arr_then);
    EXPECT_EQ(x.cohort_arr_now, y.cohort_arr_now);
    EXPECT_EQ(x.mrr_month_ago, y.mrr_month_ago);
    EXPECT_EQ(x.moved_in_month, y.moved_in_month);
    EXPECT_EQ(x.churned_in_month, 2);
}

TEST(Revenue, a_contract_stamped_after_now_counts_from_its_own_instant) {
    settings config;
    label_tables tables;
    label_caches labels(tables);
    account a("later");
    a.contract(now + 2 * day, 900);
    EXPECT_EQ(a.contribute_at(now, config, labels), now + 2 * day);
    EXPECT_FALSE(a.last().active);
    a.contribute_at(now + 2 * day, config, labels);
    EXPECT_TRUE(a.last().active);
    EXPECT_EQ(a.last().mrr, to_money(900));
}

TEST(Revenue, empty_denominators) {
    cell empty;
    EXPECT_TRUE(std::isnan(nrr(empty)));
    EXPECT_TRUE(std::isnan(grr(empty)));
    EXPECT_TRUE(std::isnan(logo_churn(empty)));
    EXPECT_TRUE(std::isnan(quick_ratio(empty)));
    EXPECT_TRUE(std::isnan(ltv(empty, 0.8)));
    cell growing;
    growing.moved_in_month[std::size_t(movement_kind::new_business)] = to_money(100);
    growing.active = 1;
    growing.mrr = to_money(100);
    growing.mrr_month_ago = to_money(50);
    EXPECT_TRUE(std::isinf(quick_ratio(growing)));
    EXPECT_TRUE(std::isinf(ltv(growing, 0.8)));  // nothing lost: unbounded lifetime
}

}  // namespace
}  // namespace redflag::kpi
