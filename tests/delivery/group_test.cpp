#include "delivery/group.hpp"
#include "channels/sample_notification.hpp"

#include <gtest/gtest.h>

using namespace redflag;
using namespace redflag::delivery;
using channels::testing::sample_notification;

namespace {

notification of(std::string alert, notice_kind kind, std::string severity = "high") {
    auto n = sample_notification(kind);
    n.alert_id = std::move(alert);
    n.severity = std::move(severity);
    return n;
}

std::vector<std::string> ids(const group_card& g) {
    std::vector<std::string> out;
    for (const auto& m : g.members) out.push_back(m.alert_id);
    return out;
}

}  // namespace

TEST(Group, firing_flags_join_in_order_and_a_repeat_does_not_duplicate) {
    group_card g;
    apply(g, of("a1", notice_kind::firing));
    apply(g, of("a2", notice_kind::firing, "critical"));
    apply(g, of("a1", notice_kind::repeat));
    EXPECT_EQ(ids(g), (std::vector<std::string>{"a1", "a2"}));
    EXPECT_EQ(g.account_name, "Acme");
    EXPECT_EQ(g.csm_email, "jane@example.com");
    EXPECT_EQ(g.members[1].severity, "critical");
}

TEST(Group, acks_and_snoozes_change_the_member_and_a_recovery_removes_it) {
    group_card g;
    apply(g, of("a1", notice_kind::firing));
    apply(g, of("a2", notice_kind::firing));
    apply(g, of("a1", notice_kind::acknowledged));
    EXPECT_EQ(g.members[0].is, group_member::state::acknowledged);
    EXPECT_EQ(g.members[0].by, "liam");

    auto snooze = of("a2", notice_kind::snoozed);
    snooze.ack_by = "dana";
    snooze.snoozed_until = *parse_rfc3339("2026-11-09T09:00:00Z");
    apply(g, snooze);
    EXPECT_EQ(g.members[1].is, group_member::state::snoozed);
    EXPECT_EQ(g.members[1].until, snooze.snoozed_until);
    // A repeat after the snooze (it ran out or woke) makes it firing again.
    apply(g, of("a2", notice_kind::repeat));
    EXPECT_EQ(g.members[1].is, group_member::state::firing);
    EXPECT_FALSE(g.members[1].until);

    apply(g, of("a1", notice_kind::resolved));
    EXPECT_EQ(ids(g), std::vector<std::string>{"a2"});
    EXPECT_FALSE(g.resolved());
    apply(g, of("a2", notice_kind::resolved));
    EXPECT_TRUE(g.resolved());
}

TEST(Group, only_firing_notices_or_members_belong) {
    group_card g;
    EXPECT_TRUE(belongs(g, of("a1", notice_kind::firing)));
    EXPECT_FALSE(belongs(g, of("a1", notice_kind::acknowledged)));
    EXPECT_FALSE(belongs(g, of("a1", notice_kind::resolved)));
    apply(g, of("a1", notice_kind::firing));
    EXPECT_TRUE(belongs(g, of("a1", notice_kind::resolved)));
    // A notice of a non-member changes nothing.
    auto before = g;
    apply(g, of("zz", notice_kind::acknowledged));
    EXPECT_EQ(g, before);
}

TEST(Group, round_trips_through_its_stored_form) {
    group_card g;
    g.thread = "1700000000.000100 C024BE91L";
    apply(g, of("a1", notice_kind::firing));
    apply(g, of("a2", notice_kind::firing));
    auto snooze = of("a2", notice_kind::snoozed);
    snooze.ack_by = "dana";
    snooze.snoozed_until = *parse_rfc3339("2026-11-09T09:00:00Z");
    apply(g, snooze);
    std::string why;
    auto back = parse_group(serialize_group(g), &why);
    ASSERT_TRUE(back) << why;
    EXPECT_EQ(*back, g);
}

TEST(Group, a_malformed_stored_group_is_reported) {
    std::string why;
    EXPECT_FALSE(parse_group("{", &why));
    EXPECT_NE(why.find("not JSON"), std::string::npos);
    EXPECT_FALSE(parse_group(R"({"v":2,"members":[]})", &why));
    EXPECT_FALSE(parse_group(R"({"v":1,"members":[{"alert_id":"a","state":"asleep"}]})", &why));
    EXPECT_NE(why.find("asleep"), std::string::npos);
}

TEST(Group, keys_are_per_channel_and_account) {
    EXPECT_NE(group_key("slack", "acme"), group_key("slack", "beta"));
    EXPECT_NE(group_key("slack", "acme"), group_key("other", "acme"));
}

TEST(Group, a_silence_flags_its_members_until_it_ends_and_a_silent_resolve_removes_one) {
    group_card g;
    apply(g, of("a1", notice_kind::firing));
    apply(g, of("a2", notice_kind::firing));
    apply(g, of("a3", notice_kind::firing));
    apply(g, of("a3", notice_kind::acknowledged));
    for (auto id : {"a1", "a2", "a3"}) {
        auto began = of(id, notice_kind::silence_began);
        began.ack_by = "dana";
        began.snoozed_until = *parse_rfc3339("2026-11-09T09:00:00Z");
        apply(g, began);
    }
    EXPECT_EQ(g.members[0].is, group_member::state::silenced);
    EXPECT_EQ(g.members[0].by, "dana");
    EXPECT_EQ(g.members[0].until, parse_rfc3339("2026-11-09T09:00:00Z"));
    EXPECT_EQ(g.members[2].is, group_member::state::acknowledged);  // an owned flag stays owned
    EXPECT_TRUE(belongs(g, of("a1", notice_kind::silence_ended)));
    EXPECT_FALSE(belongs(g, of("zz", notice_kind::silence_began)));  // a rewrite never joins

    apply(g, of("a1", notice_kind::silence_ended));
    EXPECT_EQ(g.members[0].is, group_member::state::firing);
    EXPECT_FALSE(g.members[0].until);
    apply(g, of("a3", notice_kind::silence_ended));
    EXPECT_EQ(g.members[2].is, group_member::state::acknowledged);

    apply(g, of("a2", notice_kind::resolved_silently));
    EXPECT_EQ(ids(g), (std::vector<std::string>{"a1", "a3"}));

    // The state survives the store.
    auto silenced = of("a1", notice_kind::silence_began);
    apply(g, silenced);
    auto back = parse_group(serialize_group(g));
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, g);
}
