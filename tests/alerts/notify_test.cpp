#include "alerts/notify.hpp"

#include "alerts/alert.hpp"

#include <gtest/gtest.h>

using namespace redflag;
using namespace redflag::delivery;
using namespace redflag::alerts;

namespace {

const timestamp t0 = *parse_rfc3339("2026-11-02T09:00:00Z");

model::account_state acme() {
    model::account_state st;
    st.id = "acme";
    model::event e;
    e.type = model::event_type::account;
    e.account = "acme";
    e.id = "p1";
    e.at = t0 - std::chrono::hours(24);
    e.fields = boost::json::object{{"name", "Acme Corp"}, {"csm", "Dana"}, {"csm_email", "dana@vendor.example"}};
    st.apply(e);
    return st;
}

rules::rule_definition usage_drop() {
    rules::rule_definition r;
    r.name = "usage_drop";
    r.title = "Usage dropped";
    r.severity = rules::alert_severity::high;
    r.notify = {"slack", "mail", "hook"};
    r.labels = {{"team", "cs"}};
    return r;
}

std::shared_ptr<const notification_builder> builder() {
    auto made = notification_builder::make("https://crm.example.com/accounts/{account.id}",
                                           {{"slack", "slack", ""}, {"mail", "email", "{account.csm_email}"},
                                            {"hook", "webhook", ""}},
                                           nullptr);
    EXPECT_TRUE(made.errors.empty()) << made.errors.front();
    return made.builder;
}

alerts::alert_event firing_event() {
    alerts::alert_event e;
    e.kind = alerts::event_kind::transition;
    e.from = alerts::alert_state::inactive;
    e.to = alerts::alert_state::firing;
    e.at = t0;
    e.notify = true;
    e.message = "Acme Corp: usage down";
    e.record.id = alerts::make_alert_id("usage_drop", "acme", t0);
    e.record.rule = "usage_drop";
    e.record.account = "acme";
    e.record.severity = rules::alert_severity::high;
    e.record.state = alerts::alert_state::firing;
    e.record.firing_since = t0;
    e.record.notifications = 1;
    return e;
}

TEST(NotificationBuilder, a_firing_alert_notifies_every_channel_of_its_rule) {
    auto b = builder();
    auto account = acme();
    std::vector<notification> out;
    auto e = firing_event();
    b->build(e, usage_drop(), &account, t0 + std::chrono::milliseconds(5), out);
    ASSERT_EQ(out.size(), 3u);
    const auto& n = out[0];
    EXPECT_EQ(n.channel, "slack");
    EXPECT_EQ(n.kind, notice_kind::firing);
    EXPECT_EQ(n.key, e.record.id + "-1");
    EXPECT_EQ(n.title, "Usage dropped");
    EXPECT_EQ(n.severity, "high");
    EXPECT_EQ(n.message, "Acme Corp: usage down");
    EXPECT_EQ(n.account_name, "Acme Corp");
    EXPECT_EQ(n.csm, "Dana");
    EXPECT_EQ(n.csm_email, "dana@vendor.example");
    EXPECT_EQ(n.account_url, "https://crm.example.com/accounts/acme");
    EXPECT_EQ(n.labels, (std::vector<std::pair<std::string, std::string>>{{"team", "cs"}}));
    EXPECT_EQ(n.at, t0);
    EXPECT_EQ(n.created_at, t0 + std::chrono::milliseconds(5));
    EXPECT_TRUE(n.recipient.empty());
    EXPECT_EQ(out[1].channel, "mail");
    EXPECT_EQ(out[1].recipient, "dana@vendor.example");
    EXPECT_EQ(out[2].channel, "hook");
}

TEST(NotificationBuilder, repeats_and_recoveries_carry_the_alerts_sequence) {
    auto b = builder();
    auto account = acme();
    std::vector<notification> out;
    auto e = firing_event();
    e.kind = alerts::event_kind::repeat_due;
    e.from = e.to = alerts::alert_state::firing;
    e.record.notifications = 2;
    b->build(e, usage_drop(), &account, t0, out);
    ASSERT_EQ(out.size(), 3u);
    EXPECT_EQ(out[0].kind, notice_kind::repeat);
    EXPECT_EQ(out[0].key, e.record.id + "-2");

    out.clear();
    e.kind = alerts::event_kind::transition;
    e.to = alerts::alert_state::resolved;
    e.record.notifications = 3;
    e.record.resolved_at = t0 + std::chrono::hours(1);
    b->build(e, usage_drop(), &account, t0, out);
    ASSERT_EQ(out.size(), 3u);
    EXPECT_EQ(out[0].kind, notice_kind::resolved);
    EXPECT_EQ(out[0].key, e.record.id + "-3");
    EXPECT_EQ(out[0].resolved_at, t0 + std::chrono::hours(1));
}

// A card that shows a snooze is rewritten when the alert notifies again: the repeat says
// when the snooze ended (ran out, or woke early), a repeat of a never-snoozed alert not.
TEST(NotificationBuilder, a_repeat_after_a_snooze_says_when_it_ended) {
    auto b = builder();
    auto account = acme();
    std::vector<notification> out;
    auto e = firing_event();
    e.kind = alerts::event_kind::repeat_due;
    e.from = e.to = alerts::alert_state::firing;
    e.record.notifications = 2;
    b->build(e, usage_drop(), &account, t0, out);
    ASSERT_FALSE(out.empty());
    EXPECT_FALSE(out[0].snoozed_until);

    alerts::snooze s;
    s.until = t0 + std::chrono::hours(24);
    s.by = "liam";
    e.record.snoozes.push_back(s);
    e.at = t0 + std::chrono::hours(24);
    out.clear();
    b->build(e, usage_drop(), &account, t0, out);
    ASSERT_FALSE(out.empty());
    EXPECT_EQ(out[0].kind, notice_kind::repeat);
    EXPECT_EQ(out[0].snoozed_until, t0 + std::chrono::hours(24));

    // Woke early: the wake is when it ended.
    e.kind = alerts::event_kind::woke;
    e.record.snoozes.back().woke_at = t0 + std::chrono::hours(2);
    e.at = t0 + std::chrono::hours(2);
    out.clear();
    b->build(e, usage_drop(), &account, t0, out);
    ASSERT_FALSE(out.empty());
    EXPECT_EQ(out[0].kind, notice_kind::repeat);
    EXPECT_EQ(out[0].snoozed_until, t0 + std::chrono::hours(2));
}

TEST(NotificationBuilder, silent_changes_make_nothing) {
    auto b = builder();
    auto account = acme();
    std::vector<notification> out;
    auto e = firing_event();
    e.notify = false;  // resolve silent, a rule that is gone
    e.to = alerts::alert_state::resolved;
    b->build(e, usage_drop(), &account, t0, out);
    e.to = alerts::alert_state::pending;
    b->build(e, usage_drop(), &account, t0, out);
    auto quiet = usage_drop();
    quiet.notify.clear();
    b->build(firing_event(), quiet, &account, t0, out);
    EXPECT_TRUE(out.empty());
}

TEST(NotificationBuilder, an_ack_goes_only_to_channels_that_thread) {
    auto b = builder();
    auto account = acme();
    std::vector<notification> out;
    auto e = firing_event();
    e.kind = alerts::event_kind::acknowledged;
    e.notify = false;
    e.record.acks.push_back({"liam", "calling them today", t0});
    b->build(e, usage_drop(), &account, t0, out);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].channel, "slack");
    EXPECT_EQ(out[0].kind, notice_kind::acknowledged);
    EXPECT_EQ(out[0].key, e.record.id + "-ack-1");
    EXPECT_EQ(out[0].ack_by, "liam");
    EXPECT_EQ(out[0].ack_comment, "calling them today");
}

TEST(NotificationBuilder, reports_template_errors) {
    auto made = notification_builder::make("https://crm/{account.nope}", {{"mail", "email", "{account.csm_email"}}, nullptr);
    EXPECT_FALSE(made.builder);
    ASSERT_EQ(made.errors.size(), 2u);
    EXPECT_NE(made.errors[0].find("ui.account_url"), std::string::npos) << made.errors[0];
    EXPECT_NE(made.errors[1].find("channels.mail.to"), std::string::npos) << made.errors[1];
}

}  // namespace

namespace {

TEST(Notify, a_released_inhibition_sends_the_firing_notice_to_the_rules_channels) {
    auto b = builder();
    auto e = firing_event();
    e.kind = alerts::event_kind::released;
    e.from = e.to = alerts::alert_state::firing;
    e.record.notifications = 2;
    auto st = acme();
    std::vector<notification> out;
    b->build(e, usage_drop(), &st, t0, out);
    ASSERT_EQ(out.size(), 3u);
    EXPECT_EQ(out[0].kind, notice_kind::firing);
    EXPECT_EQ(out[0].key, e.record.id + "-2");
    EXPECT_EQ(out[0].title, "Usage dropped");
    e.notify = false;  // held again: nothing
    out.clear();
    b->build(e, usage_drop(), &st, t0, out);
    EXPECT_TRUE(out.empty());
}

TEST(Notify, an_escalation_goes_to_the_escalation_channel_alone_titled_as_such) {
    auto b = builder();
    auto e = firing_event();
    e.kind = alerts::event_kind::escalation_due;
    e.from = e.to = alerts::alert_state::firing;
    e.record.notifications = 3;
    auto rule = usage_drop();
    rule.escalate_after = std::chrono::hours(72);
    rule.escalate_to = "hook";
    auto st = acme();
    std::vector<notification> out;
    b->build(e, rule, &st, t0, out);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].channel, "hook");
    EXPECT_EQ(out[0].kind, notice_kind::firing);
    EXPECT_EQ(out[0].title, "Escalated: Usage dropped");
    EXPECT_EQ(out[0].key, e.record.id + "-3");
    // An inhibition change notifies nothing.
    e.kind = alerts::event_kind::inhibition;
    e.notify = false;
    out.clear();
    b->build(e, rule, &st, t0, out);
    EXPECT_TRUE(out.empty());
}

TEST(Notify, the_accounts_segment_rides_on_the_notification) {
    auto b = builder();
    auto st = acme();
    model::event seg;
    seg.type = model::event_type::account;
    seg.account = "acme";
    seg.id = "p2";
    seg.at = t0 - std::chrono::hours(1);
    seg.fields = boost::json::object{{"segment", "enterprise"}};
    st.apply(seg);
    std::vector<notification> out;
    b->build(firing_event(), usage_drop(), &st, t0, out);
    ASSERT_FALSE(out.empty());
    EXPECT_EQ(out[0].segment, "enterprise");
}

}  // namespace

namespace {

matcher parsed(const char* text) {
    std::string error;
    auto m = parse_matcher(text, error);
    EXPECT_TRUE(m) << error;
    return *m;
}

// A channel's `match` routes every alert its matchers all match, besides the rules that
// name the channel (a rule naming no channel at all still reaches it); an off channel
// gets nothing; an escalation goes to its own channel only.
TEST(Notify, a_channel_with_matchers_receives_the_alerts_they_match) {
    std::vector<channel_outline> channels{{"slack", "slack", ""}, {"hook", "webhook", ""}};
    channels.push_back({"red_flags", "slack", "", {parsed(R"(severity=~"high|critical")"), parsed(R"(audience!="team_lead")")}});
    channels.push_back({"leads", "slack", "", {parsed(R"(audience="team_lead")")}});
    channels.push_back({"off_too", "slack", "", {parsed(R"(severity="high")")}, true});
    auto made = notification_builder::make("", channels, nullptr);
    ASSERT_TRUE(made.builder);
    auto st = acme();
    auto rule = usage_drop();
    rule.notify = {};  // the rule names no channel
    std::vector<notification> out;
    made.builder->build(firing_event(), rule, &st, t0, out);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].channel, "red_flags");
    EXPECT_EQ(out[0].title, "Usage dropped");
    // Named by the rule and matched: once.
    rule.notify = {"red_flags", "hook"};
    out.clear();
    made.builder->build(firing_event(), rule, &st, t0, out);
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0].channel, "red_flags");
    EXPECT_EQ(out[1].channel, "hook");
    // A team lead's alert goes to the leads, not the red flags; a low one to neither.
    rule.notify = {};
    rule.labels = {{"audience", "team_lead"}};
    out.clear();
    made.builder->build(firing_event(), rule, &st, t0, out);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].channel, "leads");
    rule.labels = {};
    auto low = firing_event();
    low.record.severity = rules::alert_severity::low;
    out.clear();
    made.builder->build(low, rule, &st, t0, out);
    EXPECT_TRUE(out.empty());
    // An escalation is not routed.
    auto esc = firing_event();
    esc.kind = alerts::event_kind::escalation_due;
    rule.escalate_after = std::chrono::hours(72);
    rule.escalate_to = "hook";
    out.clear();
    made.builder->build(esc, rule, &st, t0, out);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].channel, "hook");
}

TEST(Notify, an_off_channel_gets_nothing_even_when_a_rule_names_it) {
    auto made = notification_builder::make("", {{"slack", "slack", "", {}, true}, {"hook", "webhook", ""}}, nullptr);
    ASSERT_TRUE(made.builder);
    auto st = acme();
    auto rule = usage_drop();
    std::vector<notification> out;
    made.builder->build(firing_event(), rule, &st, t0, out);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].channel, "hook");
}

}  // namespace
