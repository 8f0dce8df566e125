// What delivery hands to a channel: one notification of one alert, self-contained, so a
// channel needs no access to the engine, the account's state or the rule set
// (../shared/spec/alerts.md, "Channels" and "Delivery guarantees").
//
// The engine builds a notification on the account's shard, where the account's profile
// and the rule are at hand, and writes it to the outbox (RocksDB column `outbox`) in the
// same write batch as the alert transition that caused it. The dispatcher reads it back
// and gives it to its channel's sender (channel.hpp) until the sender reports `sent`, a
// permanent failure, or `delivery.max_age` has passed.
//
// Plain values: not thread-safe, no failure modes.
#pragma once

#include "core/time.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace redflag::delivery {

// Why the notification exists. `firing`: the alert started firing; `repeat`: its
// `repeat` interval passed while firing and unacknowledged; `resolved`: the recovery
// notice of a rule with `resolve notify`; `acknowledged`: someone acked it (sent as a
// follow-up only by channels that thread, i.e. `slack`; the others skip it as `sent`).
// `snoozed`: someone snoozed it (like `acknowledged`, sent only by channels that thread).
// The last three only rewrite a Slack card that was posted (delivery/cards.hpp; every
// other channel skips them as `sent`), and no silence holds them back:
// `silence_began`: a silence (ack_by, ack_comment, snoozed_until: its by, reason and
// until) started to cover the firing alert; `silence_ended`: it ended (ran out or was
// expired) while the alert still fires; `resolved_silently`: the alert resolved without a
// notice (`resolve silent`, a rule removed or changed by a reload, a recovery held by an
// inhibition).
enum class notice_kind : std::uint8_t {
    firing, repeat, resolved, acknowledged, snoozed, silence_began, silence_ended, resolved_silently
};
inline constexpr std::string_view notice_kind_names[] = {"firing",        "repeat",        "resolved",
                                                         "acknowledged",  "snoozed",       "silence_began",
                                                         "silence_ended", "resolved_silently"};
constexpr bool is_card_rewrite(notice_kind k) { return k >= notice_kind::silence_began; }
constexpr std::string_view name_of(notice_kind k) { return notice_kind_names[static_cast<std::size_t>(k)]; }

struct notification {
    // Identity. `key` is the idempotency key receivers see: "<alert id>-<sequence>", the
    // sequence being the alert's notification count (alerts::alert::notifications) at the
    // time; acknowledgements use "<alert id>-ack-<n>" with n the ack's index.
    std::string key;
    std::string channel;  // the channel's name in the config
    notice_kind kind = notice_kind::firing;

    // The alert.
    std::string alert_id;
    std::string rule;
    std::string severity;  // "low" | "medium" | "high" | "critical"
    std::string title;     // the rule's title; channels prefix "Recovered: " for `resolved`
    std::string message;   // the rule's rendered message at `at` (may be empty)
    std::vector<std::pair<std::string, std::string>> labels;  // the rule's labels, in order
    timestamp at{};                       // the instant of the transition, repeat or ack (event time)
    timestamp firing_since{};             // when the alert started firing
    std::optional<timestamp> resolved_at; // set for `resolved`

    // The account, as its profile was when the notification was made.
    std::string account;       // id
    std::string account_name;  // profile `name`, or the id when unset
    std::string csm;
    std::string csm_email;
    std::string segment;       // profile `segment` (silence matchers)
    std::string account_url;   // `ui.account_url` rendered for this account; empty when unset

    // For `acknowledged`, `snoozed` and `silence_began`: who and why.
    std::string ack_by;
    std::string ack_comment;
    // For `snoozed`: until when its notifications are held. For `repeat`: set when the
    // alert was snoozed before, to when that snooze ended (ran out or woke). For
    // `silence_began` and `silence_ended`: the silence's `until` when the record was made.
    std::optional<timestamp> snoozed_until;

    // Email: the channel's `to` template rendered for this account; empty for other types.
    std::string recipient;

    // Bookkeeping of the outbox (wall clock), for `redflag_notification_delay_seconds`.
    timestamp created_at{};  // when the engine wrote it to the outbox

    friend bool operator==(const notification&, const notification&) = default;
};

}  // namespace redflag::delivery
