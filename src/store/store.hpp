// The durable store: one RocksDB database holding the event log, the idempotency index,
// account snapshots, the set of accounts whose snapshot lags their events, and opaque
// records of the other modules (alerts, outbox, silences, meta). Key layout: keys.hpp.
//
// Column families:
//   events    every stored event, per account in sequence order; dropped after
//             options.event_retention by a compaction filter (by the `at` in the value)
//   dedup     account + event id → at: which ids an account already has (bloom-filtered);
//             expires with the events
//   accounts  account → (sequence covered, snapshot bytes)
//   dirty     account → "": accounts with events newer than their snapshot; at start-up
//             only these need events_after() replay, the rest load from `accounts`
//   alerts, outbox, silences, meta   opaque bytes under their owners' keys
//   external_ids, unmatched          opaque bytes of the vendor hooks (ingest/adapters/
//             hook_codec.hpp): which account a vendor's customer is, and the events
//             of customers not known yet
//   history   opaque bytes of the accounts' daily health points (engine/history.hpp)
//
// The store knows no semantics: it keeps bytes under keys. Events and snapshots are
// encoded by their owner (model/codec.hpp) before they are handed over, and decoded by
// the caller after they are read; of an event the store knows only its `at`, given
// explicitly, which the retention filter compares with the horizon.
//
// Thread-safety: a store is safe to use from any number of threads at once (RocksDB's
// own guarantee); concurrent writes with options.sync share one fsync (RocksDB's write
// group). A write_batch is not thread-safe: build it on one thread, then write it.
// Failure: open() reports errors in a string; afterwards every operation returns a
// status or result (never throws).
//
// Write failures. A write that fails with an I/O error (code io_error, or no_space for a
// full disk) stops writes: RocksDB must not append to a WAL file that failed (its own
// assertion aborts the process: that was issue 11's crash loop on a full disk), so every
// later write is refused with the same status, without reaching RocksDB, until
// DB::Resume() succeeds. write() and writable() try that at most every
// options.resume_interval: DB::Resume() flushes the memtables to a fresh WAL and clears
// RocksDB's background error (failing again while the disk is still full); an error
// RocksDB calls fatal (a failed WAL append) needs the database closed and opened again,
// done once options.resume_free_bytes are free. Reads go on meanwhile (but during a
// reopen, and after one that failed: "store is closed" until the next attempt).
#pragma once

#include "core/time.hpp"
#include "store/status.hpp"

#include <rocksdb/write_batch.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace rocksdb {
class DB;
class Env;
class ColumnFamilyHandle;
class CompactionFilter;
class Statistics;
class Cache;
class WriteBufferManager;
}  // namespace rocksdb

namespace redflag::store {

enum class column : std::uint8_t {
    events, dedup, accounts, dirty, alerts, outbox, silences, meta, external_ids, unmatched, history
};
inline constexpr std::size_t column_count = 11;
inline constexpr std::array<std::string_view, column_count> column_names{
    "events", "dedup", "accounts", "dirty", "alerts", "outbox", "silences", "meta", "external_ids", "unmatched",
    "history"};

// Decides, during compaction, whether a record of the column it is given for has
// outlived the retention horizon (`horizon` = now - options.event_retention). The column's
// owner knows its records (alerts/, delivery/). Called from RocksDB's compaction
// threads: it must be thread-safe, and keep (false) what it cannot judge.
using expiry_rule = std::function<bool(std::string_view key, std::string_view value, timestamp horizon)>;

struct options {
    std::string path;
    bool sync = false;                        // fsync the WAL before write() returns
    duration event_retention = 400 * day;     // events (and their dedup ids) older than this are dropped
    // RocksDB's memory: the block cache, to which the memtables are charged (a
    // WriteBufferManager), so that blocks and memtables together stay near this size
    // (memtables may take it all while they wait to be flushed; then blocks are evicted).
    std::size_t block_cache_bytes = 64u << 20;
    // All memtables together: when they reach this, the largest is flushed.
    std::size_t write_buffer_bytes = 32u << 20;
    std::uint64_t max_wal_bytes = 32u << 20;      // bounds WAL replay (and memtables) after a crash
    int background_jobs = 2;                  // flush and compaction threads
    bool flush_on_close = true;               // faster next open: nothing to replay from the WAL
    const redflag::clock* clock = nullptr;    // "now" of the retention filter; nullptr: system clock
    // Records of other columns that compaction drops once their rule says so (serve
    // gives one for `alerts`: alerts over before the horizon). Ignored for events and
    // dedup, which expire by their time.
    std::array<expiry_rule, column_count> expiry{};
    // After a failed write, how often write() and writable() try DB::Resume().
    std::chrono::milliseconds resume_interval{1000};
    // ... and when RocksDB cannot resume in place (a failed WAL append is fatal to it), the
    // free space on the device below which the store is not reopened yet.
    std::uint64_t resume_free_bytes = 64u << 20;
    // Tests only: the RocksDB Env to run on (one whose writes fail on demand); not owned,
    // outlives the store. nullptr: RocksDB's default.
    rocksdb::Env* env = nullptr;
};

// One event as stored; the views are valid only during the callback.
struct stored_event {
    std::string_view account;
    std::uint64_t sequence = 0;
    timestamp at{};
    std::string_view bytes;  // as given to write_batch::put_event
};

// One (account, event id) pair to look up in the dedup index.
struct dedup_probe {
    std::string_view account;
    std::string_view id;
};

// A snapshot as stored: the state bytes and the last event sequence it includes.
struct snapshot {
    std::uint64_t sequence = 0;
    std::string bytes;  // as given to write_batch::put_snapshot
};

class store;

// A set of writes applied atomically by store::write. Each helper encodes its record per
// keys.hpp. A helper given an account containing '\0' (which would alias another
// account's keys) records an invalid_argument error instead, and write() refuses the
// whole batch.
class write_batch {
public:
    explicit write_batch(const store& s);

    // An event's bytes as its `sequence`-th of the account; `at` is kept beside them for
    // the retention filter.
    void put_event(std::string_view account, std::uint64_t sequence, timestamp at, std::string_view bytes);
    void put_dedup(std::string_view account, std::string_view event_id, timestamp at);
    // The account's snapshot bytes, covering its events up to `sequence`.
    void put_snapshot(std::string_view account, std::uint64_t sequence, std::string_view bytes);
    void mark_dirty(std::string_view account);
    void clear_dirty(std::string_view account);
    void put(column c, std::string_view key, std::string_view value);
    void del(column c, std::string_view key);

    std::size_t count() const;       // operations recorded
    std::size_t byte_size() const;   // encoded size
    bool empty() const { return count() == 0; }
    void clear();
    const status& error() const { return status_; }  // the first problem recorded, if any

private:
    friend class store;
    bool check_account(std::string_view account);
    void record(const rocksdb::Status& s);

    const store* store_;
    rocksdb::WriteBatch batch_;
    status status_;
    std::string key_;    // scratch buffers reused across helpers
    std::string value_;
};

class store {
public:
    // Opens (creating if missing) the database at options.path with every column family.
    // Returns nullptr and sets `error` on failure.
    static std::unique_ptr<store> open(const options& opts, std::string& error);

    ~store();  // close()s if still open
    store(const store&) = delete;
    store& operator=(const store&) = delete;

    // Applies the batch atomically; with options.sync the WAL is fsynced first (writers
    // in flight together share one fsync). The batch is left as it was. While writes are
    // stopped (see "Write failures" above) it returns why, writing nothing.
    status write(write_batch& batch);

    // OK when writes go through; else why they are stopped (after trying to resume, at
    // most every options.resume_interval). For readiness checks.
    status writable();
    // Whether an account id can be a key: not empty, no NUL (keys.hpp's separator). Batch
    // helpers refuse the whole batch for one that cannot; callers check first.
    static bool valid_account(std::string_view account);

    // For each id, whether this account already stored it. One MultiGet.
    result<std::vector<bool>> contains(std::string_view account, std::span<const std::string_view> ids) const;
    result<std::vector<bool>> contains(std::string_view account, std::span<const std::string> ids) const;
    // The same across accounts: one MultiGet for a whole ingest batch.
    result<std::vector<bool>> contains(std::span<const dedup_probe> probes) const;

    // The account's snapshot, nullopt when it has none.
    result<std::optional<snapshot>> get_snapshot(std::string_view account) const;

    // Callbacks return true to go on, false to stop early (which is not an error).
    using snapshot_callback = std::function<bool(std::string_view account, std::uint64_t sequence, std::string_view bytes)>;
    using account_callback = std::function<bool(std::string_view account)>;
    using event_callback = std::function<bool(const stored_event&)>;
    using record_callback = std::function<bool(std::string_view key, std::string_view value)>;

    status for_each_snapshot(const snapshot_callback& f) const;  // in account order
    status for_each_dirty(const account_callback& f) const;
    // The account's events with a sequence greater than `after`, in sequence order.
    status events_after(std::string_view account, std::uint64_t after, const event_callback& f) const;
    // Every stored event, by account then sequence (rebuilds, replay).
    status for_each_event(const event_callback& f) const;

    // The sequence for the account's next event: one more than the highest of its stored
    // events and its snapshot (so it never goes back when old events expire). 1 for a
    // new account. Reads the events after the snapshot: call it when an account is
    // loaded and count on from there in memory.
    result<std::uint64_t> next_sequence(std::string_view account) const;

    // Generic access to any column (the other modules' families).
    result<std::optional<std::string>> get(column c, std::string_view key) const;
    status for_each_prefix(column c, std::string_view prefix, const record_callback& f) const;

    // SST files plus memtables of every column, for redflag_store_size_bytes.
    std::uint64_t approximate_size_bytes() const;
    // WAL fsyncs done so far (group commit makes this lower than the synced writes).
    std::uint64_t wal_syncs() const;

    status flush();             // memtables to SST files, and the WAL synced
    status compact(column c);   // a full manual compaction (applies the retention and expiry filters)
    status close();             // flushes (options.flush_on_close) and closes; idempotent

    const options& opts() const { return options_; }

private:
    friend class write_batch;
    explicit store(const options& opts);
    rocksdb::ColumnFamilyHandle* handle(column c) const { return handles_[static_cast<std::size_t>(c)]; }
    status scan(column c, std::string_view lower, std::string_view upper, bool fill_cache, bool total_order,
                const record_callback& f) const;

    status open_db();
    status close_db(status result);  // with db_mutex_ held exclusively
    status flush_locked();
    status stop_writes(status why);
    status try_resume();
    bool resume_db();

    options options_;
    // Every use of db_ and the handles holds it shared; a reopen after a failed write
    // (resume_db) holds it exclusively.
    mutable std::shared_mutex db_mutex_;
    std::atomic<bool> writes_stopped_{false};
    std::mutex resume_mutex_;
    status stopped_because_;                                  // guarded by resume_mutex_
    std::chrono::steady_clock::time_point next_resume_{};     // guarded by resume_mutex_
    std::unique_ptr<system_clock> own_clock_;
    std::unique_ptr<rocksdb::CompactionFilter> retention_filter_;
    std::array<std::unique_ptr<rocksdb::CompactionFilter>, column_count> expiry_filters_;
    std::shared_ptr<rocksdb::Statistics> statistics_;
    std::shared_ptr<rocksdb::Cache> cache_;
    std::shared_ptr<rocksdb::WriteBufferManager> write_buffers_;  // charges memtables to cache_
    rocksdb::DB* db_ = nullptr;
    std::array<rocksdb::ColumnFamilyHandle*, column_count> handles_{};
    rocksdb::ColumnFamilyHandle* default_handle_ = nullptr;
};

}  // namespace redflag::store
