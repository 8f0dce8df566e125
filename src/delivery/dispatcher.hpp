// The dispatcher: delivers the outbox (outbox.hpp) through each channel's sender
// (channel.hpp), at least once, with retries, pacing, silences and digests
// (../shared/spec/alerts.md, "Delivery guarantees").
//
// Threads. One worker thread per channel, so a slow or dead channel (a sender blocked in
// a 10 s timeout, a peer answering 5xx for hours) holds back nothing but itself: not
// ingest, not evaluation (shards only append to a worker's inbox and wake it), not the
// other channels. A worker keeps in memory only a small ref per unfinished entry (its
// storage key, creation time, next attempt and kind: a few hundred bytes), ordered by
// their next attempt, and reads the record from RocksDB when it attempts it, so a large
// backlog does not hold every notification in memory. The outbox in RocksDB is the truth
// it starts from and writes every outcome back to (its own writes, never a shard's batch).
//
// Order. Within a channel, an alert's notifications go out in the order of their
// transitions: a recovery is not sent while the alert's firing notice is still being
// retried (Slack would post it outside the thread). Different alerts do not wait for
// each other.
//
// One attempt, as a worker makes it, when an entry is due:
//  1. older than delivery.max_age (from its creation, or from its digest's time) → dead;
//  2. a matching active silence (silence_check, alert_view.hpp) → silenced, final, never sent
//     (a held recovery still rewrites the alert's single Slack card, one best-effort try);
//     a card rewrite (cards.hpp) is never silenced, but is settled as sent without sending
//     when it is moot: a silence's begin or end of an alert that is over, an end whose
//     silence was expired at another time or that another silence still covers;
//  3. wait for the channel's min_interval since its last send (Slack: 1 s);
//  4. send; `sent` → final (thread ts kept for Slack follow-ups, delay observed);
//     `permanent` (a 4xx other than 408/429, Slack's invalid_auth...) → dead;
//     `retry` → next attempt after the peer's Retry-After if it gave one, else
//     first_backoff doubling per failure up to max_backoff, with ±jitter; never later
//     than the deadline, where it turns dead.
// Each outcome is written to the outbox before the entry leaves memory, so a kill -9
// loses nothing not yet sent; an entry sent but not yet marked is sent again after a
// restart (at least once; receivers dedupe by the idempotency key).
//
// Digests. A channel with a digest_schedule sends no single messages: its entries are due
// at the channel's next digest instant; then the due ones are grouped by recipient and
// each group goes in one send_digest; a failed group is retried as a group.
//
// Re-posting (a sender with a resend_interval(): a webhook with `format: alertmanager`).
// Alertmanager forgets an alert whose endsAt passes, so the worker keeps the alerts it
// has posted as firing (the latest firing or repeat notification sent, per alert) and
// every resend interval posts them all again, in arrays of at most resend_batch alerts
// per request. An alert leaves the set when its `resolved` notification is final, or
// when a round finds it no longer firing (alert_status, which app/ wires to the alert
// records of alerts/: a `resolve silent` rule, a rule removed by a reload, an expired
// record): that round posts it with endsAt = its
// resolved time. So a silent resolve reaches Alertmanager within one resend interval,
// without an outbox record for a notice nobody reads, and without the engine having to
// know which channels an alert of a removed rule was posted to. Re-posts are not recorded
// in the outbox; a failed one waits for the next round. At start the set is rebuilt from
// the outbox (per alert: a firing/repeat record sent and no `resolved` record) and
// posted at once.
//
// Grouping (a sender that groups_by_account(): a Slack channel with `group_by: [account]`).
// A notification whose alert belongs to its account's group (group.hpp: a firing or
// repeat notice, or any notice of a member) is folded into the group and sent with
// send_group: the first posts the account's card, the others rewrite it and reply in its
// thread. The group is kept in memory and in column `meta`, written with the outcome
// that changed it (only a final one: a retry changes nothing), so the card's ts survives
// a restart. Members whose alert ended without a notice (alert_status says over, and no
// notification of theirs waits here) leave the card at its next rewrite. Notices of an
// alert outside its group (posted before the channel grouped) keep their own card.
//
// Metrics: redflag_notifications_total{channel,outcome=sent|retry|dead} per attempt
// outcome, redflag_notification_delay_seconds{channel} (created_at → sent, wall clock),
// redflag_outbox_pending{channel} (entries not yet final).
//
// Thread-safety: enqueue() is safe from any thread (shards); start(), reconfigure() and
// stop() from one controlling thread. Start-up problems are returned as store::status.
#pragma once

#include "core/time.hpp"
#include "delivery/channel.hpp"
#include "delivery/digest.hpp"
#include "delivery/outbox.hpp"
#include "delivery/alert_view.hpp"
#include "metrics/engine_metrics.hpp"
#include "store/store.hpp"

#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

namespace redflag::delivery {

struct dispatcher_options {
    duration max_age = day;              // delivery.max_age
    duration first_backoff = seconds_ms;  // after the first failure
    duration max_backoff = 10 * minute;
    double jitter = 0.2;                 // each backoff is scaled by a uniform factor in [1 - j, 1 + j]
    std::uint64_t seed = 0;              // of the jitter; 0: random
    std::size_t resend_batch = 500;      // alerts per re-post request at most
};

struct channel_setup {
    std::string name;
    std::shared_ptr<channel_sender> sender;
    std::optional<digest_schedule> digest;  // set for an email channel with `digest`
};

class dispatcher final : public outbox_sink {
public:
    dispatcher(dispatcher_options options, store::store& store, const clock& clock, metrics::engine_metrics& metrics,
               const silence_check* silences, const alert_status* alerts = nullptr);
    ~dispatcher();

    // Loads the unfinished outbox entries and starts one worker per channel. Call before
    // the engine starts writing (so nothing is both loaded and enqueued before a worker
    // runs). Entries of channels not configured stay in the store untouched.
    store::status start(std::vector<channel_setup> channels);

    // A reload: kept channels get their new sender and digest, new channels a worker
    // (with their unfinished entries loaded from the store), removed channels are
    // stopped (their entries stay in the store for a channel of that name later).
    store::status reconfigure(std::vector<channel_setup> channels);

    // Stops every worker after its attempt in progress. Idempotent.
    void stop();

    // New entries, already durable in the outbox.
    void enqueue(std::vector<outbox_ref> refs) override;
    void enqueue(const std::vector<outbox_entry>& entries);  // the same, from whole entries

    // Alerts a channel re-posts (see "Re-posting"), for tests and diagnostics.
    std::size_t reposting(const std::string& channel) const;

    // Makes every worker look at the clock again now (a clock moved by a test).
    void wake();

    // Entries not yet final, for tests and diagnostics.
    std::size_t unfinished(const std::string& channel) const;

private:
    class worker;
    // What the outbox holds for a channel at start: its unfinished entries and, for a
    // channel that re-posts, the alerts it posted as firing and has not resolved.
    struct loaded_channel {
        std::vector<outbox_ref> unfinished;
        std::map<std::string, notification> posted;  // alert id → latest firing/repeat sent
    };
    store::status load(const std::vector<std::string>& channels, const std::vector<std::string>& reposting,
                       std::map<std::string, loaded_channel>& out) const;

    dispatcher_options options_;
    store::store& store_;
    const clock& clock_;
    metrics::engine_metrics& metrics_;
    const silence_check* silences_;
    const alert_status* alerts_;  // null: a re-posted alert stays posted until its recovery notice
    mutable std::shared_mutex workers_mutex_;
    std::map<std::string, std::shared_ptr<worker>> workers_;  // guarded by workers_mutex_
    bool stopped_ = false;
};

}  // namespace redflag::delivery
