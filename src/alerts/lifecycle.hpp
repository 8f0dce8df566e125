// The alert lifecycle of one account: for each rule, nothing → pending → firing →
// resolved, driven by the rule's condition at successive evaluation instants
// (../shared/spec/alerts.md and rules-language.md, "Evaluation"):
//  - `for` and `keep_firing_for` have elapsed when the time since the first evaluation
//    that saw the change is >= the duration;
//  - `for 0` goes straight to firing and records no pending;
//  - a pending alert whose condition turns false goes back to nothing, silently;
//  - firing → resolved once the condition has been false for `keep_firing_for`
//    (at once with the default 0); true again before that keeps it firing;
//  - true again after resolving starts a new alert, with a new id;
//  - while firing and not acknowledged, a "repeat due" event every `repeat`;
//  - while firing and not acknowledged `escalate after` long, one "escalation due"; one
//    that falls due while the alert is inhibited waits, and goes out when the inhibition
//    ends if the alert still fires unacknowledged (Alertmanager: inhibited means not
//    notified, not forgotten);
//  - while a rule named in `inhibited_by` fires for the account, the alert's
//    notifications are held (apply_inhibitions, after every rule is evaluated).
// Every change comes out as an alert_event, so the caller can store it with the event
// that caused it and hand the notifying ones to delivery.
//
// alert_set keeps only the account's active (pending or firing) alerts: a resolved or
// cancelled alert leaves the set in the event that finished it. Single-threaded (the
// account's shard); no failure modes beyond allocation.
#pragma once

#include "alerts/alert.hpp"
#include "rules/rule_set.hpp"

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace redflag::alerts {

enum class event_kind : std::uint8_t {
    transition,    // from → to
    repeat_due,    // a firing, unacknowledged alert's `repeat` interval has passed
    acknowledged,  // someone acked it (record.acks.back())
    escalation_due,  // a firing alert nobody acked within `escalate after`: notify `escalate to`
    inhibition,      // the rule inhibiting it changed (record.inhibited_by; empty: none)
    released,        // its inhibition ended while it fires: its held firing notice goes out
    snoozed,         // someone snoozed it (record.snoozes.back())
    woke,            // its snooze's wake_if turned true: notifies once (record.snoozes.back().woke_why)
};
inline constexpr std::string_view event_kind_names[] = {"transition", "repeat_due", "acknowledged", "escalation_due",
                                                        "inhibition", "released",   "snoozed",      "woke"};

struct alert_event {
    event_kind kind = event_kind::transition;
    alert_state from = alert_state::inactive;
    alert_state to = alert_state::inactive;
    timestamp at{};
    // True when delivery should send something: a start of firing, a due repeat, a
    // recovery of a rule with `resolve notify`. False for pending, a cancelled pending,
    // `resolve silent`, the silent resolve of a rule that is gone, and acks.
    bool notify = false;
    alert record;         // the alert after the change (rule_index, id, severity, history)
    std::string message;  // the rule's message at `at`, when the engine renders it
};

// Gives a rule's `repeat` interval for the account being evaluated, at an instant;
// nullopt when the rule has none or it evaluates to null. Asked only when an alert
// starts firing or a repeat is due.
class repeat_source {
public:
    virtual std::optional<duration> repeat_interval(std::size_t rule_index, timestamp now) const = 0;

protected:
    ~repeat_source() = default;
};

class alert_set {
public:
    // Runs the lifecycle of rule `rule_index` (defined by `rule`) for `account` given the
    // condition's value at `now`. Instants must not go backwards for one rule. Appends
    // what changed to `out`.
    void evaluate(std::size_t rule_index, const rules::rule_definition& rule, std::string_view account,
                  bool condition, timestamp now, const repeat_source& repeats, std::vector<alert_event>& out);

    // The earliest instant at which some alert changes with no change of its condition:
    // a pending alert's `for` deadline, a clearing firing alert's `keep_firing_for`
    // deadline, a due repeat. timestamp_max when none. `rules` is the rule set the
    // alerts' rule_index refers to.
    timestamp next_deadline(std::span<const rules::rule_definition> rules) const;

    // Acknowledges the active alert `alert_id`: records the ack and stops its repeats.
    // Appends an `acknowledged` event. False when no active alert has that id.
    bool acknowledge(std::string_view alert_id, acknowledgement ack, std::vector<alert_event>& out);

    // Inhibition, once every rule of the account was evaluated at `now`: the events from
    // `first_new` on that would notify while a rule named in their rule's `inhibited_by`
    // fires for the account are held (notify false; a held firing notice is remembered in
    // alert::held, and the recovery of an alert whose firing was never sent is dropped);
    // a firing alert whose inhibitor changed gets an `inhibition` event (stored, shown in
    // the API), and one whose inhibition ended with its firing notice held a `released`
    // event that notifies.
    void apply_inhibitions(std::span<const rules::rule_definition> rules, timestamp now, std::size_t first_new,
                           std::vector<alert_event>& out);

    // Snoozes the firing alert `alert_id`: its repeats are held until `s.until` (a repeat
    // due meanwhile goes out at `until`, unless acked). Appends a `snoozed` event. False
    // when no firing alert has that id.
    bool snooze(std::string_view alert_id, alerts::snooze s, std::vector<alert_event>& out);

    // Ends the snooze of the firing alert `alert_id` early because `why` (its wake_if
    // turned true): notifies once (a `woke` event, notify true, counted like a repeat)
    // and its repeats resume from `now` unless it was acked. False when there is no
    // such alert or it is not snoozed at `now`.
    bool wake(std::string_view alert_id, const rules::rule_definition& rule, timestamp now, std::string why,
              const repeat_source& repeats, std::vector<alert_event>& out);

    // Ends every active alert silently at `at` (pending → inactive, firing → resolved,
    // notify false): for rules that are gone after a reload.
    void resolve_silently(std::size_t rule_index, timestamp at, std::vector<alert_event>& out);

    const alert* find(std::size_t rule_index) const;
    const alert* find_id(std::string_view alert_id) const;
    std::span<const alert> active() const { return active_; }
    std::span<alert> active_mutable() { return active_; }
    bool empty() const { return active_.empty(); }
    bool has(std::size_t rule_index) const { return find(rule_index) != nullptr; }

    // Puts back an active alert read from storage (its rule_index set by the caller).
    void restore(alert a) { active_.push_back(std::move(a)); }
    // Drops the active alert of `rule_index` without any event (reload bookkeeping).
    void erase(std::size_t rule_index);

private:
    alert* find_mutable(std::size_t rule_index);
    void start_firing(alert& a, const rules::rule_definition& rule, timestamp now, const repeat_source& repeats);
    void emit(event_kind kind, alert_state from, alert_state to, timestamp at, bool notify, const alert& a,
              std::vector<alert_event>& out);

    std::vector<alert> active_;  // few per account: looked up by a linear scan
};

}  // namespace redflag::alerts
