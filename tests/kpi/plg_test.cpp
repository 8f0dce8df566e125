// Product-led growth and support-ticket times on hand-computed accounts (issue 16):
// activation and time to activate, free → paid conversion over 90 days, daily and
// monthly active users (stickiness), ticket first-response and resolution histograms.
#include "kpi_support.hpp"

#include <gtest/gtest.h>

namespace redflag::kpi {
namespace {

using model::event_type;
using testing::account;
using testing::now;

timestamp ago(int days) { return now - days * day; }
std::string at_text(timestamp t) { return format_rfc3339(t); }

struct fixture {
    settings config;
    label_tables tables;
    label_caches labels{tables};
    fixture() { config.free_plans = {"free", "trial"}; }
};

std::size_t bucket_of(const auto& bounds, double seconds) {
    return static_cast<std::size_t>(std::lower_bound(bounds.begin(), bounds.end(), seconds) - bounds.begin());
}

TEST(Tickets, first_response_and_resolution_times_of_the_last_90_days) {
    fixture f;
    account a("a");
    // t1: opened 5 days ago, answered 2 h later, solved 3 days ago.
    const timestamp t1_open = ago(5);
    a.apply(event_type::ticket, t1_open, {{"ticket_id", "t1"}, {"status", "open"}});
    a.apply(event_type::ticket, t1_open + 2 * hour,
            {{"ticket_id", "t1"}, {"status", "pending"}, {"first_response_at", at_text(t1_open + 2 * hour)}});
    a.apply(event_type::ticket, ago(3), {{"ticket_id", "t1"}, {"status", "solved"}});
    // t2: open a day, no answer: nothing to observe.
    a.apply(event_type::ticket, ago(1), {{"ticket_id", "t2"}, {"status", "open"}});
    // t3: answered and solved more than 90 days ago: out of the window.
    a.apply(event_type::ticket, ago(100), {{"ticket_id", "t3"}, {"status", "open"}});
    a.apply(event_type::ticket, ago(95), {{"ticket_id", "t3"}, {"status", "solved"}, {"first_response_at", at_text(ago(99))}});
    // t4: opened 2 days ago, answered after 30 minutes, still open.
    a.apply(event_type::ticket, ago(2), {{"ticket_id", "t4"}, {"status", "open"}});
    a.apply(event_type::ticket, ago(2) + 30 * minute,
            {{"ticket_id", "t4"}, {"status", "pending"}, {"first_response_at", at_text(ago(2) + 30 * minute)}});
    a.contribute_at(now, f.config, f.labels);
    const contribution first = a.last();
    ASSERT_EQ(first.tickets.size(), 2u);  // t1 and t4

    aggregate agg;
    agg.count_tickets(contribution{}, first);
    ASSERT_EQ(agg.ticket_times_observed().size(), 1u);
    const auto& seen = agg.ticket_times_observed().begin()->second;
    // First responses: t1 2 h = 7200 s, t4 30 min = 1800 s: 2 tickets, 9000 s.
    EXPECT_EQ(seen.response_count, 2);
    EXPECT_EQ(seen.response_seconds, 9000);
    EXPECT_EQ(seen.response_buckets[bucket_of(first_response_bucket_seconds, 1800)], 1);  // le 3600
    EXPECT_EQ(seen.response_buckets[bucket_of(first_response_bucket_seconds, 7200)], 1);  // le 14400
    // Resolution: t1 opened 5 days ago, solved 3 days ago: 2 days = 172800 s (le 172800).
    EXPECT_EQ(seen.resolution_count, 1);
    EXPECT_EQ(seen.resolution_seconds, 172800);
    EXPECT_EQ(seen.resolution_buckets[3], 1);
    EXPECT_EQ(resolution_bucket_seconds[3], 172800);

    // The same tickets again: nothing new is observed.
    a.contribute_at(now + minute, f.config, f.labels);
    agg.count_tickets(first, a.last());
    EXPECT_EQ(agg.ticket_times_observed().begin()->second.response_count, 2);
    EXPECT_EQ(agg.ticket_times_observed().begin()->second.resolution_count, 1);

    // t4 is solved now: its resolution (2 days) is observed, its first response is not again.
    const contribution second = a.last();
    a.apply(event_type::ticket, now + hour, {{"ticket_id", "t4"}, {"status", "solved"}});
    a.contribute_at(now + hour, f.config, f.labels);
    agg.count_tickets(second, a.last());
    const auto& after = agg.ticket_times_observed().begin()->second;
    EXPECT_EQ(after.response_count, 2);
    EXPECT_EQ(after.resolution_count, 2);
    // 172800 + (2 days + 1 hour = 176400).
    EXPECT_EQ(after.resolution_seconds, 172800 + 176400);
}

TEST(Plg, activation_ratio_and_time_to_activate) {
    fixture f;
    account a("a"), b("b");
    a.apply(event_type::account, ago(40), {{"name", "A"}, {"signed_at", at_text(ago(40))}});
    a.apply(event_type::milestone, ago(10), {{"name", "activated"}});
    a.apply(event_type::milestone, ago(5), {{"name", "activated"}});  // a second one: the first counts
    b.apply(event_type::account, ago(40), {{"name", "B"}});
    b.apply(event_type::milestone, ago(3), {{"name", "first_value"}});  // not activation
    a.contribute_at(now, f.config, f.labels);
    b.contribute_at(now, f.config, f.labels);
    // a: signed 40 days ago, activated 10 days ago: 30 days = 2592000 s.
    EXPECT_EQ(a.last().activate_seconds, 30 * 86400);
    EXPECT_FALSE(b.last().activated());
    cell sum;
    sum.add(a.last(), 1, f.config);
    sum.add(b.last(), 1, f.config);
    EXPECT_EQ(sum.activated, 1);
    EXPECT_DOUBLE_EQ(activation_ratio(sum), 0.5);  // 1 activated ÷ 2 accounts

    aggregate agg;
    agg.count_activated(contribution{}, a.last());
    agg.count_activated(contribution{}, b.last());
    const auto before = a.last();
    a.contribute_at(now + day, f.config, f.labels);
    agg.count_activated(before, a.last());  // already activated: not again
    ASSERT_EQ(agg.activations().size(), 1u);
    const auto& seen = agg.activations().begin()->second;
    EXPECT_EQ(seen.count, 1);
    EXPECT_EQ(seen.seconds, 30 * 86400);
    EXPECT_EQ(seen.buckets[5], 1);  // ttfv_bucket_days[5] = 30: le 30 days
    EXPECT_EQ(ttfv_bucket_days[5], 30);
}

TEST(Plg, free_to_paid_over_90_days) {
    fixture f;
    account a("a"), b("b"), c("c"), d("d"), e("e"), g("g");
    a.apply(event_type::account, ago(200), {{"plan", "free"}});
    a.apply(event_type::account, ago(30), {{"plan", "pro"}});    // free at the start, converted
    b.apply(event_type::account, ago(200), {{"plan", "free"}});  // free throughout
    c.apply(event_type::account, ago(200), {{"plan", "pro"}});   // never free
    d.apply(event_type::account, ago(20), {{"plan", "trial"}});  // starts free inside the window
    d.apply(event_type::account, ago(5), {{"plan", "pro"}});     // and converts
    e.apply(event_type::account, ago(300), {{"plan", "free"}});
    e.apply(event_type::account, ago(120), {{"plan", "pro"}});   // converted before the window
    g.apply(event_type::account, ago(200), {{"plan", "pro"}});
    g.apply(event_type::account, ago(50), {{"plan", "free"}});   // downgraded: free, not converted
    cell sum;
    for (auto* x : {&a, &b, &c, &d, &e, &g}) {
        x->contribute_at(now, f.config, f.labels);
        sum.add(x->last(), 1, f.config);
    }
    EXPECT_TRUE(a.last().converted_in_quarter);
    EXPECT_TRUE(d.last().converted_in_quarter);
    EXPECT_FALSE(e.last().free_in_quarter);
    EXPECT_TRUE(g.last().free_in_quarter);
    EXPECT_FALSE(g.last().converted_in_quarter);
    // Free in the window: a, b, d, g = 4; converted: a, d = 2; 2 ÷ 4.
    EXPECT_EQ(sum.free_accounts, 4);
    EXPECT_EQ(sum.converted, 2);
    EXPECT_DOUBLE_EQ(free_to_paid_ratio(sum), 0.5);
    // a's conversion (30 days ago) leaves the window in 60 days: a then counts nowhere.
    EXPECT_EQ(a.contribute_at(now, f.config, f.labels), now + 60 * day);
    a.contribute_at(now + 60 * day, f.config, f.labels);
    EXPECT_FALSE(a.last().free_in_quarter);
    EXPECT_FALSE(a.last().converted_in_quarter);
    // Without kpi.free_plans nothing is free.
    settings none;
    d.contribute_at(now, none, f.labels);
    EXPECT_FALSE(d.last().free_in_quarter);
    EXPECT_FALSE(d.last().converted_in_quarter);
}

TEST(Plg, daily_and_monthly_active_users_and_stickiness) {
    fixture f;
    account a("a"), b("b");
    auto use = [](account& x, timestamp at, const char* user) {
        x.apply(event_type::usage, at, {{"metric", "logins"}, {"user_id", user}});
    };
    use(a, now - 2 * hour, "u1");  // within a day and 30 days
    use(a, ago(3), "u2");           // within 30 days
    use(a, ago(29), "u3");          // within 30 days
    use(a, ago(31), "u4");          // neither
    use(a, now + hour, "u5");       // not yet
    use(b, now - hour, "v1");       // b: 1 of 1
    const auto next = a.contribute_at(now, f.config, f.labels);
    EXPECT_EQ(a.last().users_day, 1u);
    EXPECT_EQ(a.last().users_month, 3u);
    // The next change: u5's usage an hour from now (before u1 leaves the day in 22 h).
    EXPECT_EQ(next, now + hour);
    b.contribute_at(now, f.config, f.labels);
    cell sum;
    sum.add(a.last(), 1, f.config);
    EXPECT_DOUBLE_EQ(stickiness(sum), 1.0 / 3.0);  // DAU 1 ÷ MAU 3
    sum.add(b.last(), 1, f.config);
    EXPECT_DOUBLE_EQ(stickiness(sum), 2.0 / 4.0);  // (1 + 1) ÷ (3 + 1)
    // 25 hours on: u1 (27 h ago) left the day, u5 (24 h ago: the window is (now - 1 d, now]) too.
    a.contribute_at(now + 25 * hour, f.config, f.labels);
    EXPECT_EQ(a.last().users_day, 0u);
    EXPECT_EQ(a.last().users_month, 3u);  // u1, u2, u5 (u3 turned 30 days old)
    EXPECT_TRUE(std::isnan(stickiness(cell{})));
}

}  // namespace
}  // namespace redflag::kpi
