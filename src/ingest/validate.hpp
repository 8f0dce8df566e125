// The one event decoder: checks a canonical event object (../shared/spec/events.md)
// against the event schema (model/schema.hpp) and turns it into a model::event. HTTP
// ingest, `redflag replay` and `redflag test` all decode through it, so the three see the
// same events and report the same problems; each keeps its own envelope syntax in front
// (a request body, NDJSON lines, a YAML test file expanded to canonical objects).
//
// The rules:
//  - `type` is one of the event types; `account` and `id` are ids (below); `at` is an
//    RFC 3339 timestamp; a company-level type (`spend`) has no `account` and gets
//    model::company_account;
//  - each type-specific field has its kind, range and allowed values; required fields
//    are present;
//  - strings are valid UTF-8 of 1..max_string characters (Unicode code points) and hold
//    no control characters other than tab, line feed and carriage return; ids (`account`,
//    `id`, `user_id`, `ticket_id`, `metric`, `respondent`, each of `products`, the keys
//    of `attributes`, the keys and values of `external_ids`) are 1..max_id characters
//    with no control character at all
//    (model::text_kind);
//  - every number anywhere in the event (unknown members included) is finite; money and
//    counts stay within the schema's bounds (model/schema.hpp says why those bounds);
//  - a JSON `null` counts as absent (webhook senders often send nulls for "not known");
//  - unknown members are kept in event.fields, checked only for finite numbers;
//  - live ingest only (decode_options::received_at and the limits' max_age/max_future):
//    `at` is at most max_age before the receive time (an older event's idempotency id
//    would already be compacted away, so a redelivery would apply twice) and at most
//    max_future after it;
//  - an event without `id` gets "h:" + hex SHA-256 of its canonical content
//    (ingest/content_hash.hpp) when derive_ids is set; without `at`, the receive time.
// Integral numbers sent as 5.0 in integer fields are stored as integers, so readers of
// integer fields can rely on boost::json's int64 representation.
//
// A batch is all or nothing: every problem of every item is collected, and when there
// is any, no event is returned. Pure functions, thread-safe.
#pragma once

#include "core/time.hpp"
#include "ingest/decode.hpp"
#include "model/event.hpp"

#include <cstddef>
#include <optional>
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

// "field: message", or the message alone for the item as a whole: how replay and test
// print a problem after their own location.
std::string describe(const problem& p);

struct validation_limits {
    std::size_t max_id = 200;        // ids: `account`, `id`, and the schema's id fields
    std::size_t max_string = 10'000; // any other string field of the schema
    std::size_t max_list = 1'000;    // items of a string list, members of `attributes`
    // Live ingest only (serve: storage.retention and ingest.max_future); applied when
    // decode_options::received_at is set.
    std::optional<duration> max_age;     // refuse `at` before received_at - max_age
    std::optional<duration> max_future;  // refuse `at` after received_at + max_future
};

// What differs between the drivers; the checks themselves do not.
struct decode_options {
    validation_limits limits{};
    // Live ingest: the receive time, the `at` of an event sent without one and the
    // reference of max_age/max_future. nullopt (replay, test): `at` is required and its
    // time is not bounded.
    std::optional<timestamp> received_at;
    // Derive "h:" + content hash ids for events without `id` (live ingest, where ids
    // deduplicate). Without it such an event's id is empty and id_derived is set.
    bool derive_ids = true;
};

struct item_outcome {
    bool ok = false;
    // The type as far as it could be read (nullopt when missing or unknown), for the
    // per-type rejected counts of redflag_events_ingested_total.
    std::optional<model::event_type> type;
};

// Decodes one item. `value` is consumed: on success `out` holds the event and its
// `fields` took the object by move construction, memory resource included (a caller that
// parses into a reused buffer gets, without a copy, an event that lives as long as that
// buffer). Problems are appended to `problems` with `index`; on any, `ok` is false and
// `out` is empty.
item_outcome decode_event(boost::json::value& value, std::size_t index, const decode_options& options,
                          std::optional<model::event>& out, std::vector<problem>& problems);

struct validation_result {
    std::vector<model::event> events;  // in batch order; empty when there are problems
    std::vector<problem> problems;     // in batch order, then envelope, fields as sent, required ones missing
    std::vector<std::optional<model::event_type>> types;  // per item, see item_outcome

    bool ok() const { return problems.empty(); }
};

// Decodes a batch (`items` consumed).
validation_result validate(std::vector<decoded_item> items, const decode_options& options);

// Live ingest's batch: `received_at` is the receive time (decode_options::received_at),
// ids are derived.
validation_result validate(std::vector<decoded_item> items, timestamp received_at,
                           const validation_limits& limits = {});

}  // namespace redflag::ingest
