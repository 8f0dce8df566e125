#include "alerts/notify.hpp"

#include <algorithm>

#include "alerts/alert.hpp"

#include <spdlog/spdlog.h>

namespace redflag::alerts {

notification_builder::result notification_builder::make(std::string account_url, std::vector<channel_outline> channels,
                                                         std::shared_ptr<const rules::rule_set> rules) {
    result out;
    auto b = std::make_shared<notification_builder>();
    b->rules_ = rules;
    auto compile = [&](const std::string& text, const std::string& origin) -> std::unique_ptr<rules::compiled_template> {
        auto compiled = rules::compile_template(text, origin, rules.get());
        for (const auto& d : compiled.problems)
            if (d.level == rules::severity::error) out.errors.push_back(origin + ": " + d.message);
        return std::move(compiled.compiled);
    };
    if (!account_url.empty()) b->account_url_ = compile(account_url, "ui.account_url");
    for (auto& c : channels) {
        channel_entry entry;
        if (c.type == "email" && !c.to.empty()) entry.to = compile(c.to, "channels." + c.name + ".to");
        entry.outline = std::move(c);
        b->routes_ = b->routes_ || (!entry.outline.match.empty() && !entry.outline.off);
        auto name = entry.outline.name;
        b->channels_.emplace(std::move(name), std::move(entry));
    }
    if (out.errors.empty()) out.builder = std::move(b);
    return out;
}

bool notification_builder::build(const alerts::alert_event& e, const rules::rule_definition& rule,
                                 const model::account_state* account, timestamp created_at, notification& base,
                                 std::vector<delivery_target>& targets) const {
    using alerts::alert_state;
    using alerts::event_kind;
    targets.clear();
    std::optional<notice_kind> kind;
    if (e.kind == event_kind::transition && e.notify && e.to == alert_state::firing) kind = notice_kind::firing;
    else if (e.kind == event_kind::repeat_due && e.notify) kind = notice_kind::repeat;
    else if (e.kind == event_kind::woke && e.notify) kind = notice_kind::repeat;  // the message says why
    else if (e.kind == event_kind::transition && e.notify && e.to == alert_state::resolved) kind = notice_kind::resolved;
    else if (e.kind == event_kind::acknowledged && !e.record.acks.empty()) kind = notice_kind::acknowledged;
    // A firing notice held by an inhibition goes out when it ends: the firing notice.
    else if (e.kind == event_kind::released && e.notify) kind = notice_kind::firing;
    else if (e.kind == event_kind::snoozed && !e.record.snoozes.empty()) kind = notice_kind::snoozed;
    // An escalation is a firing notice to the escalation channel alone, titled as such.
    const bool escalation = e.kind == event_kind::escalation_due && e.notify && !rule.escalate_to.empty();
    if (escalation) kind = notice_kind::firing;
    const std::vector<std::string> escalation_channel = escalation ? std::vector<std::string>{rule.escalate_to}
                                                                   : std::vector<std::string>{};
    const auto& channels = escalation ? escalation_channel : rule.notify;
    // Routed channels (`match`) take every notifying event of the rules, but not an
    // escalation, which goes to the rule's escalation channel alone.
    const bool routed = routes_ && !escalation;
    if (!kind || (channels.empty() && !routed)) return false;

    const auto& a = e.record;
    base.kind = *kind;
    base.key = a.id;
    base.key += '-';
    base.ack_by.clear();
    base.ack_comment.clear();
    base.snoozed_until.reset();
    if (*kind == notice_kind::acknowledged) {
        base.key += "ack-" + std::to_string(a.acks.size());
        base.ack_by = a.acks.back().by;
        base.ack_comment = a.acks.back().comment;
    } else if (*kind == notice_kind::snoozed) {
        base.key += "snooze-" + std::to_string(a.snoozes.size());
        base.ack_by = a.snoozes.back().by;
        base.ack_comment = a.snoozes.back().comment;
        base.snoozed_until = a.snoozes.back().until;
    } else {
        base.key += std::to_string(a.notifications);
        // A repeat after a snooze (it ran out or woke): when the snooze ended, so a card
        // that shows the snooze is rewritten as firing again.
        if (*kind == notice_kind::repeat && !a.snoozes.empty())
            base.snoozed_until = std::min(a.snoozes.back().until, a.snoozes.back().woke_at.value_or(timestamp_max));
    }
    base.channel.clear();
    base.recipient.clear();
    base.alert_id = a.id;
    base.rule = a.rule;
    base.severity = alerts::name_of(a.severity);
    base.title = rule.title.empty() ? rule.name : rule.title;
    if (escalation) base.title = "Escalated: " + base.title;
    base.message = e.message;
    base.labels = rule.labels;
    base.at = e.at;
    base.firing_since = a.firing_since.value_or(e.at);
    base.resolved_at = a.resolved_at;
    base.account = a.account;
    base.account_name = a.account;
    base.csm.clear();
    base.csm_email.clear();
    base.segment.clear();
    base.account_url.clear();
    if (account) {
        auto text = [&](model::profile_field f) -> const std::string* {
            return std::get_if<std::string>(&account->get(f));
        };
        if (auto* name = text(model::profile_field::name); name && !name->empty()) base.account_name = *name;
        if (auto* csm = text(model::profile_field::csm)) base.csm = *csm;
        if (auto* email = text(model::profile_field::csm_email)) base.csm_email = *email;
        if (auto* segment = text(model::profile_field::segment)) base.segment = *segment;
        if (account_url_) base.account_url = account_url_->render(*account, e.at);
    }
    base.created_at = created_at;

    auto add_target = [&](const std::string& channel, const channel_entry& c) {
        if (c.outline.off) return;
        if ((*kind == notice_kind::acknowledged || *kind == notice_kind::snoozed) && c.outline.type != "slack") return;
        if (std::any_of(targets.begin(), targets.end(), [&](const delivery_target& t) { return t.channel == channel; }))
            return;
        auto& t = targets.emplace_back();
        t.channel = channel;
        if (c.to && account) t.recipient = c.to->render(*account, e.at);
        else if (c.outline.type == "email") t.recipient = c.outline.to;  // a literal address, or no account state
    };
    for (const auto& channel : channels) {
        auto it = channels_.find(channel);
        if (it == channels_.end()) {
            // The checker refuses rules naming unknown channels; a channel removed by a
            // reload before the rules were swapped is the one way here.
            spdlog::warn("alert {}: rule {} notifies channel {}, which is not configured; skipped", a.id, a.rule,
                         channel);
            continue;
        }
        add_target(channel, it->second);
    }
    if (routed)
        for (const auto& [name, c] : channels_)
            if (!c.outline.match.empty() &&
                std::all_of(c.outline.match.begin(), c.outline.match.end(), [&](const matcher& m) { return m.matches(base); }))
                add_target(name, c);
    return !targets.empty();
}

void notification_builder::build(const alerts::alert_event& e, const rules::rule_definition& rule,
                                 const model::account_state* account, timestamp created_at,
                                 std::vector<notification>& out) const {
    notification base;
    std::vector<delivery_target> targets;
    if (!build(e, rule, account, created_at, base, targets)) return;
    for (auto& t : targets) {
        auto& n = out.emplace_back(base);
        n.channel = std::move(t.channel);
        n.recipient = std::move(t.recipient);
    }
}

}  // namespace redflag::alerts
