#include "delivery/channels/outcomes.hpp"

#include "delivery/channels/render.hpp"

#include <boost/json/parse.hpp>
#include <curl/curl.h>

#include <array>

namespace redflag::delivery::channels {

namespace json = boost::json;
using outcome = send_result::outcome;

namespace {

send_result failure(outcome o, std::string error, std::optional<duration> retry_after = std::nullopt) {
    send_result r;
    r.result = o;
    r.error = std::move(error);
    r.retry_after = retry_after;
    return r;
}

// A peer's body in an error message: short, one line.
std::string excerpt(std::string_view body) {
    std::string out = truncate_utf8(body, 200);
    for (char& c : out)
        if (c == '\n' || c == '\r') c = ' ';
    return out;
}

std::string status_text(const http_response& r) {
    std::string out = "HTTP " + std::to_string(r.status);
    if (!r.body.empty()) out += ": " + excerpt(r.body);
    return out;
}

std::optional<duration> retry_after_of(const http_response& r, timestamp now) {
    if (auto value = r.header("retry-after")) return parse_retry_after(*value, now);
    return std::nullopt;
}

}  // namespace

send_result classify_http(const http_response& r, timestamp now) {
    if (r.status == 0) return failure(outcome::retry, r.error.empty() ? "no answer" : r.error);
    if (r.status >= 200 && r.status < 300) return send_result::ok();
    if (r.status == 408 || r.status == 429 || r.status >= 500)
        return failure(outcome::retry, status_text(r), retry_after_of(r, now));
    if (r.status >= 300 && r.status < 400) {
        std::string where = r.header("location").value_or("?");
        return failure(outcome::permanent, status_text(r) + " (redirected to " + where + "; redirects are not followed)");
    }
    return failure(outcome::permanent, status_text(r));
}

bool slack_error_is_transient(std::string_view error) {
    static constexpr std::array<std::string_view, 7> transient = {
        "ratelimited", "rate_limited", "internal_error", "fatal_error", "service_unavailable", "request_timeout",
        "team_added_to_org"};
    for (auto t : transient)
        if (error == t) return true;
    return false;
}

send_result classify_slack(const http_response& r, timestamp now, json::object* reply) {
    if (r.status != 200) return classify_http(r, now);
    boost::system::error_code ec;
    json::value v = json::parse(r.body, ec);
    if (ec || !v.is_object())
        // A 200 that is not Slack's JSON comes from something in between (a proxy's page).
        return failure(outcome::retry, "Slack answered HTTP 200 without a JSON object: " + excerpt(r.body));
    auto& object = v.as_object();
    const json::value* ok = object.if_contains("ok");
    if (ok && ok->is_bool() && ok->as_bool()) {
        if (reply) *reply = std::move(object);
        return send_result::ok();
    }
    std::string error = "unknown_error";
    if (auto* e = object.if_contains("error"); e && e->is_string()) error = std::string(e->as_string());
    std::string text = "Slack: " + error;
    if (auto* needed = object.if_contains("needed"); needed && needed->is_string())
        text += " (needs scope " + std::string(needed->as_string()) + ")";
    if (slack_error_is_transient(error)) return failure(outcome::retry, text, retry_after_of(r, now));
    return failure(outcome::permanent, text);
}

send_result classify_smtp(int curl_code, long reply_code, std::string_view detail) {
    std::string text = "SMTP";
    if (reply_code > 0) text += " " + std::to_string(reply_code);
    text += ": " + std::string(detail.empty() ? curl_easy_strerror(static_cast<CURLcode>(curl_code)) : detail);
    if (curl_code == CURLE_OK && (reply_code == 0 || reply_code < 400)) return send_result::ok();
    // The server's reply code decides when it gave one: 4xx is "try again later" (greylisting,
    // a full mailbox, a busy server), 5xx is "never" (unknown user, rejected sender).
    if (reply_code >= 400 && reply_code < 500) return failure(outcome::retry, text);
    if (reply_code >= 500 && reply_code < 600) return failure(outcome::permanent, text);
    switch (static_cast<CURLcode>(curl_code)) {
        case CURLE_LOGIN_DENIED:          // wrong username or password
        case CURLE_USE_SSL_FAILED:        // starttls required, the server offers none
        case CURLE_UNSUPPORTED_PROTOCOL:
        case CURLE_URL_MALFORMAT:
        case CURLE_PEER_FAILED_VERIFICATION:  // the certificate does not match: a config matter
            return failure(outcome::permanent, text);
        default:
            return failure(outcome::retry, text);  // refused, reset, timed out, DNS
    }
}

}  // namespace redflag::delivery::channels
