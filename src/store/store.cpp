#include "store/store.hpp"

#include "store/keys.hpp"

#include <spdlog/spdlog.h>

#include <rocksdb/cache.h>
#include <rocksdb/compaction_filter.h>
#include <rocksdb/convenience.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/listener.h>
#include <rocksdb/options.h>
#include <rocksdb/memtablerep.h>
#include <rocksdb/write_buffer_manager.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/statistics.h>
#include <rocksdb/table.h>

#include <algorithm>
#include <shared_mutex>
#include <cstdarg>
#include <cstdio>
#include <cstring>

namespace redflag::store {
namespace {

status from_rocksdb(const rocksdb::Status& s, std::string_view what) {
    if (s.ok()) return {};
    status::code c = status::code::other;
    if (s.IsNotFound()) c = status::code::not_found;
    else if (s.IsCorruption()) c = status::code::corruption;
    else if (s.IsIOError()) c = s.IsNoSpace() ? status::code::no_space : status::code::io_error;
    else if (s.IsInvalidArgument()) c = status::code::invalid_argument;
    else if (s.IsBusy() || s.IsTryAgain() || s.IsTimedOut()) c = status::code::busy;
    else if (s.IsShutdownInProgress()) c = status::code::shutdown;
    return status::error(c, std::string(what) + ": " + s.ToString());
}

rocksdb::Slice slice(std::string_view s) { return {s.data(), s.size()}; }
std::string_view view(const rocksdb::Slice& s) { return {s.data(), s.size()}; }

// Drops events and dedup entries whose `at` (the 8-byte value prefix) is older than the
// retention horizon. Shared by concurrent compactions: const and stateless but for the
// clock, which is safe to read from any thread.
class retention_filter final : public rocksdb::CompactionFilter {
public:
    retention_filter(const clock& c, duration retention) : clock_(c), retention_(retention) {}

    bool Filter(int /*level*/, const rocksdb::Slice& /*key*/, const rocksdb::Slice& value, std::string* /*new_value*/,
                bool* /*value_changed*/) const override {
        timestamp at;
        if (!keys::parse_time_prefix(view(value), at)) return false;  // not ours to judge: keep
        return at < clock_.now() - retention_;
    }

    const char* Name() const override { return "redflag.retention"; }

private:
    const clock& clock_;
    duration retention_;
};

// Drops the records of one column that its expiry rule (options.expiry) judges past the
// horizon. Shared by concurrent compactions like retention_filter.
class expiry_filter final : public rocksdb::CompactionFilter {
public:
    expiry_filter(const clock& c, duration retention, expiry_rule rule)
        : clock_(c), retention_(retention), rule_(std::move(rule)) {}

    bool Filter(int /*level*/, const rocksdb::Slice& key, const rocksdb::Slice& value, std::string* /*new_value*/,
                bool* /*value_changed*/) const override {
        return rule_(view(key), view(value), clock_.now() - retention_);
    }

    const char* Name() const override { return "redflag.expiry"; }

private:
    const clock& clock_;
    duration retention_;
    expiry_rule rule_;
};

// The account part of an events or dedup key, separator included: every key of one
// account shares it. Keys without a separator (never written by write_batch) are their
// own prefix, so the transform is total.
class account_prefix_transform final : public rocksdb::SliceTransform {
public:
    const char* Name() const override { return "redflag.account_prefix.v1"; }
    rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
        const void* sep = key.size() ? std::memchr(key.data(), keys::separator, key.size()) : nullptr;
        if (!sep) return key;
        return {key.data(), static_cast<std::size_t>(static_cast<const char*>(sep) - key.data()) + 1};
    }
    bool InDomain(const rocksdb::Slice& /*key*/) const override { return true; }
};

// RocksDB's info log, into the service's log instead of a LOG file in the database
// folder: on a full disk RocksDB's file logger aborts the process (an assertion when it
// appends to its LOG file after a failed append, reached by logging the very write error;
// issue 11, defect 5). Its info lines are our debug, its warnings and errors ours.
class spdlog_logger final : public rocksdb::Logger {
public:
    spdlog_logger() : rocksdb::Logger(rocksdb::InfoLogLevel::INFO_LEVEL) {}
    using rocksdb::Logger::Logv;
    void Logv(const char* format, va_list ap) override { Logv(rocksdb::InfoLogLevel::INFO_LEVEL, format, ap); }
    void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) override {
        auto ours = level >= rocksdb::InfoLogLevel::ERROR_LEVEL  ? spdlog::level::err
                    : level >= rocksdb::InfoLogLevel::WARN_LEVEL ? spdlog::level::warn
                                                                 : spdlog::level::debug;
        if (!spdlog::should_log(ours)) return;
        char line[1024];
        std::vsnprintf(line, sizeof line, format, ap);
        spdlog::log(ours, "rocksdb: {}", line);
    }
};

// Turns RocksDB's own recovery from a background error off: store::write and writable
// resume (DB::Resume) themselves, at most every options.resume_interval, so that there
// is one recovery path and it runs when a write wants it (RocksDB's polls every 5 s).
class manual_recovery final : public rocksdb::EventListener {
public:
    const char* Name() const override { return "redflag.manual_recovery"; }
    void OnErrorRecoveryBegin(rocksdb::BackgroundErrorReason, rocksdb::Status, bool* auto_recovery) override {
        if (auto_recovery) *auto_recovery = false;
    }
};

rocksdb::CompressionType best_compression(std::initializer_list<rocksdb::CompressionType> preferred) {
    const auto supported = rocksdb::GetSupportedCompressions();
    for (auto c : preferred)
        if (std::find(supported.begin(), supported.end(), c) != supported.end()) return c;
    return rocksdb::kNoCompression;
}

// How the memtable finds a key's place. Ingest writes keys of ~random accounts; in one big
// skiplist each insert costs a chain of cache misses, which capped ingest far below the
// target. Hashing by account (or by whole key) makes inserts and point reads O(1) plus a
// tiny per-bucket skiplist; scans in total order pay instead, and those are rare
// (for_each_event, for_each_snapshot, for_each_dirty at start-up).
enum class memtable_kind { skiplist, by_account, by_key };

struct family_tuning {
    std::size_t write_buffer;
    std::size_t block_size;
    bool bloom;
    bool compress;
    bool retention;
    memtable_kind memtable;
};

family_tuning tuning_of(column c) {
    switch (c) {
        // Larger than what options.max_wal_bytes lets accumulate (the WAL limit triggers the
        // flushes), so that replaying the WAL after a crash only inserts: a hashed
        // memtable has to sort itself to flush.
        case column::events: return {64u << 20, 16u << 10, false, true, true, memtable_kind::by_account};
        case column::dedup: return {32u << 20, 4u << 10, true, true, true, memtable_kind::by_account};
        case column::accounts: return {32u << 20, 16u << 10, true, true, false, memtable_kind::skiplist};
        case column::dirty: return {16u << 20, 4u << 10, true, false, false, memtable_kind::skiplist};
        default: return {8u << 20, 4u << 10, true, true, false, memtable_kind::skiplist};
    }
}

// Whether reads of this column must ask for total order explicitly (hashed memtables and
// prefix extractors otherwise limit an iterator to the prefix of its first Seek).
bool hashed(column c) { return tuning_of(c).memtable != memtable_kind::skiplist; }

}  // namespace

// ---------------------------------------------------------------- write_batch

write_batch::write_batch(const store& s) : store_(&s) {}

bool store::valid_account(std::string_view account) {
    return !account.empty() && account.find(keys::separator) == std::string_view::npos;
}

bool write_batch::check_account(std::string_view account) {
    if (store::valid_account(account)) return true;
    if (status_.ok())
        status_ = status::error(status::code::invalid_argument, "account id is empty or contains a NUL character");
    return false;
}

void write_batch::record(const rocksdb::Status& s) {
    if (!s.ok() && status_.ok()) status_ = from_rocksdb(s, "write batch");
}

void write_batch::put_event(std::string_view account, std::uint64_t sequence, timestamp at, std::string_view bytes) {
    if (!check_account(account)) return;
    key_ = keys::event_key(account, sequence);
    value_.clear();
    keys::append_be64(value_, static_cast<std::uint64_t>(to_millis(at)));
    value_.append(bytes);
    record(batch_.Put(store_->handle(column::events), slice(key_), slice(value_)));
}

void write_batch::put_dedup(std::string_view account, std::string_view event_id, timestamp at) {
    if (!check_account(account)) return;
    key_ = keys::dedup_key(account, event_id);
    value_.clear();
    keys::append_be64(value_, static_cast<std::uint64_t>(to_millis(at)));
    record(batch_.Put(store_->handle(column::dedup), slice(key_), slice(value_)));
}

void write_batch::put_snapshot(std::string_view account, std::uint64_t sequence, std::string_view bytes) {
    if (!check_account(account)) return;
    value_.clear();
    keys::append_be64(value_, sequence);
    value_.append(bytes);
    record(batch_.Put(store_->handle(column::accounts), slice(account), slice(value_)));
}

void write_batch::mark_dirty(std::string_view account) {
    if (!check_account(account)) return;
    record(batch_.Put(store_->handle(column::dirty), slice(account), rocksdb::Slice()));
}

void write_batch::clear_dirty(std::string_view account) {
    if (!check_account(account)) return;
    record(batch_.Delete(store_->handle(column::dirty), slice(account)));
}

void write_batch::put(column c, std::string_view key, std::string_view value) {
    record(batch_.Put(store_->handle(c), slice(key), slice(value)));
}

void write_batch::del(column c, std::string_view key) { record(batch_.Delete(store_->handle(c), slice(key))); }

std::size_t write_batch::count() const { return batch_.Count(); }
std::size_t write_batch::byte_size() const { return batch_.GetDataSize(); }

void write_batch::clear() {
    batch_.Clear();
    status_ = {};
}

// ---------------------------------------------------------------- store

store::store(const options& opts) : options_(opts) {}

std::unique_ptr<store> store::open(const options& opts, std::string& error) {
    if (opts.path.empty()) {
        error = "store: no path given";
        return nullptr;
    }
    std::unique_ptr<store> s(new store(opts));
    const clock* now = opts.clock;
    if (!now) {
        s->own_clock_ = std::make_unique<system_clock>();
        now = s->own_clock_.get();
    }
    s->retention_filter_ = std::make_unique<retention_filter>(*now, opts.event_retention);
    for (std::size_t i = 0; i < column_count; ++i)
        if (!tuning_of(static_cast<column>(i)).retention && opts.expiry[i])
            s->expiry_filters_[i] = std::make_unique<expiry_filter>(*now, opts.event_retention, opts.expiry[i]);
    s->statistics_ = rocksdb::CreateDBStatistics();
    s->cache_ = rocksdb::NewLRUCache(opts.block_cache_bytes);
    s->write_buffers_ = std::make_shared<rocksdb::WriteBufferManager>(opts.write_buffer_bytes, s->cache_);
    if (auto st = s->open_db(); !st.ok()) {
        error = "store: cannot open " + opts.path + ": " + st.message();
        return nullptr;
    }
    return s;
}

status store::open_db() {
    const auto& opts = options_;
    auto* s = this;
    rocksdb::DBOptions db;
    db.create_if_missing = true;
    db.create_missing_column_families = true;
    db.max_background_jobs = std::max(2, opts.background_jobs);
    db.write_buffer_manager = s->write_buffers_;  // flushes at write_buffer_bytes, charged to the cache
    db.max_total_wal_size = opts.max_wal_bytes;
    db.bytes_per_sync = 1u << 20;
    db.wal_bytes_per_sync = 0;              // the WAL is synced by write() when asked, not behind its back
    db.enable_pipelined_write = true;       // concurrent writers overlap WAL and memtable work
    db.allow_concurrent_memtable_write = false;  // not supported by hashed memtables
    db.avoid_flush_during_recovery = true;  // fast open after a crash: replayed data stays in memory
    db.max_open_files = -1;                 // open tables once, never re-open on reads
    db.skip_stats_update_on_db_open = true; // fast open: do not read every table's properties
    db.skip_checking_sst_file_sizes_on_db_open = true;
    db.keep_log_file_num = 4;
    db.max_manifest_file_size = 64u << 20;
    db.statistics = s->statistics_;
    if (opts.env) db.env = opts.env;
    db.listeners.push_back(std::make_shared<manual_recovery>());
    db.info_log = std::make_shared<spdlog_logger>();

    const auto& cache = cache_;
    const auto fast = best_compression({rocksdb::kLZ4Compression, rocksdb::kSnappyCompression});
    const auto dense = best_compression({rocksdb::kZSTD, rocksdb::kLZ4Compression, rocksdb::kSnappyCompression});

    std::vector<rocksdb::ColumnFamilyDescriptor> families;
    families.emplace_back(rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions());
    for (std::size_t i = 0; i < column_count; ++i) {
        const auto t = tuning_of(static_cast<column>(i));
        rocksdb::ColumnFamilyOptions cf;
        cf.write_buffer_size = t.write_buffer;
        cf.max_write_buffer_number = 4;
        cf.min_write_buffer_number_to_merge = 1;
        cf.level_compaction_dynamic_level_bytes = true;
        cf.target_file_size_base = 64u << 20;
        cf.max_bytes_for_level_base = 256u << 20;
        cf.compression = t.compress ? fast : rocksdb::kNoCompression;
        cf.bottommost_compression = t.compress ? dense : rocksdb::kNoCompression;
        if (t.retention) {
            cf.compaction_filter = s->retention_filter_.get();
            cf.periodic_compaction_seconds = 2 * 24 * 3600;  // expired data goes even without new writes
        } else if (s->expiry_filters_[i]) {
            cf.compaction_filter = s->expiry_filters_[i].get();
            cf.periodic_compaction_seconds = 2 * 24 * 3600;
        }
        switch (t.memtable) {
            case memtable_kind::skiplist: break;
            case memtable_kind::by_account:
                cf.prefix_extractor = std::make_shared<account_prefix_transform>();
                cf.memtable_factory.reset(rocksdb::NewHashSkipListRepFactory(1u << 18));
                break;
            case memtable_kind::by_key:
                cf.prefix_extractor.reset(rocksdb::NewNoopTransform());
                cf.memtable_factory.reset(rocksdb::NewHashSkipListRepFactory(1u << 17));
                break;
        }
        rocksdb::BlockBasedTableOptions table;
        table.block_cache = cache;
        table.block_size = t.block_size;
        table.format_version = 5;
        if (t.bloom) {
            table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
            table.whole_key_filtering = true;
            table.optimize_filters_for_memory = true;
        }
        cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
        families.emplace_back(std::string(column_names[i]), cf);
    }

    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    auto st = rocksdb::DB::Open(db, opts.path, families, &handles, &raw);
    if (!st.ok()) return status::error(status::code::other, st.ToString());
    s->db_ = raw;
    s->default_handle_ = handles[0];
    for (std::size_t i = 0; i < column_count; ++i) s->handles_[i] = handles[i + 1];
    return {};
}

store::~store() { (void)close(); }

status store::close() {
    std::unique_lock lock(db_mutex_);
    if (!db_) return {};
    status result;
    if (options_.flush_on_close) result = flush_locked();
    return close_db(result);
}

status store::close_db(status result) {
    for (auto*& h : handles_) {
        if (h) {
            auto st = db_->DestroyColumnFamilyHandle(h);
            if (result.ok()) result = from_rocksdb(st, "close");
            h = nullptr;
        }
    }
    if (default_handle_) {
        auto st = db_->DestroyColumnFamilyHandle(default_handle_);
        if (result.ok()) result = from_rocksdb(st, "close");
        default_handle_ = nullptr;
    }
    auto st = db_->Close();
    if (result.ok()) result = from_rocksdb(st, "close");
    delete db_;
    db_ = nullptr;
    return result;
}

status store::write(write_batch& batch) {
    if (batch.store_ != this) return status::error(status::code::invalid_argument, "write batch of another store");
    if (!batch.error().ok()) return batch.error();
    if (batch.empty()) return {};
    if (writes_stopped_.load(std::memory_order_acquire)) {
        if (auto st = try_resume(); !st.ok()) return st;
    }
    std::shared_lock lock(db_mutex_);
    if (!db_) return status::error(status::code::shutdown, "store is closed");
    rocksdb::WriteOptions wo;
    wo.sync = options_.sync;
    auto st = from_rocksdb(db_->Write(wo, batch.batch_.GetWriteBatch()), "write");
    if (st.error_code() == status::code::io_error || st.error_code() == status::code::no_space) return stop_writes(st);
    return st;
}

status store::writable() {
    if (!writes_stopped_.load(std::memory_order_acquire)) return {};
    return try_resume();
}

status store::stop_writes(status why) {
    std::lock_guard lock(resume_mutex_);
    if (!writes_stopped_.load()) {
        stopped_because_ = why;
        next_resume_ = std::chrono::steady_clock::now() + options_.resume_interval;
        writes_stopped_.store(true, std::memory_order_release);
    }
    return stopped_because_;
}

status store::try_resume() {
    std::lock_guard lock(resume_mutex_);
    if (!writes_stopped_.load()) return {};
    const auto now = std::chrono::steady_clock::now();
    if (now < next_resume_) return stopped_because_;
    next_resume_ = now + options_.resume_interval;
    if (!resume_db()) return stopped_because_;  // still failing (the disk still full): the first error says why
    writes_stopped_.store(false, std::memory_order_release);
    stopped_because_ = {};
    return {};
}

bool store::resume_db() {
    {
        std::shared_lock lock(db_mutex_);
        if (!db_) return false;
        // Resume() flushes every memtable (to a new WAL file) and clears a hard background
        // error. It is OK at once when RocksDB recorded none: the flush then moves writes
        // to a fresh WAL all the same.
        auto st = db_->Resume();
        if (st.ok()) {
            rocksdb::FlushOptions fo;
            fo.allow_write_stall = true;
            st = db_->Flush(fo, std::vector<rocksdb::ColumnFamilyHandle*>(handles_.begin(), handles_.end()));
            if (st.ok()) return true;
        }
        // A failed WAL append is a fatal background error in RocksDB 7.8, which Resume()
        // cannot clear: only a reopen can (it replays the WAL up to the failed record,
        // which was never acknowledged). Not before there is space again: opening writes
        // a new WAL and MANIFEST, and a failed open would leave no database to read.
        if (st.severity() < rocksdb::Status::Severity::kFatalError) return false;
        std::uint64_t free = 0;
        if (!db_->GetEnv()->GetFreeSpace(options_.path, &free).ok() || free < options_.resume_free_bytes) return false;
    }
    // Readers and writers of the old database hold db_mutex_ shared; one still inside it
    // (a long scan) makes this attempt wait for the next one instead of blocking.
    std::unique_lock lock(db_mutex_, std::try_to_lock);
    if (!lock.owns_lock() || !db_) return false;
    (void)close_db({});
    auto st = open_db();
    if (!st.ok()) {
        // Tried again at the next attempt; meanwhile reads answer "store is closed".
        spdlog::error("store: reopening {} after a failed write failed: {}", options_.path, st.message());
        return false;
    }
    spdlog::warn("store: {} reopened after a failed write; writes resume", options_.path);
    return true;
}

result<std::vector<bool>> store::contains(std::span<const dedup_probe> probes) const {
    std::shared_lock lock(db_mutex_);
    if (!db_) return status::error(status::code::shutdown, "store is closed");
    std::vector<bool> found(probes.size(), false);
    if (probes.empty()) return found;
    std::vector<std::string> key_storage;
    key_storage.reserve(probes.size());
    for (const auto& p : probes) key_storage.push_back(keys::dedup_key(p.account, p.id));
    std::vector<rocksdb::Slice> key_slices;
    key_slices.reserve(probes.size());
    for (const auto& k : key_storage) key_slices.push_back(slice(k));
    std::vector<rocksdb::PinnableSlice> values(probes.size());
    std::vector<rocksdb::Status> statuses(probes.size());
    db_->MultiGet(rocksdb::ReadOptions(), handle(column::dedup), probes.size(), key_slices.data(), values.data(),
                  statuses.data());
    for (std::size_t i = 0; i < probes.size(); ++i) {
        if (statuses[i].ok()) found[i] = true;
        else if (!statuses[i].IsNotFound()) return from_rocksdb(statuses[i], "dedup lookup");
    }
    return found;
}

result<std::vector<bool>> store::contains(std::string_view account, std::span<const std::string_view> ids) const {
    std::vector<dedup_probe> probes;
    probes.reserve(ids.size());
    for (auto id : ids) probes.push_back({account, id});
    return contains(std::span<const dedup_probe>(probes));
}

result<std::vector<bool>> store::contains(std::string_view account, std::span<const std::string> ids) const {
    std::vector<std::string_view> views(ids.begin(), ids.end());
    return contains(account, std::span<const std::string_view>(views));
}

result<std::optional<snapshot>> store::get_snapshot(std::string_view account) const {
    auto value = get(column::accounts, account);
    if (!value) return value.error();
    if (!*value) return std::optional<snapshot>{};
    std::uint64_t seq;
    std::string_view bytes;
    if (!keys::parse_snapshot_value(**value, seq, bytes))
        return status::error(status::code::corruption, "snapshot of " + std::string(account) + " is shorter than its header");
    return std::optional<snapshot>{snapshot{seq, std::string(bytes)}};
}

result<std::optional<std::string>> store::get(column c, std::string_view key) const {
    std::shared_lock lock(db_mutex_);
    if (!db_) return status::error(status::code::shutdown, "store is closed");
    std::string value;
    auto st = db_->Get(rocksdb::ReadOptions(), handle(c), slice(key), &value);
    if (st.IsNotFound()) return std::optional<std::string>{};
    if (!st.ok()) return from_rocksdb(st, "get");
    return std::optional<std::string>{std::move(value)};
}

status store::scan(column c, std::string_view lower, std::string_view upper, bool fill_cache, bool total_order,
                   const record_callback& f) const {
    std::shared_lock lock(db_mutex_);
    if (!db_) return status::error(status::code::shutdown, "store is closed");
    rocksdb::ReadOptions ro;
    // Hashed columns iterate in total order only when asked; within one account's prefix
    // (events_after) the prefix-bounded iterator is much cheaper.
    ro.total_order_seek = total_order || !hashed(c);
    rocksdb::Slice upper_slice = slice(upper);
    if (!upper.empty()) ro.iterate_upper_bound = &upper_slice;
    ro.fill_cache = fill_cache;
    if (!fill_cache) ro.readahead_size = 2u << 20;  // long sequential scans
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, handle(c)));
    for (it->Seek(slice(lower)); it->Valid(); it->Next())
        if (!f(view(it->key()), view(it->value()))) break;
    return from_rocksdb(it->status(), std::string("scan of ") + std::string(column_names[static_cast<std::size_t>(c)]));
}

status store::for_each_prefix(column c, std::string_view prefix, const record_callback& f) const {
    return scan(c, prefix, keys::prefix_upper_bound(prefix), true, true, f);
}

status store::for_each_snapshot(const snapshot_callback& f) const {
    status problem;
    auto st = scan(column::accounts, {}, {}, false, true, [&](std::string_view key, std::string_view value) {
        std::uint64_t seq;
        std::string_view bytes;
        if (!keys::parse_snapshot_value(value, seq, bytes)) {
            problem = status::error(status::code::corruption, "snapshot of " + std::string(key) + " is shorter than its header");
            return false;
        }
        return f(key, seq, bytes);
    });
    return st.ok() ? problem : st;
}

status store::for_each_dirty(const account_callback& f) const {
    return scan(column::dirty, {}, {}, true, true, [&](std::string_view key, std::string_view) { return f(key); });
}

status store::events_after(std::string_view account, std::uint64_t after, const event_callback& f) const {
    if (after == UINT64_MAX) return {};
    const std::string prefix = keys::account_prefix(account);
    status problem;
    auto st = scan(column::events, keys::event_key(account, after + 1), keys::prefix_upper_bound(prefix), true, false,
                   [&](std::string_view key, std::string_view value) {
                       stored_event e;
                       // Another account whose id extends this one's past the separator is
                       // impossible (write_batch refuses NUL in ids), but never mix them up.
                       if (key.size() != prefix.size() + keys::sequence_size) return true;
                       if (!keys::parse_event_key(key, e.account, e.sequence) || !keys::parse_event_value(value, e.at, e.bytes)) {
                           problem = status::error(status::code::corruption, "malformed event record");
                           return false;
                       }
                       return f(e);
                   });
    return st.ok() ? problem : st;
}

status store::for_each_event(const event_callback& f) const {
    status problem;
    auto st = scan(column::events, {}, {}, false, true, [&](std::string_view key, std::string_view value) {
        stored_event e;
        if (!keys::parse_event_key(key, e.account, e.sequence) || !keys::parse_event_value(value, e.at, e.bytes)) {
            problem = status::error(status::code::corruption, "malformed event record");
            return false;
        }
        return f(e);
    });
    return st.ok() ? problem : st;
}

result<std::uint64_t> store::next_sequence(std::string_view account) const {
    // Forward from the snapshot: a snapshot covers all but the latest few events, and
    // hashed memtables do not iterate backwards.
    std::uint64_t last = 0;
    auto snap = get(column::accounts, account);
    if (!snap) return snap.error();
    if (*snap && (*snap)->size() >= keys::sequence_size) last = keys::read_be64(**snap);
    auto st = events_after(account, last, [&](const stored_event& e) {
        last = std::max(last, e.sequence);
        return true;
    });
    if (!st.ok()) return st;
    if (last == UINT64_MAX) return status::error(status::code::invalid_argument, "event sequence exhausted");
    return last + 1;
}

std::uint64_t store::approximate_size_bytes() const {
    std::shared_lock lock(db_mutex_);
    if (!db_) return 0;
    std::uint64_t total = 0;
    for (auto* h : handles_) {
        std::uint64_t v = 0;
        if (db_->GetIntProperty(h, rocksdb::DB::Properties::kLiveSstFilesSize, &v)) total += v;
        if (db_->GetIntProperty(h, rocksdb::DB::Properties::kCurSizeAllMemTables, &v)) total += v;
    }
    return total;
}

std::uint64_t store::wal_syncs() const { return statistics_ ? statistics_->getTickerCount(rocksdb::WAL_FILE_SYNCED) : 0; }

status store::flush() {
    std::shared_lock lock(db_mutex_);
    return flush_locked();
}

status store::flush_locked() {
    if (!db_) return status::error(status::code::shutdown, "store is closed");
    rocksdb::FlushOptions fo;
    fo.wait = true;
    std::vector<rocksdb::ColumnFamilyHandle*> all(handles_.begin(), handles_.end());
    if (auto st = from_rocksdb(db_->Flush(fo, all), "flush"); !st.ok()) return st;
    return from_rocksdb(db_->FlushWAL(true), "flush WAL");
}

status store::compact(column c) {
    std::shared_lock lock(db_mutex_);
    if (!db_) return status::error(status::code::shutdown, "store is closed");
    rocksdb::CompactRangeOptions co;
    co.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
    return from_rocksdb(db_->CompactRange(co, handle(c), nullptr, nullptr), "compact");
}

}  // namespace redflag::store
