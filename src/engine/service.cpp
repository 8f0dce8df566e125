#include "engine/service.hpp"

#include "core/hash.hpp"
#include "engine/service_shard.hpp"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace redflag::engine {

namespace {

// Hands every evaluation of a shard's core to that shard's KPI tracker, with the
// account's active alerts (redflag_book_alerts).
class kpi_observer final : public account_observer {
public:
    explicit kpi_observer(kpi::shard_tracker& tracker) : tracker_(tracker) {}
    timestamp evaluated(std::uint32_t index, const account_record& record, const rules::rule_set* rules,
                        timestamp at) override {
        return tracker_.on_evaluated(
            index, kpi::account_input{record.state, record.scores(), record.bands(), record.classes(), record.alerts.active()},
            rules, at);
    }
    void forgotten(std::uint32_t index) override { tracker_.on_forgotten(index); }

private:
    kpi::shard_tracker& tracker_;
};

}  // namespace

service::service(service_options options, store::store& store, const clock& clock, metrics::engine_metrics& metrics,
                 std::shared_ptr<const rules::rule_set> rules)
    : options_(std::move(options)), store_(store), clock_(clock), metrics_(metrics), rules_(std::move(rules)) {
    if (!options_.release_memory) options_.release_memory = release_free_heap;
    int n = std::max(1, options_.shards);
    core_options core_opts;
    core_opts.grid_origin = timestamp{};
    core_opts.tick = options_.tick;
    core_opts.eval_duration_buckets = metrics::engine_metrics::eval_duration_buckets();
    for (int i = 0; i < n; ++i) {
        auto s = std::make_unique<shard>();
        s->index = i;
        core_opts.observer = nullptr;
        if (options_.kpi && i < options_.kpi->shard_count()) {
            s->kpi = &options_.kpi->tracker(i);
            s->kpi_observer = std::make_unique<kpi_observer>(*s->kpi);
            core_opts.observer = s->kpi_observer.get();
        }
        s->engine = std::make_unique<core>(rules_, core_opts);
        shards_.push_back(std::move(s));
    }
}

service::~service() { stop(); }

std::size_t service::shard_of(std::string_view account) const { return fnv1a(account) % shards_.size(); }

std::size_t service::recovered_accounts() const {
    std::size_t n = 0;
    for (const auto& s : shards_) n += s->recovered.size();
    return n;
}

std::shared_ptr<const rules::rule_set> service::rules() const {
    std::lock_guard lock(rules_mutex_);
    return rules_;
}

void service::start() {
    for (auto& s : shards_) {
        shard* raw = s.get();
        s->thread = std::thread([this, raw] { run(*raw); });
    }
}

void service::stop() {
    if (stopping_.exchange(true)) {
        for (auto& s : shards_)
            if (s->thread.joinable()) s->thread.join();
        return;
    }
    for (auto& s : shards_) {
        std::lock_guard lock(s->mutex);
        s->wakeup.notify_all();
    }
    for (auto& s : shards_)
        if (s->thread.joinable()) s->thread.join();
}

void service::submit(std::vector<model::event> batch, std::function<void(ingest_outcome)> done) {
    enqueue(std::move(batch), std::nullopt, std::move(done));
}

void service::enqueue(std::vector<model::event> batch, std::optional<sequenced> how,
                      std::function<void(ingest_outcome)> done) {
    if (batch.empty()) {
        done(ingest_outcome{});
        return;
    }
    if (stopping_) {
        ingest_outcome o;
        o.status = ingest_outcome::status::overloaded;
        done(std::move(o));
        return;
    }
    std::vector<std::vector<model::event>> parts(shards_.size());
    for (auto& e : batch) parts[shard_of(e.account)].push_back(std::move(e));
    // Admission: every shard that gets a part must have room (soft bound: checked, then
    // queued, without holding every shard's lock at once).
    for (std::size_t i = 0; i < parts.size(); ++i) {
        if (parts[i].empty()) continue;
        auto queued = shards_[i]->queued_events.load();
        if (queued > 0 && queued + parts[i].size() > options_.queue_events) {
            ingest_outcome o;
            o.status = ingest_outcome::status::overloaded;
            done(std::move(o));
            return;
        }
    }
    auto r = std::make_shared<request>();
    r->done = std::move(done);
    if (how) {
        r->evaluate_at = how->evaluate_at;
        r->stage = std::move(how->stage);
    }
    int count = 0;
    for (const auto& p : parts) count += p.empty() ? 0 : 1;
    r->remaining = count;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        if (parts[i].empty()) continue;
        auto& s = *shards_[i];
        s.queued_events += parts[i].size();
        {
            std::lock_guard lock(s.mutex);
            s.queue.emplace_back(std::move(parts[i]), r);
        }
        s.wakeup.notify_one();
    }
}

void service::swap_rules(std::shared_ptr<const rules::rule_set> rules, std::function<void()> done) {
    {
        std::lock_guard lock(rules_mutex_);
        rules_ = rules;
    }
    post_all([rules](core& c) { c.swap_rules(rules); }, std::move(done));
}

void service::post(std::string_view account, std::function<void(core&)> f) {
    auto& s = *shards_[shard_of(account)];
    {
        std::lock_guard lock(s.mutex);
        s.calls.push_back(std::move(f));
    }
    s.wakeup.notify_one();
}

void service::post_write(std::string_view account, write_call call) {
    auto& s = *shards_[shard_of(account)];
    {
        std::lock_guard lock(s.mutex);
        s.writes.push_back(std::move(call));
    }
    s.wakeup.notify_one();
}

void service::post_all(std::function<void(core&)> f, std::function<void()> done) {
    auto remaining = std::make_shared<std::atomic<int>>(static_cast<int>(shards_.size()));
    auto shared_done = std::make_shared<std::function<void()>>(std::move(done));
    for (auto& s : shards_) {
        {
            std::lock_guard lock(s->mutex);
            s->calls.push_back([f, remaining, shared_done](core& c) {
                f(c);
                if (--*remaining == 0 && *shared_done) (*shared_done)();
            });
        }
        s->wakeup.notify_one();
    }
}

void service::run(shard& s) {
    // Restore what recover() found, then bring every account up to now.
    for (auto& [state, alert_list] : s.recovered) s.engine->restore(std::move(state), std::move(alert_list));
    s.recovered.clear();
    s.recovered.shrink_to_fit();
    s.engine->advance_to(clock_.now());
    s.engine->reevaluate_all();
    if (s.kpi) s.kpi->publish(true);
    if (!s.engine->events().empty()) {
        store::write_batch batch(store_);
        write_alert_events(s, batch);
    }

    std::vector<shard::work_item> work;
    std::deque<std::function<void(core&)>> calls;
    std::vector<write_call> writes;
    for (;;) {
        {
            std::unique_lock lock(s.mutex);
            // Sleep until work arrives, the next account wake is due, or a snapshot is;
            // at most a second, so a moved clock is noticed.
            auto now = clock_.now();
            duration sleep = seconds_ms;
            if (auto wake = s.engine->next_wake()) sleep = std::clamp(*wake - now, duration{0}, sleep);
            auto snapshot_due = s.last_snapshot + options_.snapshot_interval;
            auto until = std::min(std::chrono::steady_clock::now() + sleep, snapshot_due);
            s.wakeup.wait_until(lock, until, [&] {
                return stopping_ ||
                       (!options_.pause_shards && (!s.queue.empty() || !s.calls.empty() || !s.writes.empty()));
            });
            if (!options_.pause_shards) {
                work.swap(s.queue);
                calls.swap(s.calls);
                writes.swap(s.writes);
            }
        }
        std::size_t events = 0;
        for (const auto& w : work) events += w.first.size();
        process_round(s, calls, work, writes);
        release_when_idle(s, events);
        work.clear();
        calls.clear();
        writes.clear();
        // KPIs reach /metrics at most every publish_interval while busy; an idle shard
        // still wakes at least every second, so its last change is published then.
        if (s.kpi) s.kpi->publish();

        if (stopping_) {
            std::lock_guard lock(s.mutex);
            if (options_.pause_shards || (s.queue.empty() && s.calls.empty() && s.writes.empty())) break;
            continue;
        }
        if (std::chrono::steady_clock::now() >= s.last_snapshot + options_.snapshot_interval) snapshot_dirty(s, false);
        // Keep state within the retention horizon; the events themselves expire in
        // RocksDB by compaction. Hourly: expiring is a walk over every account.
        if (std::chrono::steady_clock::now() >= s.last_expiry + std::chrono::hours(1)) {
            s.last_expiry = std::chrono::steady_clock::now();
            s.engine->expire_before(clock_.now() - options_.retention);
            // The index forgets the records compaction drops (one shard does it for all).
            if (alert_index_ && s.index == 0) alert_index_->expire_before(clock_.now() - options_.retention);
        }
    }
    // Requests still queued (only when paused) are refused.
    {
        std::lock_guard lock(s.mutex);
        for (auto& [events, r] : s.queue) {
            {
                std::lock_guard rlock(r->mutex);
                r->outcome.status = ingest_outcome::status::overloaded;
            }
            finish(r);
        }
        s.queue.clear();
        for (auto& w : s.writes) w.written(store::status::error(store::status::code::shutdown, "the service is stopping"));
        s.writes.clear();
    }
    flush_history(s);
    snapshot_dirty(s, true);
}

void service::release_free_heap() {
#if defined(__GLIBC__)
    ::malloc_trim(0);
#endif
}

void service::release_when_idle(shard& s, std::size_t events) {
    auto now = std::chrono::steady_clock::now();
    if (events > 0) {
        s.events_since_release += events;
        s.last_work = now;
        return;
    }
    if (options_.release_after_events == 0 || s.events_since_release < options_.release_after_events ||
        now - s.last_work < options_.release_idle)
        return;
    s.events_since_release = 0;
    options_.release_memory();
}

void service::process_round(shard& s, std::deque<std::function<void(core&)>>& calls,
                            std::vector<std::pair<std::vector<model::event>, std::shared_ptr<request>>>& work,
                            std::vector<write_call>& writes) {
    if (!s.unreadable.empty() && !reload_unreadable(s)) {
        const std::string why = "account state could not be read back after a failed write; the shard retries";
        fail_work(s, work, why);
        for (auto& w : writes) w.written(store::status::error(store::status::code::other, why));
    } else {
        ingest_round(s, work, writes);
    }
    if (calls.empty()) return;
    // Calls (API queries, acks, rule swaps) run after the round's own batch and are written
    // in one of their own: a swap of rules cannot be taken back, so what calls produce is
    // not rolled back on a failed write but kept in the core and written with the next
    // batch that succeeds.
    auto& engine = *s.engine;
    for (auto& call : calls) call(engine);
    store::write_batch batch(store_);
    write_alert_events(s, batch);
    publish_rule_statistics(s);
}

void service::finish(const std::shared_ptr<request>& r) {
    if (--r->remaining != 0) return;
    ingest_outcome outcome;
    {
        std::lock_guard lock(r->mutex);
        outcome = r->outcome;
    }
    r->done(std::move(outcome));
}

}  // namespace redflag::engine
