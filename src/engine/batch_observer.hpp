// A narrow seam for what must become durable together with the events that carry it
// (the vendor hooks' external-ids index: ingest/adapters/external_id_index.hpp), without
// the engine knowing what it is. For each event a shard accepts, staged() may add records
// to the round's write batch; once that batch is written the shard calls committed(), and
// when the write fails (the round is taken back whole) discarded(). So what an observer
// learns from staged() becomes visible only with committed(): exactly when it is durable.
//
// Called on the shard thread `shard` (0..shards-1): an implementation keeps its staging
// per shard and needs no lock for it; committed() publishes to other threads.
#pragma once

#include "model/event.hpp"
#include "store/store.hpp"

namespace redflag::engine {

class batch_observer {
public:
    virtual ~batch_observer() = default;
    // `e` was accepted (not a duplicate) and its records are in `batch`.
    virtual void staged(int shard, const model::event& e, store::write_batch& batch) = 0;
    virtual void committed(int shard) = 0;
    virtual void discarded(int shard) = 0;
};

}  // namespace redflag::engine
