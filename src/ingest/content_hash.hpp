// The id of an event sent without one: "h:" + the hex SHA-256 of its canonical content,
// so that a byte-identical redelivery (and any redelivery with the same content in
// another member order or whitespace) is recognised as a duplicate.
//
// Canonical content: `type`, `account`, `at` (normalised RFC 3339, only when sent), then
// every other member sorted by key, nested objects sorted too, numbers and strings as
// Boost.JSON serialises them, no whitespace. Thread-safe; cannot fail.
#pragma once

#include "model/event.hpp"

#include <optional>
#include <string>

namespace redflag::ingest {

// The canonical serialisation that is hashed (exposed for tests and debugging).
std::string canonical_content(const model::event& event, bool at_given);

// "h:" + 64 lower-case hex digits.
std::string content_id(const model::event& event, bool at_given);

// Lower-case hex SHA-256 of `data`.
std::string sha256_hex(std::string_view data);

}  // namespace redflag::ingest
