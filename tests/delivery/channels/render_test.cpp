#include "delivery/channels/render.hpp"
#include "sample_notification.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <set>

using namespace redflag;
using namespace redflag::delivery;
using namespace redflag::delivery::channels;
using channels::testing::sample_notification;
namespace json = boost::json;

TEST(Render, summary_lines_per_kind) {
    EXPECT_EQ(summary(sample_notification(notice_kind::firing)), "[HIGH] Acme: Usage dropped");
    EXPECT_EQ(summary(sample_notification(notice_kind::repeat)), "[HIGH] Acme: Still firing: Usage dropped");
    // The spec's recovery notice: "Recovered: Usage dropped, Acme".
    EXPECT_EQ(summary(sample_notification(notice_kind::resolved)), "Recovered: Usage dropped, Acme");
    EXPECT_EQ(summary(sample_notification(notice_kind::acknowledged)),
              "Acknowledged by liam: calling them today (Usage dropped, Acme)");
}

TEST(Render, truncates_on_utf8_boundaries) {
    EXPECT_EQ(truncate_utf8("short", 10), "short");
    std::string text = "ab\xC3\xA9\xC3\xA9\xC3\xA9";  // "abééé", 8 bytes
    std::string cut = truncate_utf8(text, 6);          // room for 3 bytes + "…"
    EXPECT_EQ(cut, "ab\xE2\x80\xA6");                  // never half an é
    EXPECT_LE(cut.size(), 6u);
    EXPECT_EQ(truncate_utf8(std::string(5000, 'x'), 3000).size(), 3000u);
}

TEST(Render, slack_escapes_control_characters) {
    EXPECT_EQ(slack_escape("a < b & c > d"), "a &lt; b &amp; c &gt; d");
}

TEST(Render, slack_card_has_header_fields_message_button_and_context) {
    auto n = sample_notification();
    n.message = "fell <a lot> & more";
    slack_message m = render_slack(n, "<@U123>", false);
    EXPECT_EQ(m.text, "[HIGH] Acme: Usage dropped \xE2\x80\x94 fell &lt;a lot&gt; &amp; more <@U123>");
    ASSERT_EQ(m.blocks.size(), 5u);
    EXPECT_EQ(m.blocks[0].at("type"), "header");
    EXPECT_EQ(m.blocks[0].at("text").at("text"), ":red_circle: Usage dropped");
    auto& fields = m.blocks[1].at("fields").as_array();
    ASSERT_EQ(fields.size(), 4u);
    EXPECT_EQ(fields[0].at("text"), "*Severity*\nHigh");
    EXPECT_EQ(fields[1].at("text"), "*Account*\n<https://crm.example.com/accounts/acme|Acme>");
    EXPECT_EQ(fields[2].at("text"), "*Owner*\n<@U123>");
    EXPECT_EQ(fields[3].at("text"), "*Firing since*\n2026-11-02T09:00:00Z");
    EXPECT_EQ(m.blocks[2].at("text").at("text"), "fell &lt;a lot&gt; &amp; more");
    EXPECT_EQ(m.blocks[3].at("type"), "actions");
    EXPECT_EQ(m.blocks[3].at("elements").at(0).at("url"), "https://crm.example.com/accounts/acme");
    EXPECT_EQ(m.blocks[4].at("type"), "context");
}

TEST(Render, an_interactive_slack_card_has_the_ack_and_snooze_buttons) {
    auto n = sample_notification();
    slack_message m = render_slack(n, {}, false, true);
    const boost::json::array* elements = nullptr;
    for (const auto& b : m.blocks)
        if (b.at("type") == "actions") elements = &b.at("elements").as_array();
    ASSERT_NE(elements, nullptr);
    ASSERT_EQ(elements->size(), 4u);  // Open account, Acknowledge, Snooze 1d, Snooze 7d
    EXPECT_EQ(elements->at(1).at("action_id"), "redflag_ack");
    EXPECT_EQ(elements->at(1).at("text").at("text"), "Acknowledge");
    EXPECT_EQ(elements->at(2).at("action_id"), "redflag_snooze_1d");
    EXPECT_EQ(elements->at(2).at("text").at("text"), "Snooze 1d");
    EXPECT_EQ(elements->at(3).at("action_id"), "redflag_snooze_7d");
    EXPECT_EQ(elements->at(3).at("text").at("text"), "Snooze 7d");
    for (std::size_t i = 1; i < 4; ++i) EXPECT_EQ(elements->at(i).at("value").as_string(), n.alert_id);
    // Not interactive (an incoming webhook): no buttons of ours.
    auto plain = boost::json::serialize(render_slack(n, {}, false, false).blocks);
    EXPECT_EQ(plain.find("\"action_id\":\"redflag_"), std::string::npos);
    EXPECT_NE(plain.find("open_account"), std::string::npos);
}

TEST(Render, the_card_rewritten_after_a_change_tells_the_state) {
    using redflag::delivery::notice_kind;
    auto acked = render_slack_card(sample_notification(notice_kind::acknowledged));
    EXPECT_EQ(acked.blocks[0].at("text").at("text"), ":eyes: Acknowledged: Usage dropped");
    auto acked_text = boost::json::serialize(acked.blocks);
    EXPECT_NE(acked_text.find("Acknowledged by liam"), std::string::npos);
    EXPECT_EQ(acked_text.find("\"action_id\":\"redflag_"), std::string::npos);  // nothing left to click

    auto n = sample_notification(notice_kind::snoozed);
    n.ack_by = "jane@example.com";
    n.snoozed_until = *parse_rfc3339("2026-11-09T09:00:00Z");
    auto snoozed = render_slack_card(n);
    EXPECT_EQ(snoozed.blocks[0].at("text").at("text"), ":zzz: Snoozed: Usage dropped");
    auto snoozed_text = boost::json::serialize(snoozed.blocks);
    EXPECT_NE(snoozed_text.find("Snoozed by jane@example.com* until 2026-11-09T09:00:00Z"), std::string::npos);
    EXPECT_NE(snoozed_text.find("redflag_ack"), std::string::npos);
    EXPECT_EQ(snoozed_text.find("redflag_snooze"), std::string::npos);

    auto recovered = render_slack_card(sample_notification(notice_kind::resolved));
    EXPECT_EQ(recovered.blocks[0].at("text").at("text"), ":white_check_mark: Recovered: Usage dropped");

    auto body = boost::json::parse(slack_update_body("C123", "1700000000.000100", recovered)).as_object();
    EXPECT_EQ(body.at("channel"), "C123");
    EXPECT_EQ(body.at("ts"), "1700000000.000100");
    EXPECT_EQ(body.at("blocks"), recovered.blocks);
    EXPECT_FALSE(body.contains("thread_ts"));
}

TEST(Render, slack_card_rewrites_of_a_silence_and_a_silent_resolve) {
    auto n = sample_notification(notice_kind::silence_began);
    n.ack_by = "liam";
    n.ack_comment = "migration weekend";
    n.snoozed_until = *parse_rfc3339("2026-11-04T18:00:00Z");
    auto silenced = render_slack_card(n);
    EXPECT_EQ(silenced.blocks[0].at("text").at("text"), ":no_bell: Silenced: Usage dropped");
    auto silenced_text = boost::json::serialize(silenced.blocks);
    EXPECT_NE(silenced_text.find("Silenced by liam* until 2026-11-04T18:00:00Z: migration weekend"),
              std::string::npos) << silenced_text;
    EXPECT_NE(silenced_text.find("redflag_ack"), std::string::npos);  // it can still be owned
    EXPECT_EQ(silenced_text.find("redflag_snooze"), std::string::npos);
    EXPECT_NE(silenced.text.find("Silenced by liam"), std::string::npos);
    // The thread follow-up says the same in one line.
    auto reply = boost::json::serialize(render_slack(n, "", true).blocks);
    EXPECT_NE(reply.find("Silenced by liam"), std::string::npos) << reply;

    auto ended = render_slack_card(sample_notification(notice_kind::silence_ended));
    EXPECT_EQ(ended.blocks[0].at("text").at("text"), ":red_circle: Usage dropped");  // firing again
    auto ended_text = boost::json::serialize(ended.blocks);
    EXPECT_NE(ended_text.find("redflag_ack"), std::string::npos);
    EXPECT_NE(ended_text.find("redflag_snooze_1d"), std::string::npos);  // its buttons are back
    EXPECT_NE(ended_text.find("Firing since"), std::string::npos);

    auto quiet = sample_notification(notice_kind::resolved_silently);
    quiet.resolved_at = *parse_rfc3339("2026-11-05T12:00:00Z");
    auto resolved = render_slack_card(quiet);
    EXPECT_EQ(resolved.blocks[0].at("text").at("text"), ":white_check_mark: Resolved: Usage dropped");
    auto resolved_text = boost::json::serialize(resolved.blocks);
    EXPECT_EQ(resolved_text.find("\"action_id\":\"redflag_"), std::string::npos);  // nothing to click
    EXPECT_NE(resolved_text.find("Recovered at*\\n2026-11-05T12:00:00Z"), std::string::npos) << resolved_text;
}

TEST(Render, slack_card_without_link_or_mention_names_the_owner) {
    auto n = sample_notification();
    n.account_url.clear();
    slack_message m = render_slack(n, "", false);
    EXPECT_EQ(m.text.find("<@"), std::string::npos);
    auto& fields = m.blocks[1].at("fields").as_array();
    EXPECT_EQ(fields[1].at("text"), "*Account*\nAcme");
    EXPECT_EQ(fields[2].at("text"), "*Owner*\nJane Doe (jane@example.com)");
    for (const auto& b : m.blocks) EXPECT_NE(b.at("type"), "actions");
}

TEST(Render, slack_link_that_is_not_a_web_url_is_left_out) {
    auto n = sample_notification();
    n.account_url = "javascript:alert(1)";
    slack_message m = render_slack(n, "", false);
    for (const auto& b : m.blocks) EXPECT_NE(b.at("type"), "actions");
    EXPECT_EQ(m.blocks[1].at("fields").at(1).at("text"), "*Account*\nAcme");
}

TEST(Render, slack_thread_follow_ups_are_one_section) {
    auto resolved = render_slack(sample_notification(notice_kind::resolved), "<@U123>", true);
    ASSERT_EQ(resolved.blocks.size(), 1u);
    EXPECT_EQ(resolved.blocks[0].at("text").at("text"),
              "*Recovered*: Usage dropped, <https://crm.example.com/accounts/acme|Acme>");
    EXPECT_EQ(resolved.text, "Recovered: Usage dropped, Acme");  // no mention on recovery

    auto ack = render_slack(sample_notification(notice_kind::acknowledged), "", true);
    EXPECT_EQ(ack.blocks[0].at("text").at("text"), "*Acknowledged by liam*: calling them today");

    auto repeat = render_slack(sample_notification(notice_kind::repeat), "<@U123>", true);
    EXPECT_EQ(repeat.blocks[0].at("text").at("text"),
              "*Still firing* since 2026-11-02T09:00:00Z: Acme: active users fell from 40 to 15 in 14 days <@U123>");
}

TEST(Render, slack_header_is_cut_to_slacks_limit) {
    auto n = sample_notification();
    n.title = std::string(400, 'T');
    auto m = render_slack(n, "", false);
    EXPECT_LE(m.blocks[0].at("text").at("text").as_string().size(), 150u);
}

TEST(Render, slack_post_body_carries_channel_thread_and_blocks) {
    auto m = render_slack(sample_notification(), "", false);
    auto body = json::parse(slack_post_body("#cs-red-flags", m, "1700000000.000100")).as_object();
    EXPECT_EQ(body.at("channel"), "#cs-red-flags");
    EXPECT_EQ(body.at("thread_ts"), "1700000000.000100");
    EXPECT_EQ(body.at("text").as_string(), m.text);
    EXPECT_EQ(body.at("blocks").as_array().size(), m.blocks.size());
    auto webhook = json::parse(slack_post_body("", m, "")).as_object();
    EXPECT_FALSE(webhook.contains("channel"));
    EXPECT_FALSE(webhook.contains("thread_ts"));
}

TEST(Render, redflag_json_has_exactly_the_specs_keys) {
    auto v = render_redflag_json(sample_notification());
    std::vector<std::string> keys;
    for (const auto& kv : v) keys.emplace_back(kv.key());
    EXPECT_EQ(keys, (std::vector<std::string>{"id", "rule", "account", "account_name", "csm_email", "state", "severity",
                                              "title", "message", "labels", "at", "idempotency_key"}));
    EXPECT_EQ(v.at("id"), "0123456789abcdef0123456789abcdef");
    EXPECT_EQ(v.at("state"), "firing");
    EXPECT_EQ(v.at("at"), "2026-11-02T09:00:00Z");
    EXPECT_EQ(v.at("labels"), (json::object{{"team", "cs"}, {"playbook", "adoption"}}));
    EXPECT_EQ(v.at("idempotency_key"), "0123456789abcdef0123456789abcdef-1");
    EXPECT_EQ(render_redflag_json(sample_notification(notice_kind::resolved)).at("state"), "resolved");
    EXPECT_EQ(render_redflag_json(sample_notification(notice_kind::repeat)).at("state"), "repeat");
}

TEST(Render, alertmanager_alert_while_firing_holds_endsAt_ahead) {
    auto n = sample_notification();
    n.labels.emplace_back("alertname", "spoofed");   // ours win a clash
    n.labels.emplace_back("needs-fixing", "x");      // made a valid label name
    timestamp now = *parse_rfc3339("2026-11-02T09:00:05Z");
    auto alerts = render_alertmanager_json(n, now, hour);
    ASSERT_EQ(alerts.size(), 1u);
    auto& a = alerts[0].as_object();
    EXPECT_EQ(a.at("labels"), (json::object{{"team", "cs"},
                                            {"playbook", "adoption"},
                                            {"alertname", "usage_drop"},
                                            {"needs_fixing", "x"},
                                            {"account", "acme"},
                                            {"severity", "high"}}));
    EXPECT_EQ(a.at("startsAt"), "2026-11-02T09:00:00Z");
    EXPECT_EQ(a.at("endsAt"), "2026-11-02T10:00:05Z");
    EXPECT_EQ(a.at("generatorURL"), "https://crm.example.com/accounts/acme");
    EXPECT_EQ(a.at("annotations").at("title"), "Usage dropped");
    EXPECT_EQ(a.at("annotations").at("description").as_string(), n.message);
    EXPECT_EQ(a.at("annotations").at("csm_email"), "jane@example.com");
}

TEST(Render, alertmanager_alert_when_resolved_ends_at_recovery) {
    auto n = sample_notification(notice_kind::resolved);
    auto a = render_alertmanager_json(n, *parse_rfc3339("2026-11-06T00:00:00Z"), hour)[0].as_object();
    EXPECT_EQ(a.at("endsAt"), "2026-11-05T12:00:00Z");
}

TEST(Render, an_alertmanager_repost_is_one_array_of_firing_and_ended_alerts) {
    std::vector<notification> batch{sample_notification(), sample_notification(notice_kind::resolved)};
    batch[1].account = "globex";
    timestamp now = *parse_rfc3339("2026-11-06T00:00:00Z");
    auto alerts = render_alertmanager_json(batch, now, 4 * minute);
    ASSERT_EQ(alerts.size(), 2u);
    EXPECT_EQ(alerts[0].at("endsAt"), "2026-11-06T00:04:00Z");  // now + 4 × resend
    EXPECT_EQ(alerts[1].at("endsAt"), "2026-11-05T12:00:00Z");  // its resolved time
    EXPECT_EQ(alerts[1].at("labels").at("account"), "globex");
}

// ----------------------------------------------------------------- group cards

namespace {

group_card sample_group(std::size_t flags) {
    group_card g;
    for (std::size_t i = 0; i < flags; ++i) {
        auto n = sample_notification();
        n.alert_id = "alert" + std::to_string(i);
        n.title = "Flag " + std::to_string(i);
        n.severity = i == 1 ? "critical" : "medium";
        apply(g, n);
    }
    return g;
}

std::vector<const json::object*> blocks_of_type(const slack_message& m, std::string_view type) {
    std::vector<const json::object*> out;
    for (const auto& b : m.blocks)
        if (b.as_object().at("type").as_string() == type) out.push_back(&b.as_object());
    return out;
}

}  // namespace

TEST(Render, a_group_card_lists_each_flag_with_its_own_buttons) {
    group_card g = sample_group(3);
    auto ack = sample_notification(notice_kind::acknowledged);
    ack.alert_id = "alert2";
    apply(g, ack);
    slack_message m = render_slack_group(g);
    EXPECT_EQ(m.text, "Acme: 3 red flags");
    // The worst severity firing sets the header's emoji.
    EXPECT_EQ(m.blocks[0].at("text").at("text").as_string(), ":rotating_light: Acme: 3 red flags");
    EXPECT_NE(json::serialize(m.blocks[1]).find("<https://crm.example.com/accounts/acme|Acme>"), std::string::npos);
    EXPECT_NE(json::serialize(m.blocks[1]).find("Jane Doe (jane@example.com)"), std::string::npos);

    // Two firing flags have Acknowledge, Snooze 1d, Snooze 7d for their own alert; the
    // acknowledged one has none left.
    auto actions = blocks_of_type(m, "actions");
    ASSERT_EQ(actions.size(), 2u);
    const char* expected_ids[] = {"alert0", "alert1"};
    std::set<std::string> block_ids;
    for (std::size_t i = 0; i < actions.size(); ++i) {
        block_ids.insert(std::string(actions[i]->at("block_id").as_string()));
        const auto& elements = actions[i]->at("elements").as_array();
        ASSERT_EQ(elements.size(), 3u);
        EXPECT_EQ(elements[0].at("action_id").as_string(), slack_action_ack);
        EXPECT_EQ(elements[1].at("action_id").as_string(), slack_action_snooze_1d);
        EXPECT_EQ(elements[2].at("action_id").as_string(), slack_action_snooze_7d);
        for (const auto& e : elements) EXPECT_EQ(e.at("value").as_string(), expected_ids[i]);
    }
    EXPECT_EQ(block_ids.size(), actions.size());  // Slack wants block_ids unique in a message
    auto sections = json::serialize(m.blocks);
    EXPECT_NE(sections.find("*[CRITICAL] Flag 1* firing since 2026-11-02T09:00:00Z"), std::string::npos);
    EXPECT_NE(sections.find("Acknowledged by liam"), std::string::npos);
}

TEST(Render, a_snoozed_flag_on_a_group_card_keeps_only_acknowledge) {
    group_card g = sample_group(1);
    auto snooze = sample_notification(notice_kind::snoozed);
    snooze.alert_id = "alert0";
    snooze.ack_by = "dana";
    snooze.snoozed_until = *parse_rfc3339("2026-11-09T09:00:00Z");
    apply(g, snooze);
    slack_message m = render_slack_group(g);
    EXPECT_EQ(m.text, "Acme: 1 red flag");
    auto actions = blocks_of_type(m, "actions");
    ASSERT_EQ(actions.size(), 1u);
    ASSERT_EQ(actions[0]->at("elements").as_array().size(), 1u);
    EXPECT_EQ(actions[0]->at("elements").as_array()[0].at("action_id").as_string(), slack_action_ack);
    EXPECT_NE(json::serialize(m.blocks).find("Snoozed by dana until 2026-11-09T09:00:00Z"), std::string::npos);
}

TEST(Render, a_group_card_with_no_flag_left_reads_resolved_without_buttons) {
    group_card g = sample_group(1);
    auto gone = sample_notification(notice_kind::resolved);
    gone.alert_id = "alert0";
    apply(g, gone);
    slack_message m = render_slack_group(g);
    EXPECT_EQ(m.text, "Acme: all red flags recovered");
    EXPECT_EQ(m.blocks[0].at("text").at("text").as_string(), ":white_check_mark: Acme: all red flags recovered");
    EXPECT_TRUE(blocks_of_type(m, "actions").empty());
}

TEST(Render, a_large_group_card_stays_within_block_kits_limits) {
    slack_message m = render_slack_group(sample_group(60));
    EXPECT_EQ(m.text, "Acme: 60 red flags");
    EXPECT_LE(m.blocks.size(), 50u);  // Slack refuses a message of more than 50 blocks
    EXPECT_EQ(blocks_of_type(m, "actions").size(), slack_group_max_flags);
    for (auto* a : blocks_of_type(m, "actions")) EXPECT_LE(a->at("elements").as_array().size(), 25u);
    std::string all = json::serialize(m.blocks);
    EXPECT_NE(all.find("and 37 more:"), std::string::npos);
    EXPECT_NE(all.find("[MEDIUM] Flag 59"), std::string::npos);
    // The largest card that gets every flag its blocks is still within the limit.
    EXPECT_LE(render_slack_group(sample_group(slack_group_max_flags + 1)).blocks.size(), 50u);
}

TEST(Render, a_group_thread_reply_is_the_notifications_line) {
    auto n = sample_notification();
    slack_message m = render_slack_group_reply(n, "<@U1>");
    EXPECT_EQ(m.text, "[HIGH] Acme: Usage dropped <@U1>");
    ASSERT_EQ(m.blocks.size(), 1u);
    EXPECT_EQ(render_slack_group_reply(sample_notification(notice_kind::resolved), "<@U1>").text,
              "Recovered: Usage dropped, Acme");
}
