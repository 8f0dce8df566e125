// The engine as `redflag serve` runs it: accounts hashed to shards, each shard a thread
// that owns one engine::core (no locks on the evaluation path), fed through a bounded
// queue, writing everything a round of work produced (events, dedup ids, alert records)
// to RocksDB in one write batch before acknowledging it.
//
//   submit(batch) ──split by shard──► shard queue ──► shard thread: dedup (one MultiGet),
//   apply + evaluate (core), one WriteBatch (events + dedup + dirty marks + alerts),
//   write (WAL; fsync when storage.sync: one fsync for every request of the round, and
//   RocksDB's write group shares it across shards) ──► the request's callback once every
//   shard holding part of it has written.
//
// Durability: a 202 means every event of the request is in the WAL. Account state is not
// written per event: each shard snapshots its dirty accounts every snapshot_interval and
// at stop; at start, recover() loads the snapshots and replays the events of accounts
// marked dirty (their events newer than their snapshot), so nothing acknowledged is lost
// to a kill -9. A request spread over several shards is written by each shard in its own
// batch: if the process dies between them, the client got no 202 and its retry finds the
// stored part as duplicates.
//
// Overload: each shard admits at most queue_events queued events (a request larger than
// that is admitted when the queue is empty); beyond that submit() answers `overloaded`.
//
// Thread-safety: submit(), swap_rules(), post() and the query helpers are safe from any
// thread; their callbacks run on a shard thread. recover() before start(); stop() joins.
#pragma once

#include "core/time.hpp"
#include "alerts/index.hpp"
#include "alerts/notify.hpp"
#include "alerts/record.hpp"
#include "engine/batch_observer.hpp"
#include "delivery/outbox.hpp"
#include "engine/core.hpp"
#include "engine/ingest_sink.hpp"
#include "kpi/hub.hpp"
#include "metrics/engine_metrics.hpp"
#include "rules/rule_set.hpp"
#include "store/store.hpp"

#include <array>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace redflag::engine {

struct service_options {
    int shards = 2;
    duration tick = minute;
    std::size_t queue_events = 200000;      // per shard
    duration snapshot_interval = 30 * seconds_ms;
    duration retention = 400 * day;         // account state older than this is dropped hourly
    bool pause_shards = false;              // debugging and tests: shards take no work
    // How often the health history points of accounts whose events changed them are
    // rewritten (engine/history.hpp); a day's first round and stop write them regardless.
    duration history_interval = minute;
    // CS KPIs: shard i reports every evaluation to kpi->tracker(i) and publishes its
    // aggregate after each round of work (kpi/hub.hpp). Not owned; null for none.
    kpi::hub* kpi = nullptr;
    // Adds records to the batch of each accepted event and hears when they are durable
    // (engine/batch_observer.hpp). Not owned; null for none.
    batch_observer* observer = nullptr;
    // Memory: once a shard has applied `release_after_events` events (0: never) and then
    // had no work for `release_idle`, it calls release_memory (default: glibc's
    // malloc_trim(0)), which hands the heap's free pages back to the system. A burst of
    // ingest frees much of what it allocated (request and JSON buffers, memtable blocks,
    // vectors that grew), and glibc keeps that memory mapped otherwise (bench/RESULTS.md,
    // memory). Never on the path of an event: only in a round without work.
    std::size_t release_after_events = 10000;
    duration release_idle{500};
    std::function<void()> release_memory;
};

class service final : public ingest_sink {
public:
    service(service_options options, store::store& store, const clock& clock, metrics::engine_metrics& metrics,
            std::shared_ptr<const rules::rule_set> rules);
    ~service() override;

    // Loads snapshots, replays the events of dirty accounts and restores active alerts.
    // Before start(). False with `error` when the store could not be read.
    bool recover(std::string& error);
    void start();
    // Stops taking work, finishes what is queued, snapshots dirty accounts, joins.
    void stop();

    void submit(std::vector<model::event> batch, std::function<void(ingest_outcome)> done) override;

    // Swaps the rule set on every shard; `done` runs once all have (on the last shard).
    void swap_rules(std::shared_ptr<const rules::rule_set> rules, std::function<void()> done = {});
    std::shared_ptr<const rules::rule_set> rules() const;

    // Delivery: every notifying alert event becomes outbox records (built by `builder`)
    // in the same write batch as the event; once the batch is durable they are handed to
    // `sink` (the dispatcher). Without a builder nothing goes to the outbox. The sink is
    // set once, before start(); the builder may be replaced at any time (a reload): each
    // shard picks the new one up at its next alert event.
    void set_delivery(std::shared_ptr<const alerts::notification_builder> builder, delivery::outbox_sink* sink);
    // The API's alert index (alerts/index.hpp), fed with every record recover() reads and
    // each record once its batch is durable. Not owned; set before recover().
    void set_alert_index(alerts::alert_index* index) { alert_index_ = index; }
    alerts::alert_index* alert_index() const { return alert_index_; }
    void set_notification_builder(std::shared_ptr<const alerts::notification_builder> builder);

    // Runs `f` on the shard that owns `account`, with that shard's core; alert events it
    // leaves in core.events() are persisted after it returns. For queries and rule swaps:
    // what it changes is not taken back when that write fails (it is retried with the
    // shard's next write).
    void post(std::string_view account, std::function<void(core&)> f);

    // A change made through the API (an ack): `apply` runs in the shard's next write
    // round, with its events; `written` runs once that round's batch is durable (ok) or
    // failed (its status: what `apply` changed was then taken back with the round). So a
    // caller answers only once the change is durable.
    struct write_call {
        std::function<void(core&)> apply;
        std::function<void(const store::status&)> written;
    };
    void post_write(std::string_view account, write_call call);

    // Cluster mode (engine/partitions.hpp, issue 17); unused in the single-process mode.
    // A request of events read from the cluster's stream: evaluated at `evaluate_at` (the
    // stream's timestamp; the core never goes back from its shard time), and `stage`, run
    // on the shard thread when its round's batch is built and before its events are
    // applied, either adds records to that batch (the partition's applied stream sequence:
    // written whether its events are new or duplicates) or answers false to keep the
    // request out of the round (answered `failed`). Admission as submit().
    struct sequenced {
        timestamp evaluate_at{};
        std::function<bool(store::write_batch&)> stage;
    };
    void submit(std::vector<model::event> batch, sequenced how, std::function<void(ingest_outcome)> done);
    // Runs `f` on shard `index` after its current round (what it sees is committed).
    void post_shard(std::size_t index, std::function<void(core&)> f);
    // Puts back accounts (a cluster partition's snapshot), all of shard `index`: on that
    // shard, one batch with each account's state as its snapshot, its alert records and
    // what `extra` adds; once written the core takes them (their wakes rescheduled). `done`
    // gets the write's status, on the shard thread.
    using account_image = std::pair<model::account_state, std::vector<alerts::alert_record>>;
    void restore_accounts(std::size_t index, std::vector<account_image> accounts,
                          std::function<void(store::write_batch&)> extra, std::function<void(const store::status&)> done);
    // Which accounts this instance sends notifications for (cluster mode: the partitions
    // it owns); alert events of the others get no outbox records. Set before start(); unset:
    // every account.
    void set_notification_owner(std::function<bool(std::string_view account)> owns) { notifies_for_ = std::move(owns); }

    // OK while the store takes writes; else why not (a full disk), for readiness.
    store::status writable() { return store_.writable(); }
    // Runs `f` on every shard; `done` after the last.
    void post_all(std::function<void(core&)> f, std::function<void()> done);

    std::size_t shard_of(std::string_view account) const;
    // How many accounts recover() found (snapshots and dirty marks), before start().
    std::size_t recovered_accounts() const;
    int shard_count() const { return static_cast<int>(shards_.size()); }
    bool stopping() const { return stopping_.load(); }
    store::store& storage() { return store_; }

private:
    struct request;
    struct shard;

    using work_item = std::pair<std::vector<model::event>, std::shared_ptr<request>>;
    using type_counts = std::array<std::size_t, model::event_type_count>;

    void run(shard& s);
    // service_options::release_memory once the shard is idle after enough events
    // (`events`: how many this round applied).
    void release_when_idle(shard& s, std::size_t events);
    static void release_free_heap();
    void process_round(shard& s, std::deque<std::function<void(core&)>>& calls, std::vector<work_item>& work,
                       std::vector<write_call>& writes);
    // One round of ingest: due wakes, then the queued events and write calls, written in
    // one batch; taken back whole when that write fails.
    void ingest_round(shard& s, std::vector<work_item>& work, std::vector<write_call>& writes);
    // Answers (invalid) and removes the requests holding an event the store cannot key.
    void refuse_unkeyable(shard& s, std::vector<work_item>& work);
    // Dedup, store and apply the queued events; false (every request answered) when the
    // idempotency index could not be read.
    bool apply_work(shard& s, std::vector<work_item>& work, store::write_batch& batch, type_counts& accepted,
                    type_counts& duplicates);
    void roll_back_round(shard& s, std::size_t dirty_before);
    bool reload_unreadable(shard& s);
    // The account's state as the store has it: its snapshot and the events after it.
    std::optional<model::account_state> durable_state(std::string_view account);
    void fail_work(shard& s, std::vector<work_item>& work, const std::string& error);
    // Alert events in the core: their records and notifications into `batch`
    // (put_alert_events); once that is written, metrics, logs and the hand-off to
    // delivery (alert_events_durable). write_alert_events does both, keeping the events
    // for the next write when this one fails.
    void put_alert_events(shard& s, store::write_batch& batch);
    // The `resolved_silently` rewrites (delivery/cards.hpp) of the Slack cards of the
    // alert that `e` resolved without a notice, into `batch` and the shard's outbox refs.
    void put_silent_resolve(shard& s, const alerts::alert_event& e, timestamp created_at, store::write_batch& batch);
    // Health history points (engine/history.hpp), written in the round's batch: every
    // account's on the day's first round, else those events changed since the last flush,
    // once `history_interval` has passed since it (put_history), and a day's pending
    // points under that day at the next day's first round (close_history_day) and at stop
    // (flush_history). history_written takes the round's outcome once its batch is durable.
    struct history_round {
        std::int64_t day = 0;
        bool flushed = false;  // the pending accounts' points are in the batch
    };
    history_round put_history(shard& s, store::write_batch& batch, timestamp now);
    void close_history_day(shard& s, store::write_batch& batch, timestamp now);
    void put_pending_history(shard& s, store::write_batch& batch, const rules::rule_set& rules, timestamp at);
    static void put_history_point(store::write_batch& batch, const account_record& record,
                                  const rules::rule_set& rules, timestamp at);
    void history_written(shard& s, const history_round& round, timestamp now);
    void flush_history(shard& s);
    void alert_events_durable(shard& s);
    // Rule metrics: the handles of the core's current rule set, and the core's
    // rule_statistics added to them (once per round, never per evaluation).
    void refresh_rule_handles(shard& s);
    void publish_rule_statistics(shard& s);
    bool write_alert_events(shard& s, store::write_batch& batch);
    void hand_off_outbox(shard& s);
    void snapshot_dirty(shard& s, bool all);
    void finish(const std::shared_ptr<request>& r);
    void enqueue(std::vector<model::event> batch, std::optional<sequenced> how, std::function<void(ingest_outcome)> done);

    service_options options_;
    store::store& store_;
    const clock& clock_;
    metrics::engine_metrics& metrics_;
    mutable std::mutex rules_mutex_;
    std::shared_ptr<const rules::rule_set> rules_;
    std::shared_ptr<const alerts::notification_builder> builder_;  // guarded by rules_mutex_
    std::atomic<std::uint64_t> builder_generation_{0};               // bumped with builder_
    delivery::outbox_sink* outbox_sink_ = nullptr;                   // set before start()
    alerts::alert_index* alert_index_ = nullptr;                      // set before recover()
    std::function<bool(std::string_view)> notifies_for_;             // set before start()
    std::vector<std::unique_ptr<shard>> shards_;
    std::atomic<bool> stopping_{false};
};

}  // namespace redflag::engine
