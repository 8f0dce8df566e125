// One account's group card on a channel with `group_by: [account]`: the account's red
// flags that are live on the channel (firing, acknowledged or snoozed, not yet recovered),
// and the Slack message that shows them all ("Acme: 3 red flags"), rewritten in place as
// flags join or leave.
//
// The dispatcher worker of the channel owns the groups: it folds each notification it
// delivers into its account's group (apply()) and hands the group to the sender, which
// posts the card once and rewrites it after. The group is stored in column `meta` under
// group_key() with the outcome of the notification that changed it, so the card's `ts`
// and its members survive kill -9 and a restart: a new flag after a restart rewrites the
// same card. A group whose last flag recovered is deleted: the card shows it resolved and
// the account's next flag posts a new card.
//
// Built only from notifications (delivery sends what it is handed): an alert that ends
// without a notice (`resolve silent`, a rule removed by reload) leaves the group with its
// `resolved_silently` card rewrite (cards.hpp), or, failing that, when the worker next
// asks alert_status (alert_view.hpp) while rewriting that account's card.
//
// Plain values: not thread-safe, no failure modes; parse_group reports malformed input.
#pragma once

#include "core/time.hpp"
#include "delivery/notification.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace redflag::delivery {

struct group_member {
    enum class state : std::uint8_t { firing, acknowledged, snoozed, silenced };
    std::string alert_id;
    std::string rule;
    std::string severity;
    std::string title;
    std::string message;
    timestamp firing_since{};
    state is = state::firing;
    std::string by;                    // acknowledged, snoozed, silenced: who
    std::optional<timestamp> until;    // snoozed, silenced: until when

    friend bool operator==(const group_member&, const group_member&) = default;
};

struct group_card {
    // The card's Slack message as the sender returned it ("<ts> <channel id>"); empty
    // until it is posted.
    std::string thread;
    std::string account;
    std::string account_name;
    std::string account_url;
    std::string csm;
    std::string csm_email;
    std::vector<group_member> members;  // in the order they joined

    // Recovered: it had a card and has no flag left.
    bool resolved() const { return members.empty(); }
    const group_member* find(std::string_view alert_id) const;

    friend bool operator==(const group_card&, const group_card&) = default;
};

// Is `n`'s alert part of `g`, or does `n` make it join (a firing or repeat notice)?
bool belongs(const group_card& g, const notification& n);

// Folds `n` into `g`: firing and repeat add or refresh the member (and the account's
// profile fields), acknowledged, snoozed and silence_began change its state,
// silence_ended turns a silenced member firing again, resolved and resolved_silently
// remove it.
void apply(group_card& g, const notification& n);

// Drops the member `alert_id` (an alert that ended without a notice). False if absent.
bool remove_member(group_card& g, std::string_view alert_id);

// Column `meta`: the group of `account` on `channel`.
std::string group_key(std::string_view channel, std::string_view account);

std::string serialize_group(const group_card& g);
std::optional<group_card> parse_group(std::string_view value, std::string* error = nullptr);

}  // namespace redflag::delivery
