// The Slack cards an alert has, and the records that rewrite them when the alert changes
// without a notice of its own: a silence starts or stops covering it, or it resolves
// silently (notification.hpp, `silence_began`, `silence_ended`, `resolved_silently`).
//
// Delivery owns what was posted where (the outbox, the thread and group keys of column
// `meta`), so it answers "which cards show this alert?" from them: a card exists on a
// channel when the alert's latest firing or repeat record there was sent and the channel
// keeps a Slack thread for the alert (a single card) or the alert in the account's group
// card (`group_by: [account]`), and no recovery was sent since. A card rewrite is a copy
// of the notification that posted or last refreshed the card, of the new kind: it goes
// through the outbox like any notification, written by the caller in the same batch as
// the change (the engine's silent resolve, alerts/silences' silence), so it survives a
// kill -9 between the change and the rewrite.
//
// Reads the store; thread-safe; no failure modes beyond the store's status.
#pragma once

#include "core/time.hpp"
#include "delivery/notification.hpp"
#include "delivery/outbox.hpp"
#include "store/store.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace redflag::delivery {

struct posted_card {
    std::string channel;
    notification shown;  // the firing or repeat notification the card shows
    bool grouped = false;
};

// The cards showing alert `alert_id` now (none for an alert that never reached a Slack
// bot-token channel). Unreadable records are skipped.
store::result<std::vector<posted_card>> posted_cards(const store::store& store, std::string_view alert_id);

// A pending record rewriting `card` as `kind`, idempotency key `key`, at `at` (its place
// in the alert's order), made at `created_at` (wall clock; its max_age counts from then).
outbox_entry card_rewrite(const posted_card& card, notice_kind kind, std::string key, timestamp at,
                          timestamp created_at);

}  // namespace redflag::delivery
