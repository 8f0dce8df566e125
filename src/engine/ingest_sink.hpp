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
    enum class status { stored, overloaded, failed };
    ingest_outcome::status status = status::stored;
    std::size_t accepted = 0;    // newly stored events
    std::size_t duplicates = 0;  // events whose id was already stored (or repeated in the batch)
    std::string error;           // for `failed`: what went wrong, for the log and the 500 body
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
    // the store reported an error.
    virtual void submit(std::vector<model::event> batch, std::function<void(ingest_outcome)> done) = 0;
};

}  // namespace redflag::engine
