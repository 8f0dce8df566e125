#include "http/slack_interactions.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace redflag;
using namespace redflag::http;

namespace {

// Slack's own example ("Verifying requests from Slack"): a slash command's body, the
// documentation's signing secret and timestamp, and the signature Slack sent.
constexpr std::string_view doc_secret = "8f742231b10e8888abcd99yyyzzz85a5";
constexpr std::string_view doc_timestamp = "1531420618";
constexpr std::string_view doc_body =
    "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name="
    "foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks."
    "slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121."
    "803a0bc887a14d10d2c447fce8b6703c";
constexpr std::string_view doc_signature = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";
constexpr timestamp doc_now = from_millis(1'531'420'618'000);

std::vector<slack_secret> secrets() { return {{"other", "another-secret"}, {"cs_red_flags", std::string(doc_secret)}}; }

TEST(SlackSignature, reproduces_slacks_documented_example) {
    EXPECT_EQ(slack_signature(doc_secret, doc_timestamp, doc_body), doc_signature);
    auto s = secrets();
    auto v = verify_slack_signature(s, doc_timestamp, doc_signature, doc_body, doc_now + 30 * seconds_ms);
    EXPECT_TRUE(v.ok()) << v.error;
    ASSERT_NE(v.matched, nullptr);
    EXPECT_EQ(v.matched->channel, "cs_red_flags");
    // Upper-case hex is the same signature.
    std::string upper(doc_signature);
    for (std::size_t i = 3; i < upper.size(); ++i) upper[i] = static_cast<char>(std::toupper(upper[i]));
    EXPECT_TRUE(verify_slack_signature(s, doc_timestamp, upper, doc_body, doc_now).ok());
}

TEST(SlackSignature, refuses_wrong_missing_and_stale) {
    auto s = secrets();
    auto check = [&](std::string_view ts, std::string_view sig, std::string_view body, timestamp now) {
        return verify_slack_signature(s, ts, sig, body, now).error;
    };
    std::string tampered(doc_body);
    tampered[10] = 'X';
    EXPECT_NE(check(doc_timestamp, doc_signature, tampered, doc_now).find("does not match"), std::string::npos);
    EXPECT_NE(check(doc_timestamp, "", doc_body, doc_now).find("missing header X-Slack-Signature"), std::string::npos);
    EXPECT_NE(check("", doc_signature, doc_body, doc_now).find("missing header X-Slack-Request-Timestamp"),
              std::string::npos);
    EXPECT_NE(check("15314206xx", doc_signature, doc_body, doc_now).find("Unix seconds"), std::string::npos);
    EXPECT_NE(check("99999999999999999999999", doc_signature, doc_body, doc_now).find("Unix seconds"),
              std::string::npos);
    EXPECT_NE(check("-5", doc_signature, doc_body, doc_now).find("Unix seconds"), std::string::npos);
    EXPECT_NE(check(doc_timestamp, "v0=ab", doc_body, doc_now).find("does not match"), std::string::npos);
    // Five minutes either way is accepted; more is a replay.
    EXPECT_EQ(check(doc_timestamp, doc_signature, doc_body, doc_now + 5 * minute), "");
    EXPECT_EQ(check(doc_timestamp, doc_signature, doc_body, doc_now - 5 * minute), "");
    EXPECT_NE(check(doc_timestamp, doc_signature, doc_body, doc_now + 6 * minute).find("more than 5 minutes"),
              std::string::npos);
    EXPECT_NE(check(doc_timestamp, doc_signature, doc_body, doc_now - 6 * minute).find("more than 5 minutes"),
              std::string::npos);
    std::vector<slack_secret> none;
    EXPECT_NE(verify_slack_signature(none, doc_timestamp, doc_signature, doc_body, doc_now).error.find("signing_secret"),
              std::string::npos);
}

std::string form(std::string_view json) {
    std::string out = "payload=";
    static constexpr char hex[] = "0123456789ABCDEF";
    for (unsigned char c : json) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.') out.push_back(static_cast<char>(c));
        else {
            out.push_back('%');
            out.push_back(hex[c >> 4]);
            out.push_back(hex[c & 15]);
        }
    }
    return out;
}

constexpr std::string_view click_json =
    R"({"type":"block_actions","user":{"id":"U0JANE","username":"jane","team_id":"T1"},)"
    R"("container":{"type":"message","message_ts":"1700000000.000100","channel_id":"C0CARD"},)"
    R"("channel":{"id":"C0CARD"},"message":{"ts":"1700000000.000100"},"trigger_id":"1.2",)"
    R"("response_url":"https://hooks.slack.invalid/x",)"
    R"("actions":[{"action_id":"redflag_snooze_7d","block_id":"redflag_actions",)"
    R"("value":"0123456789abcdef0123456789abcdef","type":"button","action_ts":"1700000100.000200"}]})";

TEST(SlackPayload, decodes_a_button_click) {
    auto d = decode_slack_interaction(form(click_json));
    ASSERT_TRUE(d.action) << d.error;
    EXPECT_EQ(d.action->kind, slack_action_kind::snooze);
    EXPECT_EQ(d.action->snooze_for, 7 * day);
    EXPECT_EQ(d.action->alert_id, "0123456789abcdef0123456789abcdef");
    EXPECT_EQ(d.action->user_id, "U0JANE");
    EXPECT_EQ(d.action->user_name, "jane");
    EXPECT_EQ(d.action->team_id, "T1");
    EXPECT_EQ(d.action->channel_id, "C0CARD");
    EXPECT_EQ(d.action->message_ts, "1700000000.000100");
    EXPECT_EQ(d.action->key(), "slack:U0JANE:1700000100.000200");
    // '+' is a space in a form body.
    EXPECT_EQ(form_field("a=1&payload=x+y%21", "payload"), "x y!");
    EXPECT_EQ(form_field("a=1", "payload"), std::nullopt);
    EXPECT_EQ(form_field("payload=%zz", "payload"), std::nullopt);
    EXPECT_EQ(form_field("payload=%4", "payload"), std::nullopt);
}

TEST(SlackPayload, other_interactions_and_buttons_are_ignored) {
    auto other_button = std::string(click_json);
    other_button.replace(other_button.find("redflag_snooze_7d"), 17, "open_account");
    auto d = decode_slack_interaction(form(other_button));
    EXPECT_FALSE(d.action);
    EXPECT_EQ(d.error, "");
    d = decode_slack_interaction(form(R"({"type":"view_submission","user":{"id":"U1"}})"));
    EXPECT_FALSE(d.action);
    EXPECT_EQ(d.error, "");
}

TEST(SlackPayload, hostile_payloads_are_errors_with_where_never_a_crash) {
    struct bad {
        std::string body;
        std::string where;
    };
    std::string huge_value = std::string(click_json);
    huge_value.replace(huge_value.find("0123456789abcdef0123456789abcdef"), 32, std::string(100000, 'a'));
    std::string no_value = std::string(click_json);
    no_value.replace(no_value.find(R"("value":"0123456789abcdef0123456789abcdef",)"), 43, "");
    std::string value_number = std::string(click_json);
    value_number.replace(value_number.find(R"("0123456789abcdef0123456789abcdef")"), 34, "42");
    std::string no_ts = std::string(click_json);
    no_ts.replace(no_ts.find(R"(,"action_ts":"1700000100.000200")"), 32, "");
    std::string user_number = std::string(click_json);
    user_number.replace(user_number.find(R"("U0JANE")"), 8, "7");
    std::vector<bad> cases = {
        {"", "body"},
        {"payload", "payload"},  // no '=': an empty payload, not JSON
        {form("[1,2]"), "payload"},
        {form("{"), "payload"},
        {form(R"({"user":{"id":"U1"}})"), "payload.type"},
        {form(R"({"type":7})"), "payload.type"},
        {form(R"({"type":"block_actions","user":{"id":"U1"}})"), "payload.actions"},
        {form(R"({"type":"block_actions","user":{"id":"U1"},"actions":{}})"), "payload.actions"},
        {form(R"({"type":"block_actions","actions":[]})"), "payload.user.id"},
        {form(user_number), "payload.user.id"},
        {form(huge_value), "payload.actions[0].value: longer than 128 bytes"},
        {form(no_value), "payload.actions[0].value"},
        {form(value_number), "payload.actions[0].value"},
        {form(no_ts), "payload.actions[0].action_ts"},
        {form(std::string(200000, '[')), "payload"},
        {std::string("payload=") + std::string(5000, '%'), "body"},  // not percent-encoding
    };
    for (const auto& c : cases) {
        auto d = decode_slack_interaction(c.body);
        EXPECT_FALSE(d.action) << c.where;
        EXPECT_EQ(d.error.rfind(c.where, 0), 0u) << c.where << " vs " << d.error;
    }
    // Actions that are not objects, or have no action id, are skipped, not fatal.
    auto d = decode_slack_interaction(
        form(R"({"type":"block_actions","user":{"id":"U1"},"actions":[1,"x",null,{"action_id":5}]})"));
    EXPECT_FALSE(d.action);
    EXPECT_EQ(d.error, "");
}

}  // namespace
