// The service's seams for cluster mode (engine/partitions.hpp, issue 17): events from the
// cluster's stream, calls on one shard, and accounts put back from a partition snapshot.
// The single-process mode uses none of this.
#include "engine/service.hpp"

#include "engine/service_shard.hpp"
#include "model/codec.hpp"

namespace redflag::engine {

void service::submit(std::vector<model::event> batch, sequenced how, std::function<void(ingest_outcome)> done) {
    enqueue(std::move(batch), std::move(how), std::move(done));
}

void service::post_shard(std::size_t index, std::function<void(core&)> f) {
    auto& s = *shards_.at(index);
    {
        std::lock_guard lock(s.mutex);
        s.calls.push_back(std::move(f));
    }
    s.wakeup.notify_one();
}

void service::restore_accounts(std::size_t index, std::vector<account_image> accounts,
                               std::function<void(store::write_batch&)> extra,
                               std::function<void(const store::status&)> done) {
    auto shared = std::make_shared<std::vector<account_image>>(std::move(accounts));
    post_shard(index, [this, index, shared, extra = std::move(extra), done = std::move(done)](core& engine) {
        auto& s = *shards_[index];
        store::write_batch batch(store_);
        std::string bytes;
        for (const auto& [state, records] : *shared) {
            // The snapshot covers every event this instance stored for the account: the
            // restored state supersedes them (it reflects more of the stream).
            auto& meta = s.meta[state.id];
            batch.put_snapshot(state.id, meta.next_sequence - 1, model::encode_state(state));
            if (meta.dirty) batch.clear_dirty(state.id);
            for (const auto& r : records) batch.put(store::column::alerts, r.a.id, alerts::encode_record(r));
        }
        if (extra) extra(batch);
        auto st = store_.write(batch);
        if (!st.ok()) {
            metrics_.store_write_failures(failure_reason(st)).Increment();
            spdlog::error("shard {}: writing a restored partition failed: {}", s.index, st.message());
            done(st);
            return;
        }
        for (auto& [state, records] : *shared) {
            s.meta[state.id].dirty = false;
            if (alert_index_)
                for (const auto& r : records) alert_index_->put(alerts::index_entry::of(r));
            std::vector<alerts::alert> active;
            for (auto& r : records)
                if (r.a.active()) active.push_back(std::move(r.a));
            auto copy = state;
            engine.restore(std::move(copy), std::move(active));
            engine.reload(std::move(state));  // due for evaluation: its wakes are rescheduled
        }
        std::erase_if(s.dirty, [&](const std::string& a) { return !s.meta[a].dirty; });
        done(st);
    });
}

}  // namespace redflag::engine
