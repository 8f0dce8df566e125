// The channel senders (channel.hpp's channel_sender), one per channel type of
// ../shared/spec/alerts.md, and the factory the dispatcher builds them with:
//
//   slack          Slack Web API, bot token: chat.postMessage with Block Kit; the first
//                  message's `ts` comes back in send_result::thread_ts and follow-ups
//                  (repeat, acknowledged, resolved) given that ts are posted in its
//                  thread; `mention_owner` looks the CSM up with users.lookupByEmail
//                  (cached) and @-mentions them. min_interval 1 s.
//   slack_webhook  a Slack incoming webhook: the same card, no threads; `acknowledged`
//                  is skipped (reported sent: an ack alone in the channel, away from
//                  its alert, says little). min_interval 1 s.
//   webhook        JSON POST, `format: redflag` (one object, Idempotency-Key header) or
//                  `alertmanager` (v2 alert array; resend_interval() is the channel's
//                  `resend`, each post holding an alert for 4 × resend, and resend()
//                  posts many alerts in one array); configured headers added;
//                  `acknowledged` is skipped (reported sent: neither format has a state
//                  for it).
//   email          SMTP through libcurl (STARTTLS, implicit TLS, AUTH), a multipart
//                  text + HTML message to the notification's `recipient`; send_digest
//                  sends one email listing a batch.
//
// A sender makes one attempt per call, blocking for at most about the configured
// timeout, and never throws (channel.hpp). Each sender is used by one thread at a time.
#pragma once

#include "core/time.hpp"
#include "delivery/channel.hpp"
#include "delivery/channel_config.hpp"
#include "delivery/channels/http_client.hpp"

#include <memory>
#include <string>

namespace redflag::delivery::channels {

struct sender_options {
    duration connect_timeout = 5 * seconds_ms;
    duration timeout = 15 * seconds_ms;  // one whole attempt (HTTP exchange, SMTP session)
    // "now" for email Date headers, Retry-After dates, Alertmanager's endsAt and the Slack
    // look-up cache. Null: the system clock. Must outlive the sender.
    const redflag::clock* clock = nullptr;
    // slack, mention_owner: how long a found user id, and a "no such user", are kept.
    duration slack_user_ttl = day;
    duration slack_miss_ttl = hour;
    std::string ca_file;  // an extra CA bundle for https and SMTP TLS; empty: the system's
};

// The sender for `config.type`. An unknown type (the config reader rejects those) gives a
// sender whose every attempt fails permanently, naming the type.
std::unique_ptr<channel_sender> make_sender(const channel_config& config, const sender_options& options = {});

// The clock `options` names (the system clock when none), and its HTTP settings.
const redflag::clock& clock_of(const sender_options& options);
http_options http_options_of(const sender_options& options);

std::unique_ptr<channel_sender> make_slack_sender(const channel_config& config, const sender_options& options);
std::unique_ptr<channel_sender> make_slack_webhook_sender(const channel_config& config, const sender_options& options);
std::unique_ptr<channel_sender> make_webhook_sender(const channel_config& config, const sender_options& options);
std::unique_ptr<channel_sender> make_email_sender(const channel_config& config, const sender_options& options);

}  // namespace redflag::delivery::channels
