#include "alerts/facts.hpp"

#include <algorithm>

namespace redflag::alerts {

rules::alert_facts unacked_facts(std::span<const alert> active, std::span<const rules::rule_definition> rules,
                                 timestamp at) {
    rules::alert_facts facts;
    for (const auto& a : active) {
        if (a.state != alert_state::firing || a.acknowledged()) continue;
        if (a.rule_index >= rules.size() || rules[a.rule_index].reads_alerts) continue;
        if (const auto* s = a.snoozed_at(at)) {
            facts.next_change = std::min(facts.next_change, s->until);  // it waits again then
            continue;
        }
        timestamp since = a.firing_since.value_or(a.started_at);
        if (!a.snoozes.empty()) {
            const auto& last = a.snoozes.back();
            since = std::max(since, last.woke_at.value_or(last.until));
        }
        ++facts.unacked;
        if (!facts.unacked_since || since < *facts.unacked_since) facts.unacked_since = since;
    }
    return facts;
}

}  // namespace redflag::alerts
