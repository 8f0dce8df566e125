// Voice of the customer (NPS, CSAT, open tickets, time to first value), renewals, stack
// alignment and opportunity, scores and classifications, on hand-computed accounts.
#include "kpi_support.hpp"

#include <gtest/gtest.h>

namespace redflag::kpi {
namespace {

using model::event_type;
using testing::account;
using testing::now;

timestamp ago(int days) { return now - days * day; }

struct fixture {
    settings config;
    label_tables tables;
    label_caches labels{tables};
    fixture() { config.stack = {{"backup", 9}, {"email_security", 6}}; }
};

TEST(Voice, nps_counts_answers_of_the_last_90_days) {
    fixture f;
    account a("a");
    for (int score : {10, 9, 9, 8, 3}) a.apply(event_type::nps, ago(10), {{"score", score}});
    a.apply(event_type::nps, ago(90), {{"score", 0}});   // exactly 90 days: outside (now - 90d, now]
    a.apply(event_type::nps, ago(120), {{"score", 1}});  // older
    auto next = a.contribute_at(now, f.config, f.labels);
    const auto& c = a.last();
    EXPECT_EQ(c.nps[std::size_t(nps_category::promoter)], 3);
    EXPECT_EQ(c.nps[std::size_t(nps_category::passive)], 1);
    EXPECT_EQ(c.nps[std::size_t(nps_category::detractor)], 1);
    cell sum;
    sum.add(c, 1, f.config);
    EXPECT_DOUBLE_EQ(nps_score(sum.nps), 100.0 * (3 - 1) / 5);
    // The ten-day-old answers leave the window in 80 days.
    EXPECT_EQ(next, now + 80 * day);
}

TEST(Voice, nps_categories) {
    EXPECT_EQ(category_of_nps(10), nps_category::promoter);
    EXPECT_EQ(category_of_nps(9), nps_category::promoter);
    EXPECT_EQ(category_of_nps(8), nps_category::passive);
    EXPECT_EQ(category_of_nps(7), nps_category::passive);
    EXPECT_EQ(category_of_nps(6), nps_category::detractor);
    EXPECT_EQ(category_of_nps(0), nps_category::detractor);
}

TEST(Voice, csat_mean_over_90_days) {
    fixture f;
    account a("a");
    a.apply(event_type::csat, ago(1), {{"score", 5}});
    a.apply(event_type::csat, ago(30), {{"score", 4}});
    a.apply(event_type::csat, ago(89), {{"score", 2}});
    a.apply(event_type::csat, ago(91), {{"score", 1}});
    a.contribute_at(now, f.config, f.labels);
    cell sum;
    sum.add(a.last(), 1, f.config);
    EXPECT_EQ(sum.csat_count, 3);
    EXPECT_DOUBLE_EQ(csat_average(sum), 11.0 / 3.0);
}

TEST(Voice, open_tickets_by_priority) {
    fixture f;
    account a("a");
    a.apply(event_type::ticket, ago(5), {{"ticket_id", "1"}, {"status", "open"}, {"priority", "low"}});
    a.apply(event_type::ticket, ago(5), {{"ticket_id", "2"}, {"status", "open"}, {"priority", "urgent"}});
    a.apply(event_type::ticket, ago(5), {{"ticket_id", "3"}, {"status", "pending"}, {"priority", "high"}});
    a.apply(event_type::ticket, ago(5), {{"ticket_id", "4"}, {"status", "open"}});
    a.apply(event_type::ticket, ago(4), {{"ticket_id", "4"}, {"status", "solved"}});
    a.contribute_at(now, f.config, f.labels);
    const auto& t = a.last().open_tickets;
    EXPECT_EQ(t[0], 1);  // low
    EXPECT_EQ(t[1], 0);  // normal: solved
    EXPECT_EQ(t[2], 1);  // high (pending is open)
    EXPECT_EQ(t[3], 1);  // urgent
}

TEST(Voice, time_to_first_value_from_signed_at_or_first_seen) {
    fixture f;
    account signed_one("signed");
    signed_one.apply(event_type::account, ago(70), {{"signed_at", format_rfc3339(ago(60))}, {"segment", "smb"}});
    signed_one.apply(event_type::milestone, ago(46), {{"name", "onboarding_completed"}});
    signed_one.apply(event_type::milestone, ago(46), {{"name", "first_value"}});
    signed_one.apply(event_type::milestone, ago(10), {{"name", "first_value"}});  // a second one: the first counts
    signed_one.contribute_at(now, f.config, f.labels);
    EXPECT_EQ(signed_one.last().ttfv_seconds, 14 * 86400);

    account unsigned_one("unsigned");
    unsigned_one.apply(event_type::usage, ago(30), {{"metric", "logins"}});
    unsigned_one.apply(event_type::milestone, ago(27), {{"name", "first_value"}});
    unsigned_one.contribute_at(now, f.config, f.labels);
    EXPECT_EQ(unsigned_one.last().ttfv_seconds, 3 * 86400);

    cell sum;
    sum.add(signed_one.last(), 1, f.config);
    sum.add(unsigned_one.last(), 1, f.config);
    EXPECT_EQ(sum.ttfv_count, 2);
    EXPECT_EQ(sum.ttfv_buckets[1], 1);  // 3 days: le="3"
    EXPECT_EQ(sum.ttfv_buckets[3], 1);  // 14 days: le="14"

    account none("none");
    none.apply(event_type::usage, ago(30), {{"metric", "logins"}});
    none.contribute_at(now, f.config, f.labels);
    EXPECT_EQ(none.last().ttfv_seconds, -1);
}

TEST(Renewals, within_30_and_90_days_of_active_accounts) {
    fixture f;
    account soon("soon"), later("later"), churned("churned"), past("past");
    soon.contract(ago(100), 1000, {{"renewal_at", format_rfc3339(now + 20 * day)}});
    later.contract(ago(100), 500, {{"renewal_at", format_rfc3339(now + 60 * day)}});
    churned.contract(ago(100), 300).contract(ago(5), 0, {{"renewal_at", format_rfc3339(now + 10 * day)}});
    past.contract(ago(100), 200, {{"renewal_at", format_rfc3339(ago(1))}});
    cell sum;
    for (auto* a : {&soon, &later, &churned, &past}) {
        a->contribute_at(now, f.config, f.labels);
        sum.add(a->last(), 1, f.config);
    }
    EXPECT_EQ(sum.renewal_arr_near, to_money(12000));
    EXPECT_EQ(sum.renewal_arr_far, to_money(12000 + 6000));
    // `later` enters the 30-day span at renewal - 30d, and leaves both at renewal.
    EXPECT_EQ(later.contribute_at(now, f.config, f.labels), now + 30 * day);
    later.contribute_at(now + 30 * day, f.config, f.labels);
    EXPECT_TRUE(later.last().renews_within_near);
    EXPECT_EQ(later.contribute_at(now + 30 * day, f.config, f.labels), now + 60 * day);
    later.contribute_at(now + 60 * day, f.config, f.labels);
    EXPECT_FALSE(later.last().renews_within_far);
}

TEST(Stack, alignment_and_opportunity_of_active_accounts) {
    fixture f;
    account one("one"), both("both"), gone("gone");
    one.contract(ago(10), 90, {{"products", boost::json::array{"backup", "not_in_stack"}}, {"seats", 10}});
    both.contract(ago(10), 300, {{"products", boost::json::array{"backup", "email_security"}}, {"seats", 20}});
    gone.contract(ago(20), 50, {{"products", boost::json::array{}}, {"seats", 5}}).contract(ago(1), 0);
    cell sum;
    for (auto* a : {&one, &both, &gone}) {
        a->contribute_at(now, f.config, f.labels);
        sum.add(a->last(), 1, f.config);
    }
    EXPECT_EQ(sum.active, 2);
    EXPECT_DOUBLE_EQ(alignment(sum, 0), 1.0);  // backup: both active accounts
    EXPECT_DOUBLE_EQ(alignment(sum, 1), 0.5);  // email_security: one of two
    EXPECT_EQ(sum.opportunity[0], 0);
    EXPECT_EQ(sum.opportunity[1], to_money(6 * 10));  // `one` lacks email_security: 6 × 10 seats
}

TEST(Scores, bands_classes_and_health_band_dimension) {
    fixture f;
    account big("big"), small("small"), unscored("unscored");
    big.apply(event_type::account, ago(5), {{"seats", 80}, {"csm", "Ana"}, {"segment", "enterprise"}});
    small.apply(event_type::account, ago(5), {{"seats", 10}, {"csm", "Ana"}});
    unscored.apply(event_type::usage, ago(5), {{"metric", "logins"}});
    aggregate sum;
    for (auto* a : {&big, &small, &unscored}) {
        a->contribute_at(now, f.config, f.labels);
        sum.add(a->last(), 1, f.config);
    }
    auto band = [&](const account& a) { return f.tables.band.name(a.last().band); };
    EXPECT_EQ(band(big), "green");
    EXPECT_EQ(band(small), "red");
    EXPECT_EQ(band(unscored), "unknown");
    EXPECT_EQ(f.tables.csm.name(unscored.last().csm), "none");
    EXPECT_EQ(f.tables.segment.name(big.last().segment), "enterprise");
    auto count = [&](label_table& table, const std::unordered_map<std::uint64_t, std::int64_t>& counts, std::string key) {
        return aggregate::sum_of(counts, table.intern(key));
    };
    std::string sep(1, pair_separator);
    EXPECT_EQ(count(f.tables.score_band, sum.score_bands(), "health" + sep + "green"), 1);
    EXPECT_EQ(count(f.tables.score_band, sum.score_bands(), "health" + sep + "red"), 1);
    EXPECT_EQ(count(f.tables.score_band, sum.score_bands(), "health" + sep + "unknown"), 1);
    EXPECT_EQ(count(f.tables.class_label, sum.class_labels(), "size" + sep + "big"), 1);
    EXPECT_EQ(count(f.tables.class_label, sum.class_labels(), "size" + sep + "small"), 2);
    // Subtracting every contribution leaves nothing.
    for (auto* a : {&big, &small, &unscored}) sum.add(a->last(), -1, f.config);
    for (const auto& [id, n] : sum.score_bands()) EXPECT_EQ(n, 0);
    for (const auto& [k, c] : sum.cells()) EXPECT_EQ(c.accounts, 0);
}

TEST(Labels, values_beyond_the_cap_share_other) {
    label_table table(2);
    label_cache cache(table);
    EXPECT_EQ(cache.get("a"), 1);
    EXPECT_EQ(cache.get("b"), 2);
    EXPECT_EQ(cache.get("c"), overflow_label);
    EXPECT_EQ(cache.get("a"), 1);
    EXPECT_EQ(table.name(overflow_label), "other");
    EXPECT_EQ(table.names().size(), 3u);
}

}  // namespace
}  // namespace redflag::kpi
