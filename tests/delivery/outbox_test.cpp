#include "delivery/outbox.hpp"

#include "support.hpp"

#include <gtest/gtest.h>

using namespace redflag;
using namespace redflag::delivery;
using namespace redflag::delivery::testing;
using namespace std::chrono_literals;

namespace {

TEST(Outbox, an_entry_round_trips_through_its_stored_form) {
    auto n = make_notification("a1", 3, notice_kind::acknowledged, "slack", t0, t0 + 5ms);
    n.ack_by = "liam";
    n.ack_comment = "on it";
    n.resolved_at = t0 + 1h;
    n.recipient = "dana@vendor.example";
    n.account_url = "https://crm/acme";
    auto e = make_entry(n);
    e.outcome = delivery_outcome::retry;
    e.attempts = 2;
    e.next_attempt = t0 + 3s;
    e.last_error = "HTTP 503";
    std::string why;
    auto back = parse_entry(e.storage_key, serialize(e), &why);
    ASSERT_TRUE(back) << why;
    EXPECT_EQ(*back, e);
}

TEST(Outbox, the_segment_is_kept_and_records_without_it_still_read) {
    auto n = make_notification("a1", 1, notice_kind::firing, "slack", t0, t0);
    n.ack_comment = "last field before the segment";
    auto plain = make_entry(n);
    auto without = serialize(plain);
    n.segment = "enterprise";
    auto e = make_entry(n);
    auto with = serialize(e);
    EXPECT_EQ(with.substr(0, without.size()), without);  // appended: older records are a prefix
    std::string why;
    auto back = parse_entry(e.storage_key, with, &why);
    ASSERT_TRUE(back) << why;
    EXPECT_EQ(back->n.segment, "enterprise");
    auto old = parse_entry(plain.storage_key, without, &why);
    ASSERT_TRUE(old) << why;
    EXPECT_EQ(old->n.segment, "");
    EXPECT_EQ(old->n.ack_comment, "last field before the segment");
}

TEST(Outbox, a_snooze_notice_keeps_its_until) {
    auto n = make_notification("a1", 2, notice_kind::snoozed, "slack", t0, t0 + 5ms);
    n.ack_by = "slack:U1";
    n.snoozed_until = t0 + 24h;
    auto e = make_entry(n);
    std::string why;
    auto back = parse_entry(e.storage_key, serialize(e), &why);
    ASSERT_TRUE(back) << why;
    EXPECT_EQ(back->n.snoozed_until, t0 + 24h);
    EXPECT_EQ(*back, e);
    // Without a snooze the record ends where it always did.
    n.snoozed_until.reset();
    auto plain = make_entry(n);
    back = parse_entry(plain.storage_key, serialize(plain), &why);
    ASSERT_TRUE(back) << why;
    EXPECT_EQ(back->n.snoozed_until, std::nullopt);
}

TEST(Outbox, first_version_json_records_are_still_read) {
    auto n = make_notification("a1", 2, notice_kind::resolved, "pager", t0, t0 + 5ms);
    n.resolved_at = t0;
    auto e = make_entry(n);
    e.outcome = delivery_outcome::sent;
    e.attempts = 1;
    e.sent_at = t0 + 1s;
    std::string why;
    auto back = parse_entry(e.storage_key, serialize_json(e), &why);
    ASSERT_TRUE(back) << why;
    EXPECT_EQ(*back, e);
    EXPECT_FALSE(peek_record(serialize_json(e)));  // no head to peek at: parsed whole
}

TEST(Outbox, rejects_malformed_records) {
    std::string why;
    EXPECT_FALSE(parse_entry("k", "{not json", &why));
    EXPECT_FALSE(parse_entry("k", R"({"outcome":"sent"})", &why));
    EXPECT_NE(why.find("notification"), std::string::npos);
    auto e = make_entry(make_notification("a1", 1, notice_kind::firing, "slack", t0, t0));
    auto text = serialize_json(e);
    auto bad = text;
    bad.replace(bad.find("\"pending\""), 9, "\"maybe\"");
    EXPECT_FALSE(parse_entry(e.storage_key, bad, &why));
    EXPECT_NE(why.find("outcome"), std::string::npos) << why;

    // Binary: every truncation, an unknown version or outcome, trailing bytes, a bad key.
    auto record = serialize(e);
    ASSERT_TRUE(parse_entry(e.storage_key, record, &why)) << why;
    for (std::size_t size = 1; size < record.size(); ++size)
        EXPECT_FALSE(parse_entry(e.storage_key, record.substr(0, size), &why)) << size;
    auto version = record;
    version[0] = 9;
    EXPECT_FALSE(parse_entry(e.storage_key, version, &why));
    EXPECT_NE(why.find("version"), std::string::npos) << why;
    auto outcome = record;
    outcome[1] = 42;
    EXPECT_FALSE(parse_entry(e.storage_key, outcome, &why));
    EXPECT_NE(why.find("outcome"), std::string::npos) << why;
    EXPECT_FALSE(parse_entry(e.storage_key, record + "x", &why));
    EXPECT_FALSE(parse_entry("a1", record, &why));
}

TEST(Outbox, a_binary_record_is_smaller_than_json_and_its_head_reads_alone) {
    auto e = make_entry(make_notification("a1", 1, notice_kind::repeat, "slack", t0, t0));
    e.outcome = delivery_outcome::dead;
    auto record = serialize(e);
    EXPECT_LT(record.size() * 2, serialize_json(e).size());
    auto head = peek_record(record);
    ASSERT_TRUE(head);
    EXPECT_EQ(head->outcome, delivery_outcome::dead);
    EXPECT_EQ(head->kind, notice_kind::repeat);
}

TEST(Outbox, put_records_writes_one_pending_record_per_target_from_one_encoding) {
    temp_store store;
    auto n = make_notification("a7", 1, notice_kind::firing, "", t0, t0 + 2ms);
    std::vector<delivery_target> targets{{"slack", ""}, {"owner_email", "dana@vendor.example"}};
    std::vector<outbox_ref> refs;
    std::string scratch;
    store::write_batch batch(store.get());
    put_records(n, targets, batch, refs, scratch);
    ASSERT_TRUE(store.get().write(batch).ok());
    ASSERT_EQ(refs.size(), 2u);
    EXPECT_EQ(refs[0].channel(), "slack");
    EXPECT_EQ(refs[1].channel(), "owner_email");
    EXPECT_EQ(refs[1].created_at, t0 + 2ms);
    EXPECT_EQ(refs[1].kind, notice_kind::firing);
    EXPECT_FALSE(refs[1].next_attempt);

    auto history = store.history("a7");
    ASSERT_EQ(history.size(), 2u);  // sorted by key: owner_email before slack
    auto expected_mail = n;
    expected_mail.channel = "owner_email";
    expected_mail.recipient = "dana@vendor.example";
    EXPECT_EQ(history[0], make_entry(expected_mail));
    EXPECT_EQ(history[0].storage_key, refs[1].storage_key);
    auto expected_slack = n;
    expected_slack.channel = "slack";
    EXPECT_EQ(history[1], make_entry(expected_slack));
}

TEST(Outbox, a_key_splits_into_its_parts) {
    auto key = outbox_key("a1", t0 + 1ms, "a1-2", "pager");
    auto parts = split_outbox_key(key);
    ASSERT_TRUE(parts);
    EXPECT_EQ(parts->alert_id, "a1");
    EXPECT_EQ(parts->at, t0 + 1ms);
    EXPECT_EQ(parts->notification_key, "a1-2");
    EXPECT_EQ(parts->channel, "pager");
    EXPECT_FALSE(split_outbox_key("a1"));
    EXPECT_FALSE(split_outbox_key(std::string("a1\0short", 8)));
}

TEST(Outbox, an_alerts_keys_share_a_prefix_and_sort_by_time) {
    auto first = outbox_key("a1", t0, "a1-1", "slack");
    auto later = outbox_key("a1", t0 + 1s, "a1-2", "slack");
    auto other_channel = outbox_key("a1", t0, "a1-1", "mail");
    auto other_alert = outbox_key("a10", t0, "a10-1", "slack");
    EXPECT_EQ(first.rfind(alert_prefix("a1"), 0), 0u);
    EXPECT_EQ(later.rfind(alert_prefix("a1"), 0), 0u);
    EXPECT_NE(other_alert.rfind(alert_prefix("a1"), 0), 0u);  // "a10" is not under "a1"
    EXPECT_LT(first, later);
    EXPECT_NE(first, other_channel);
}

TEST(Outbox, history_shows_outcome_attempts_error_and_sent_at) {
    auto e = make_entry(make_notification("a1", 1, notice_kind::firing, "slack", t0, t0));
    e.outcome = delivery_outcome::sent;
    e.attempts = 2;
    e.last_error = "";
    e.sent_at = t0 + 2s;
    auto h = history_json(e);
    EXPECT_EQ(h.at("key"), "a1-1");
    EXPECT_EQ(h.at("channel"), "slack");
    EXPECT_EQ(h.at("kind"), "firing");
    EXPECT_EQ(h.at("outcome"), "sent");
    EXPECT_EQ(h.at("attempts"), 2);
    EXPECT_EQ(h.at("sent_at"), "2026-11-02T09:00:02Z");
    EXPECT_EQ(h.at("last_error"), "");
}

}  // namespace

namespace {

TEST(Outbox, a_repost_record_round_trips_and_rejects_truncation) {
    auto e = make_entry(make_notification("a1", 2, notice_kind::repeat, "pager", t0, t0 + 5ms));
    e.outcome = delivery_outcome::sent;
    e.attempts = 1;
    e.sent_at = t0 + 1s;
    auto stored = serialize_repost(e);
    std::string why;
    auto back = parse_repost(stored, &why);
    ASSERT_TRUE(back) << why;
    EXPECT_EQ(*back, e);
    EXPECT_FALSE(parse_repost(stored.substr(0, 3), &why));
    EXPECT_FALSE(parse_repost(stored.substr(0, 4 + e.storage_key.size() - 1), &why));
    EXPECT_FALSE(parse_repost(std::string("\xff\xff\xff\xff", 4) + "x", &why));
    // One channel's set is one prefix; another channel's keys are outside it.
    EXPECT_TRUE(repost_key("pager", "a1").starts_with(repost_prefix("pager")));
    EXPECT_FALSE(repost_key("pager2", "a1").starts_with(repost_prefix("pager")));
}

// Only final records expire, by the instant of their transition (in the key).
TEST(Outbox, a_record_expires_once_final_and_older_than_the_horizon) {
    auto e = make_entry(make_notification("a1", 1, notice_kind::firing, "slack", t0, t0));
    const auto horizon = t0 + 1h;
    for (auto outcome : {delivery_outcome::pending, delivery_outcome::retry})
        for (auto h : {t0, horizon}) {
            e.outcome = outcome;
            EXPECT_FALSE(outbox_record_expired(e.storage_key, serialize(e), h)) << name_of(outcome);
        }
    for (auto outcome : {delivery_outcome::sent, delivery_outcome::dead, delivery_outcome::silenced}) {
        e.outcome = outcome;
        EXPECT_TRUE(outbox_record_expired(e.storage_key, serialize(e), horizon)) << name_of(outcome);
        EXPECT_TRUE(outbox_record_expired(e.storage_key, serialize_json(e), horizon)) << name_of(outcome);
        EXPECT_FALSE(outbox_record_expired(e.storage_key, serialize(e), t0)) << name_of(outcome);  // not older
    }
    EXPECT_FALSE(outbox_record_expired("no separator", serialize(e), horizon));
    EXPECT_FALSE(outbox_record_expired(e.storage_key, "garbage", horizon));
}

}  // namespace
