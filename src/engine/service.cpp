#include "engine/service.hpp"

#include "alerts/codec.hpp"
#include "core/hash.hpp"
#include "model/codec.hpp"

#include <boost/json/serialize.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <unordered_set>

namespace redflag::engine {

struct service::request {
    std::atomic<int> remaining{0};
    std::mutex mutex;
    ingest_outcome outcome;
    std::function<void(ingest_outcome)> done;
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
    std::vector<std::pair<model::account_state, std::vector<alerts::alert>>> recovered;
    std::unique_ptr<account_observer> kpi_observer;  // feeds `kpi`; null without KPIs
    kpi::shard_tracker* kpi = nullptr;

    // Delivery (owned by the shard thread): the builder in use and the generation it came
    // with, and the outbox records of the batch being built, handed to the dispatcher once
    // the batch is written.
    std::shared_ptr<const delivery::notification_builder> builder;
    std::uint64_t builder_generation = 0;
    delivery::notification notification;           // reused: built once per alert event
    std::vector<delivery::delivery_target> targets;  // its channels
    std::string record_scratch;                      // put_records' encoding buffer
    std::vector<delivery::outbox_ref> outbox;

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

namespace {


std::string json_text(const boost::json::object& o) { return boost::json::serialize(o); }

// Hands every evaluation of a shard's core to that shard's KPI tracker, with the
// account's active alerts (redflag_book_alerts).
class kpi_observer final : public account_observer {
public:
    explicit kpi_observer(kpi::shard_tracker& tracker) : tracker_(tracker) {}
    timestamp evaluated(std::uint32_t index, const account_record& record, const rules::rule_set* rules,
                        timestamp at) override {
        return tracker_.on_evaluated(
            index, kpi::account_input{record.state, record.scores, record.bands, record.classes, record.alerts.active()},
            rules, at);
    }
    void forgotten(std::uint32_t index) override { tracker_.on_forgotten(index); }

private:
    kpi::shard_tracker& tracker_;
};

// The persisted form of an alert: its record plus what the API filters and shows without
// visiting the account's shard.
std::string alert_record_json(const alerts::alert_event& e, const model::account_state* account) {
    auto object = alerts::to_json(e.record);
    if (account) {
        auto text = [&](model::profile_field f) -> std::string {
            const auto& v = account->get(f);
            if (const auto* s = std::get_if<std::string>(&v)) return *s;
            return {};
        };
        object["account_name"] = text(model::profile_field::name);
        object["csm"] = text(model::profile_field::csm);
        object["csm_email"] = text(model::profile_field::csm_email);
    }
    if (!e.message.empty()) object["message"] = e.message;
    return json_text(object);
}

}  // namespace

service::service(service_options options, store::store& store, const clock& clock, metrics::engine_metrics& metrics,
                 std::shared_ptr<const rules::rule_set> rules)
    : options_(options), store_(store), clock_(clock), metrics_(metrics), rules_(std::move(rules)) {
    int n = std::max(1, options_.shards);
    core_options core_opts;
    core_opts.grid_origin = timestamp{};
    core_opts.tick = options_.tick;
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

bool service::recover(std::string& error) {
    // Active alerts by account.
    std::unordered_map<std::string, std::vector<alerts::alert>> active;
    auto st = store_.for_each_prefix(store::column::alerts, "", [&](std::string_view, std::string_view value) {
        std::string why;
        auto a = alerts::parse_alert(value, &why);
        if (!a) {
            spdlog::warn("skipping an unreadable alert record: {}", why);
            return true;
        }
        if (a->active()) active[a->account].push_back(std::move(*a));
        return true;
    });
    if (!st.ok()) {
        error = "reading alerts: " + st.message();
        return false;
    }

    // Snapshots.
    std::unordered_map<std::string, std::pair<std::size_t, std::size_t>> where;  // account → (shard, index)
    std::size_t snapshots = 0, corrupt = 0;
    st = store_.for_each_snapshot([&](std::string_view account, std::uint64_t sequence, std::string_view bytes) {
        auto& s = *shards_[shard_of(account)];
        model::account_state state;
        std::string why;
        if (!model::decode_state(bytes, state, &why)) {
            // Rebuilt from its events below: mark it for a full replay.
            spdlog::warn("snapshot of account {} is unreadable ({}); rebuilding it from its events", account, why);
            ++corrupt;
            state = model::account_state{};
            state.id = std::string(account);
            sequence = 0;
            s.dirty.emplace_back(account);
            s.meta[std::string(account)].dirty = true;
        }
        s.meta[std::string(account)].next_sequence = sequence + 1;
        where[std::string(account)] = {s.index, s.recovered.size()};
        s.recovered.emplace_back(std::move(state), std::vector<alerts::alert>{});
        ++snapshots;
        return true;
    });
    if (!st.ok()) {
        error = "reading snapshots: " + st.message();
        return false;
    }

    // Accounts with events newer than their snapshot: replay those events.
    std::vector<std::string> dirty_accounts;
    st = store_.for_each_dirty([&](std::string_view account) {
        dirty_accounts.emplace_back(account);
        return true;
    });
    if (!st.ok()) {
        error = "reading dirty marks: " + st.message();
        return false;
    }
    std::size_t replayed = 0;
    for (const auto& account : dirty_accounts) {
        auto& s = *shards_[shard_of(account)];
        auto [it, inserted] = where.try_emplace(account, std::pair<std::size_t, std::size_t>{s.index, s.recovered.size()});
        if (inserted) {
            model::account_state state;
            state.id = account;
            s.recovered.emplace_back(std::move(state), std::vector<alerts::alert>{});
        }
        auto& meta = s.meta[account];
        if (!meta.dirty) {
            meta.dirty = true;
            s.dirty.push_back(account);
        }
        auto& state = s.recovered[it->second.second].first;
        std::uint64_t from = meta.next_sequence - 1;
        st = store_.events_after(account, from, [&](const store::stored_event& stored) {
            std::string why;
            auto e = model::decode_event_json(stored.bytes, &why);
            if (!e) {
                spdlog::warn("skipping unreadable event {} of account {}: {}", stored.sequence, account, why);
            } else {
                state.apply(*e);
                ++replayed;
            }
            meta.next_sequence = std::max(meta.next_sequence, stored.sequence + 1);
            return true;
        });
        if (!st.ok()) {
            error = "replaying events of " + account + ": " + st.message();
            return false;
        }
    }

    for (auto& [account, list] : active) {
        auto it = where.find(account);
        if (it == where.end()) continue;  // alerts of an account whose events all expired
        auto& slot = shards_[it->second.first]->recovered[it->second.second];
        slot.second = std::move(list);
    }
    for (auto& s : shards_)
        for (auto& [state, alert_list] : s->recovered)
            for (const auto& a : alert_list)
                metrics_.alerts(a.rule, std::string(alerts::name_of(a.severity)), std::string(alerts::name_of(a.state)))
                    .Increment();
    spdlog::info("recovered {} account snapshots ({} unreadable), replayed {} events of {} accounts", snapshots, corrupt,
                 replayed, dirty_accounts.size());
    return true;
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
                return stopping_ || (!options_.pause_shards && (!s.queue.empty() || !s.calls.empty()));
            });
            if (!options_.pause_shards) {
                work.swap(s.queue);
                calls.swap(s.calls);
            }
        }
        process_round(s, calls, work);
        work.clear();
        calls.clear();
        // KPIs reach /metrics at most every publish_interval while busy; an idle shard
        // still wakes at least every second, so its last change is published then.
        if (s.kpi) s.kpi->publish();

        if (stopping_) {
            std::lock_guard lock(s.mutex);
            if (options_.pause_shards || (s.queue.empty() && s.calls.empty())) break;
            continue;
        }
        if (std::chrono::steady_clock::now() >= s.last_snapshot + options_.snapshot_interval) snapshot_dirty(s, false);
        // Keep state within the retention horizon; the events themselves expire in
        // RocksDB by compaction. Hourly: expiring is a walk over every account.
        if (std::chrono::steady_clock::now() >= s.last_expiry + std::chrono::hours(1)) {
            s.last_expiry = std::chrono::steady_clock::now();
            s.engine->expire_before(clock_.now() - options_.retention);
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
    }
    snapshot_dirty(s, true);
}

void service::process_round(shard& s, std::deque<std::function<void(core&)>>& calls,
                            std::vector<std::pair<std::vector<model::event>, std::shared_ptr<request>>>& work) {
    if (!s.unreadable.empty() && !reload_unreadable(s)) {
        fail_work(s, work, "account state could not be read back after a failed write; the shard retries");
    } else {
        ingest_round(s, work);
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
}

void service::ingest_round(shard& s, std::vector<shard::work_item>& work) {
    auto& engine = *s.engine;
    const timestamp now = clock_.now();
    // Everything from here to the write is one round: if the write fails, the core, the
    // accounts' sequences and dirty marks go back to how they were, so that nothing the
    // round applied can later pass for durable (a later event of the account must mark it
    // dirty again, or a restart would never replay the events after its snapshot).
    engine.begin_round();
    ++s.round;
    s.meta_journal.clear();
    const std::size_t dirty_before = s.dirty.size();
    engine.advance_to(now);
    store::write_batch batch(store_);

    std::array<std::size_t, model::event_type_count> accepted{}, duplicates{};
    if (!work.empty() && !apply_work(s, work, batch, accepted, duplicates)) {
        // The dedup lookup failed: nothing was applied, and the requests are answered.
        work.clear();
    }
    put_alert_events(s, batch);
    auto st = batch.empty() ? store::status{} : store_.write(batch);
    if (st.ok()) {
        engine.commit_round();
        alert_events_durable(s);
        for (std::size_t t = 0; t < model::event_type_count; ++t) {
            auto type = static_cast<model::event_type>(t);
            if (accepted[t]) metrics_.events_ingested(type, metrics::event_outcome::accepted).Increment(double(accepted[t]));
            if (duplicates[t])
                metrics_.events_ingested(type, metrics::event_outcome::duplicate).Increment(double(duplicates[t]));
        }
    } else {
        spdlog::error("shard {}: write failed, the round is taken back: {}", s.index, st.message());
        roll_back_round(s, dirty_before);
        for (auto& [events, r] : work) {
            std::lock_guard lock(r->mutex);
            r->outcome.status = ingest_outcome::status::failed;
            r->outcome.error = "storing the events failed: " + st.message();
        }
    }
    for (auto& [events, r] : work) {
        s.queued_events -= events.size();
        finish(r);
    }
}

bool service::apply_work(shard& s, std::vector<shard::work_item>& work, store::write_batch& batch,
                         std::array<std::size_t, model::event_type_count>& accepted,
                         std::array<std::size_t, model::event_type_count>& duplicates) {
    auto& engine = *s.engine;
    const timestamp now = clock_.now();
    // Deduplicate the whole round with one MultiGet, and within the round itself.
    std::vector<store::dedup_probe> probes;
    for (const auto& [events, r] : work)
        for (const auto& e : events) probes.push_back({e.account, e.id});
    auto known = store_.contains(probes);
    if (!known.ok()) {
        spdlog::error("shard {}: dedup lookup failed: {}", s.index, known.error().message());
        fail_work(s, work, "reading the idempotency index failed: " + known.error().message());
        return false;
    }
    std::unordered_set<std::string> seen;
    std::size_t probe = 0;
    std::string key;
    for (auto& [events, r] : work) {
        std::size_t a = 0, d = 0;
        std::array<std::size_t, model::event_type_count> a_type{}, d_type{};
        for (auto& e : events) {
            key.assign(e.account).push_back('\0');
            key.append(e.id);
            auto type = static_cast<std::size_t>(e.type);
            if (known.value()[probe++] || !seen.insert(key).second) {
                ++d;
                ++d_type[type];
                continue;
            }
            auto& meta = s.journaled_meta(e.account);
            batch.put_event(e.account, meta.next_sequence++, e.at, model::encode_event_json(e));
            batch.put_dedup(e.account, e.id, e.at);
            if (!meta.dirty) {
                meta.dirty = true;
                batch.mark_dirty(e.account);
                s.dirty.push_back(e.account);
            }
            // Evaluated at the wall clock: an event stamped in the future must not
            // drag the shard's time (and every `since`) forward.
            engine.apply(e, now);
            ++a;
            ++a_type[type];
        }
        for (std::size_t t = 0; t < model::event_type_count; ++t) {
            accepted[t] += a_type[t];
            duplicates[t] += d_type[t];
        }
        std::lock_guard lock(r->mutex);
        r->outcome.accepted += a;
        r->outcome.duplicates += d;
        for (std::size_t t = 0; t < model::event_type_count; ++t) {
            r->outcome.accepted_by_type[t] += a_type[t];
            r->outcome.duplicates_by_type[t] += d_type[t];
        }
    }
    return true;
}

void service::roll_back_round(shard& s, std::size_t dirty_before) {
    s.outbox.clear();  // not durable: nothing to deliver
    for (auto& [account, before] : s.meta_journal) {
        if (before) s.meta[account] = *before;
        else s.meta.erase(account);
    }
    s.meta_journal.clear();
    s.dirty.resize(std::min(s.dirty.size(), dirty_before));
    auto unreadable = s.engine->rollback_round([this](std::string_view account) { return durable_state(account); });
    for (auto& account : unreadable) {
        spdlog::error("shard {}: account {} could not be read back after a failed write; taking no events until it is",
                      s.index, account);
        s.unreadable.push_back(std::move(account));
    }
}

bool service::reload_unreadable(shard& s) {
    std::erase_if(s.unreadable, [&](const std::string& account) {
        auto state = durable_state(account);
        if (!state) return false;
        s.engine->reload(std::move(*state));
        return true;
    });
    return s.unreadable.empty();
}

std::optional<model::account_state> service::durable_state(std::string_view account) {
    auto snapshot = store_.get_snapshot(account);
    if (!snapshot.ok()) return std::nullopt;
    model::account_state state;
    std::uint64_t after = 0;
    if (const auto& stored = snapshot.value()) {
        std::string why;
        if (!model::decode_state(stored->bytes, state, &why)) {
            // As at start-up: an unreadable snapshot is rebuilt from every stored event.
            state = model::account_state{};
        } else {
            after = stored->sequence;
        }
    }
    state.id = std::string(account);
    auto st = store_.events_after(account, after, [&](const store::stored_event& stored) {
        if (auto e = model::decode_event_json(stored.bytes)) state.apply(*e);
        return true;
    });
    if (!st.ok()) return std::nullopt;
    return state;
}

void service::fail_work(shard& s, std::vector<shard::work_item>& work, const std::string& error) {
    for (auto& [events, r] : work) {
        {
            std::lock_guard lock(r->mutex);
            r->outcome.status = ingest_outcome::status::failed;
            r->outcome.error = error;
        }
        s.queued_events -= events.size();
        finish(r);
    }
    work.clear();
}

bool service::write_alert_events(shard& s, store::write_batch& batch) {
    put_alert_events(s, batch);
    if (batch.empty()) return true;
    if (auto st = store_.write(batch); !st.ok()) {
        // The alert events stay in the core and go with the next batch that is written.
        spdlog::error("shard {}: writing alert transitions failed (retried with the next write): {}", s.index,
                      st.message());
        s.outbox.clear();
        return false;
    }
    alert_events_durable(s);
    return true;
}

void service::set_delivery(std::shared_ptr<const delivery::notification_builder> builder, delivery::outbox_sink* sink) {
    outbox_sink_ = sink;
    set_notification_builder(std::move(builder));
}

void service::set_notification_builder(std::shared_ptr<const delivery::notification_builder> builder) {
    std::lock_guard lock(rules_mutex_);
    builder_ = std::move(builder);
    ++builder_generation_;
}

void service::hand_off_outbox(shard& s) {
    if (s.outbox.empty()) return;
    if (outbox_sink_) outbox_sink_->enqueue(std::move(s.outbox));
    s.outbox.clear();
}

void service::put_alert_events(shard& s, store::write_batch& batch) {
    auto& events = s.engine->events();
    if (events.empty()) return;
    const auto rules = s.engine->rules();
    if (auto generation = builder_generation_.load(std::memory_order_acquire); generation != s.builder_generation) {
        std::lock_guard lock(rules_mutex_);
        s.builder = builder_;
        s.builder_generation = builder_generation_.load();
    }
    const auto created_at = clock_.now();
    for (const auto& e : events) {
        const auto* record = s.engine->find(e.record.account);
        batch.put(store::column::alerts, e.record.id, alert_record_json(e, record ? &record->state : nullptr));
        // Its notifications, in the same batch: no transition without them.
        if (s.builder && rules && e.record.rule_index < rules->rules().size() &&
            rules->rules()[e.record.rule_index].name == e.record.rule) {
            if (s.builder->build(e, rules->rules()[e.record.rule_index], record ? &record->state : nullptr,
                                 created_at, s.notification, s.targets))
                delivery::put_records(s.notification, s.targets, batch, s.outbox, s.record_scratch);
        }
    }
}

void service::alert_events_durable(shard& s) {
    for (const auto& e : s.engine->events()) {
        if (e.kind != alerts::event_kind::transition) continue;
        auto severity = std::string(alerts::name_of(e.record.severity));
        if (e.from == alerts::alert_state::pending || e.from == alerts::alert_state::firing)
            metrics_.alerts(e.record.rule, severity, std::string(alerts::name_of(e.from))).Decrement();
        if (e.to == alerts::alert_state::pending || e.to == alerts::alert_state::firing)
            metrics_.alerts(e.record.rule, severity, std::string(alerts::name_of(e.to))).Increment();
        if (e.to == alerts::alert_state::firing) metrics_.alerts_fired(e.record.rule, severity).Increment();
        // Firing and resolving are what an operator follows; pending and its cancellation
        // (often within one batch of a new account's events) are detail.
        bool detail = e.to == alerts::alert_state::pending || e.to == alerts::alert_state::inactive;
        spdlog::log(detail ? spdlog::level::debug : spdlog::level::info, "alert {} {} → {}: rule {} account {} at {}{}{}",
                    e.record.id, alerts::name_of(e.from), alerts::name_of(e.to), e.record.rule, e.record.account,
                    format_rfc3339(e.at), e.message.empty() ? "" : ": ", e.message);
    }
    s.engine->clear_events();
    hand_off_outbox(s);
}

void service::snapshot_dirty(shard& s, bool all) {
    (void)all;  // every dirty account is snapshotted either way; `all` marks the final one
    s.last_snapshot = std::chrono::steady_clock::now();
    if (s.dirty.empty()) return;
    constexpr std::size_t per_batch = 512;
    std::size_t written = 0;
    store::write_batch batch(store_);
    std::vector<std::string> pending;
    auto flush = [&] {
        if (batch.empty()) return true;
        auto st = store_.write(batch);
        if (!st.ok()) {
            // The dirty marks stay: the next start replays these accounts from their events.
            spdlog::error("shard {}: writing snapshots failed: {}", s.index, st.message());
            return false;
        }
        for (auto& account : pending) s.meta[account].dirty = false;
        written += pending.size();
        pending.clear();
        batch.clear();
        return true;
    };
    for (auto& account : s.dirty) {
        const auto* record = s.engine->find(account);
        auto& meta = s.meta[account];
        if (!record || !meta.dirty) continue;
        batch.put_snapshot(account, meta.next_sequence - 1, model::encode_state(record->state));
        batch.clear_dirty(account);
        pending.push_back(account);
        if (pending.size() >= per_batch && !flush()) break;
    }
    flush();
    std::erase_if(s.dirty, [&](const std::string& a) { return !s.meta[a].dirty; });
    spdlog::debug("shard {}: snapshotted {} accounts", s.index, written);
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
