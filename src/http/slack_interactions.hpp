// POST /v1/slack/interactions: Slack's interactivity requests (the buttons of a Redflag
// card: Acknowledge, Snooze 1d, Snooze 7d; delivery/channels/render.hpp).
//
// Authentication is Slack's request signature, not our API tokens (http/access.hpp,
// scope `slack`): X-Slack-Signature is "v0=" + the hex HMAC-SHA256 of
// "v0:{X-Slack-Request-Timestamp}:{raw body}" under the app's signing secret (config key
// `signing_secret` of a `type: slack` channel), compared in constant time; a timestamp
// more than 5 minutes off the service clock is refused (a replayed request).
// https://api.slack.com/authentication/verifying-requests-from-slack
//
// The body is application/x-www-form-urlencoded with one field, `payload`: Slack's
// `block_actions` JSON (type, user{id,username,team_id}, actions[{action_id, block_id,
// value, action_ts}], container{message_ts, channel_id}, channel{id}, message{ts},
// response_url, trigger_id). Only our own action ids act; anything else (an "Open
// account" link button also reports a click) is answered 200 and ignored.
//
// Pure functions, thread-safe; never throw, whatever the input. slack_secret_set is the
// one piece of state: the secrets in force, replaced whole by a reload.
#pragma once

#include "core/time.hpp"

#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace redflag::http {

// The most a Slack request's timestamp may be off the service clock.
inline constexpr duration slack_max_skew = 5 * minute;

struct slack_secret {
    std::string channel;  // the `type: slack` channel whose signing_secret it is
    std::string secret;
};

// The signing secrets the endpoint accepts now. Channels come with the config, so a
// reload (POST /-/reload, SIGHUP) replaces them whole: a rotated secret works at once and
// the old one stops. Thread-safe: each request verifies against the snapshot it took.
class slack_secret_set {
public:
    slack_secret_set() = default;
    explicit slack_secret_set(std::vector<slack_secret> secrets) { replace(std::move(secrets)); }
    std::shared_ptr<const std::vector<slack_secret>> current() const {
        std::lock_guard lock(mutex_);
        return secrets_;
    }
    void replace(std::vector<slack_secret> secrets) {
        auto next = std::make_shared<const std::vector<slack_secret>>(std::move(secrets));
        std::lock_guard lock(mutex_);
        secrets_ = std::move(next);
    }

private:
    mutable std::mutex mutex_;
    std::shared_ptr<const std::vector<slack_secret>> secrets_ = std::make_shared<const std::vector<slack_secret>>();
};

struct slack_verification {
    std::string error;            // empty: verified
    const slack_secret* matched = nullptr;  // the secret that verified it
    bool ok() const { return error.empty(); }
};

// Verifies a request's signature headers against every configured secret (all of them
// are always tried, so timing does not tell which one nearly matched).
slack_verification verify_slack_signature(std::span<const slack_secret> secrets, std::string_view timestamp_header,
                                          std::string_view signature_header, std::string_view body, timestamp now);

// "v0=" + hex HMAC-SHA256 of "v0:{timestamp}:{body}" under `secret`: what Slack sends.
std::string slack_signature(std::string_view secret, std::string_view timestamp, std::string_view body);

enum class slack_action_kind { ack, snooze };

struct slack_action {
    slack_action_kind kind = slack_action_kind::ack;
    duration snooze_for{};   // for snooze: 1d or 7d
    std::string action_id;
    std::string alert_id;    // the button's value
    std::string user_id;
    std::string user_name;
    std::string team_id;
    std::string action_ts;
    std::string channel_id;  // container.channel_id, else channel.id (may be empty)
    std::string message_ts;  // container.message_ts, else message.ts (may be empty)

    // The idempotency key of this click: Slack retries carry the same user and action_ts.
    std::string key() const { return "slack:" + user_id + ":" + action_ts; }
};

struct slack_decoded {
    std::optional<slack_action> action;  // set when a Redflag button was clicked
    std::string error;                   // set when the request is malformed (400): what and where
    // Neither: a well-formed payload with no action of ours (ignored, 200).
};

// Decodes the form body. Limits: the alert id at most 128 bytes, user and ts fields at most
// 256 bytes each; longer is malformed.
slack_decoded decode_slack_interaction(std::string_view body);

// application/x-www-form-urlencoded: the value of the first field `name` ('+' is a space,
// %XX decoded); nullopt when absent or when a %-escape is malformed.
std::optional<std::string> form_field(std::string_view body, std::string_view name);

}  // namespace redflag::http
