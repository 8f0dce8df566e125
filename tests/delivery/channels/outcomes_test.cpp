#include "delivery/channels/outcomes.hpp"

#include <curl/curl.h>
#include <gtest/gtest.h>

using namespace redflag;
using namespace redflag::delivery;
using namespace redflag::delivery::channels;
using outcome = send_result::outcome;

namespace {

const timestamp now = *parse_rfc3339("2026-11-02T09:00:00Z");

http_response answer(long status, std::string body = {}, header_list headers = {}) {
    http_response r;
    r.status = status;
    r.body = std::move(body);
    r.headers = std::move(headers);
    return r;
}

}  // namespace

TEST(Outcomes, http_status_classes) {
    EXPECT_EQ(classify_http(answer(200), now).result, outcome::sent);
    EXPECT_EQ(classify_http(answer(204), now).result, outcome::sent);
    for (long status : {408, 429, 500, 502, 503})
        EXPECT_EQ(classify_http(answer(status), now).result, outcome::retry) << status;
    for (long status : {400, 401, 403, 404, 410, 413, 422})
        EXPECT_EQ(classify_http(answer(status), now).result, outcome::permanent) << status;
    auto moved = classify_http(answer(301, "", {{"location", "https://elsewhere"}}), now);
    EXPECT_EQ(moved.result, outcome::permanent);
    EXPECT_NE(moved.error.find("https://elsewhere"), std::string::npos);
}

TEST(Outcomes, no_answer_is_retried_with_the_transport_error) {
    http_response r;
    r.error = "Failed to connect to 127.0.0.1 port 1: Connection refused";
    auto result = classify_http(r, now);
    EXPECT_EQ(result.result, outcome::retry);
    EXPECT_EQ(result.error, r.error);
}

TEST(Outcomes, retry_after_in_seconds_or_as_a_date) {
    auto limited = classify_http(answer(429, "slow down", {{"retry-after", "30"}}), now);
    EXPECT_EQ(limited.result, outcome::retry);
    EXPECT_EQ(limited.retry_after, 30 * seconds_ms);
    EXPECT_NE(limited.error.find("HTTP 429: slow down"), std::string::npos);
    auto unavailable = classify_http(answer(503, "", {{"retry-after", "Mon, 02 Nov 2026 09:02:00 GMT"}}), now);
    EXPECT_EQ(unavailable.retry_after, 2 * minute);
    EXPECT_FALSE(classify_http(answer(429), now).retry_after);
    EXPECT_EQ(parse_retry_after("Mon, 02 Nov 2026 08:00:00 GMT", now), duration::zero());  // past: no wait
    EXPECT_FALSE(parse_retry_after("soon", now));
    EXPECT_FALSE(parse_retry_after("-5", now));
}

TEST(Outcomes, slack_ok_and_errors) {
    boost::json::object reply;
    auto ok = classify_slack(answer(200, R"({"ok":true,"channel":"C1","ts":"1700000000.000100"})"), now, &reply);
    EXPECT_EQ(ok.result, outcome::sent);
    EXPECT_EQ(reply.at("ts"), "1700000000.000100");

    for (auto error : {"invalid_auth", "not_authed", "channel_not_found", "account_inactive", "not_in_channel",
                       "is_archived", "token_revoked", "invalid_blocks", "msg_too_long"}) {
        auto r = classify_slack(answer(200, std::string(R"({"ok":false,"error":")") + error + "\"}"), now);
        EXPECT_EQ(r.result, outcome::permanent) << error;
        EXPECT_EQ(r.error, std::string("Slack: ") + error);
    }
    for (auto error : {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"})
        EXPECT_EQ(classify_slack(answer(200, std::string(R"({"ok":false,"error":")") + error + "\"}"), now).result,
                  outcome::retry)
            << error;
    auto scope = classify_slack(answer(200, R"({"ok":false,"error":"missing_scope","needed":"chat:write"})"), now);
    EXPECT_EQ(scope.error, "Slack: missing_scope (needs scope chat:write)");
}

TEST(Outcomes, slack_http_429_is_retried_after_its_retry_after) {
    auto r = classify_slack(answer(429, "", {{"retry-after", "7"}}), now);
    EXPECT_EQ(r.result, outcome::retry);
    EXPECT_EQ(r.retry_after, 7 * seconds_ms);
    EXPECT_EQ(classify_slack(answer(502, "<html>bad gateway</html>"), now).result, outcome::retry);
    EXPECT_EQ(classify_slack(answer(404, "not found"), now).result, outcome::permanent);
    // A 200 that is not Slack's JSON came from something in between: try again.
    EXPECT_EQ(classify_slack(answer(200, "<html>captive portal</html>"), now).result, outcome::retry);
}

TEST(Outcomes, smtp_reply_codes_and_curl_failures) {
    EXPECT_EQ(classify_smtp(CURLE_OK, 250, "").result, outcome::sent);
    EXPECT_EQ(classify_smtp(CURLE_SEND_ERROR, 550, "RCPT failed: 550").result, outcome::permanent);
    EXPECT_EQ(classify_smtp(CURLE_SEND_ERROR, 451, "RCPT failed: 451").result, outcome::retry);
    EXPECT_EQ(classify_smtp(CURLE_SEND_ERROR, 421, "").result, outcome::retry);
    EXPECT_EQ(classify_smtp(CURLE_LOGIN_DENIED, 535, "").result, outcome::permanent);
    EXPECT_EQ(classify_smtp(CURLE_COULDNT_CONNECT, 0, "").result, outcome::retry);
    EXPECT_EQ(classify_smtp(CURLE_OPERATION_TIMEDOUT, 0, "").result, outcome::retry);
    EXPECT_EQ(classify_smtp(CURLE_USE_SSL_FAILED, 0, "").result, outcome::permanent);
    auto r = classify_smtp(CURLE_SEND_ERROR, 550, "RCPT failed: 550");
    EXPECT_EQ(r.error, "SMTP 550: RCPT failed: 550");
}
