#include "engine/service.hpp"

#include "engine/service_shard.hpp"
#include "engine/history.hpp"
#include "model/codec.hpp"

namespace redflag::engine {

void service::ingest_round(shard& s, std::vector<shard::work_item>& work, std::vector<write_call>& writes) {
    auto& engine = *s.engine;
    refuse_unkeyable(s, work);
    const timestamp now = clock_.now();
    // Everything from here to the write is one round: if the write fails, the core, the
    // accounts' sequences and dirty marks go back to how they were, so that nothing the
    // round applied can later pass for durable (a later event of the account must mark it
    // dirty again, or a restart would never replay the events after its snapshot).
    engine.begin_round();
    ++s.round;
    s.meta_journal.clear();
    const std::size_t dirty_before = s.dirty.size();
    store::write_batch batch(store_);
    // Before anything of the new instant is applied: a day that ended with points still
    // pending gets them under its own key.
    close_history_day(s, batch, now);
    engine.advance_to(now);

    std::array<std::size_t, model::event_type_count> accepted{}, duplicates{};
    if (!work.empty() && !apply_work(s, work, batch, accepted, duplicates)) {
        // The dedup lookup failed: nothing was applied, and the requests are answered.
        work.clear();
    }
    for (auto& w : writes) w.apply(engine);
    const auto history = put_history(s, batch, now);
    put_alert_events(s, batch);
    auto st = batch.empty() ? store::status{} : store_.write(batch);
    if (st.ok()) {
        engine.commit_round();
        history_written(s, history, now);
        if (options_.observer) options_.observer->committed(s.index);
        alert_events_durable(s);
        for (std::size_t t = 0; t < model::event_type_count; ++t) {
            auto type = static_cast<model::event_type>(t);
            if (accepted[t]) metrics_.events_ingested(type, metrics::event_outcome::accepted).Increment(double(accepted[t]));
            if (duplicates[t])
                metrics_.events_ingested(type, metrics::event_outcome::duplicate).Increment(double(duplicates[t]));
        }
    } else {
        spdlog::error("shard {}: write failed, the round is taken back: {}", s.index, st.message());
        metrics_.store_write_failures(failure_reason(st)).Increment();
        roll_back_round(s, dirty_before);
        if (options_.observer) options_.observer->discarded(s.index);
        const bool for_now = st.error_code() == store::status::code::no_space;
        for (auto& [events, r] : work) {
            std::lock_guard lock(r->mutex);
            r->outcome.status = for_now ? ingest_outcome::status::unavailable : ingest_outcome::status::failed;
            r->outcome.error = "storing the events failed: " + st.message();
            if (for_now) r->outcome.error += "; the store takes no writes until it has space again";
        }
    }
    for (auto& [events, r] : work) {
        s.queued_events -= events.size();
        finish(r);
    }
    for (auto& w : writes) w.written(st);
    publish_rule_statistics(s);  // before calls: a swap of rules zeroes them
}

service::history_round service::put_history(shard& s, store::write_batch& batch, timestamp now) {
    const auto& engine = *s.engine;
    const auto* rules = engine.rules().get();
    const auto today = history::day_of(now);
    if (!rules || rules->scores().empty()) return {today, false};
    if (s.history_day != today) {
        // The first round of a day: every account gets its point for the day.
        engine.for_each_account([&](const account_record& record) { put_history_point(batch, record, *rules, now); });
        return {today, true};
    }
    for (const auto& [account, before] : s.meta_journal) {
        const auto* record = before ? nullptr : engine.find(account);
        if (record)
            put_history_point(batch, *record, *rules, now);  // new today: its first point at once
        else
            s.history_pending.insert(account);
    }
    // Else the accounts events changed since the last flush, at most once an interval:
    // a point is the day's latest evaluation, and rewriting it every round (a JSON
    // encoding and a put per account per round) cost a third of the ingest rate.
    if (s.history_pending.empty() || now < s.history_flushed + options_.history_interval) return {today, false};
    put_pending_history(s, batch, *rules, now);
    return {today, true};
}

void service::close_history_day(shard& s, store::write_batch& batch, timestamp now) {
    const auto* rules = s.engine->rules().get();
    if (s.history_pending.empty() || !rules || rules->scores().empty()) return;
    if (s.history_day == history::day_of(now) || s.history_day == std::numeric_limits<std::int64_t>::min()) return;
    // The pending accounts' last evaluation of that day, under that day's key. When the
    // batch fails they stay pending, and the day's first round rewrites today's anyway.
    put_pending_history(s, batch, *rules, history::start_of_day(s.history_day));
}

void service::put_pending_history(shard& s, store::write_batch& batch, const rules::rule_set& rules, timestamp at) {
    for (const auto& account : s.history_pending)
        if (const auto* record = s.engine->find(account)) put_history_point(batch, *record, rules, at);
}

void service::put_history_point(store::write_batch& batch, const account_record& record, const rules::rule_set& rules,
                                timestamp at) {
    if (!store::store::valid_account(record.state.id)) return;
    batch.put(store::column::history, history::key(record.state.id, history::day_of(at)),
              history::encode(history::point_of(record, rules, at)));
}

void service::history_written(shard& s, const history_round& round, timestamp now) {
    s.history_day = round.day;
    if (!round.flushed) return;
    s.history_pending.clear();
    s.history_flushed = now;
}

void service::flush_history(shard& s) {
    const auto* rules = s.engine->rules().get();
    if (s.history_pending.empty() || !rules || rules->scores().empty()) return;
    store::write_batch batch(store_);
    const timestamp at = s.history_day == std::numeric_limits<std::int64_t>::min() ? clock_.now()
                                                                                   : history::start_of_day(s.history_day);
    put_pending_history(s, batch, *rules, at);
    if (auto st = store_.write(batch); !st.ok()) {
        // Only derived data is lost: the next start writes every account's point for its day.
        metrics_.store_write_failures(failure_reason(st)).Increment();
        spdlog::error("shard {}: writing health history points failed: {}", s.index, st.message());
        return;
    }
    s.history_pending.clear();
}

void service::refuse_unkeyable(shard& s, std::vector<shard::work_item>& work) {
    std::erase_if(work, [&](shard::work_item& item) {
        auto& [events, r] = item;
        auto bad = std::find_if(events.begin(), events.end(),
                                [](const model::event& e) { return !store::store::valid_account(e.account); });
        if (bad == events.end()) return false;
        {
            std::lock_guard lock(r->mutex);
            r->outcome.status = ingest_outcome::status::invalid;
            r->outcome.error = "an event's \"account\" cannot be stored: it is empty or contains a NUL character";
        }
        s.queued_events -= events.size();
        finish(r);
        return true;
    });
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
        if (r->stage && !r->stage(batch)) {  // cluster mode: the partition refuses it
            probe += events.size();
            std::lock_guard lock(r->mutex);
            r->outcome.status = ingest_outcome::status::failed;
            r->outcome.error = "the partition takes no events after a failed write";
            continue;
        }
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
            if (options_.observer) options_.observer->staged(s.index, e, batch);
            if (!meta.dirty) {
                meta.dirty = true;
                batch.mark_dirty(e.account);
                s.dirty.push_back(e.account);
            }
            // Evaluated at the wall clock (cluster mode: the stream's timestamp): an event
            // stamped in the future must not drag the shard's time (and every `since`) forward.
            engine.apply(e, r->evaluate_at.value_or(now));
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
            spdlog::warn("snapshot of account {} is unreadable ({}); rebuilding it from its events", account, why);
            metrics_.degraded_records(metrics::degraded::snapshot).Increment();
            state = model::account_state{};
        } else {
            after = stored->sequence;
        }
    }
    state.id = std::string(account);
    auto st = store_.events_after(account, after, [&](const store::stored_event& stored) {
        std::string why;
        if (auto e = model::decode_event_json(stored.bytes, &why)) {
            state.apply(*e);
        } else {
            spdlog::warn("skipping unreadable event {} of account {}: {}", stored.sequence, account, why);
            metrics_.degraded_records(metrics::degraded::stored_event).Increment();
        }
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

}  // namespace redflag::engine
