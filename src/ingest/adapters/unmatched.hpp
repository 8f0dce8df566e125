// Events of vendor customers no account is known for yet: kept, not dropped.
//
// keep() stores a hook's validated events whose customer did not resolve in the store's
// `unmatched` column (hook_codec.hpp), keyed (vendor, customer, at, event id), so a
// redelivery is not stored twice. release() hears (vendor, customer) pairs whose mapping
// became durable (external_id_index's listener); a thread of its own then reads that
// customer's waiting events in time order, gives them the account and submits them
// through the ingest sink like POST /v1/events (same ids: a crash between the submit and
// the delete re-submits harmlessly as duplicates), and deletes them once that round is
// durable. start() counts what is waiting and releases every customer that resolves by
// now (mappings that became durable before a crash). A submit refused (overloaded, store
// failure) is retried after a pause.
//
// Thread-safety: keep(), release(), list() and waiting() from any thread; start() once,
// stop() joins the thread (before the sink stops). Failures are statuses; a waiting
// event that cannot be read is logged, left in place and skipped.
#pragma once

#include "core/time.hpp"
#include "engine/ingest_sink.hpp"
#include "ingest/adapters/account_resolver.hpp"
#include "model/event.hpp"
#include "store/store.hpp"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace prometheus {
class Gauge;
}

namespace redflag::ingest::adapters {

class unmatched_events {
public:
    struct options {
        std::size_t submit_chunk = 1000;           // waiting events per submitted batch
        std::chrono::milliseconds retry{1000};     // after an overloaded or failed submit
    };

    // `waiting` (redflag_hook_unmatched_events) mirrors waiting(); may be null.
    unmatched_events(store::store& store, engine::ingest_sink& sink, const account_resolver& resolver,
                     prometheus::Gauge* waiting, options opts);
    unmatched_events(store::store& store, engine::ingest_sink& sink, const account_resolver& resolver,
                     prometheus::Gauge* waiting)
        : unmatched_events(store, sink, resolver, waiting, options{}) {}
    ~unmatched_events();

    store::status start();
    void stop();

    struct waiting_event {
        customer_ref customer;
        const model::event* event;  // validated; its account is ignored
    };
    struct kept {
        std::size_t stored = 0;   // new
        std::size_t already = 0;  // waiting already (a redelivery)
        store::status status;
    };
    // Stores `events` of `vendor` in one write batch; durable when this returns ok.
    kept keep(std::string_view vendor, const std::vector<waiting_event>& events, timestamp received_at);

    // Submits the waiting events of these (vendor, customer key) pairs, asynchronously.
    void release(std::vector<std::pair<std::string, std::string>> customers);

    struct listed {
        std::string vendor, customer, type, id;
        timestamp at{}, received_at{};
    };
    // Waiting events in key order (vendor, customer, time), of one vendor when given.
    store::result<std::vector<listed>> list(std::string_view vendor, std::size_t limit) const;
    std::size_t waiting() const { return waiting_.load(); }

private:
    void run();
    // Submits one chunk of the customer's events; true when the customer is done (nothing
    // left, or nothing it can do now), false to come back to it (more, or retry).
    bool release_one(const std::string& vendor, const std::string& customer, bool& failed);
    void add_waiting(std::int64_t n);

    store::store& store_;
    engine::ingest_sink& sink_;
    const account_resolver& resolver_;
    prometheus::Gauge* gauge_;
    options options_;
    std::atomic<std::size_t> waiting_{0};
    std::mutex write_mutex_;  // keep()'s look-up and write, and the release's deletes

    std::mutex mutex_;
    std::condition_variable wakeup_;
    std::deque<std::pair<std::string, std::string>> queue_;  // guarded by mutex_
    bool stopping_ = false;                                  // guarded by mutex_
    std::thread thread_;
};

}  // namespace redflag::ingest::adapters
