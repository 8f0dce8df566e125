#include "ingest/adapters/external_id_index.hpp"

#include "ingest/adapters/hook_codec.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <mutex>

namespace redflag::ingest::adapters {

external_id_index::external_id_index(int shards) : staged_(static_cast<std::size_t>(std::max(1, shards))) {}

store::status external_id_index::load(const store::store& s) {
    std::unordered_map<std::string, std::string> loaded;
    std::string vendor, customer;
    auto st = s.for_each_prefix(store::column::external_ids, "", [&](std::string_view key, std::string_view value) {
        if (!codec::parse_external_id_key(key, vendor, customer) || value.empty()) {
            spdlog::warn("skipping an unreadable external-ids record");
            return true;
        }
        loaded.emplace(std::string(key), std::string(value));
        return true;
    });
    if (!st.ok()) return st;
    std::unique_lock lock(mutex_);
    accounts_ = std::move(loaded);
    return st;
}

std::optional<std::string> external_id_index::resolve(const customer_ref& customer) const {
    return find(customer.vendor, codec::customer_key(customer));
}

std::optional<std::string> external_id_index::find(std::string_view vendor, std::string_view customer) const {
    const auto key = codec::external_id_key(vendor, customer);
    std::shared_lock lock(mutex_);
    auto it = accounts_.find(key);
    if (it == accounts_.end()) return std::nullopt;
    return it->second;
}

std::size_t external_id_index::size() const {
    std::shared_lock lock(mutex_);
    return accounts_.size();
}

void external_id_index::staged(int shard, const model::event& e, store::write_batch& batch) {
    if (e.type != model::event_type::account) return;
    const auto* ids = e.fields.if_contains("external_ids");
    if (!ids || !ids->is_object()) return;  // validation made it an object of ids
    auto& staging = staged_[static_cast<std::size_t>(shard) % staged_.size()];
    for (const auto& kv : ids->get_object()) {
        if (!kv.value().is_string()) continue;
        mapping m{std::string(kv.key()), std::string(kv.value().get_string()), e.account};
        batch.put(store::column::external_ids, codec::external_id_key(m.vendor, m.customer), m.account);
        staging.push_back(std::move(m));
    }
}

void external_id_index::committed(int shard) {
    auto& staging = staged_[static_cast<std::size_t>(shard) % staged_.size()];
    if (staging.empty()) return;
    {
        std::unique_lock lock(mutex_);
        for (const auto& m : staging) accounts_[codec::external_id_key(m.vendor, m.customer)] = m.account;
    }
    // After the mappings are visible: the listener's release resolves through them.
    if (listener_) listener_(staging);
    staging.clear();
}

void external_id_index::discarded(int shard) { staged_[static_cast<std::size_t>(shard) % staged_.size()].clear(); }

}  // namespace redflag::ingest::adapters
