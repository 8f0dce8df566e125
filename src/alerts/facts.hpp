// The account's alert facts the rules read as alerts.unacked and alerts.unacked_for
// (rules::alert_facts), computed from its active alerts at an evaluation instant: how
// many firing alerts wait for an answer (not acknowledged, not snoozed) and since when.
//
// Alerts of rules that read alerts.* themselves (rule_definition::reads_alerts) are left
// out, so that an "unresponsive CSM" rule never counts its own alert, nor one of another
// such rule: its value cannot feed itself.
//
// A pure function of plain values: thread-safe, no failure modes.
#pragma once

#include "alerts/alert.hpp"
#include "core/time.hpp"
#include "rules/rule_set.hpp"

#include <span>

namespace redflag::alerts {

// `active`: the account's active alerts (alert_set::active()), whose rule_index refers
// to `rules`. An alert waits from when it began firing or, when it was snoozed and that
// snooze has ended (its `until` passed or wake_if woke it), from that end: a snooze is an
// answer until it runs out.
rules::alert_facts unacked_facts(std::span<const alert> active, std::span<const rules::rule_definition> rules,
                                 timestamp at);

}  // namespace redflag::alerts
