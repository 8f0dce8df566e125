// One alert: a (rule, account) pair from the first evaluation that saw the rule's
// condition true until it resolves (../shared/spec/alerts.md, "Identity and lifecycle").
// The record keeps everything the API shows and the engine needs to resume after a
// restart: its state, the instants that drive `for`, `keep_firing_for` and `repeat`,
// every transition and every acknowledgement.
//
// Alert ids: 32 lower-case hex digits, the first 128 bits of SHA-256 over
// "rule \0 account \0 start-millis" (make_alert_id). So an id is stable (the same events
// and rules give the same ids live, in replay and in tests), URL-safe, needs no counter
// to persist, and is unique: one (rule, account) pair starts at most one alert per
// instant. (The one exception, an alert that starts, resolves and starts again within a
// single millisecond, reuses the id; the record is then overwritten.)
//
// Plain values: not thread-safe, no failure modes.
#pragma once

#include "core/time.hpp"
#include "rules/rule_set.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace redflag::alerts {

// `inactive` is "no alert": the state before an alert starts and after a pending alert
// is cancelled. Resolved alerts are finished: the next true condition starts a new one.
enum class alert_state : std::uint8_t { inactive, pending, firing, resolved };
inline constexpr std::string_view alert_state_names[] = {"inactive", "pending", "firing", "resolved"};

constexpr std::string_view name_of(alert_state s) { return alert_state_names[static_cast<std::size_t>(s)]; }
std::optional<alert_state> alert_state_from(std::string_view name);

std::string_view name_of(rules::alert_severity s);
std::optional<rules::alert_severity> severity_from(std::string_view name);

struct transition {
    alert_state from = alert_state::inactive;
    alert_state to = alert_state::inactive;
    timestamp at{};
    friend bool operator==(const transition&, const transition&) = default;
};

struct acknowledgement {
    std::string by;
    std::string comment;
    timestamp at{};
    // The idempotency key of the request that made it, when it came with one (a Slack
    // click: "slack:<user id>:<action_ts>"), so a retried delivery acts once. May be empty.
    std::string key{};
    friend bool operator==(const acknowledgement&, const acknowledgement&) = default;
};

// A snooze: the alert's notifications (its repeats) are held until `until`. `wake_if`,
// when not empty, is the rule-language expression that ends it early (kept as text; the
// engine compiles it). `woke_at`/`woke_why` are set when it ended early.
struct snooze {
    timestamp until{};
    std::string by;
    std::string comment;
    std::string wake_if;
    timestamp at{};
    std::string key;  // as acknowledgement::key
    std::optional<timestamp> woke_at;
    std::string woke_why;
    friend bool operator==(const snooze&, const snooze&) = default;
};

struct alert {
    std::string id;
    std::string rule;                  // the rule's name
    std::uint64_t rule_fingerprint = 0;  // rule_definition::fingerprint when the alert started
    std::string account;
    rules::alert_severity severity = rules::alert_severity::medium;
    alert_state state = alert_state::inactive;

    timestamp started_at{};                  // the first evaluation that saw the condition true
    std::optional<timestamp> firing_since;   // when it started firing
    std::optional<timestamp> cleared_since;  // firing: the first evaluation that saw it false again
    std::optional<timestamp> resolved_at;

    std::vector<transition> transitions;     // oldest first
    std::vector<acknowledgement> acks;       // oldest first; any ack stops repeats
    std::vector<snooze> snoozes;             // oldest first; the last one holds repeats while in force

    // Repeat bookkeeping for delivery: the instant the next repeat notice is due (unset
    // when the rule has no `repeat`, after an ack, and once resolved), the last instant a
    // notice (firing or repeat) was due, and how many notices were due so far (firing,
    // repeats, recovery): the sequence number of idempotency keys (alert id + sequence).
    std::optional<timestamp> next_repeat;
    std::optional<timestamp> last_notified;
    std::uint32_t notifications = 0;

    // Inhibition (`inhibited_by`): the name of the rule whose firing alert for the same
    // account holds this alert's notifications back, empty when none; and whether its
    // firing notice was held and not sent yet (it goes out when the inhibition ends while
    // the alert still fires, like Alertmanager: it was never sent).
    std::string inhibited_by;
    bool held = false;
    // Escalation (`escalate after D to CHANNEL`): the instant an unacknowledged firing
    // alert notifies the escalation channel (unset without escalation, after an ack, once
    // escalated and once resolved), and whether it did.
    std::optional<timestamp> escalate_at;
    bool escalated = false;

    // The rule's index in the engine's current rule set; runtime only, not persisted.
    std::uint32_t rule_index = 0;

    bool acknowledged() const { return !acks.empty(); }
    // The snooze in force at `now` (the last one, before its `until`, not woken), or null.
    const snooze* snoozed_at(timestamp now) const {
        if (snoozes.empty()) return nullptr;
        const auto& s = snoozes.back();
        return (s.until > now && !s.woke_at) ? &s : nullptr;
    }
    // Whether a request with idempotency key `key` (not empty) already acted on this alert.
    bool acted_on(std::string_view key) const {
        if (key.empty()) return false;
        for (const auto& k : acks)
            if (k.key == key) return true;
        for (const auto& s : snoozes)
            if (s.key == key) return true;
        return false;
    }
    bool active() const { return state == alert_state::pending || state == alert_state::firing; }

    friend bool operator==(const alert&, const alert&) = default;
};

// The id of the alert of (rule, account) that started at `started_at`; see above.
std::string make_alert_id(std::string_view rule, std::string_view account, timestamp started_at);

}  // namespace redflag::alerts
