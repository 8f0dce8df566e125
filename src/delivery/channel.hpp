// The contract between the dispatcher (which owns retries, backoff, pacing, max_age and
// the outbox) and one channel's sender (which knows one peer's protocol: Slack's Web API,
// a Slack incoming webhook, SMTP, a JSON webhook). A sender makes one attempt per call and
// says how it went; it never sleeps, retries or keeps notifications.
//
// Thread-safety: the dispatcher calls one sender from one thread at a time (each channel
// has its own worker), so a sender may keep unsynchronised caches (Slack's user look-ups).
// Senders do not throw: every failure is a send_result.
#pragma once

#include "core/time.hpp"
#include "delivery/group.hpp"
#include "delivery/notification.hpp"

#include <memory>
#include <optional>
#include <span>
#include <string>

namespace redflag::delivery {

struct send_result {
    enum class outcome : std::uint8_t {
        sent,       // delivered (or deliberately skipped: a kind this channel does not send)
        retry,      // failed, worth retrying: network error, 5xx, 408, 429, Slack `ratelimited`
        permanent,  // failed, never worth retrying: other 4xx, Slack `invalid_auth`, `channel_not_found`...
    };
    outcome result = outcome::sent;
    std::optional<duration> retry_after;  // the peer's Retry-After (429), when it gave one
    std::string error;                    // what went wrong, for the log and the alert's history
    // Slack (bot token): the `ts` of the message posted, to thread follow-ups under. The
    // dispatcher stores the first one per (channel, alert) and passes it back as
    // `thread_ts` for that alert's later notifications.
    std::string thread_ts;

    static send_result ok() { return {}; }
};

// A message made elsewhere (the weekly report, app/report_mailer.hpp): a subject and
// its plain-text and HTML bodies.
struct document {
    std::string subject;
    std::string text;
    std::string html;
};

class channel_sender {
public:
    virtual ~channel_sender() = default;

    // One attempt at delivering `n`. `thread_ts` is the `ts` of this alert's first
    // message on this channel, or empty (first message, or a channel that does not thread).
    virtual send_result send(const notification& n, const std::string& thread_ts) = 0;

    // One email carrying several notifications to one recipient (a `digest` channel).
    // Channels without digests are never asked.
    virtual send_result send_digest(std::span<const notification> batch) {
        (void)batch;
        return {send_result::outcome::permanent, std::nullopt, "this channel does not send digests", {}};
    }

    // One email carrying `doc` to `recipient` (comma-separated addresses); `key` names it
    // (its Message-ID: a retry of the same key is recognisable). Only email channels are
    // asked.
    virtual send_result send_document(const std::string& recipient, const std::string& key, const document& doc) {
        (void)recipient;
        (void)key;
        (void)doc;
        return {send_result::outcome::permanent, std::nullopt, "this channel does not send documents", {}};
    }

    // A channel with `group_by: [account]` (Slack bot token): the dispatcher folds each
    // notification of an alert that belongs to its account's group (group.hpp) into the
    // group and calls send_group instead of send.
    virtual bool groups_by_account() const { return false; }

    // One attempt at showing `group` (already holding `n`'s change): post its card when
    // `group.thread` is empty (the card's "<ts> <channel id>" then comes back in
    // thread_ts), else rewrite it and post `n` in its thread.
    virtual send_result send_group(const group_card& group, const notification& n) {
        (void)group;
        (void)n;
        return {send_result::outcome::permanent, std::nullopt, "this channel does not group", {}};
    }

    // The least time between two messages on this channel (Slack: 1 s); zero for none.
    virtual duration min_interval() const { return duration::zero(); }

    // Channels whose peer forgets an alert unless told again (a webhook with `format:
    // alertmanager`): how often the dispatcher re-posts the alerts firing on this channel;
    // zero (the default) for channels that are told once.
    virtual duration resend_interval() const { return duration::zero(); }

    // One re-post of several alerts in one request: each element is the latest firing or
    // repeat notification of an alert still firing, or (kind `resolved`, `resolved_at`
    // set) of an alert that ended without a notice of its own (`resolve silent`, a rule
    // gone). Asked only when resend_interval() is not zero. Not recorded in the outbox: a
    // failure waits for the next round.
    virtual send_result resend(std::span<const notification> alerts) {
        (void)alerts;
        return {send_result::outcome::permanent, std::nullopt, "this channel does not re-post", {}};
    }
};

}  // namespace redflag::delivery
