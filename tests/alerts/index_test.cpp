#include "alerts/index.hpp"

#include "alerts/queries.hpp"
#include "../delivery/support.hpp"

#include <gtest/gtest.h>

#include <random>

using namespace redflag;
using namespace redflag::alerts;
using namespace redflag::delivery::testing;
using namespace std::chrono_literals;

namespace {

// A record as the engine writes it: `profile` absent for an account the engine did not know.
alert_record record(std::string account, std::string rule, alert_state state, timestamp started,
                    std::optional<account_profile> profile, rules::alert_severity severity = rules::alert_severity::high) {
    alert_record r;
    r.a.rule = std::move(rule);
    r.a.account = std::move(account);
    r.a.id = make_alert_id(r.a.rule, r.a.account, started);
    r.a.state = state;
    r.a.severity = severity;
    r.a.started_at = started;
    r.a.transitions.push_back({alert_state::inactive, state, started});
    r.profile = std::move(profile);
    return r;
}

account_profile profile(std::string csm_email, double arr, std::string segment) {
    return account_profile{"Name", "", std::move(csm_email), arr, "", std::move(segment)};
}

struct indexed_store {
    temp_store db;
    alert_index index;

    void put(const alert_record& r) {
        store::write_batch batch(db.get());
        batch.put(store::column::alerts, r.a.id, encode_record(r));
        ASSERT_TRUE(db.get().write(batch).ok());
        index.put(index_entry::of(r));
    }

    // Every page of the listing, walked by cursor, as "account/rule" in order.
    std::vector<std::string> walk(const alert_filter& f, alert_order order, std::size_t limit, bool with_index) {
        std::vector<std::string> out;
        std::optional<alert_position> after;
        for (int pages = 0; pages < 1000; ++pages) {
            alert_page page;
            EXPECT_TRUE(list_alert_page(db.get(), f, order, after, limit, page, with_index ? &index : nullptr).ok());
            for (const auto& r : page.alerts) out.push_back(r.a.account + "/" + r.a.rule);
            if (!page.next) break;
            EXPECT_EQ(page.alerts.size(), limit);
            after = decode_cursor(encode_cursor(*page.next), order);
        }
        return out;
    }
};

// The index must answer exactly what the scan of every record answers, page by page, for
// each filter and order the inbox uses; ARR ties, records without a profile and resolved
// records (not in the active sets) included.
TEST(AlertIndex, pages_equal_the_scan_of_every_record) {
    indexed_store s;
    std::mt19937 rng(7);
    const alert_state states[] = {alert_state::pending, alert_state::firing, alert_state::firing, alert_state::resolved};
    const char* csms[] = {"ana@x.com", "ben@x.com", "cy@x.com"};
    const char* segments[] = {"smb", "enterprise"};
    for (int i = 0; i < 300; ++i) {
        auto account = "acct-" + std::to_string(i % 120);
        std::optional<account_profile> p;
        if (i % 11 != 0) p = profile(csms[i % 3], double(1000 * (rng() % 7)), segments[i % 2]);  // ties on ARR
        s.put(record(account, "rule" + std::to_string(i % 5), states[rng() % 4], t0 + std::chrono::minutes(rng() % 50),
                     p, i % 4 < 2 ? rules::alert_severity::high : rules::alert_severity::low));
    }
    std::vector<alert_filter> filters(5);
    filters[0].states = {alert_state::pending, alert_state::firing};
    filters[1].state = alert_state::firing;
    filters[2].states = {alert_state::firing};
    filters[2].csm = "ben@x.com";
    filters[3].states = {alert_state::pending, alert_state::firing};
    filters[3].segment = "smb";
    filters[3].severity = rules::alert_severity::high;
    filters[4].account = "acct-7";
    ASSERT_TRUE(alert_index::covers(filters[0]));
    for (const auto& f : filters)
        for (auto order : {alert_order::newest, alert_order::arr})
            for (std::size_t limit : {1u, 7u, 25u}) {
                auto scanned = s.walk(f, order, limit, false);
                EXPECT_FALSE(scanned.empty());
                EXPECT_EQ(s.walk(f, order, limit, true), scanned) << "limit " << limit;
            }
}

TEST(AlertIndex, a_resolved_alert_leaves_the_inbox_but_stays_among_its_accounts) {
    indexed_store s;
    auto r = record("acme", "usage_drop", alert_state::firing, t0, profile("ana@x.com", 5000, "smb"));
    s.put(r);
    alert_filter inbox;
    inbox.states = {alert_state::pending, alert_state::firing};
    EXPECT_EQ(s.walk(inbox, alert_order::arr, 25, true), std::vector<std::string>{"acme/usage_drop"});
    EXPECT_EQ(s.index.active_size(), 1u);
    r.a.state = alert_state::resolved;
    s.put(r);
    EXPECT_TRUE(s.walk(inbox, alert_order::arr, 25, true).empty());
    EXPECT_EQ(s.index.active_size(), 0u);
    alert_filter mine;
    mine.account = "acme";
    EXPECT_EQ(s.walk(mine, alert_order::newest, 25, true), std::vector<std::string>{"acme/usage_drop"});
}

TEST(AlertIndex, a_record_the_store_dropped_is_forgotten) {
    indexed_store s;
    auto kept = record("acme", "a", alert_state::resolved, t0, std::nullopt);
    auto dropped = record("acme", "b", alert_state::resolved, t0 + 1h, std::nullopt);
    s.put(kept);
    s.put(dropped);
    store::write_batch batch(s.db.get());
    batch.del(store::column::alerts, dropped.a.id);  // as compaction does after the retention
    ASSERT_TRUE(s.db.get().write(batch).ok());
    alert_filter mine;
    mine.account = "acme";
    EXPECT_EQ(s.walk(mine, alert_order::newest, 25, true), std::vector<std::string>{"acme/a"});
    EXPECT_EQ(s.index.of_account("acme"), std::vector<std::string>{kept.a.id});
}

// Ids of accounts nobody lists must not pile up: records that are over go once their last
// change is before the horizon, as compaction drops them; active ones never.
TEST(AlertIndex, records_over_before_the_horizon_expire) {
    alert_index index;
    auto old_resolved = record("acme", "a", alert_state::resolved, t0, std::nullopt);
    auto recent_resolved = record("acme", "b", alert_state::resolved, t0 + 2h, std::nullopt);
    auto old_firing = record("acme", "c", alert_state::firing, t0, std::nullopt);
    auto other = record("globex", "a", alert_state::resolved, t0, std::nullopt);
    for (const auto* r : {&old_resolved, &recent_resolved, &old_firing, &other}) index.put(index_entry::of(*r));
    index.expire_before(t0 + 1h);
    EXPECT_EQ(index.of_account("acme"), (std::vector<std::string>{recent_resolved.a.id, old_firing.a.id}));
    EXPECT_TRUE(index.of_account("globex").empty());
    EXPECT_EQ(index.active_size(), 1u);
    // A record that resolves later counts from its own last change, not its start.
    old_firing.a.state = alert_state::resolved;
    old_firing.a.resolved_at = t0 + 3h;
    index.put(index_entry::of(old_firing));
    index.expire_before(t0 + 150min);
    EXPECT_EQ(index.of_account("acme"), std::vector<std::string>{old_firing.a.id});
}

TEST(AlertIndex, lists_of_resolved_or_all_alerts_are_not_covered) {
    alert_filter f;
    EXPECT_FALSE(alert_index::covers(f));
    f.state = alert_state::resolved;
    EXPECT_FALSE(alert_index::covers(f));
    f.state.reset();
    f.states = {alert_state::firing, alert_state::resolved};
    EXPECT_FALSE(alert_index::covers(f));
    f.states = {alert_state::pending};
    EXPECT_TRUE(alert_index::covers(f));
}

}  // namespace
