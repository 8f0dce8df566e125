// Turns alert lifecycle events into notifications, one per channel the rule names in
// `notify` and per channel whose `match` matchers all match the alert, on the account's shard, where the rule, the account's profile and its state
// (for the `ui.account_url` and email `to` templates) are at hand
// (../shared/spec/alerts.md, "Identity and lifecycle", "Channels").
//
//   transition → firing (notify)      kind firing,       key "<alert id>-<sequence>"
//   repeat due (notify)               kind repeat,       key "<alert id>-<sequence>"
//   firing → resolved (notify)        kind resolved,     key "<alert id>-<sequence>"
//   released (inhibition ended)       kind firing,       key "<alert id>-<sequence>"
//   escalation due                    kind firing,       key "<alert id>-<sequence>",
//                                     to the rule's `escalate to` channel only, the
//                                     title prefixed "Escalated: "
//   woke (its snooze's wake_if held)  kind repeat,       key "<alert id>-<sequence>"
//   (a repeat of an alert that was snoozed carries `snoozed_until`: when its last snooze
//   ended, so Slack rewrites a card that still shows it snoozed)
//   acknowledged                      kind acknowledged, key "<alert id>-ack-<n>",
//                                     only for channels that thread (type `slack`): a
//                                     Slack thread shows the ack; webhooks, incoming
//                                     webhooks and email have no place for one
// where <sequence> is alert::notifications after the change and <n> the ack's index
// (1-based). Everything else (pending, cancelled, silent resolves) makes nothing.
//
// Immutable once built: safe to share between shards. build() does not throw.
#pragma once

#include "alerts/lifecycle.hpp"
#include "alerts/silences.hpp"
#include "delivery/notification.hpp"
#include "delivery/outbox.hpp"
#include "model/account_state.hpp"
#include "rules/rule_set.hpp"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace redflag::alerts {

using delivery::delivery_target;
using delivery::notice_kind;
using delivery::notification;

// What the builder needs to know of a configured channel.
struct channel_outline {
    std::string name;
    std::string type;  // slack | slack_webhook | email | webhook
    std::string to;    // email: the recipient template, e.g. "{account.csm_email}"
    // The channel's `match`: it also receives every alert these all match (a route, as in
    // Alertmanager), besides the rules that name it. Empty: only those rules.
    std::vector<matcher> match{};
    // A channel that cannot send yet (a Slack channel without a token): nothing is made
    // for it, so nothing is sent or counted dead until it is set up.
    bool off = false;
};

class notification_builder {
public:
    struct result {
        std::shared_ptr<const notification_builder> builder;  // null when a template has errors
        std::vector<std::string> errors;                      // "ui.account_url: ..."
    };
    // Compiles `account_url` (may be empty) and each email channel's `to` against the
    // names of `rules` (lets, scores, classes; may be null). Start-up and reload time.
    static result make(std::string account_url, std::vector<channel_outline> channels,
                       std::shared_ptr<const rules::rule_set> rules);

    // The notification of `e` (a lifecycle event of a rule defined by `rule`), built once
    // into `out` (its `channel` and `recipient` left empty; `out` may be reused between
    // calls, so its strings keep their capacity), and the channels it goes to (with their
    // rendered recipients) in `targets`, which is cleared first. False, with `targets`
    // empty, when `e` notifies nothing. `account` is the account's state (null if
    // unknown: the profile fields are then empty and the name is the id); `created_at`
    // the wall clock now. The engine's path: put_records() writes them.
    bool build(const alerts::alert_event& e, const rules::rule_definition& rule, const model::account_state* account,
               timestamp created_at, notification& out, std::vector<delivery_target>& targets) const;

    // The same, as one whole notification per channel appended to `out`.
    void build(const alerts::alert_event& e, const rules::rule_definition& rule, const model::account_state* account,
               timestamp created_at, std::vector<notification>& out) const;

    bool has_channel(const std::string& name) const { return channels_.count(name) != 0; }

private:
    struct channel_entry {
        channel_outline outline;
        std::unique_ptr<rules::compiled_template> to;
    };
    std::shared_ptr<const rules::rule_set> rules_;  // the names the templates read
    std::unique_ptr<rules::compiled_template> account_url_;
    std::map<std::string, channel_entry> channels_;
    bool routes_ = false;  // a channel has a `match`
};

}  // namespace redflag::alerts
