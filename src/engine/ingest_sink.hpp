// The seam between the HTTP layer and the engine: where validated batches go to be
// stored and evaluated. The HTTP layer owns decoding and validation; the engine owns
// durability, deduplication and evaluation.
#pragma once

#include "model/event.hpp"

#include <array>
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

namespace redflag::engine {

struct ingest_outcome {
    // invalid: the request holds an event the store cannot key (an account id that is empty
    // or has a NUL; validation refuses those first, the engine does not trust it): 400;
    // its events on that shard are not stored (parts on other shards may be: a retry
    // finds them as duplicates, as after any failure). unavailable: the store refuses writes for now (a full
    // disk): 503 with Retry-After, nothing stored. failed: any other store error: 500.
    enum class status { stored, overloaded, failed, invalid, unavailable };
    ingest_outcome::status status = status::stored;
    std::size_t accepted = 0;    // newly stored events
    std::size_t duplicates = 0;  // events whose id was already stored (or repeated in the batch)
    std::string error;           // for failed, invalid, unavailable: what went wrong, for the log and the body
    // The same counts by event type (model::event_type as index). The engine counts them
    // in redflag_events_ingested_total itself; the HTTP layer counts only rejections.
    std::array<std::size_t, model::event_type_count> accepted_by_type{};
    std::array<std::size_t, model::event_type_count> duplicates_by_type{};
};

class ingest_sink {
public:
    virtual ~ingest_sink() = default;

    // Takes a batch that passed validation. `done` is called exactly once, from any
    // thread: with `stored` once every event is in the RocksDB WAL (fsynced when
    // storage.sync is on); with `overloaded` at once, storing nothing, when the engine's
    // queues are full (the HTTP layer answers 503 with Retry-After); with `failed` when
    // the store reported an error (`unavailable` when it refuses writes for now), with
    // `invalid` when an event cannot be stored at all. One request's outcome never
    // depends on another's events.
    virtual void submit(std::vector<model::event> batch, std::function<void(ingest_outcome)> done) = 0;
};

}  // namespace redflag::engine
