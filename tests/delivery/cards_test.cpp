#include "delivery/cards.hpp"

#include "delivery/group.hpp"
#include "support.hpp"

#include <gtest/gtest.h>

using namespace redflag;
using namespace redflag::delivery;
using namespace redflag::delivery::testing;
using namespace std::chrono_literals;

namespace {

class CardsTest : public ::testing::Test {
protected:
    // An outbox record of `alert` on `channel` with outcome `o`, as the dispatcher leaves it.
    void record(const std::string& alert, std::uint32_t seq, notice_kind kind, const std::string& channel,
                delivery_outcome o = delivery_outcome::sent) {
        auto e = make_entry(make_notification(alert, seq, kind, channel, t0 + std::chrono::minutes(seq), t0));
        e.outcome = o;
        store::write_batch batch(store_.get());
        batch.put(store::column::outbox, e.storage_key, serialize(e));
        ASSERT_TRUE(store_.get().write(batch).ok());
    }
    void meta(const std::string& key, const std::string& value) {
        store::write_batch batch(store_.get());
        batch.put(store::column::meta, key, value);
        ASSERT_TRUE(store_.get().write(batch).ok());
    }
    std::vector<posted_card> cards(const std::string& alert) {
        auto r = posted_cards(store_.get(), alert);
        EXPECT_TRUE(r.ok());
        return r.ok() ? r.value() : std::vector<posted_card>{};
    }

    temp_store store_;
};

TEST_F(CardsTest, a_card_is_the_latest_firing_notice_sent_where_a_slack_thread_or_group_keeps_it) {
    EXPECT_TRUE(cards("a1").empty());
    record("a1", 1, notice_kind::firing, "slack");
    record("a1", 1, notice_kind::firing, "hook");  // a webhook: no thread, no card
    record("a1", 2, notice_kind::repeat, "slack");
    record("a1", 3, notice_kind::repeat, "slack", delivery_outcome::retry);  // not shown yet
    EXPECT_TRUE(cards("a1").empty());  // no thread stored: the card was never posted by a bot token
    meta(thread_key("slack", "a1"), "1700000000.000100 C0CARD");
    auto found = cards("a1");
    ASSERT_EQ(found.size(), 1u);
    EXPECT_EQ(found[0].channel, "slack");
    EXPECT_EQ(found[0].shown.key, "a1-2");
    EXPECT_FALSE(found[0].grouped);

    // Its recovery was sent: the card reads resolved already.
    record("a1", 4, notice_kind::resolved, "slack");
    EXPECT_TRUE(cards("a1").empty());
}

TEST_F(CardsTest, a_grouped_card_counts_while_the_alert_is_a_member) {
    record("a2", 1, notice_kind::firing, "grouped");
    group_card g;
    g.thread = "1700000000.000200 C0CARD";
    g.account = "acme";
    apply(g, make_notification("other", 1, notice_kind::firing, "grouped", t0, t0));
    meta(group_key("grouped", "acme"), serialize_group(g));
    EXPECT_TRUE(cards("a2").empty());
    apply(g, make_notification("a2", 1, notice_kind::firing, "grouped", t0, t0));
    meta(group_key("grouped", "acme"), serialize_group(g));
    auto found = cards("a2");
    ASSERT_EQ(found.size(), 1u);
    EXPECT_TRUE(found[0].grouped);
}

TEST_F(CardsTest, a_rewrite_copies_the_card_under_its_own_key_and_time) {
    posted_card card{"slack", make_notification("a1", 2, notice_kind::repeat, "slack", t0, t0), false};
    card.shown.ack_by = "someone";
    auto e = card_rewrite(card, notice_kind::resolved_silently, "a1-resolved-silently", t0 + 1h, t0 + 2h);
    EXPECT_EQ(e.outcome, delivery_outcome::pending);
    EXPECT_EQ(e.n.kind, notice_kind::resolved_silently);
    EXPECT_EQ(e.n.key, "a1-resolved-silently");
    EXPECT_EQ(e.n.title, card.shown.title);
    EXPECT_EQ(e.n.firing_since, card.shown.firing_since);
    EXPECT_EQ(e.n.at, t0 + 1h);
    EXPECT_EQ(e.n.created_at, t0 + 2h);
    EXPECT_TRUE(e.n.ack_by.empty());
    EXPECT_EQ(e.storage_key, outbox_key(e.n));
    // It is read back whole (the kind is stored).
    auto back = parse_entry(e.storage_key, serialize(e));
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, e);
}

}  // namespace
