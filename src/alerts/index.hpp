// The alert records the API lists, indexed in memory, so that the console's inbox (a page
// of pending and firing alerts, newest or highest-ARR first, filtered) and an account's
// alerts cost a few lookups instead of a scan and decode of every record in column
// `alerts` (seconds with 100,000 accounts).
//
// The index holds, for each pending or firing alert, the fields the list filters and
// sorts by, in both orders; and for every record (any state) its id under its account.
// The records themselves stay in the store: a query takes ids here, then reads them.
//
// Fed by the engine: every record found at recovery, then each record once its write
// batch is durable (so the index never names a record that may not exist after a crash).
// A record the store dropped meanwhile (resolved and past `storage.retention`) is
// forgotten when a query finds it missing. Thread-safe: one shard writer at a time per
// call, readers share a lock.
#pragma once

#include "alerts/queries.hpp"
#include "alerts/record.hpp"

#include <cstddef>
#include <optional>
#include <set>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace redflag::alerts {

// What the index keeps of one record.
struct index_entry {
    std::string id;
    std::string account;
    std::string rule;
    alert_state state = alert_state::inactive;
    rules::alert_severity severity{};
    std::string csm;
    std::string csm_email;
    std::string segment;
    double arr = 0;           // 0 without a profile, as the list sorts it
    bool has_profile = false; // false: the engine did not know the account (no csm/segment match)
    timestamp started_at{};

    static index_entry of(const alert_record& r);
};

class alert_index {
public:
    void put(index_entry e);
    void put_all(std::span<const index_entry> entries);

    // Whether a list with this filter is answered from the index: it asks for pending
    // and/or firing alerts only, or for one account's.
    static bool covers(const alert_filter& f);

    // The ids of the first `limit` + 1 matching pending/firing alerts after `after` in
    // `order` (the extra one tells that more follow). Only when `f` restricts the states
    // to pending/firing (`covers` without an account filter).
    std::vector<std::string> active_page(const alert_filter& f, alert_order order,
                                         const std::optional<alert_position>& after, std::size_t limit) const;

    // The ids of every firing alert (a new silence's card rewrites, alerts/silences.hpp).
    std::vector<std::string> firing_ids() const;

    // The ids of every record of `account`, any state.
    std::vector<std::string> of_account(std::string_view account) const;

    // A record the store no longer has.
    void forget(std::string_view id, std::string_view account);

    std::size_t active_size() const;

private:
    struct sort_key {
        double arr;
        timestamp started_at;
        std::string id;
    };
    struct newest_first {
        bool operator()(const sort_key& x, const sort_key& y) const;
    };
    struct arr_first {
        bool operator()(const sort_key& x, const sort_key& y) const;
    };

    void put_locked(index_entry e);
    void erase_active_locked(std::string_view id);
    template <class Set>
    void collect(const Set& set, const sort_key* after, const alert_filter& f, std::size_t limit,
                 std::vector<std::string>& out) const;

    mutable std::shared_mutex mutex_;
    std::unordered_map<std::string, index_entry> active_;  // pending and firing, by id
    std::set<sort_key, newest_first> newest_;
    std::set<sort_key, arr_first> by_arr_;
    std::unordered_map<std::string, std::vector<std::string>> by_account_;  // every record's id
};

}  // namespace redflag::alerts
