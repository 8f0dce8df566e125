// Checks decoded items against the event schema (model/schema.hpp) and turns them into
// model::event values, the rules of ../shared/spec/events.md:
//  - `type` is one of the event types; `account` and `id` are strings of 1..200
//    characters; `at` is an RFC 3339 timestamp;
//  - each type-specific field has its kind, range and allowed values; required fields
//    are present; strings are 1..max_string characters (Unicode code points);
//  - a JSON `null` counts as absent (webhook senders often send nulls for "not known");
//  - unknown members are kept in event.fields, unchecked;
//  - an event without `id` gets "h:" + hex SHA-256 of its canonical content
//    (ingest/content_hash.hpp); without `at`, the receive time passed in.
// Integral numbers sent as 5.0 are stored as integers, so readers of integer fields can
// rely on boost::json's int64 representation.
//
// A batch is all or nothing: every problem of every item is collected, and when there
// is any, no event is returned. Pure functions, thread-safe.
#pragma once

#include "core/time.hpp"
#include "ingest/decode.hpp"
#include "model/event.hpp"

#include <cstddef>
#include <string>
#include <vector>

namespace redflag::ingest {

// One reason an event was refused: the item's index in the batch (see decoded_item),
// the field ("score", "products[2]", "attributes.tier", or "" for the item as a whole)
// and a message that says what was expected.
struct problem {
    std::size_t index = 0;
    std::string field;
    std::string message;

    friend bool operator==(const problem&, const problem&) = default;
};

struct validation_limits {
    std::size_t max_id = 200;        // `account`, `id`
    std::size_t max_string = 10'000; // any other string field of the schema
    std::size_t max_list = 1'000;    // items of a string list, members of `attributes`
};

struct validation_result {
    std::vector<model::event> events;  // in batch order; empty when there are problems
    std::vector<problem> problems;     // in batch order, then field order
    // The type of each item as far as it could be read (nullopt when missing or unknown),
    // for the per-type rejected counts of redflag_events_ingested_total.
    std::vector<std::optional<model::event_type>> types;

    bool ok() const { return problems.empty(); }
};

// Validates `items` (consumed). `received_at` is the `at` of events that have none.
validation_result validate(std::vector<decoded_item> items, timestamp received_at,
                           const validation_limits& limits = {});

}  // namespace redflag::ingest
