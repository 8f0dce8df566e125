#include "delivery/dispatcher.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <unordered_map>

namespace redflag::delivery {

namespace {

// The alert id a storage key starts with (outbox.hpp's key layout).
std::string_view alert_of(std::string_view storage_key) { return storage_key.substr(0, storage_key.find('\0')); }

}  // namespace

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

    // Before start(): what was loaded from the store. The posted alerts are re-posted at
    // once: Alertmanager may have let them lapse while we were down.
    void preload(loaded_channel loaded) {
        std::lock_guard lock(mutex_);
        for (auto& r : loaded.unfinished) inbox_.push_back(std::move(r));
        firing_ = std::move(loaded.posted);
        if (!firing_.empty()) next_resend_ = d_.clock_.now();
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

    void push(std::vector<outbox_ref>& refs, std::size_t begin, std::size_t end) {
        {
            std::lock_guard lock(mutex_);
            for (std::size_t i = begin; i < end; ++i) inbox_.push_back(std::move(refs[i]));
            // Counted as pending from the moment they are handed over, also while the
            // worker is stuck in a slow send and has not taken them in yet.
            pending_gauge_.Set(double(unfinished_count_ + inbox_.size()));
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

    std::size_t reposting() const {
        std::lock_guard lock(mutex_);
        return reposting_count_;
    }

private:
    // What the thread keeps of an unfinished entry; its storage key is the map's key.
    struct slot {
        timestamp created_at{};
        std::optional<timestamp> next_attempt;
        std::optional<timestamp> due;  // its time in due_, while scheduled
        notice_kind kind = notice_kind::firing;
    };
    // By storage key: an alert's entries are adjacent (the key starts with the alert id
    // and '\0') and in the order of their transitions, so the first of them is the one
    // that may go. Map nodes do not move, so due_ points at the keys.
    using entry_map = std::map<std::string, slot, std::less<>>;
    using entry_it = entry_map::iterator;
    struct due_order {
        bool operator()(const std::pair<timestamp, const std::string*>& a,
                        const std::pair<timestamp, const std::string*>& b) const {
            if (a.first != b.first) return a.first < b.first;
            return *a.second < *b.second;
        }
    };

    void run();
    void add(outbox_ref r);
    bool same_alert(entry_it a, entry_it b) const { return alert_of(a->first) == alert_of(b->first); }
    entry_it head_of(entry_it it);
    void schedule(entry_it it);
    void unschedule(entry_it it);
    void schedule_alert(entry_it it);
    timestamp first_due(timestamp created_at) const {
        // A digest entry is first due at the channel's next digest after it was made.
        return digest_ ? digest_->next_after(created_at) : created_at;
    }
    timestamp deadline(const outbox_entry& e) const { return first_due(e.n.created_at) + d_.options_.max_age; }
    void rebuild_schedule();
    // The stored record of `it`. nullopt when it cannot be attempted now: a failed read
    // (retried later) or a record missing, unreadable or already final (the entry is
    // then finished and `it` is gone).
    std::optional<outbox_entry> load(entry_it it, timestamp now);
    // Attempts the due entry `key` / every due digest entry / the re-post round.
    void process_single(const std::string& key, timestamp now);
    void process_digest(timestamp now);
    void process_resend(timestamp now);
    // Applies one attempt's result to the entry `it`, whose record is `e`.
    void apply(entry_it it, outbox_entry& e, const send_result& r, timestamp now, group_card* group = nullptr);
    // Grouping (a sender that groups_by_account()): the account's group, from memory or
    // the store; the attempt of `e` through its group; the members to drop because their
    // alert ended without a notice.
    group_card group_of(const std::string& account);
    void process_group(entry_it it, outbox_entry& e, group_card group);
    void drop_ended(group_card& group, std::string_view keep);
    bool settle_without_sending(outbox_entry& e, timestamp now);
    // A recovery notice held back by a silence still rewrites the alert's single card to
    // its resolved look (one attempt, best effort: the notice itself is final, silenced).
    void rewrite_held_recovery(const notification& n);
    void finish(entry_it it);
    // What a persisted outcome does to the channel's stored re-post set (repost_key).
    enum class repost_change { none, keep, forget };
    void persist(const outbox_entry& e, const std::string* thread_ts = nullptr,
                 repost_change repost = repost_change::none, const group_card* group = nullptr);
    void forget_reposts(const std::vector<std::string>& alerts);
    duration backoff(std::uint32_t attempts);
    std::string thread_of(const std::string& alert_id);
    void pace();
    void publish_count();
    bool reposts() const { return sender_ && sender_->resend_interval() > duration::zero(); }
    bool posted(const outbox_entry& e, entry_it it, timestamp now);

    dispatcher& d_;
    const std::string name_;

    mutable std::mutex mutex_;
    std::condition_variable wakeup_;
    std::vector<outbox_ref> inbox_;           // guarded by mutex_
    bool stopping_ = false;                   // guarded by mutex_
    bool reconfigured_ = false;               // guarded by mutex_
    bool poked_ = false;                      // guarded by mutex_
    std::shared_ptr<channel_sender> next_sender_;     // guarded by mutex_
    std::optional<digest_schedule> next_digest_;      // guarded by mutex_
    std::size_t unfinished_count_ = 0;        // guarded by mutex_ (published by the thread)
    std::size_t reposting_count_ = 0;         // guarded by mutex_ (published by the thread)

    // The thread's own (and preload()'s, before the thread starts).
    std::shared_ptr<channel_sender> sender_;
    std::optional<digest_schedule> digest_;
    std::mt19937_64 rng_;
    entry_map entries_;
    std::set<std::pair<timestamp, const std::string*>, due_order> due_;  // (next attempt, key): alert heads
    std::unordered_map<std::string, std::string> threads_;               // alert id → Slack ts ("" none)
    std::unordered_map<std::string, group_card> groups_;                 // account → its live group
    std::map<std::string, notification> firing_;  // re-posting: alert id → latest firing/repeat sent
    std::optional<timestamp> next_resend_;        // the next re-post round
    std::chrono::steady_clock::time_point last_send_{};
    std::thread thread_;

    prometheus::Counter& sent_;
    prometheus::Counter& retried_;
    prometheus::Counter& dead_;
    prometheus::Histogram& delay_;
    prometheus::Gauge& pending_gauge_;
};

void dispatcher::worker::add(outbox_ref r) {
    auto [it, inserted] = entries_.try_emplace(std::move(r.storage_key));
    if (!inserted) return;  // loaded and enqueued both: once
    it->second.created_at = r.created_at;
    it->second.next_attempt = r.next_attempt;
    it->second.kind = r.kind;
    schedule_alert(it);
}

dispatcher::worker::entry_it dispatcher::worker::head_of(entry_it it) {
    while (it != entries_.begin() && same_alert(std::prev(it), it)) --it;
    return it;
}

void dispatcher::worker::schedule(entry_it it) {
    if (it->second.due) return;
    timestamp at = it->second.next_attempt.value_or(first_due(it->second.created_at));
    due_.insert({at, &it->first});
    it->second.due = at;
}

void dispatcher::worker::unschedule(entry_it it) {
    if (!it->second.due) return;
    due_.erase({*it->second.due, &it->first});
    it->second.due.reset();
}

void dispatcher::worker::schedule_alert(entry_it it) {
    if (digest_) {
        // Digests gather an alert's notifications together: no ordering between them.
        schedule(it);
        return;
    }
    // A newer entry may have been scheduled as head before an older one arrived (loaded
    // late): only the oldest may go.
    auto head = head_of(it);
    for (auto next = std::next(head); next != entries_.end() && same_alert(next, head); ++next) unschedule(next);
    schedule(head);
}

void dispatcher::worker::rebuild_schedule() {
    due_.clear();
    for (auto& [key, s] : entries_) s.due.reset();
    for (auto it = entries_.begin(); it != entries_.end(); ++it)
        if (digest_ || it == entries_.begin() || !same_alert(std::prev(it), it)) schedule(it);
}

void dispatcher::worker::finish(entry_it it) {
    unschedule(it);
    std::string alert(alert_of(it->first));
    bool last_of_alert = it->second.kind == notice_kind::resolved || it->second.kind == notice_kind::resolved_silently;
    auto next = entries_.erase(it);
    if (next != entries_.end() && alert_of(next->first) == alert) schedule_alert(next);
    if (last_of_alert) {
        threads_.erase(alert);
        // Its recovery is final (sent, or dead, or silenced): no more re-posts.
        firing_.erase(alert);
    }
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

void dispatcher::worker::persist(const outbox_entry& e, const std::string* thread_ts, repost_change repost,
                                 const group_card* group) {
    store::write_batch batch(d_.store_);
    batch.put(store::column::outbox, e.storage_key, serialize(e));
    if (thread_ts) batch.put(store::column::meta, thread_key(name_, e.n.alert_id), *thread_ts);
    // The group as this outcome left it, in the same write: after a kill -9 the card's ts
    // and members are those of the last notification marked done.
    if (group && group->resolved()) batch.del(store::column::meta, group_key(name_, e.n.account));
    else if (group) batch.put(store::column::meta, group_key(name_, e.n.account), serialize_group(*group));
    // The alert's recovery, once final here (sent, dead or silenced), ends it in the stored
    // re-post set as finish() ends it in memory.
    if (reposts() && e.n.kind == notice_kind::resolved && is_final(e.outcome)) repost = repost_change::forget;
    if (repost == repost_change::keep)
        batch.put(store::column::meta, repost_key(name_, e.n.alert_id), serialize_repost(e));
    else if (repost == repost_change::forget)
        batch.del(store::column::meta, repost_key(name_, e.n.alert_id));
    // A failed write leaves the record as it was: after a restart the entry is tried
    // again (a duplicate the idempotency key lets receivers drop).
    if (auto st = d_.store_.write(batch); !st.ok())
        spdlog::error("channel {}: recording the outcome of {}: {}", name_, e.n.key, st.message());
}

std::optional<outbox_entry> dispatcher::worker::load(entry_it it, timestamp now) {
    auto stored = d_.store_.get(store::column::outbox, it->first);
    if (!stored.ok()) {
        // RocksDB trouble: keep the entry and try again later, as after a failed send.
        spdlog::error("channel {}: reading an outbox record: {}", name_, stored.error().message());
        unschedule(it);
        it->second.next_attempt = now + backoff(1);
        schedule(it);
        return std::nullopt;
    }
    std::string why = "missing";
    std::optional<outbox_entry> e;
    if (stored.value()) e = parse_entry(it->first, *stored.value(), &why);
    if (!e) {
        spdlog::error("channel {}: dropping the unreadable outbox record of alert {}: {}", name_, alert_of(it->first),
                      why);
        finish(it);
        return std::nullopt;
    }
    if (is_final(e->outcome)) {
        finish(it);
        return std::nullopt;
    }
    return e;
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
    if (is_card_rewrite(e.n.kind)) {
        // A card rewrite notifies nobody: no silence holds it back. A silence's begin or
        // end is moot once the alert is over (its card reads resolved), and an end is
        // superseded when the silence was expired at another time (that end has its own
        // record) or another silence still covers the alert (its end will come).
        std::string moot;
        std::optional<firing_answer> alert;
        if (e.n.kind != notice_kind::resolved_silently && d_.alerts_) alert = d_.alerts_->still_firing(e.n.alert_id);
        if (alert && alert->is == firing_answer::state::over)
            moot = "the alert is over";
        else if (e.n.kind == notice_kind::silence_ended && d_.silences_) {
            auto until = d_.silences_->until_of(e.silence);
            if (until && e.n.snoozed_until && *until != *e.n.snoozed_until) moot = "the silence ended at another time";
            else if (auto other = d_.silences_->silenced_by(e.n, now)) moot = "silence " + *other + " still covers it";
        }
        if (moot.empty()) {
            // Acknowledged while silenced (that notice was held): the single card comes
            // back as acknowledged, not firing with its buttons. A group card keeps its
            // members' acks itself (group.cpp).
            if (e.n.kind == notice_kind::silence_ended && alert && alert->acknowledged_by && sender_ &&
                !sender_->groups_by_account()) {
                e.n.kind = notice_kind::acknowledged;
                e.n.ack_by = *alert->acknowledged_by;
                e.n.ack_comment = alert->ack_comment;
            }
            return false;
        }
        e.outcome = delivery_outcome::sent;
        e.sent_at = now;
        spdlog::info("channel {}: card rewrite {} not needed: {}", name_, e.n.key, moot);
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

void dispatcher::worker::forget_reposts(const std::vector<std::string>& alerts) {
    if (alerts.empty()) return;
    store::write_batch batch(d_.store_);
    for (const auto& alert : alerts) batch.del(store::column::meta, repost_key(name_, alert));
    // A failed write leaves the keys: after a restart their alerts are re-posted once more,
    // and the re-post round finds them over again.
    if (auto st = d_.store_.write(batch); !st.ok())
        spdlog::error("channel {}: forgetting {} ended alerts of the re-post set: {}", name_, alerts.size(),
                      st.message());
}

bool dispatcher::worker::posted(const outbox_entry& e, entry_it it, timestamp now) {
    if (!reposts() || (e.n.kind != notice_kind::firing && e.n.kind != notice_kind::repeat)) return false;
    // A recovery already waiting behind it ends the alert: nothing to keep alive.
    for (auto next = std::next(it); next != entries_.end() && same_alert(next, it); ++next)
        if (next->second.kind == notice_kind::resolved) return false;
    if (firing_.empty() && (!next_resend_ || *next_resend_ < now)) next_resend_ = now + sender_->resend_interval();
    firing_.insert_or_assign(e.n.alert_id, e.n);
    return true;
}

void dispatcher::worker::apply(entry_it it, outbox_entry& e, const send_result& r, timestamp now, group_card* group) {
    using outcome = send_result::outcome;
    ++e.attempts;
    const std::string* new_thread = nullptr;
    auto repost = repost_change::none;
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
            if (posted(e, it, now)) repost = repost_change::keep;
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
    // A group changes with a final outcome only: a retry tries the same change again. A
    // dead one keeps the change (the flag is live whether or not the card said so).
    if (group && !is_final(e.outcome)) group = nullptr;
    persist(e, new_thread, repost, group);
    if (group) {
        if (group->resolved()) groups_.erase(e.n.account);
        else groups_[e.n.account] = std::move(*group);
    }
    if (is_final(e.outcome)) {
        finish(it);
    } else {
        unschedule(it);
        it->second.next_attempt = e.next_attempt;
        schedule(it);
    }
}

void dispatcher::worker::rewrite_held_recovery(const notification& n) {
    if (sender_->groups_by_account()) return;  // the member leaves the group card at its next rewrite
    std::string ts = thread_of(n.alert_id);
    if (ts.empty()) return;
    notification rewrite = n;
    rewrite.kind = notice_kind::resolved_silently;
    pace();
    send_result r = sender_->send(rewrite, ts);
    if (r.result != send_result::outcome::sent)
        spdlog::warn("channel {}: alert {}: rewriting the card of a recovery held by a silence failed (not retried): {}",
                     name_, n.alert_id, r.error);
}

void dispatcher::worker::pace() { last_send_ = std::chrono::steady_clock::now(); }

void dispatcher::worker::process_single(const std::string& key, timestamp now) {
    auto it = entries_.find(key);
    if (it == entries_.end()) return;
    auto e = load(it, now);
    if (!e) return;
    if (settle_without_sending(*e, now)) {
        if (e->outcome == delivery_outcome::silenced && e->n.kind == notice_kind::resolved) rewrite_held_recovery(e->n);
        persist(*e);
        finish(it);
        return;
    }
    if (sender_->groups_by_account()) {
        group_card group = group_of(e->n.account);
        // An alert posted before the channel grouped (or whose group was lost) keeps its
        // own card and thread.
        if (belongs(group, e->n)) {
            process_group(it, *e, std::move(group));
            return;
        }
    }
    std::string ts = thread_of(e->n.alert_id);
    pace();
    send_result r = sender_->send(e->n, ts);
    apply(it, *e, r, d_.clock_.now());
}

group_card dispatcher::worker::group_of(const std::string& account) {
    if (auto it = groups_.find(account); it != groups_.end()) return it->second;
    group_card g;
    g.account = account;
    auto stored = d_.store_.get(store::column::meta, group_key(name_, account));
    if (!stored.ok()) {
        spdlog::warn("channel {}: reading the group card of account {}: {}", name_, account, stored.error().message());
    } else if (stored.value()) {
        std::string why;
        if (auto parsed = parse_group(*stored.value(), &why)) g = std::move(*parsed);
        else spdlog::error("channel {}: the stored group card of account {} is unreadable ({}): a new card is posted",
                           name_, account, why);
    }
    return g;
}

void dispatcher::worker::drop_ended(group_card& group, std::string_view keep) {
    if (!d_.alerts_) return;
    std::vector<std::string> ended;
    for (const auto& m : group.members) {
        if (m.alert_id == keep) continue;
        // A notification of it still to deliver here tells its own news (its recovery).
        auto next = entries_.lower_bound(alert_prefix(m.alert_id));
        if (next != entries_.end() && alert_of(next->first) == m.alert_id) continue;
        if (d_.alerts_->still_firing(m.alert_id).is == firing_answer::state::over) ended.push_back(m.alert_id);
    }
    for (const auto& id : ended) {
        spdlog::info("channel {}: alert {} ended without a notice: it leaves the group card of account {}", name_, id,
                     group.account);
        remove_member(group, id);
    }
}

void dispatcher::worker::process_group(entry_it it, outbox_entry& e, group_card group) {
    delivery::apply(group, e.n);
    drop_ended(group, e.n.alert_id);
    pace();
    send_result r = sender_->send_group(group, e.n);
    if (r.result == send_result::outcome::sent && group.thread.empty()) group.thread = r.thread_ts;
    // The card's ts is the group's, not the alert's own thread.
    r.thread_ts.clear();
    apply(it, e, r, d_.clock_.now(), &group);
}

void dispatcher::worker::process_digest(timestamp now) {
    std::map<std::string, std::vector<std::pair<entry_it, outbox_entry>>> groups;  // by recipient
    // Due entries whose record could not be read are rescheduled later than now, so the
    // loop ends.
    while (!due_.empty() && due_.begin()->first <= now) {
        auto it = entries_.find(*due_.begin()->second);
        unschedule(it);
        auto e = load(it, now);
        if (!e) continue;
        if (settle_without_sending(*e, now)) {
            persist(*e);
            finish(it);
            continue;
        }
        auto recipient = e->n.recipient;
        groups[recipient].emplace_back(it, std::move(*e));
    }
    for (auto& [recipient, group] : groups) {
        std::vector<notification> batch;
        batch.reserve(group.size());
        for (const auto& [it, e] : group) batch.push_back(e.n);
        pace();
        send_result r = sender_->send_digest(batch);
        auto after = d_.clock_.now();
        for (auto& [it, e] : group) apply(it, e, r, after);
    }
}

void dispatcher::worker::process_resend(timestamp now) {
    const duration interval = sender_->resend_interval();
    next_resend_ = now + interval;
    if (firing_.empty()) return;
    std::vector<notification> batch;
    std::vector<std::string> ending, ended;  // alerts posted as resolved: in the batch, confirmed
    std::size_t failures = 0;
    std::string last_error;
    auto flush = [&] {
        if (batch.empty()) return;
        pace();
        auto r = sender_->resend(batch);
        if (r.result == send_result::outcome::sent) {
            ended.insert(ended.end(), ending.begin(), ending.end());
        } else {
            ++failures;
            last_error = r.error;
        }
        batch.clear();
        ending.clear();
    };
    for (const auto& [alert, n] : firing_) {
        // Still firing? A resolve that notified nobody here shows only in the alert's record.
        std::optional<timestamp> ended_at;
        if (d_.alerts_) {
            auto answer = d_.alerts_->still_firing(alert);
            if (answer.is == firing_answer::state::over) ended_at = answer.ended_at.value_or(now);
            else if (answer.is == firing_answer::state::unknown)  // cannot tell: keep it alive this round
                spdlog::warn("channel {}: reading alert {}: {}", name_, alert, answer.error);
        }
        auto& copy = batch.emplace_back(n);
        if (ended_at) {
            copy.kind = notice_kind::resolved;
            copy.resolved_at = *ended_at;
            ending.push_back(alert);
        }
        if (batch.size() >= std::max<std::size_t>(1, d_.options_.resend_batch)) flush();
    }
    flush();
    for (const auto& alert : ended) firing_.erase(alert);
    forget_reposts(ended);
    if (failures)
        spdlog::warn("channel {}: {} of the re-posts of {} firing alerts failed, next round at {}: {}", name_, failures,
                     firing_.size(), format_rfc3339(*next_resend_), last_error);
}

void dispatcher::worker::publish_count() {
    {
        std::lock_guard lock(mutex_);
        unfinished_count_ = entries_.size();
        reposting_count_ = firing_.size();
        pending_gauge_.Set(double(unfinished_count_ + inbox_.size()));
    }
}

void dispatcher::worker::run() {
    std::vector<outbox_ref> incoming;
    for (;;) {
        {
            std::unique_lock lock(mutex_);
            auto ready = [&] { return stopping_ || reconfigured_ || poked_ || !inbox_.empty(); };
            if (!ready()) {
                // Sleep until the earliest due entry (or the pacing gate), or the next
                // re-post round, at most a minute so that a moved wall clock is noticed.
                const auto cap = std::chrono::milliseconds(60000);
                auto wait = cap;
                auto now = d_.clock_.now();
                auto until = [&](timestamp t) {
                    return std::clamp(std::chrono::duration_cast<std::chrono::milliseconds>(t - now),
                                      std::chrono::milliseconds(0), cap);
                };
                if (!due_.empty() && sender_) {
                    wait = until(due_.begin()->first);
                    auto gate = last_send_ + sender_->min_interval() - std::chrono::steady_clock::now();
                    wait = std::max(wait, std::chrono::ceil<std::chrono::milliseconds>(gate));
                }
                if (!firing_.empty() && next_resend_ && reposts()) wait = std::min(wait, until(*next_resend_));
                if (wait > std::chrono::milliseconds(0)) wakeup_.wait_for(lock, wait, ready);
            }
            if (stopping_) break;
            poked_ = false;
            incoming.swap(inbox_);
            if (reconfigured_) {
                reconfigured_ = false;
                sender_ = std::move(next_sender_);
                bool digest_changed = next_digest_.has_value() != digest_.has_value() ||
                                      (digest_ && !(*next_digest_ == *digest_));
                digest_ = std::move(next_digest_);
                next_digest_.reset();
                if (digest_changed || digest_) rebuild_schedule();
                if (!reposts()) firing_.clear();
            }
        }
        for (auto& r : incoming) add(std::move(r));
        incoming.clear();
        publish_count();
        if (!sender_) continue;
        auto now = d_.clock_.now();
        if (!firing_.empty() && next_resend_ && *next_resend_ <= now && reposts()) {
            process_resend(now);
            publish_count();
        }
        if (due_.empty() || due_.begin()->first > now) continue;
        if (std::chrono::steady_clock::now() < last_send_ + sender_->min_interval()) continue;
        if (digest_) process_digest(now);
        else process_single(*due_.begin()->second, now);
        publish_count();
    }
}

dispatcher::dispatcher(dispatcher_options options, store::store& store, const clock& clock,
                       metrics::engine_metrics& metrics, const silence_check* silences, const alert_status* alerts)
    : options_(options), store_(store), clock_(clock), metrics_(metrics), silences_(silences), alerts_(alerts) {}

dispatcher::~dispatcher() { stop(); }

store::status dispatcher::load(const std::vector<std::string>& channels, const std::vector<std::string>& reposting,
                               std::map<std::string, loaded_channel>& out) const {
    std::map<std::string, std::size_t> orphans;
    std::size_t unreadable = 0;
    auto wanted = [](const std::vector<std::string>& names, std::string_view name) {
        return std::find(names.begin(), names.end(), name) != names.end();
    };
    // A re-posting channel's stored re-post set first (repost_key); then, from the outbox,
    // an alert's latest firing/repeat record sent, unless a `resolved` record follows it:
    // the records that have not expired yet agree with the set, and data written before
    // the set was kept is still read this way. Keys come in alert order, then transition
    // order, so an alert's records are seen together and in order.
    for (const auto& channel : reposting) {
        auto read = store_.for_each_prefix(store::column::meta, repost_prefix(channel),
                                           [&](std::string_view, std::string_view value) {
                                               std::string why;
                                               if (auto e = parse_repost(value, &why))
                                                   out[channel].posted.insert_or_assign(e->n.alert_id, e->n);
                                               else {
                                                   ++unreadable;
                                                   spdlog::warn("skipping an unreadable re-post record: {}", why);
                                               }
                                               return true;
                                           });
        if (!read.ok()) return read;
    }
    auto st = store_.for_each_prefix(store::column::outbox, "", [&](std::string_view key, std::string_view value) {
        auto parts = split_outbox_key(key);
        if (!parts) {
            ++unreadable;
            return true;
        }
        const bool reposts = wanted(reposting, parts->channel);
        // Most records are final history: decided from the head alone, not decoded.
        if (auto head = peek_record(value); head && is_final(head->outcome)) {
            if (!reposts) return true;
            if (head->kind == notice_kind::resolved) {
                out[std::string(parts->channel)].posted.erase(std::string(parts->alert_id));
                return true;
            }
            bool alive = head->outcome == delivery_outcome::sent &&
                         (head->kind == notice_kind::firing || head->kind == notice_kind::repeat);
            if (!alive) return true;
        }
        std::string why;
        auto e = parse_entry(key, value, &why);
        if (!e) {
            ++unreadable;
            spdlog::warn("skipping an unreadable outbox record: {}", why);
            return true;
        }
        if (reposts) {
            if (e->n.kind == notice_kind::resolved)
                out[e->n.channel].posted.erase(e->n.alert_id);
            else if (e->outcome == delivery_outcome::sent && e->n.kind != notice_kind::acknowledged &&
                     e->n.kind != notice_kind::snoozed)
                out[e->n.channel].posted.insert_or_assign(e->n.alert_id, e->n);
        }
        if (is_final(e->outcome)) return true;
        if (!wanted(channels, e->n.channel)) {
            ++orphans[e->n.channel];
            return true;
        }
        out[e->n.channel].unfinished.push_back(ref_of(*e));
        return true;
    });
    if (unreadable) {
        spdlog::warn("{} unreadable outbox records skipped", unreadable);
        metrics_.degraded_records(metrics::degraded::outbox_record).Increment(double(unreadable));
    }
    for (const auto& [channel, count] : orphans)
        if (!workers_.count(channel))
            spdlog::warn("{} notifications wait for channel {}, which is not configured: they stay in the outbox",
                         count, channel);
    return st;
}

store::status dispatcher::start(std::vector<channel_setup> channels) { return reconfigure(std::move(channels)); }

store::status dispatcher::reconfigure(std::vector<channel_setup> channels) {
    std::vector<std::shared_ptr<worker>> removed, added;
    std::vector<std::string> new_names, new_reposting;
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
                if (setup.sender && setup.sender->resend_interval() > duration::zero()) new_reposting.push_back(name);
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
        std::map<std::string, loaded_channel> loaded;
        result = load(new_names, new_reposting, loaded);
        std::size_t total = 0, posted = 0;
        for (std::size_t i = 0; i < added.size(); ++i) {
            auto& channel = loaded[new_names[i]];
            total += channel.unfinished.size();
            posted += channel.posted.size();
            added[i]->preload(std::move(channel));
            added[i]->start();
        }
        if (total) spdlog::info("{} unfinished notifications loaded from the outbox", total);
        if (posted) spdlog::info("{} firing alerts to keep posting to Alertmanager", posted);
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

void dispatcher::enqueue(std::vector<outbox_ref> refs) {
    if (refs.empty()) return;
    std::shared_lock lock(workers_mutex_);
    // Usually one channel or two: group by channel without allocating a map.
    std::stable_sort(refs.begin(), refs.end(),
                     [](const outbox_ref& a, const outbox_ref& b) { return a.channel() < b.channel(); });
    std::size_t begin = 0;
    while (begin < refs.size()) {
        auto channel = refs[begin].channel();
        std::size_t end = begin + 1;
        while (end < refs.size() && refs[end].channel() == channel) ++end;
        if (auto it = workers_.find(std::string(channel)); it != workers_.end()) it->second->push(refs, begin, end);
        // else: a channel removed by a reload; the entry stays in the store for later.
        begin = end;
    }
}

void dispatcher::enqueue(const std::vector<outbox_entry>& entries) {
    std::vector<outbox_ref> refs;
    refs.reserve(entries.size());
    for (const auto& e : entries) refs.push_back(ref_of(e));
    enqueue(std::move(refs));
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

std::size_t dispatcher::reposting(const std::string& channel) const {
    std::shared_lock lock(workers_mutex_);
    auto it = workers_.find(channel);
    return it == workers_.end() ? 0 : it->second->reposting();
}

}  // namespace redflag::delivery
