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
// A record the store drops (over, its last change older than `storage.retention`) is
// forgotten by the hourly expire_before, or sooner when a query finds it missing.
// Thread-safe: one shard writer at a time per call, readers share a lock.
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
#include <unordered_set>
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
    timestamp last_change{};  // codec.hpp's last_change: when an alert that is over expires

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
    // Forgets the records that are over and last changed before `horizon`, as the
    // store's expiry rule drops them (so ids of accounts nobody lists do not pile up).
    void expire_before(timestamp horizon);

    std::size_t active_size() const;

private:
    // Memory: an engine with 100,000s of accounts often has a pending or firing alert for
    // many of them, so each active entry is kept once (a set keyed by its id) and both
    // orders hold pointers to it (nodes of an unordered_set do not move), instead of
    // copies of the sort fields and the id.
    struct id_hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view id) const { return std::hash<std::string_view>{}(id); }
        std::size_t operator()(const index_entry& e) const { return (*this)(std::string_view(e.id)); }
    };
    struct id_equal {
        using is_transparent = void;
        static std::string_view id(std::string_view s) { return s; }
        static std::string_view id(const index_entry& e) { return e.id; }
        template <class A, class B>
        bool operator()(const A& a, const B& b) const { return id(a) == id(b); }
    };
    struct newest_first {
        bool operator()(const index_entry* x, const index_entry* y) const;
    };
    struct arr_first {
        bool operator()(const index_entry* x, const index_entry* y) const;
    };

    void put_locked(index_entry e);
    void erase_active_locked(std::string_view id);
    template <class Set>
    void collect(const Set& set, const index_entry* after, const alert_filter& f, std::size_t limit,
                 std::vector<std::string>& out) const;

    mutable std::shared_mutex mutex_;
    std::unordered_set<index_entry, id_hash, id_equal> active_;  // pending and firing
    std::set<const index_entry*, newest_first> newest_;             // into active_
    std::set<const index_entry*, arr_first> by_arr_;                // into active_
    // Every record of an account: its id, and for one that is over its last change.
    struct held {
        std::string id;
        std::optional<timestamp> over_since;  // nullopt while pending or firing
    };
    std::unordered_map<std::string, std::vector<held>> by_account_;
};

}  // namespace redflag::alerts
