#include "engine/service.hpp"

#include "alerts/codec.hpp"
#include "alerts/index.hpp"
#include "alerts/record.hpp"
#include "engine/service_shard.hpp"
#include "model/codec.hpp"

namespace redflag::engine {

bool service::recover(std::string& error) {
    // Active alerts by account.
    std::unordered_map<std::string, std::vector<alerts::alert>> active;
    auto st = store_.for_each_prefix(store::column::alerts, "", [&](std::string_view, std::string_view value) {
        std::string why;
        auto r = alerts::decode_record(value, &why);
        if (!r) {
            spdlog::warn("skipping an unreadable alert record: {}", why);
            metrics_.degraded_records(metrics::degraded::alert_record).Increment();
            return true;
        }
        if (alert_index_) alert_index_->put(alerts::index_entry::of(*r));
        if (r->a.active()) active[r->a.account].push_back(std::move(r->a));
        return true;
    });
    if (!st.ok()) {
        error = "reading alerts: " + st.message();
        return false;
    }

    // Snapshots.
    std::unordered_map<std::string, std::pair<std::size_t, std::size_t>> where;  // account → (shard, index)
    std::size_t snapshots = 0, corrupt = 0;
    std::vector<std::string> rebuild;  // accounts whose snapshot is unreadable: replayed from their first event
    st = store_.for_each_snapshot([&](std::string_view account, std::uint64_t sequence, std::string_view bytes) {
        auto& s = *shards_[shard_of(account)];
        model::account_state state;
        std::string why;
        if (!model::decode_state(bytes, state, &why)) {
            // Rebuilt from its events below: mark it for a full replay.
            spdlog::warn("snapshot of account {} is unreadable ({}); rebuilding it from its events", account, why);
            metrics_.degraded_records(metrics::degraded::snapshot).Increment();
            ++corrupt;
            state = model::account_state{};
            state.id = std::string(account);
            sequence = 0;
            rebuild.emplace_back(account);
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
    // An unreadable snapshot's account is rebuilt from all its events, dirty mark or not
    // (it had none when its snapshot was current).
    for (auto& account : rebuild)
        if (std::find(dirty_accounts.begin(), dirty_accounts.end(), account) == dirty_accounts.end())
            dirty_accounts.push_back(std::move(account));
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
                metrics_.degraded_records(metrics::degraded::stored_event).Increment();
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
            metrics_.store_write_failures(failure_reason(st)).Increment();
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

}  // namespace redflag::engine
