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
    engine.advance_to(now);
    store::write_batch batch(store_);

    std::array<std::size_t, model::event_type_count> accepted{}, duplicates{};
    if (!work.empty() && !apply_work(s, work, batch, accepted, duplicates)) {
        // The dedup lookup failed: nothing was applied, and the requests are answered.
        work.clear();
    }
    for (auto& w : writes) w.apply(engine);
    const auto history_day = put_history(s, batch, now);
    put_alert_events(s, batch);
    auto st = batch.empty() ? store::status{} : store_.write(batch);
    if (st.ok()) {
        engine.commit_round();
        s.history_day = history_day;
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

std::int64_t service::put_history(shard& s, store::write_batch& batch, timestamp now) {
    const auto& engine = *s.engine;
    const auto* rules = engine.rules().get();
    const auto today = history::day_of(now);
    if (!rules || rules->scores().empty()) return today;
    auto put = [&](const account_record& record) {
        if (!store::store::valid_account(record.state.id)) return;
        batch.put(store::column::history, history::key(record.state.id, today),
                  history::encode(history::point_of(record, *rules, now)));
    };
    if (s.history_day != today) {
        // The first round of a day: every account gets its point for the day.
        engine.for_each_account(put);
        return today;
    }
    // Else the accounts the round's events changed (journaled_meta lists each once).
    for (const auto& [account, before] : s.meta_journal)
        if (const auto* record = engine.find(account)) put(*record);
    return today;
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
