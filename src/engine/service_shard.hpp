// The service's private parts, shared by its source files (service.cpp: queue and rounds;
// service_write.cpp: the commit of one write round; service_alerts.cpp: alerts,
// notifications and rule metrics of a round; service_recovery.cpp: recovery and
// snapshots). Included by nothing else.
#pragma once

#include <limits>

#include "engine/service.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <unordered_set>

namespace redflag::engine {

struct service::request {
    std::atomic<int> remaining{0};
    std::mutex mutex;
    ingest_outcome outcome;
    std::function<void(ingest_outcome)> done;
    // Cluster mode only (service::sequenced): the evaluation instant and the batch hook.
    std::optional<timestamp> evaluate_at;
    std::function<bool(store::write_batch&)> stage;
};

struct service::shard {
    struct account_meta {
        std::uint64_t next_sequence = 1;
        bool dirty = false;
        std::uint64_t round = 0;  // the last round that journaled it (meta_journal)
    };
    using work_item = std::pair<std::vector<model::event>, std::shared_ptr<request>>;

    int index = 0;
    std::unique_ptr<core> engine;

    std::mutex mutex;
    std::condition_variable wakeup;
    std::vector<work_item> queue;                    // guarded by mutex
    std::deque<std::function<void(core&)>> calls;    // guarded by mutex
    std::vector<service::write_call> writes;         // guarded by mutex
    std::atomic<std::size_t> queued_events{0};

    // Owned by the shard thread (and by recover() before it starts).
    std::unordered_map<std::string, account_meta> meta;
    std::vector<std::string> dirty;  // accounts whose snapshot lags their events
    // The round being processed, and each account's meta as it was before the round
    // touched it (nullopt: the round created it), to take the round back if its write fails.
    std::uint64_t round = 0;
    std::vector<std::pair<std::string, std::optional<account_meta>>> meta_journal;
    // Accounts whose state a failed round changed and whose durable state could not be
    // read back: the shard takes no events until they are reloaded.
    std::vector<std::string> unreadable;
    std::chrono::steady_clock::time_point last_snapshot = std::chrono::steady_clock::now();
    std::chrono::steady_clock::time_point last_expiry = std::chrono::steady_clock::now();
    // Idle release of free heap (service_options::release_after_events): events applied
    // since the last release, and when the shard last had work.
    std::size_t events_since_release = 0;
    std::chrono::steady_clock::time_point last_work = std::chrono::steady_clock::now();
    // The UTC day (engine/history.hpp) of the last written round; the first round of another
    // day writes every account's health point.
    std::int64_t history_day = std::numeric_limits<std::int64_t>::min();
    // Accounts whose events changed them since their health points were last written,
    // and when that was (the service's clock).
    std::unordered_set<std::string> history_pending;
    timestamp history_flushed{};
    std::vector<std::pair<model::account_state, std::vector<alerts::alert>>> recovered;
    std::unique_ptr<account_observer> kpi_observer;  // feeds `kpi`; null without KPIs
    kpi::shard_tracker* kpi = nullptr;

    // Delivery (owned by the shard thread): the builder in use and the generation it came
    // with, and the outbox records of the batch being built, handed to the dispatcher once
    // the batch is written.
    std::shared_ptr<const alerts::notification_builder> builder;
    std::uint64_t builder_generation = 0;
    delivery::notification notification;           // reused: built once per alert event
    std::vector<delivery::delivery_target> targets;  // its channels
    std::string record_scratch;                      // put_records' encoding buffer
    std::vector<delivery::outbox_ref> outbox;
    std::vector<alerts::index_entry> index_entries;  // the records of the batch being written, for the alert index

    // Metric handles per rule of the rule set they were made for (refreshed when the
    // core's set changes: a reload), so that no metric child is looked up by labels on the
    // path of an event.
    struct rule_handles {
        prometheus::Counter* evaluations = nullptr;
        prometheus::Counter* runtime_errors = nullptr;
        prometheus::Gauge* pending = nullptr;
        prometheus::Gauge* firing = nullptr;
        prometheus::Counter* fired = nullptr;
    };
    const rules::rule_set* handles_for = nullptr;
    std::vector<rule_handles> handles;
    std::vector<double> bucket_scratch;  // ObserveMultiple's increments

    std::thread thread;

    // The bookkeeping of `account` for this round, its value before the round saved in
    // meta_journal the first time the round touches it.
    account_meta& journaled_meta(const std::string& account) {
        auto [it, inserted] = meta.try_emplace(account);
        auto& m = it->second;
        if (inserted) meta_journal.emplace_back(account, std::nullopt);
        else if (m.round != round) meta_journal.emplace_back(account, m);
        m.round = round;
        return m;
    }
};

// Which redflag_store_write_failures_total{reason} a failed write counts in.
inline metrics::write_failure failure_reason(const store::status& st) {
    switch (st.error_code()) {
        case store::status::code::no_space: return metrics::write_failure::no_space;
        case store::status::code::io_error: return metrics::write_failure::io_error;
        default: return metrics::write_failure::other;
    }
}

}  // namespace redflag::engine
