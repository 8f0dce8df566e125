// The alert queries the management API answers: a list with filters, newest first, and
// one alert with its notifications' history. Over the stored records (column `alerts`)
// and the outbox (an alert's notifications and how each went). Thread-safe (the store is).
#pragma once

#include "alerts/record.hpp"
#include "store/store.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace redflag::alerts {

// GET /v1/alerts?state=&rule=&account=&csm=&severity=&segment=: each filter given must
// match; `csm` matches the CSM's e-mail or name; `states` (state=pending,firing) any one.
struct alert_filter {
    std::optional<alert_state> state{};
    std::optional<std::string> rule{};
    std::optional<std::string> account{};
    std::optional<std::string> csm{};
    std::vector<alert_state> states{};  // empty: any
    std::optional<rules::alert_severity> severity{};
    std::optional<std::string> segment{};
    // Cluster mode: only the accounts this instance owns (a moved account's records stay
    // in the former owner's store and must not be listed twice). Empty: every account.
    std::function<bool(std::string_view account)> account_owned{};
};

// Pages of the list (GET /v1/alerts?limit=&cursor=&sort=): keyset pagination. A page
// holds the first `limit` matching records after the cursor's position in the order;
// the cursor names the last record of the previous page by its sort key (ARR, start,
// id), not by an offset, so alerts that start or resolve between two requests neither
// repeat nor skip the others (a record whose key changes meanwhile, an account whose
// ARR moved, may). The cursor is opaque to callers.
enum class alert_order { newest, arr };  // newest: by start, newest first; arr: highest ARR first, then newest

struct alert_position {
    alert_order order = alert_order::newest;
    double arr = 0;
    timestamp started_at{};
    std::string id;
};

std::string encode_cursor(const alert_position& p);
// nullopt when `cursor` is not one of encode_cursor's, or was made for another order.
std::optional<alert_position> decode_cursor(std::string_view cursor, alert_order order);

// Whether `x` comes before `y` in their order (the order of list_alert_page's pages).
bool comes_before(const alert_position& x, const alert_position& y);
// The position of an alert as to_json(alert_record) gives it (merging the pages of several
// instances); nullopt when it lacks "id" or "started_at".
std::optional<alert_position> position_of_json(const boost::json::object& alert, alert_order order);

struct alert_page {
    std::vector<alert_record> alerts;
    std::optional<alert_position> next;  // set when more records follow
};

class alert_index;

// One page of the matching records in `order` after `after` (nullopt: from the start).
// With an `index` (index.hpp), one account's alerts and pages of pending/firing alerts
// are read by id instead of scanning every record; other lists scan.
store::status list_alert_page(const store::store& store, const alert_filter& filter, alert_order order,
                              const std::optional<alert_position>& after, std::size_t limit, alert_page& out,
                              alert_index* index = nullptr);

// The matching records, newest first (by the instant the alert started). Unreadable
// records are skipped (recovery counts them).
store::status list_alerts(const store::store& store, const alert_filter& filter, std::vector<alert_record>& out,
                          alert_index* index = nullptr);

// One record: nullopt when there is no such alert or its record cannot be read.
store::result<std::optional<alert_record>> find_alert(const store::store& store, std::string_view id);

// The alert's notifications (delivery::history_json each), in transition order;
// `unreadable` counts the outbox records that could not be read (skipped).
store::status notification_history(const store::store& store, std::string_view id, boost::json::array& out,
                                   std::size_t& unreadable);

}  // namespace redflag::alerts
