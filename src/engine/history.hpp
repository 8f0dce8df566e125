// The health history (issue 15): per account, one point a day holding every score's value
// and each of its components' (clamped 0..1, as the score weighs them), as the engine
// evaluated them. The only code that knows the column `history`'s records; the store
// holds their bytes.
//
//   key    account '\0' day (8 bytes, big-endian: days since 1970-01-01, UTC)
//   value  {"scores":{"health":71.5,...},"components":{"health":{"usage":0.8,...},...},
//           "bands":{"health":"green",...}}
//          (null for a null score or component; "bands" absent in older points)
//
// Written by the service in a round's write batch (engine/service_write.cpp): for every
// account of the shard on the first round of each UTC day, so each account has a point a
// day; at once for an account new that day; else for the accounts events changed, at most
// once a minute (service_options::history_interval), at the next day's first round under
// their own day, and at stop. A later write of the same day replaces the point (the day's
// latest evaluation); a crash loses at most the last minute's rewrites, and the first
// round after a start writes every account's point again. Bounded by storage.retention
// (expired(), the column's compaction rule). Read by GET /v1/accounts/{id}/history.
//
// Pure functions, thread-safe; decoding never throws.
#pragma once

#include "core/time.hpp"
#include "engine/core.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace redflag::engine::history {

struct component_value {
    std::string name;
    std::optional<double> value;
    friend bool operator==(const component_value&, const component_value&) = default;
};

struct score_value {
    std::string name;
    std::optional<double> value;
    std::vector<component_value> components;
    // The score's band that day ("unknown" for a null score); empty in points written
    // before bands were kept (the weekly report's "health bands up" reads it).
    std::string band;
    friend bool operator==(const score_value&, const score_value&) = default;
};

struct point {
    std::int64_t day = 0;  // days since 1970-01-01 (UTC)
    std::vector<score_value> scores;
    friend bool operator==(const point&, const point&) = default;
};

std::int64_t day_of(timestamp t);
timestamp start_of_day(std::int64_t day);

// The key prefix of an account's points (in day order), and one point's key.
std::string prefix(std::string_view account);
std::string key(std::string_view account, std::int64_t day);

// The point of `record` as of day_of(at), by the scores of `rules` (the record's).
point point_of(const account_record& record, const rules::rule_set& rules, timestamp at);

std::string encode(const point& p);
// nullopt when the key or value is not one of encode()'s (`error` says why).
std::optional<point> decode(std::string_view key, std::string_view value, std::string* error = nullptr);

// The compaction rule of the column: a point of a day before the horizon's has expired.
bool expired(std::string_view key, std::string_view value, timestamp horizon);

// {"day":"2026-12-05","scores":{...},"components":{...},"bands":{...}}; with `score`
// non-empty, only it. "bands" holds the scores whose band the point kept.
boost::json::object to_json(const point& p, std::string_view score = {});

}  // namespace redflag::engine::history
