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

#include "delivery/alert_view.hpp"
#include "store/store.hpp"

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
// The instant that rule compares with the horizon: the alert's last transition.
timestamp last_change(const alert& a);

// The dispatcher's alert_status (delivery/alert_view.hpp) over the stored records:
// firing while the record says so; over when it says otherwise (at its resolved_at) or
// is gone (expired); unknown when it cannot be read. Thread-safe (the store is).
class record_status final : public delivery::alert_status {
public:
    explicit record_status(const store::store& store) : store_(store) {}
    delivery::firing_answer still_firing(std::string_view alert_id) const override;

private:
    const store::store& store_;
};

// {"kind","from","to","at","notify","rule","account","alert","severity","message"}: one
// lifecycle event, for logs and outboxes.
boost::json::object to_json(const alert_event& e);

}  // namespace redflag::alerts
