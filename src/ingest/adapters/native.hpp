// Reading a vendor's native JSON: the parse of the raw body (a failure names the byte
// offset), look-ups by member that tell apart "absent or null" from "present", the
// conversions vendors need (ids sent as numbers or strings, Unix seconds and
// milliseconds, lower-casing), and the mapping_error that names the native field.
// Pure functions, thread-safe.
#pragma once

#include "core/time.hpp"
#include "ingest/adapters/hook.hpp"

#include <boost/json/value.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace redflag::ingest::adapters {

// Parses the raw body as one JSON text; on failure a bad_request naming the byte offset.
std::optional<boost::json::value> parse_body(std::string_view body, hook_result& error);

// The member `key` of `v` when `v` is an object and the member is there and not null.
const boost::json::value* member(const boost::json::value* v, std::string_view key);
const boost::json::value* member(const boost::json::value& v, std::string_view key);

// A string, or an integer as its decimal text (vendors send ids both ways); else nullopt.
std::optional<std::string> id_text(const boost::json::value* v);
// A non-empty string; else nullopt.
std::optional<std::string> text(const boost::json::value* v);
// An integral number (int64, uint64 within range, or a double with no fraction).
std::optional<std::int64_t> integer(const boost::json::value* v);
// Any number, or a string holding a decimal number ("1000.5").
std::optional<double> number(const boost::json::value* v);

// Unix seconds or milliseconds as an instant.
timestamp from_unix_seconds(std::int64_t s);

std::string lower(std::string_view s);

// "Report Built" -> "report_built": lower case, runs of other characters as one '_'.
std::string snake_name(std::string_view s);

}  // namespace redflag::ingest::adapters
