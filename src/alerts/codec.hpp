// JSON for alert records, for RocksDB and the HTTP API (boost::json):
//   {"id","rule","rule_fingerprint","account","severity","state","started_at",
//    "firing_since"?,"cleared_since"?,"resolved_at"?,
//    "transitions":[{"from","to","at"}],"acks":[{"by","comment","at"}],
//    "next_repeat"?,"last_notified"?,"notifications"}
// Instants are RFC 3339 text; optional members are omitted when unset. The fingerprint
// is a decimal string (a uint64 does not survive every JSON reader). `rule_index` is
// runtime only and not written.
//
// Pure functions, thread-safe. Decoding never throws: a malformed record gives nullopt
// and a message in `error`.
#pragma once

#include "alerts/alert.hpp"
#include "alerts/lifecycle.hpp"

#include <boost/json/value.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace redflag::alerts {

boost::json::object to_json(const alert& a);
std::string serialize(const alert& a);

std::optional<alert> alert_from_json(const boost::json::value& v, std::string* error = nullptr);
std::optional<alert> parse_alert(std::string_view text, std::string* error = nullptr);

// The store's expiry rule for column `alerts` (store::options::expiry): a record is
// dropped by compaction once the alert is over (resolved, or a pending alert that
// cleared) and its last transition is before `horizon`. An active alert is never
// dropped; nor is a record that does not parse.
bool alert_record_expired(std::string_view key, std::string_view value, timestamp horizon);

// {"kind","from","to","at","notify","rule","account","alert","severity","message"}: one
// lifecycle event, for logs and outboxes.
boost::json::object to_json(const alert_event& e);

}  // namespace redflag::alerts
