// How a peer's answer becomes a send_result (channel.hpp): sent, worth retrying, or
// permanent. One place for each protocol's rules, as pure functions, so that they are
// unit tested without a peer (tests/delivery/channels/outcomes_test.cpp).
//
//   HTTP (webhooks)   2xx sent; 408, 429, 5xx and no answer retry (429/503 with their
//                     Retry-After); 3xx and other 4xx permanent (../shared/spec/alerts.md)
//   Slack Web API     as HTTP, and a 200 answer is read: {"ok":true} sent, {"ok":false,
//                     "error":E} retry when E is a transient Slack error (ratelimited,
//                     internal_error...), else permanent (invalid_auth, channel_not_found...)
//   SMTP              no connection, a timeout or a 4xx reply retry; a 5xx reply, a
//                     refused login or a server without the required TLS are permanent
//
// Pure functions, thread-safe.
#pragma once

#include "core/time.hpp"
#include "delivery/channel.hpp"
#include "delivery/channels/http_client.hpp"

#include <boost/json/object.hpp>

#include <string_view>

namespace redflag::delivery::channels {

send_result classify_http(const http_response& response, timestamp now);

// Slack's errors worth another try: rate limits and Slack's own trouble.
bool slack_error_is_transient(std::string_view error);

// A Slack Web API answer. On `sent`, `*reply` (when given) holds the answer's object.
send_result classify_slack(const http_response& response, timestamp now, boost::json::object* reply = nullptr);

// An SMTP exchange through libcurl: `curl_code` is its CURLcode, `reply_code` the last
// SMTP reply code (CURLINFO_RESPONSE_CODE, 0 when none), `detail` curl's message.
send_result classify_smtp(int curl_code, long reply_code, std::string_view detail);

}  // namespace redflag::delivery::channels
