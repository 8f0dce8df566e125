// account_state::apply and expire: how each event type changes an account's state.
//
// Ordering rules, shared by every part of the state:
// - sorted vectors (stream records, usage points, history, movements) take an event at its
//   own `at`; events with an equal `at` keep their order of arrival (upper_bound);
// - a current value (profile field, user, ticket, attribute) is only overwritten by an
//   event at least as new as the one that set it;
// - MRR movements are a function of the contract records in time order and are
//   recomputed from the point where a late contract event lands.
#include "model/account_state.hpp"

#include "model/schema.hpp"

#include <algorithm>
#include <cmath>

namespace redflag::model {
namespace {

namespace json = boost::json;

const json::value* find_member(const json::object& o, std::string_view key) {
    auto it = o.find(key);
    return it == o.end() ? nullptr : &it->value();
}

std::optional<double> as_number(const json::value& v) {
    if (v.is_int64()) return static_cast<double>(v.get_int64());
    if (v.is_uint64()) return static_cast<double>(v.get_uint64());
    if (v.is_double()) return v.get_double();
    return std::nullopt;
}

const json::string* as_string(const json::value* v) { return v && v->is_string() ? &v->get_string() : nullptr; }

// The JSON value of a field as a scalar of the schema's kind; null when absent or of the
// wrong type (validation rules that out, but a stored log is not trusted to crash us).
scalar to_scalar(const json::value* v, field_kind kind) {
    if (!v) return {};
    switch (kind) {
        case field_kind::string:
            if (v->is_string()) return std::string(v->get_string());
            return {};
        case field_kind::integer:
        case field_kind::number:
            if (auto n = as_number(*v)) return *n;
            return {};
        case field_kind::boolean:
            if (v->is_bool()) return v->get_bool();
            return {};
        case field_kind::time:
            if (v->is_string())
                if (auto t = parse_rfc3339(v->get_string())) return *t;
            return {};
        case field_kind::string_list: {
            if (!v->is_array()) return {};
            string_list list;
            list.reserve(v->get_array().size());
            for (const auto& item : v->get_array())
                if (item.is_string()) list.emplace_back(item.get_string());
            return list;
        }
        case field_kind::object:
            return {};
    }
    return {};
}

std::optional<scalar> attribute_value(const json::value& v) {
    if (v.is_string()) return scalar{std::string(v.get_string())};
    if (v.is_bool()) return scalar{v.get_bool()};
    if (auto n = as_number(v)) return scalar{*n};
    if (v.is_null()) return scalar{};
    return std::nullopt;  // arrays and objects are not attribute values
}

// The stream record of an event: one value per in_stream field, defaults applied.
stream_record make_record(const event& e) {
    stream_record r;
    r.at = e.at;
    r.values.reserve(stream_field_count(e.type));
    for (const auto& f : fields_of(e.type)) {
        if (!f.in_stream) continue;
        r.values.push_back(to_scalar(find_member(e.fields, f.name), f.kind));
    }
    auto set_default = [&](std::string_view field, scalar value) {
        if (auto i = stream_field_index(e.type, field); i && is_null(r.values[*i])) r.values[*i] = std::move(value);
    };
    if (e.type == event_type::ticket) set_default("priority", std::string("normal"));
    if (e.type == event_type::user) set_default("active", true);
    r.values.shrink_to_fit();
    return r;
}

template <class T>
auto upper_by_at(std::vector<T>& v, timestamp at) {
    return std::upper_bound(v.begin(), v.end(), at, [](timestamp t, const T& x) { return t < x.at; });
}

template <class T>
auto lower_by_at(std::vector<T>& v, timestamp at) {
    return std::lower_bound(v.begin(), v.end(), at, [](const T& x, timestamp t) { return x.at < t; });
}

// Makes room for one more element growing by a quarter (at least 4), not by doubling:
// an account holds a few dozen vectors that grow one element at a time for months, and
// doubling leaves up to half of each unused (about 1 KB per account with 90 days of
// daily usage). Growth stays geometric, so appends stay amortised O(1).
template <class T>
void reserve_one_more(std::vector<T>& v) {
    if (v.size() == v.capacity()) v.reserve(v.size() + std::max<std::size_t>(4, v.size() / 4));
}

// Inserts at its own time; the common in-order case is an append.
template <class T>
typename std::vector<T>::iterator insert_by_at(std::vector<T>& v, T item) {
    reserve_one_more(v);
    if (v.empty() || !(item.at < v.back().at)) {
        v.push_back(std::move(item));
        return v.end() - 1;
    }
    auto pos = upper_by_at(v, item.at);
    return v.insert(pos, std::move(item));
}

// Vectors grown by apply() keep up to a quarter above their size; expire() (run periodically) gives
// back what is more than an eighth above it, so long-lived states stay close to the size
// a decoded snapshot has.
template <class T>
void shrink_if_loose(std::vector<T>& v) {
    if (v.capacity() > v.size() + v.size() / 8 + 4) v.shrink_to_fit();
}

timestamp minute_start(timestamp t) {
    auto ms = to_millis(t);
    auto m = minute.count();
    auto q = ms / m;
    if (ms % m < 0) --q;  // floor for times before the epoch
    return from_millis(q * m);
}

double number_or_zero(const scalar& s) {
    if (auto d = std::get_if<double>(&s)) return *d;
    return 0;
}

// Positions of fields in stream records (function statics: schema.cpp's tables are not
// guaranteed to be initialised before this file's namespace-scope statics).
std::size_t contract_mrr_index() {
    static const std::size_t i = *stream_field_index(event_type::contract, "mrr");
    return i;
}
std::size_t contract_status_index() {
    static const std::size_t i = *stream_field_index(event_type::contract, "status");
    return i;
}
std::size_t user_id_index() {
    static const std::size_t i = *stream_field_index(event_type::user, "user_id");
    return i;
}

}  // namespace

// Applies one event to a state; a friend of account_state (its private containers).
class applier {
public:
    explicit applier(account_state& s) : s_(s) {}

    // Assigns `value` to field `f` by an event at `at`, keeping the history consistent
    // whatever the order of arrival. See the file comment.
    void set_field(profile_field f, scalar value, timestamp at) {
        if (is_null(value) && !s_.find_profile(f) && s_.history_of(f).empty()) return;  // as below, no entry
        auto& slot = s_.profile_slot(f);
        // The changes are moved out of the state and back, so that a field with none
        // keeps no entry.
        auto history = s_.take_history(f);
        set_field(slot, history, std::move(value), at);
        s_.put_history(f, std::move(history));
    }

    void set_field(profile_value& slot, std::vector<field_change>& history, scalar value, timestamp at) {
        auto& current = slot.value;
        auto& set_at = slot.at;
        auto& first_at = slot.first_at;
        if (is_null(current) && history.empty()) {
            if (is_null(value)) return;
            current = std::move(value);  // the first value a field gets is not a change
            set_at = at;
            first_at = at;
            return;
        }
        if (first_at > set_at) first_at = set_at;  // a state assembled by hand
        if (at >= set_at) {
            if (value != current) history.push_back({at, current, value});
            current = std::move(value);
            set_at = at;
            return;
        }
        // A late event: place it into the field's timeline without touching the current value.
        const scalar initial = history.empty() ? current : history.front().before;
        if (at < first_at) {
            if (value != initial) history.insert(history.begin(), field_change{first_at, value, initial});
            first_at = at;
            return;
        }
        auto pos = upper_by_at(history, at);
        const scalar then = pos == history.begin() ? initial : (pos - 1)->after;
        if (value == then) return;
        pos = history.insert(pos, field_change{at, then, value});
        auto next = pos + 1;
        if (next != history.end()) {
            next->before = value;
            if (next->before == next->after) history.erase(next);
        } else {
            // The current value was sent again at set_at, after this event.
            history.push_back({set_at, std::move(value), current});
        }
    }

    void apply(const event& e) {
        if (s_.id.empty()) s_.id = e.account;
        auto& type = s_.stream_entry(e.type);
        const bool older_than_type = type.has_latest && e.at < type.latest;
        const bool first_event = !s_.first_seen;
        if (first_event || e.at < *s_.first_seen) s_.first_seen = e.at;
        if (first_event || e.at > s_.latest_at) s_.latest_at = e.at;
        if (!type.has_latest || e.at > type.latest) {
            type.latest = e.at;
            type.has_latest = true;
        }

        switch (e.type) {
            case event_type::account: apply_account(e, older_than_type); break;
            case event_type::contract: apply_contract(e); return;  // records its own stream entry
            case event_type::usage: apply_usage(e); return;        // no stream record
            case event_type::user: apply_user(e); break;
            case event_type::ticket: apply_ticket(e); break;
            default: break;
        }
        insert_by_at(type.records, make_record(e));  // `type` is still valid: nothing added entries
    }

private:
    void apply_account(const event& e, bool older_than_type) {
        for (const auto& f : fields_of(event_type::account)) {
            auto pf = profile_field_from(f.name);
            if (!pf) continue;
            const auto* v = find_member(e.fields, f.name);
            if (!v) continue;
            scalar value = to_scalar(v, f.kind);
            if (is_null(value)) continue;
            set_field(*pf, std::move(value), e.at);
        }
        const auto* attrs = find_member(e.fields, "attributes");
        if (!attrs || !attrs->is_object()) return;
        // Attributes keep no per-key time: a late event only adds keys not yet known.
        for (const auto& [key, v] : attrs->get_object()) {
            auto value = attribute_value(v);
            if (!value) continue;
            auto it = s_.attributes.find(std::string_view(key));
            if (older_than_type && it != s_.attributes.end()) continue;
            if (is_null(*value)) {
                if (it != s_.attributes.end()) s_.attributes.erase(it);
            } else if (it != s_.attributes.end()) {
                it->second = std::move(*value);
            } else {
                s_.attributes.emplace(std::string(key), std::move(*value));
            }
        }
    }

    void apply_contract(const event& e) {
        static constexpr std::pair<std::string_view, profile_field> mapping[] = {
            {"mrr", profile_field::mrr},
            {"seats", profile_field::seats},
            {"products", profile_field::products},
            {"renewal_at", profile_field::renewal_at},
            {"status", profile_field::contract_status},
        };
        for (const auto& [name, pf] : mapping) {
            const auto* spec = find_field(event_type::contract, name);
            scalar value = to_scalar(find_member(e.fields, name), spec->kind);
            if (is_null(value)) continue;
            set_field(pf, std::move(value), e.at);
        }
        auto& records = s_.stream_for(event_type::contract);
        auto pos = insert_by_at(records, make_record(e));
        recompute_movements(static_cast<std::size_t>(pos - records.begin()));
    }

    // Re-derives movements (and the status they imply) from contract record `from` on:
    // every movement at or after that record's time is replaced.
    void recompute_movements(std::size_t from) {
        auto& records = s_.stream_for(event_type::contract);
        const timestamp start = records[from].at;
        // Records sharing that time but arrived earlier are before it in order: redo them too.
        while (from > 0 && records[from - 1].at == start) --from;
        auto& moves = s_.movements;
        moves.erase(lower_by_at(moves, start), moves.end());
        // Every movement touches a positive MRR, so the remaining ones give the state.
        double effective = moves.empty() ? 0 : moves.back().after;
        bool ever_positive = !moves.empty();
        for (std::size_t i = from; i < records.size(); ++i) {
            const auto& r = records[i];
            // mrr is required; a record without it (never validated) changes nothing but status.
            const auto& mrr_value = r.values[contract_mrr_index()];
            const double mrr = is_null(mrr_value) ? effective : number_or_zero(mrr_value);
            const auto* status = std::get_if<std::string>(&r.values[contract_status_index()]);
            const bool churned = status && *status == "churned";
            const double next = churned ? 0 : mrr;
            std::optional<movement_kind> kind;
            if (next != effective) {
                if (next == 0) kind = movement_kind::churn;
                else if (effective == 0) kind = ever_positive ? movement_kind::reactivation : movement_kind::new_business;
                else kind = next > effective ? movement_kind::expansion : movement_kind::contraction;
            }
            if (kind) moves.push_back({r.at, *kind, effective, next});
            if (churned || kind == movement_kind::churn) set_field(profile_field::status, std::string("churned"), r.at);
            else if (kind == movement_kind::reactivation) set_field(profile_field::status, std::string("active"), r.at);
            if (next > 0) ever_positive = true;
            effective = next;
        }
    }

    user_state& find_or_add_user(std::string_view id, timestamp at) {
        auto& users = s_.users;
        auto it = std::lower_bound(users.begin(), users.end(), id,
                                   [](const user_state& u, std::string_view key) { return u.id < key; });
        if (it == users.end() || it->id != id) {
            user_state u;
            u.id = std::string(id);
            u.first_seen = at;
            it = users.insert(it, std::move(u));
        } else if (at < it->first_seen) {
            it->first_seen = at;
        }
        return *it;
    }

    void apply_usage(const event& e) {
        const auto* metric = as_string(find_member(e.fields, "metric"));
        if (!metric) return;
        double value = 1;
        if (const auto* v = find_member(e.fields, "value"))
            if (auto n = as_number(*v)) value = *n;
        if (const auto* user_id = as_string(find_member(e.fields, "user_id"))) {
            auto& u = find_or_add_user(*user_id, e.at);
            if (!u.last_seen || e.at > *u.last_seen) u.last_seen = e.at;
        }
        auto it = s_.usage.find(std::string_view(*metric));
        if (it == s_.usage.end()) it = s_.usage.emplace(std::string(*metric), usage_series{}).first;
        auto& points = it->second.points;
        const timestamp m = minute_start(e.at);
        // The point of this minute, if any, is the first one at or after its start.
        auto pos = points.empty() || points.back().at < m ? points.end() : lower_by_at(points, m);
        if (pos != points.end() && pos->at < m + minute) {
            pos->sum += value;
            pos->count += 1;
            if (e.at > pos->at) pos->at = e.at;
        } else {
            const auto offset = pos - points.begin();
            reserve_one_more(points);
            points.insert(points.begin() + offset, usage_point{e.at, value, 1});
        }
    }

    // The newest `user` record of this user before this event was applied, if newer than it.
    bool has_newer_user_record(std::string_view id, timestamp at) const {
        const auto& records = s_.stream(event_type::user);
        for (auto it = records.rbegin(); it != records.rend() && it->at > at; ++it) {
            const auto* rid = std::get_if<std::string>(&it->values[user_id_index()]);
            if (rid && *rid == id) return true;
        }
        return false;
    }

    void apply_user(const event& e) {
        const auto* id = as_string(find_member(e.fields, "user_id"));
        if (!id) return;
        const bool late = has_newer_user_record(*id, e.at);
        auto& u = find_or_add_user(*id, e.at);
        auto take = [&](std::string_view name, std::string& field) {
            const auto* v = as_string(find_member(e.fields, name));
            if (v && (!late || field.empty())) field = std::string(*v);
        };
        take("email", u.email);
        take("name", u.name);
        take("role", u.role);
        if (const auto* a = find_member(e.fields, "active"); a && a->is_bool() && !late) u.active = a->get_bool();
    }

    void apply_ticket(const event& e) {
        const auto* id = as_string(find_member(e.fields, "ticket_id"));
        if (!id) return;
        auto& tickets = s_.tickets;
        auto it = std::lower_bound(tickets.begin(), tickets.end(), std::string_view(*id),
                                   [](const ticket_state& t, std::string_view key) { return t.id < key; });
        const auto* status = as_string(find_member(e.fields, "status"));
        const auto* priority = as_string(find_member(e.fields, "priority"));
        const auto* subject = as_string(find_member(e.fields, "subject"));
        // The earliest first response any event of the ticket names (a later event may
        // repeat it, or a late one correct it downwards).
        std::optional<timestamp> first_response;
        if (const auto* v = find_member(e.fields, "first_response_at"); v && v->is_string())
            first_response = parse_rfc3339(v->get_string());
        auto take_first_response = [&](ticket_state& t) {
            if (first_response && (!t.first_response_at || *first_response < *t.first_response_at))
                t.first_response_at = first_response;
        };
        if (it == tickets.end() || it->id != *id) {
            ticket_state t;
            take_first_response(t);
            t.id = std::string(*id);
            t.status = status ? std::string(*status) : std::string("open");
            t.priority = priority ? std::string(*priority) : std::string("normal");
            if (subject) t.subject = std::string(*subject);
            t.opened_at = e.at;
            t.updated_at = e.at;
            tickets.insert(it, std::move(t));
            return;
        }
        auto& t = *it;
        take_first_response(t);
        if (e.at >= t.updated_at) {
            if (status) t.status = std::string(*status);
            if (priority) t.priority = std::string(*priority);
            if (subject) t.subject = std::string(*subject);
            t.updated_at = e.at;
        } else if (subject && t.subject.empty()) {
            t.subject = std::string(*subject);
        }
        if (e.at < t.opened_at) t.opened_at = e.at;
    }

    account_state& s_;
};

namespace {
const scalar null_scalar{};
const std::vector<field_change> no_changes;
const std::vector<stream_record> no_records;

// The entry of `key` in a vector sorted by key (a few entries: a linear scan).
template <class V, class K, class Key>
auto find_entry(V& v, K key, Key key_of) -> decltype(v.data()) {
    for (auto& x : v) {
        if (key_of(x) == key) return &x;
        if (key_of(x) > key) break;
    }
    return nullptr;
}

template <class V, class K, class Key>
auto insert_pos(V& v, K key, Key key_of) {
    return std::find_if(v.begin(), v.end(), [&](const auto& x) { return key_of(x) > key; });
}

constexpr auto field_of = [](const auto& x) { return x.field; };
constexpr auto type_of = [](const auto& x) { return x.type; };
}  // namespace

profile_value* account_state::find_profile(profile_field f) { return find_entry(profile_, f, field_of); }
const profile_value* account_state::find_profile(profile_field f) const { return find_entry(profile_, f, field_of); }

profile_value& account_state::profile_slot(profile_field f) {
    if (auto* p = find_profile(f)) return *p;
    profile_value v;
    v.field = f;
    return *profile_.insert(insert_pos(profile_, f, field_of), std::move(v));
}

const scalar& account_state::get(profile_field f) const {
    const auto* p = find_profile(f);
    return p ? p->value : null_scalar;
}

timestamp account_state::set_at(profile_field f) const {
    const auto* p = find_profile(f);
    return p ? p->at : timestamp{};
}

timestamp account_state::first_set_at(profile_field f) const {
    const auto* p = find_profile(f);
    return p ? p->first_at : timestamp{};
}

void account_state::put(profile_field f, scalar value, timestamp at, timestamp first_at) {
    if (is_null(value) && at == timestamp{} && first_at == timestamp{}) {
        std::erase_if(profile_, [f](const profile_value& v) { return v.field == f; });
        return;
    }
    auto& slot = profile_slot(f);
    slot.value = std::move(value);
    slot.at = at;
    slot.first_at = first_at;
}

const std::vector<field_change>& account_state::history_of(profile_field f) const {
    const auto* h = find_entry(history_, f, field_of);
    return h ? h->changes : no_changes;
}

std::vector<field_change> account_state::take_history(profile_field f) {
    auto it = std::find_if(history_.begin(), history_.end(), [f](const field_history& h) { return h.field == f; });
    if (it == history_.end()) return {};
    auto changes = std::move(it->changes);
    history_.erase(it);
    return changes;
}

void account_state::put_history(profile_field f, std::vector<field_change> changes) {
    if (auto* h = find_entry(history_, f, field_of)) {
        if (changes.empty()) {
            history_.erase(history_.begin() + (h - history_.data()));
        } else {
            h->changes = std::move(changes);
        }
        return;
    }
    if (changes.empty()) return;
    field_history h;
    h.field = f;
    h.changes = std::move(changes);
    history_.insert(insert_pos(history_, f, field_of), std::move(h));
}

type_stream* account_state::find_stream(event_type t) { return find_entry(streams_, t, type_of); }
const type_stream* account_state::find_stream(event_type t) const { return find_entry(streams_, t, type_of); }

type_stream& account_state::stream_entry(event_type t) {
    if (auto* s = find_stream(t)) return *s;
    type_stream s;
    s.type = t;
    return *streams_.insert(insert_pos(streams_, t, type_of), std::move(s));
}

const std::vector<stream_record>& account_state::stream(event_type t) const {
    const auto* s = find_stream(t);
    return s ? s->records : no_records;
}

std::vector<stream_record>& account_state::stream_for(event_type t) { return stream_entry(t).records; }

std::optional<timestamp> account_state::latest_of(event_type t) const {
    const auto* s = find_stream(t);
    if (!s || !s->has_latest) return std::nullopt;
    return s->latest;
}

void account_state::set_latest_of(event_type t, std::optional<timestamp> at) {
    if (!at && !find_stream(t)) return;
    auto& s = stream_entry(t);
    s.has_latest = at.has_value();
    s.latest = at.value_or(timestamp{});
}

double account_state::mrr() const { return number_or_zero(get(profile_field::mrr)); }

const user_state* account_state::find_user(std::string_view user_id) const {
    auto it = std::lower_bound(users.begin(), users.end(), user_id,
                               [](const user_state& u, std::string_view key) { return u.id < key; });
    return it != users.end() && it->id == user_id ? &*it : nullptr;
}

void account_state::apply(const event& e) { applier(*this).apply(e); }

void account_state::expire(timestamp cutoff) {
    // Keeps the last element even when it is older than the cutoff.
    auto drop_before = [cutoff](auto& v) {
        if (v.size() > 1) {
            auto end = lower_by_at(v, cutoff);
            if (end == v.end()) --end;
            v.erase(v.begin(), end);
        }
        shrink_if_loose(v);
    };
    for (auto& s : streams_) {
        // Contract records stay: movements are derived from them when a late one arrives.
        if (s.type == event_type::contract) {
            shrink_if_loose(s.records);
            continue;
        }
        drop_before(s.records);
    }
    shrink_if_loose(users);
    shrink_if_loose(movements);
    for (auto& [metric, series] : usage) drop_before(series.points);
    for (auto& h : history_) drop_before(h.changes);
    std::erase_if(tickets, [cutoff](const ticket_state& t) { return !t.is_open() && t.updated_at < cutoff; });
    shrink_if_loose(tickets);
}

}  // namespace redflag::model
