#include "alerts/lifecycle.hpp"

#include <algorithm>

namespace redflag::alerts {

alert* alert_set::find_mutable(std::size_t rule_index) {
    for (auto& a : active_)
        if (a.rule_index == rule_index) return &a;
    return nullptr;
}

const alert* alert_set::find(std::size_t rule_index) const {
    for (const auto& a : active_)
        if (a.rule_index == rule_index) return &a;
    return nullptr;
}

const alert* alert_set::find_id(std::string_view alert_id) const {
    for (const auto& a : active_)
        if (a.id == alert_id) return &a;
    return nullptr;
}

void alert_set::erase(std::size_t rule_index) {
    std::erase_if(active_, [&](const alert& a) { return a.rule_index == rule_index; });
}

void alert_set::emit(event_kind kind, alert_state from, alert_state to, timestamp at, bool notify, const alert& a,
                     std::vector<alert_event>& out) {
    auto& e = out.emplace_back();
    e.kind = kind;
    e.from = from;
    e.to = to;
    e.at = at;
    e.notify = notify;
    e.record = a;
}

void alert_set::start_firing(alert& a, const rules::rule_definition& rule, timestamp now,
                             const repeat_source& repeats) {
    a.transitions.push_back({a.state, alert_state::firing, now});
    a.state = alert_state::firing;
    a.firing_since = now;
    a.cleared_since.reset();
    a.last_notified = now;
    ++a.notifications;
    a.next_repeat.reset();
    if (rule.has_repeat && !a.acknowledged()) {
        auto interval = repeats.repeat_interval(a.rule_index, now);
        if (interval && *interval > duration::zero()) a.next_repeat = now + *interval;
    }
    a.escalate_at.reset();
    if (rule.escalate_after > duration::zero() && !rule.escalate_to.empty() && !a.acknowledged() && !a.escalated)
        a.escalate_at = now + rule.escalate_after;
}

void alert_set::evaluate(std::size_t rule_index, const rules::rule_definition& rule, std::string_view account,
                         bool condition, timestamp now, const repeat_source& repeats,
                         std::vector<alert_event>& out) {
    alert* a = find_mutable(rule_index);
    if (a == nullptr) {
        if (!condition) return;
        alert fresh;
        fresh.id = make_alert_id(rule.name, account, now);
        fresh.rule = rule.name;
        fresh.rule_fingerprint = rule.fingerprint;
        fresh.account = std::string(account);
        fresh.severity = rule.severity;
        fresh.rule_index = static_cast<std::uint32_t>(rule_index);
        fresh.started_at = now;
        if (rule.for_duration <= duration::zero()) {
            start_firing(fresh, rule, now, repeats);
            emit(event_kind::transition, alert_state::inactive, alert_state::firing, now, true, fresh, out);
        } else {
            fresh.state = alert_state::pending;
            fresh.transitions.push_back({alert_state::inactive, alert_state::pending, now});
            emit(event_kind::transition, alert_state::inactive, alert_state::pending, now, false, fresh, out);
        }
        active_.push_back(std::move(fresh));
        return;
    }

    if (a->state == alert_state::pending) {
        if (!condition) {
            // Back to nothing, silently: the event lets storage drop the record.
            a->transitions.push_back({alert_state::pending, alert_state::inactive, now});
            a->state = alert_state::inactive;
            emit(event_kind::transition, alert_state::pending, alert_state::inactive, now, false, *a, out);
            erase(rule_index);
            return;
        }
        if (now - a->started_at >= rule.for_duration) {
            start_firing(*a, rule, now, repeats);
            emit(event_kind::transition, alert_state::pending, alert_state::firing, now, true, *a, out);
        }
        return;
    }

    // Firing.
    if (condition) {
        a->cleared_since.reset();
    } else {
        if (!a->cleared_since) a->cleared_since = now;
        if (now - *a->cleared_since >= rule.keep_firing_for) {
            a->transitions.push_back({alert_state::firing, alert_state::resolved, now});
            a->state = alert_state::resolved;
            a->resolved_at = now;
            a->next_repeat.reset();
            a->escalate_at.reset();
            if (rule.resolve_notify) ++a->notifications;
            emit(event_kind::transition, alert_state::firing, alert_state::resolved, now, rule.resolve_notify, *a,
                 out);
            erase(rule_index);
            return;
        }
    }
    // Still firing (perhaps within keep_firing_for): repeats go on until acked.
    if (a->next_repeat && !a->acknowledged() && *a->next_repeat <= now) {
        if (const auto* held = a->snoozed_at(now)) {
            // Snoozed: the repeat waits for the snooze's end (no event: nothing changed
            // that a restart would lose; it is decided the same way again).
            a->next_repeat = held->until;
            return;
        }
        a->last_notified = now;
        ++a->notifications;
        auto interval = repeats.repeat_interval(rule_index, now);
        if (interval && *interval > duration::zero())
            a->next_repeat = now + *interval;
        else
            a->next_repeat.reset();
        emit(event_kind::repeat_due, alert_state::firing, alert_state::firing, now, true, *a, out);
    }
    // Escalation: once, durable with the record (escalate_at is cleared by it). While
    // inhibited it waits: apply_inhibitions sends it when the inhibition ends.
    if (a->escalate_at && !a->acknowledged() && a->inhibited_by.empty() && *a->escalate_at <= now) {
        a->escalate_at.reset();
        a->escalated = true;
        ++a->notifications;
        emit(event_kind::escalation_due, alert_state::firing, alert_state::firing, now, true, *a, out);
    }
}

void alert_set::apply_inhibitions(std::span<const rules::rule_definition> rules, timestamp now, std::size_t first_new,
                                  std::vector<alert_event>& out) {
    // The first rule named in `rule_index`'s inhibited_by that fires now, if any.
    auto inhibitor = [&](std::uint32_t rule_index) -> const std::string* {
        if (rule_index >= rules.size()) return nullptr;
        for (std::uint32_t i : rules[rule_index].inhibitors) {
            const alert* other = find(i);
            if (other && other->state == alert_state::firing) return &rules[i].name;
        }
        return nullptr;
    };
    const std::size_t end = out.size();
    for (std::size_t i = first_new; i < end; ++i) {
        auto& e = out[i];
        if (!e.notify) continue;
        const std::string* by = inhibitor(e.record.rule_index);
        alert* a = find_mutable(e.record.rule_index);
        if (a && a->id != e.record.id) a = nullptr;
        if (e.kind == event_kind::transition && e.to == alert_state::resolved && e.record.held) {
            e.notify = false;  // its firing was never sent: neither is its recovery
        } else if (by) {
            e.notify = false;
            e.record.inhibited_by = *by;
            if (e.kind == event_kind::transition && e.to == alert_state::firing) e.record.held = true;
            if (a) {
                a->inhibited_by = e.record.inhibited_by;
                a->held = a->held || e.record.held;
                // An escalation that fell due as the inhibition began is not spent: it
                // stays due and goes out when the inhibition ends (if still unacked).
                if (e.kind == event_kind::escalation_due) {
                    a->escalated = false;
                    a->escalate_at = e.at;
                }
            }
        }
    }
    for (auto& a : active_) {
        if (a.state != alert_state::firing) continue;
        const std::string* by = inhibitor(a.rule_index);
        if ((by ? *by : std::string()) == a.inhibited_by) continue;
        a.inhibited_by = by ? *by : std::string();
        if (!by && a.held) {
            a.held = false;
            a.last_notified = now;
            ++a.notifications;
            emit(event_kind::released, alert_state::firing, alert_state::firing, now, true, a, out);
        } else {
            emit(event_kind::inhibition, alert_state::firing, alert_state::firing, now, false, a, out);
        }
        // An escalation that fell due while inhibited goes out now, once.
        if (!by && a.escalate_at && !a.acknowledged() && *a.escalate_at <= now) {
            a.escalate_at.reset();
            a.escalated = true;
            ++a.notifications;
            emit(event_kind::escalation_due, alert_state::firing, alert_state::firing, now, true, a, out);
        }
    }
}

timestamp alert_set::next_deadline(std::span<const rules::rule_definition> rules) const {
    timestamp earliest = timestamp_max;
    for (const auto& a : active_) {
        if (a.rule_index >= rules.size()) continue;
        const auto& rule = rules[a.rule_index];
        if (a.state == alert_state::pending) {
            earliest = std::min(earliest, a.started_at + rule.for_duration);
        } else if (a.state == alert_state::firing) {
            if (a.cleared_since) earliest = std::min(earliest, *a.cleared_since + rule.keep_firing_for);
            if (a.next_repeat && !a.acknowledged()) earliest = std::min(earliest, *a.next_repeat);
            // An inhibited alert's escalation waits for the inhibition's end (an
            // evaluation of the account), not for a timer.
            if (a.escalate_at && !a.acknowledged() && a.inhibited_by.empty())
                earliest = std::min(earliest, *a.escalate_at);
        }
    }
    return earliest;
}

bool alert_set::acknowledge(std::string_view alert_id, acknowledgement ack, std::vector<alert_event>& out) {
    for (auto& a : active_) {
        if (a.id != alert_id) continue;
        timestamp at = ack.at;
        a.acks.push_back(std::move(ack));
        a.next_repeat.reset();
        a.escalate_at.reset();
        emit(event_kind::acknowledged, a.state, a.state, at, false, a, out);
        return true;
    }
    return false;
}

bool alert_set::snooze(std::string_view alert_id, alerts::snooze s, std::vector<alert_event>& out) {
    for (auto& a : active_) {
        if (a.id != alert_id || a.state != alert_state::firing) continue;
        timestamp at = s.at;
        if (a.next_repeat && *a.next_repeat < s.until) a.next_repeat = s.until;
        a.snoozes.push_back(std::move(s));
        emit(event_kind::snoozed, a.state, a.state, at, false, a, out);
        return true;
    }
    return false;
}

bool alert_set::wake(std::string_view alert_id, const rules::rule_definition& rule, timestamp now, std::string why,
                     const repeat_source& repeats, std::vector<alert_event>& out) {
    for (auto& a : active_) {
        if (a.id != alert_id || a.state != alert_state::firing || !a.snoozed_at(now)) continue;
        auto& s = a.snoozes.back();
        s.woke_at = now;
        s.woke_why = std::move(why);
        a.last_notified = now;
        ++a.notifications;
        a.next_repeat.reset();
        if (rule.has_repeat && !a.acknowledged()) {
            auto interval = repeats.repeat_interval(a.rule_index, now);
            if (interval && *interval > duration::zero()) a.next_repeat = now + *interval;
        }
        emit(event_kind::woke, a.state, a.state, now, true, a, out);
        return true;
    }
    return false;
}

void alert_set::resolve_silently(std::size_t rule_index, timestamp at, std::vector<alert_event>& out) {
    alert* a = find_mutable(rule_index);
    if (a == nullptr) return;
    alert_state from = a->state;
    alert_state to = from == alert_state::pending ? alert_state::inactive : alert_state::resolved;
    a->transitions.push_back({from, to, at});
    a->state = to;
    if (to == alert_state::resolved) a->resolved_at = at;
    a->next_repeat.reset();
    a->escalate_at.reset();
    emit(event_kind::transition, from, to, at, false, *a, out);
    erase(rule_index);
}

}  // namespace redflag::alerts
