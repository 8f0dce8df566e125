// The durable index (vendor, customer) -> account that vendor hooks resolve their
// customers through: built from the `external_ids` of `account` events
// ({stripe: "cus_...", hubspot: "...", zendesk: "...", segment: "..."}).
//
// Durable exactly when the event is: as an engine::batch_observer it writes each mapping
// into the same write batch as the account event that carries it (column external_ids,
// bytes per hook_codec.hpp), and learns it in memory only once that batch is written
// (committed); a round taken back (discarded) teaches it nothing. At start, load() reads
// the column. The latest durable mapping of a customer wins.
//
// As an account_resolver it answers from memory. A person ("user:<id>", see
// hook_codec.hpp's customer keys) is found only when an account names it so in its
// external_ids. Once mappings become durable, the listener (the unmatched store's
// release) hears their (vendor, customer) pairs, on the shard thread that wrote them.
//
// Thread-safety: resolve() and size() from any thread (HTTP threads) while shards write;
// staged/committed/discarded on shard `shard` only; load() and set_listener() before the
// shards start. Failure: load() returns the store's status; unreadable keys are skipped.
#pragma once

#include "engine/batch_observer.hpp"
#include "ingest/adapters/account_resolver.hpp"
#include "store/store.hpp"

#include <functional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace redflag::ingest::adapters {

class external_id_index final : public engine::batch_observer, public account_resolver {
public:
    struct mapping {
        std::string vendor;
        std::string customer;  // its key (hook_codec.hpp)
        std::string account;
    };
    using listener = std::function<void(const std::vector<mapping>&)>;

    explicit external_id_index(int shards);

    store::status load(const store::store& s);
    void set_listener(listener l) { listener_ = std::move(l); }

    std::optional<std::string> resolve(const customer_ref& customer) const override;
    // The account of a customer key (hook_codec.hpp), as resolve().
    std::optional<std::string> find(std::string_view vendor, std::string_view customer) const;
    std::size_t size() const;

    void staged(int shard, const model::event& e, store::write_batch& batch) override;
    void committed(int shard) override;
    void discarded(int shard) override;

private:
    mutable std::shared_mutex mutex_;
    std::unordered_map<std::string, std::string> accounts_;  // external_id_key -> account; guarded
    std::vector<std::vector<mapping>> staged_;                // per shard
    listener listener_;
};

}  // namespace redflag::ingest::adapters
