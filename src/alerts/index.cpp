#include "alerts/index.hpp"

#include "alerts/codec.hpp"

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
    e.last_change = alerts::last_change(r.a);
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
bool alert_index::newest_first::operator()(const index_entry* x, const index_entry* y) const {
    if (x->started_at != y->started_at) return x->started_at > y->started_at;
    return x->id < y->id;
}

bool alert_index::arr_first::operator()(const index_entry* x, const index_entry* y) const {
    if (x->arr != y->arr) return x->arr > y->arr;
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
    auto it = std::find_if(ids.begin(), ids.end(), [&](const held& h) { return h.id == e.id; });
    if (it == ids.end()) it = ids.insert(ids.end(), held{e.id, std::nullopt});
    it->over_since = listed(e.state) ? std::nullopt : std::optional(e.last_change);
    erase_active_locked(e.id);
    if (!listed(e.state)) return;
    const index_entry* entry = &*active_.insert(std::move(e)).first;
    newest_.insert(entry);
    by_arr_.insert(entry);
}

void alert_index::erase_active_locked(std::string_view id) {
    auto it = active_.find(id);
    if (it == active_.end()) return;
    newest_.erase(&*it);
    by_arr_.erase(&*it);
    active_.erase(it);
}

bool alert_index::covers(const alert_filter& f) {
    if (f.account) return true;
    if (f.state) return listed(*f.state);
    return !f.states.empty() && std::all_of(f.states.begin(), f.states.end(), listed);
}

template <class Set>
void alert_index::collect(const Set& set, const index_entry* after, const alert_filter& f, std::size_t limit,
                          std::vector<std::string>& out) const {
    auto it = after ? set.upper_bound(after) : set.begin();
    for (; it != set.end() && out.size() <= limit; ++it)
        if (matches(f, **it)) out.push_back((*it)->id);
}

std::vector<std::string> alert_index::active_page(const alert_filter& f, alert_order order,
                                                  const std::optional<alert_position>& after,
                                                  std::size_t limit) const {
    std::vector<std::string> out;
    std::optional<index_entry> from;  // compared by its sort fields only
    if (after) {
        from.emplace();
        from->arr = after->arr;
        from->started_at = after->started_at;
        from->id = after->id;
    }
    const index_entry* start = from ? &*from : nullptr;
    std::shared_lock lock(mutex_);
    if (order == alert_order::arr) collect(by_arr_, start, f, limit, out);
    else collect(newest_, start, f, limit, out);
    return out;
}

std::vector<std::string> alert_index::firing_ids() const {
    std::vector<std::string> out;
    std::shared_lock lock(mutex_);
    for (const auto& e : active_)
        if (e.state == alert_state::firing) out.push_back(e.id);
    return out;
}

std::vector<std::string> alert_index::of_account(std::string_view account) const {
    std::shared_lock lock(mutex_);
    std::vector<std::string> out;
    auto it = by_account_.find(std::string(account));
    if (it != by_account_.end())
        for (const auto& h : it->second) out.push_back(h.id);
    return out;
}

void alert_index::forget(std::string_view id, std::string_view account) {
    std::unique_lock lock(mutex_);
    erase_active_locked(id);
    auto it = by_account_.find(std::string(account));
    if (it == by_account_.end()) return;
    std::erase_if(it->second, [&](const held& h) { return h.id == id; });
    if (it->second.empty()) by_account_.erase(it);
}

void alert_index::expire_before(timestamp horizon) {
    std::unique_lock lock(mutex_);
    for (auto it = by_account_.begin(); it != by_account_.end();) {
        std::erase_if(it->second, [&](const held& h) { return h.over_since && *h.over_since < horizon; });
        it = it->second.empty() ? by_account_.erase(it) : std::next(it);
    }
}

std::size_t alert_index::active_size() const {
    std::shared_lock lock(mutex_);
    return active_.size();
}

}  // namespace redflag::alerts
