// Turns a request body into JSON values, one per event: a single JSON object, a JSON
// array of objects, or NDJSON (one object a line, blank lines skipped). It does not look
// inside the values: validation (ingest/validate.hpp) does.
//
// Pure functions, thread-safe. Failures are values: a decode_error says what was wrong
// and where (byte offset from the start of the body, and the 1-based line).
#pragma once

#include <boost/json/value.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace redflag::ingest {

enum class body_format { json, ndjson };

// Maps a Content-Type header value to a format: "application/json" and
// "application/x-ndjson" (parameters such as "; charset=utf-8" and letter case ignored).
// nullopt for anything else, which the HTTP layer answers with 415.
std::optional<body_format> format_of_content_type(std::string_view content_type);

// One decoded item: the JSON value and its index in the batch, the position in the
// array for JSON, the line number minus one for NDJSON (so blank lines leave gaps).
struct decoded_item {
    boost::json::value value;
    std::size_t index = 0;
};

struct decode_error {
    enum class kind {
        malformed,        // not JSON, or not the shape of an event batch: answered with 400
        too_many_events,  // more than max_events: answered with 413
    };
    decode_error::kind kind = kind::malformed;
    std::string message;      // says what and where, e.g. "malformed JSON at byte 14 (line 1, column 15): syntax error"
    std::size_t offset = 0;   // byte offset into the body
    std::size_t line = 0;     // 1-based line of the offset
};

struct decode_result {
    std::vector<decoded_item> items;  // empty when `error` is set
    std::optional<decode_error> error;
};

// Decodes `body`. An empty body (or only whitespace, or NDJSON of only blank lines) is
// malformed: a batch has at least one event. Items that are not JSON objects are kept:
// the validator reports them with their index.
decode_result decode_body(std::string_view body, body_format format, std::size_t max_events = 10'000);

}  // namespace redflag::ingest
