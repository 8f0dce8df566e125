#include "alerts/index.hpp"

#include <algorithm>
#include <mutex>

namespace redflag::alerts {

namespace {
bool listed(alert_state s) { return s == alert_state::pending || s == alert_state::firing; }

// The same test as the store scan's (queries.cpp), on the index's copy of the fields.
bool matches(const alert_filter& f, const index_entry& e) {
    if (f.state && e.state != *f.state) return false;
    if (f.rule && e.rule != *f.rule) return false;
    if (f.account && e.account != *f.account) return false;
    if (f.csm && (!e.has_profile || (e.csm_email != *f.csm && e.csm != *f.csm))) return false;
    if (!f.states.empty() && std::find(f.states.begin(), f.states.end(), e.state) == f.states.end()) return false;
    if (f.severity && e.severity != *f.severity) return false;
    if (f.segment && (!e.has_profile || e.segment != *f.segment)) return false;
    if (f.account_owned && !f.account_owned(e.account)) return false;
    return true;
}
}  // namespace

index_entry index_entry::of(const alert_record& r) {
    index_entry e;
    e.id = r.a.id;
    e.account = r.a.account;
    e.rule = r.a.rule;
    e.state = r.a.state;
    e.severity = r.a.severity;
    e.started_at = r.a.started_at;
    if (r.profile) {
        e.has_profile = true;
        e.csm = r.profile->csm;
        e.csm_email = r.profile->csm_email;
        e.segment = r.profile->segment;
        e.arr = r.profile->arr;
    }
    return e;
}

// Newest first, then id; the ARR order puts the highest ARR first, then newest, then id
// (queries.cpp's `before`).
bool alert_index::newest_first::operator()(const sort_key& x, const sort_key& y) const {
    if (x.started_at != y.started_at) return x.started_at > y.started_at;
    return x.id < y.id;
}

bool alert_index::arr_first::operator()(const sort_key& x, const sort_key& y) const {
    if (x.arr != y.arr) return x.arr > y.arr;
    return newest_first{}(x, y);
}

void alert_index::put(index_entry e) {
    std::unique_lock lock(mutex_);
    put_locked(std::move(e));
}

void alert_index::put_all(std::span<const index_entry> entries) {
    if (entries.empty()) return;
    std::unique_lock lock(mutex_);
    for (const auto& e : entries) put_locked(e);
}

void alert_index::put_locked(index_entry e) {
    auto& ids = by_account_[e.account];
    if (std::find(ids.begin(), ids.end(), e.id) == ids.end()) ids.push_back(e.id);
    erase_active_locked(e.id);
    if (!listed(e.state)) return;
    sort_key k{e.arr, e.started_at, e.id};
    newest_.insert(k);
    by_arr_.insert(k);
    auto id = e.id;
    active_.emplace(std::move(id), std::move(e));
}

void alert_index::erase_active_locked(std::string_view id) {
    auto it = active_.find(std::string(id));
    if (it == active_.end()) return;
    sort_key k{it->second.arr, it->second.started_at, it->second.id};
    newest_.erase(k);
    by_arr_.erase(k);
    active_.erase(it);
}

bool alert_index::covers(const alert_filter& f) {
    if (f.account) return true;
    if (f.state) return listed(*f.state);
    return !f.states.empty() && std::all_of(f.states.begin(), f.states.end(), listed);
}

template <class Set>
void alert_index::collect(const Set& set, const sort_key* after, const alert_filter& f, std::size_t limit,
                          std::vector<std::string>& out) const {
    auto it = after ? set.upper_bound(*after) : set.begin();
    for (; it != set.end() && out.size() <= limit; ++it) {
        const auto& e = active_.at(it->id);
        if (matches(f, e)) out.push_back(e.id);
    }
}

std::vector<std::string> alert_index::active_page(const alert_filter& f, alert_order order,
                                                  const std::optional<alert_position>& after,
                                                  std::size_t limit) const {
    std::vector<std::string> out;
    std::optional<sort_key> from;
    if (after) from = sort_key{after->arr, after->started_at, after->id};
    std::shared_lock lock(mutex_);
    if (order == alert_order::arr) collect(by_arr_, from ? &*from : nullptr, f, limit, out);
    else collect(newest_, from ? &*from : nullptr, f, limit, out);
    return out;
}

std::vector<std::string> alert_index::firing_ids() const {
    std::vector<std::string> out;
    std::shared_lock lock(mutex_);
    for (const auto& [id, e] : active_)
        if (e.state == alert_state::firing) out.push_back(id);
    return out;
}

std::vector<std::string> alert_index::of_account(std::string_view account) const {
    std::shared_lock lock(mutex_);
    auto it = by_account_.find(std::string(account));
    return it == by_account_.end() ? std::vector<std::string>{} : it->second;
}

void alert_index::forget(std::string_view id, std::string_view account) {
    std::unique_lock lock(mutex_);
    erase_active_locked(id);
    auto it = by_account_.find(std::string(account));
    if (it == by_account_.end()) return;
    std::erase(it->second, std::string(id));
    if (it->second.empty()) by_account_.erase(it);
}

std::size_t alert_index::active_size() const {
    std::shared_lock lock(mutex_);
    return active_.size();
}

}  // namespace redflag::alerts
