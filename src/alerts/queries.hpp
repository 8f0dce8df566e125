// The alert queries the management API answers: a list with filters, newest first, and
// one alert with its notifications' history. Over the stored records (column `alerts`)
// and the outbox (an alert's notifications and how each went). Thread-safe (the store is).
#pragma once

#include "alerts/record.hpp"
#include "store/store.hpp"

#include <boost/json/array.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace redflag::alerts {

// GET /v1/alerts?state=&rule=&account=&csm=: each filter given must match; `csm`
// matches the CSM's e-mail or name.
struct alert_filter {
    std::optional<alert_state> state;
    std::optional<std::string> rule;
    std::optional<std::string> account;
    std::optional<std::string> csm;
};

// The matching records, newest first (by the instant the alert started). Unreadable
// records are skipped (recovery counts them).
store::status list_alerts(const store::store& store, const alert_filter& filter, std::vector<alert_record>& out);

// One record: nullopt when there is no such alert or its record cannot be read.
store::result<std::optional<alert_record>> find_alert(const store::store& store, std::string_view id);

// The alert's notifications (delivery::history_json each), in transition order;
// `unreadable` counts the outbox records that could not be read (skipped).
store::status notification_history(const store::store& store, std::string_view id, boost::json::array& out,
                                   std::size_t& unreadable);

}  // namespace redflag::alerts
