#include "delivery/dispatcher.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <unordered_map>

namespace redflag::delivery {

// One channel's worker: its thread, its inbox (filled by shards) and its unfinished
// entries (touched only by its thread).
class dispatcher::worker {
public:
    worker(dispatcher& d, channel_setup setup, std::uint64_t seed)
        : d_(d), name_(setup.name), sender_(std::move(setup.sender)), digest_(std::move(setup.digest)),
          rng_(seed ? seed : std::random_device{}()),
          sent_(d.metrics_.notifications(name_, metrics::notification_outcome::sent)),
          retried_(d.metrics_.notifications(name_, metrics::notification_outcome::retry)),
          dead_(d.metrics_.notifications(name_, metrics::notification_outcome::dead)),
          delay_(d.metrics_.notification_delay(name_)), pending_gauge_(d.metrics_.outbox_pending(name_)) {}

    // Before start(): entries loaded from the store.
    void preload(std::vector<outbox_entry> entries) {
        std::lock_guard lock(mutex_);
        for (auto& e : entries) inbox_.push_back(std::move(e));
    }

    void start() {
        thread_ = std::thread([this] { run(); });
    }

    void stop() {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        wakeup_.notify_all();
        if (thread_.joinable()) thread_.join();
    }

    void push(std::vector<outbox_entry>& entries) {
        {
            std::lock_guard lock(mutex_);
            for (auto& e : entries) inbox_.push_back(std::move(e));
        }
        wakeup_.notify_one();
    }

    void update(channel_setup setup) {
        {
            std::lock_guard lock(mutex_);
            next_sender_ = std::move(setup.sender);
            next_digest_ = std::move(setup.digest);
            reconfigured_ = true;
        }
        wakeup_.notify_one();
    }

    void poke() {
        {
            std::lock_guard lock(mutex_);
            poked_ = true;
        }
        wakeup_.notify_one();
    }

    std::size_t unfinished() const {
        std::lock_guard lock(mutex_);
        return unfinished_count_ + inbox_.size();
    }

private:
    void run();
    void take_inbox(std::vector<outbox_entry>& incoming);
    void add(outbox_entry e);
    void schedule_head(const std::string& alert_id);
    void unschedule(const std::string& key);
    timestamp first_due(const outbox_entry& e) const;
    timestamp deadline(const outbox_entry& e) const { return first_due(e) + d_.options_.max_age; }
    void rebuild_schedule();
    // Attempts the due entry `key` / every due digest entry.
    void process_single(const std::string& key, timestamp now);
    void process_digest(timestamp now);
    // Applies one attempt's result; `entries` of one send (one for single messages).
    void apply(const std::vector<std::string>& keys, const send_result& r, timestamp now);
    bool settle_without_sending(outbox_entry& e, timestamp now);
    void finish(const std::string& key);
    void persist(const outbox_entry& e, const std::string* thread_ts = nullptr);
    duration backoff(std::uint32_t attempts);
    std::string thread_of(const std::string& alert_id);
    void pace();
    void publish_count();

    dispatcher& d_;
    const std::string name_;

    mutable std::mutex mutex_;
    std::condition_variable wakeup_;
    std::vector<outbox_entry> inbox_;         // guarded by mutex_
    bool stopping_ = false;                   // guarded by mutex_
    bool reconfigured_ = false;               // guarded by mutex_
    bool poked_ = false;                      // guarded by mutex_
    std::shared_ptr<channel_sender> next_sender_;     // guarded by mutex_
    std::optional<digest_schedule> next_digest_;      // guarded by mutex_
    std::size_t unfinished_count_ = 0;        // guarded by mutex_ (published by the thread)

    // The thread's own.
    std::shared_ptr<channel_sender> sender_;
    std::optional<digest_schedule> digest_;
    std::mt19937_64 rng_;
    std::map<std::string, outbox_entry> entries_;                      // by storage key
    std::unordered_map<std::string, std::set<std::string>> by_alert_;  // alert id → its keys, oldest first
    std::set<std::pair<timestamp, std::string>> due_;                   // (next attempt, key): alert heads
    std::unordered_map<std::string, timestamp> scheduled_;              // key → its time in due_
    std::unordered_map<std::string, std::string> threads_;              // alert id → Slack ts ("" none)
    std::chrono::steady_clock::time_point last_send_{};
    std::thread thread_;

    prometheus::Counter& sent_;
    prometheus::Counter& retried_;
    prometheus::Counter& dead_;
    prometheus::Histogram& delay_;
    prometheus::Gauge& pending_gauge_;
};

timestamp dispatcher::worker::first_due(const outbox_entry& e) const {
    // A digest entry is first due at the channel's next digest after it was made.
    if (digest_) return digest_->next_after(e.n.created_at);
    return e.n.created_at;
}

void dispatcher::worker::add(outbox_entry e) {
    if (is_final(e.outcome) || entries_.count(e.storage_key)) return;  // loaded and enqueued both: once
    auto key = e.storage_key;
    auto alert = e.n.alert_id;
    entries_.emplace(key, std::move(e));
    by_alert_[alert].insert(key);
    schedule_head(alert);
}

void dispatcher::worker::unschedule(const std::string& key) {
    auto it = scheduled_.find(key);
    if (it == scheduled_.end()) return;
    due_.erase({it->second, key});
    scheduled_.erase(it);
}

void dispatcher::worker::schedule_head(const std::string& alert_id) {
    auto found = by_alert_.find(alert_id);
    if (found == by_alert_.end() || found->second.empty()) return;
    auto schedule = [&](const std::string& key) {
        if (scheduled_.count(key)) return;
        const auto& e = entries_.at(key);
        timestamp at = e.next_attempt.value_or(first_due(e));
        due_.insert({at, key});
        scheduled_[key] = at;
    };
    if (digest_) {
        // Digests gather an alert's notifications together: no ordering between them.
        for (const auto& key : found->second) schedule(key);
        return;
    }
    const auto& head = *found->second.begin();
    // A newer entry may have been scheduled as head before an older one arrived (loaded
    // late): only the oldest may go.
    for (auto it = std::next(found->second.begin()); it != found->second.end(); ++it) unschedule(*it);
    schedule(head);
}

void dispatcher::worker::rebuild_schedule() {
    due_.clear();
    scheduled_.clear();
    for (const auto& [alert, keys] : by_alert_) schedule_head(alert);
}

void dispatcher::worker::finish(const std::string& key) {
    unschedule(key);
    auto it = entries_.find(key);
    if (it == entries_.end()) return;
    auto alert = it->second.n.alert_id;
    bool last_of_alert = it->second.n.kind == notice_kind::resolved;
    entries_.erase(it);
    auto found = by_alert_.find(alert);
    if (found != by_alert_.end()) {
        found->second.erase(key);
        if (found->second.empty()) by_alert_.erase(found);
        else schedule_head(alert);
    }
    if (last_of_alert) threads_.erase(alert);
}

duration dispatcher::worker::backoff(std::uint32_t attempts) {
    const auto& o = d_.options_;
    duration base = o.first_backoff;
    for (std::uint32_t i = 1; i < attempts && base < o.max_backoff; ++i) base *= 2;
    base = std::min(base, o.max_backoff);
    std::uniform_real_distribution<double> factor(1.0 - o.jitter, 1.0 + o.jitter);
    auto jittered = duration(static_cast<std::int64_t>(double(base.count()) * factor(rng_)));
    return std::clamp(jittered, duration(1), o.max_backoff);
}

std::string dispatcher::worker::thread_of(const std::string& alert_id) {
    if (auto it = threads_.find(alert_id); it != threads_.end()) return it->second;
    std::string ts;
    auto stored = d_.store_.get(store::column::meta, thread_key(name_, alert_id));
    if (!stored.ok()) spdlog::warn("channel {}: reading the Slack thread of alert {}: {}", name_, alert_id,
                                   stored.error().message());
    else if (stored.value()) ts = *stored.value();
    threads_[alert_id] = ts;
    return ts;
}

void dispatcher::worker::persist(const outbox_entry& e, const std::string* thread_ts) {
    store::write_batch batch(d_.store_);
    batch.put(store::column::outbox, e.storage_key, serialize(e));
    if (thread_ts) batch.put(store::column::meta, thread_key(name_, e.n.alert_id), *thread_ts);
    // A failed write leaves the record as it was: after a restart the entry is tried
    // again (a duplicate the idempotency key lets receivers drop).
    if (auto st = d_.store_.write(batch); !st.ok())
        spdlog::error("channel {}: recording the outcome of {}: {}", name_, e.n.key, st.message());
}

bool dispatcher::worker::settle_without_sending(outbox_entry& e, timestamp now) {
    if (now >= deadline(e)) {
        e.outcome = delivery_outcome::dead;
        e.last_error = "not delivered within delivery.max_age (" + format_duration(d_.options_.max_age) + ", " +
                       std::to_string(e.attempts) + " attempts)" + (e.last_error.empty() ? "" : ": " + e.last_error);
        e.sent_at = now;
        dead_.Increment();
        spdlog::error("channel {}: notification {} is dead: {}", name_, e.n.key, e.last_error);
        return true;
    }
    if (d_.silences_) {
        if (auto id = d_.silences_->silenced_by(e.n, now)) {
            e.outcome = delivery_outcome::silenced;
            e.silence = *id;
            e.sent_at = now;
            spdlog::info("channel {}: notification {} held back by silence {}", name_, e.n.key, *id);
            return true;
        }
    }
    return false;
}

void dispatcher::worker::apply(const std::vector<std::string>& keys, const send_result& r, timestamp now) {
    using outcome = send_result::outcome;
    for (const auto& key : keys) {
        auto& e = entries_.at(key);
        ++e.attempts;
        const std::string* new_thread = nullptr;
        switch (r.result) {
            case outcome::sent: {
                e.outcome = delivery_outcome::sent;
                e.sent_at = now;
                e.last_error.clear();
                e.next_attempt.reset();
                sent_.Increment();
                delay_.Observe(std::max(0.0, std::chrono::duration<double>(now - e.n.created_at).count()));
                if (!r.thread_ts.empty() && thread_of(e.n.alert_id).empty()) {
                    threads_[e.n.alert_id] = r.thread_ts;
                    new_thread = &r.thread_ts;
                }
                break;
            }
            case outcome::permanent:
                e.outcome = delivery_outcome::dead;
                e.sent_at = now;
                e.last_error = r.error;
                dead_.Increment();
                spdlog::error("channel {}: notification {} is dead: {}", name_, e.n.key, r.error);
                break;
            case outcome::retry: {
                e.outcome = delivery_outcome::retry;
                e.last_error = r.error;
                retried_.Increment();
                duration wait = r.retry_after && *r.retry_after > duration::zero() ? *r.retry_after : backoff(e.attempts);
                e.next_attempt = std::min(now + wait, deadline(e));
                spdlog::warn("channel {}: notification {} failed (attempt {}), retrying at {}: {}", name_, e.n.key,
                             e.attempts, format_rfc3339(*e.next_attempt), r.error);
                break;
            }
        }
        persist(e, new_thread);
        if (is_final(e.outcome)) {
            finish(key);
        } else {
            unschedule(key);
            due_.insert({*e.next_attempt, key});
            scheduled_[key] = *e.next_attempt;
        }
    }
}

void dispatcher::worker::pace() { last_send_ = std::chrono::steady_clock::now(); }

void dispatcher::worker::process_single(const std::string& key, timestamp now) {
    auto& e = entries_.at(key);
    if (settle_without_sending(e, now)) {
        persist(e);
        finish(key);
        return;
    }
    std::string ts = thread_of(e.n.alert_id);
    pace();
    send_result r = sender_->send(e.n, ts);
    apply({key}, r, d_.clock_.now());
}

void dispatcher::worker::process_digest(timestamp now) {
    std::map<std::string, std::vector<std::string>> groups;  // recipient → keys
    while (!due_.empty() && due_.begin()->first <= now) {
        auto key = due_.begin()->second;
        unschedule(key);
        auto& e = entries_.at(key);
        if (settle_without_sending(e, now)) {
            persist(e);
            finish(key);
            continue;
        }
        groups[e.n.recipient].push_back(key);
    }
    for (auto& [recipient, keys] : groups) {
        std::vector<notification> batch;
        batch.reserve(keys.size());
        for (const auto& k : keys) batch.push_back(entries_.at(k).n);
        pace();
        send_result r = sender_->send_digest(batch);
        apply(keys, r, d_.clock_.now());
    }
}

void dispatcher::worker::take_inbox(std::vector<outbox_entry>& incoming) {
    for (auto& e : incoming) add(std::move(e));
    incoming.clear();
}

void dispatcher::worker::publish_count() {
    {
        std::lock_guard lock(mutex_);
        unfinished_count_ = entries_.size();
    }
    pending_gauge_.Set(double(entries_.size()));
}

void dispatcher::worker::run() {
    std::vector<outbox_entry> incoming;
    for (;;) {
        {
            std::unique_lock lock(mutex_);
            auto ready = [&] { return stopping_ || reconfigured_ || poked_ || !inbox_.empty(); };
            if (!ready()) {
                // Sleep until the earliest due entry (or the pacing gate), at most a minute
                // so that a moved wall clock is noticed.
                auto wait = std::chrono::milliseconds(60000);
                if (!due_.empty() && sender_) {
                    auto until_due = due_.begin()->first - d_.clock_.now();
                    wait = std::clamp(std::chrono::duration_cast<std::chrono::milliseconds>(until_due),
                                      std::chrono::milliseconds(0), wait);
                    auto gate = last_send_ + sender_->min_interval() - std::chrono::steady_clock::now();
                    wait = std::max(wait, std::chrono::ceil<std::chrono::milliseconds>(gate));
                }
                if (wait > std::chrono::milliseconds(0)) wakeup_.wait_for(lock, wait, ready);
            }
            if (stopping_) break;
            poked_ = false;
            incoming.swap(inbox_);
            if (reconfigured_) {
                reconfigured_ = false;
                sender_ = std::move(next_sender_);
                bool digest_changed = next_digest_.has_value() != digest_.has_value() ||
                                      (digest_ && next_digest_->minute_of_day() != digest_->minute_of_day());
                digest_ = std::move(next_digest_);
                next_digest_.reset();
                if (digest_changed || digest_) rebuild_schedule();
            }
        }
        take_inbox(incoming);
        publish_count();
        if (!sender_ || due_.empty()) continue;
        auto now = d_.clock_.now();
        if (due_.begin()->first > now) continue;
        if (std::chrono::steady_clock::now() < last_send_ + sender_->min_interval()) continue;
        if (digest_) process_digest(now);
        else process_single(due_.begin()->second, now);
        publish_count();
    }
}

dispatcher::dispatcher(dispatcher_options options, store::store& store, const clock& clock,
                       metrics::engine_metrics& metrics, const silence_registry* silences)
    : options_(options), store_(store), clock_(clock), metrics_(metrics), silences_(silences) {}

dispatcher::~dispatcher() { stop(); }

store::status dispatcher::load_unfinished(const std::vector<std::string>& channels,
                                          std::map<std::string, std::vector<outbox_entry>>& out) const {
    std::map<std::string, std::size_t> orphans;
    std::size_t unreadable = 0;
    auto st = store_.for_each_prefix(store::column::outbox, "", [&](std::string_view key, std::string_view value) {
        std::string why;
        auto e = parse_entry(key, value, &why);
        if (!e) {
            ++unreadable;
            spdlog::warn("skipping an unreadable outbox record: {}", why);
            return true;
        }
        if (is_final(e->outcome)) return true;
        if (std::find(channels.begin(), channels.end(), e->n.channel) == channels.end()) {
            ++orphans[e->n.channel];
            return true;
        }
        out[e->n.channel].push_back(std::move(*e));
        return true;
    });
    for (const auto& [channel, count] : orphans)
        if (!workers_.count(channel))
            spdlog::warn("{} notifications wait for channel {}, which is not configured: they stay in the outbox",
                         count, channel);
    return st;
}

store::status dispatcher::start(std::vector<channel_setup> channels) { return reconfigure(std::move(channels)); }

store::status dispatcher::reconfigure(std::vector<channel_setup> channels) {
    std::vector<std::shared_ptr<worker>> removed, added;
    std::vector<std::string> new_names;
    {
        std::unique_lock lock(workers_mutex_);
        if (stopped_) return {};
        std::map<std::string, std::shared_ptr<worker>> next;
        for (auto& setup : channels) {
            auto name = setup.name;
            if (auto it = workers_.find(name); it != workers_.end()) {
                it->second->update(std::move(setup));
                next[name] = it->second;
            } else {
                auto w = std::make_shared<worker>(*this, std::move(setup),
                                                  options_.seed ? options_.seed + next.size() : 0);
                next[name] = w;
                added.push_back(w);
                new_names.push_back(name);
            }
        }
        for (auto& [name, w] : workers_)
            if (!next.count(name)) removed.push_back(w);
        // New workers take enqueues from here on, into their inbox; they start only once
        // their stored entries are loaded, so no entry is read as unfinished after its
        // worker finished it.
        workers_ = std::move(next);
    }
    for (auto& w : removed) w->stop();
    store::status result;
    if (!added.empty()) {
        std::map<std::string, std::vector<outbox_entry>> loaded;
        result = load_unfinished(new_names, loaded);
        std::size_t total = 0;
        for (std::size_t i = 0; i < added.size(); ++i) {
            auto& list = loaded[new_names[i]];
            total += list.size();
            added[i]->preload(std::move(list));
            added[i]->start();
        }
        if (total) spdlog::info("{} unfinished notifications loaded from the outbox", total);
    }
    return result;
}

void dispatcher::stop() {
    std::map<std::string, std::shared_ptr<worker>> all;
    {
        std::unique_lock lock(workers_mutex_);
        stopped_ = true;
        all.swap(workers_);
    }
    for (auto& [name, w] : all) w->stop();
}

void dispatcher::enqueue(std::vector<outbox_entry> entries) {
    if (entries.empty()) return;
    std::shared_lock lock(workers_mutex_);
    // Usually one channel or two: group without allocating a map.
    std::stable_sort(entries.begin(), entries.end(),
              [](const outbox_entry& a, const outbox_entry& b) { return a.n.channel < b.n.channel; });
    auto begin = entries.begin();
    while (begin != entries.end()) {
        auto end = std::find_if(begin, entries.end(), [&](const outbox_entry& e) { return e.n.channel != begin->n.channel; });
        auto it = workers_.find(begin->n.channel);
        if (it != workers_.end()) {
            std::vector<outbox_entry> part(std::make_move_iterator(begin), std::make_move_iterator(end));
            it->second->push(part);
        }
        // else: a channel removed by a reload; the entry stays in the store for later.
        begin = end;
    }
}

void dispatcher::wake() {
    std::shared_lock lock(workers_mutex_);
    for (auto& [name, w] : workers_) w->poke();
}

std::size_t dispatcher::unfinished(const std::string& channel) const {
    std::shared_lock lock(workers_mutex_);
    auto it = workers_.find(channel);
    return it == workers_.end() ? 0 : it->second->unfinished();
}

}  // namespace redflag::delivery
