#include "alerts/queries.hpp"

#include "alerts/index.hpp"

#include "delivery/outbox.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>

namespace redflag::alerts {

namespace {
bool matches(const alert_filter& f, const alert_record& r) {
    if (f.state && r.a.state != *f.state) return false;
    if (f.rule && r.a.rule != *f.rule) return false;
    if (f.account && r.a.account != *f.account) return false;
    if (f.csm && (!r.profile || (r.profile->csm_email != *f.csm && r.profile->csm != *f.csm))) return false;
    if (!f.states.empty() && std::find(f.states.begin(), f.states.end(), r.a.state) == f.states.end()) return false;
    if (f.severity && r.a.severity != *f.severity) return false;
    if (f.segment && (!r.profile || r.profile->segment != *f.segment)) return false;
    if (f.account_owned && !f.account_owned(r.a.account)) return false;
    return true;
}

double arr_of(const alert_record& r) { return r.profile ? r.profile->arr : 0; }

// Whether the record with key (arr, started, id) comes before `p` in p.order.
bool before(alert_order order, double arr, timestamp started, std::string_view id, const alert_position& p) {
    if (order == alert_order::arr && arr != p.arr) return arr > p.arr;
    if (started != p.started_at) return started > p.started_at;
    return id < p.id;
}

alert_position position_of(alert_order order, const alert_record& r) {
    return alert_position{order, arr_of(r), r.a.started_at, r.a.id};
}
}  // namespace

store::status list_alerts(const store::store& store, const alert_filter& filter, std::vector<alert_record>& out,
                          alert_index* index) {
    alert_page page;
    auto st = list_alert_page(store, filter, alert_order::newest, std::nullopt, SIZE_MAX, page, index);
    for (auto& r : page.alerts) out.push_back(std::move(r));
    return st;
}

bool comes_before(const alert_position& x, const alert_position& y) {
    return before(y.order, x.arr, x.started_at, x.id, y);
}

std::optional<alert_position> position_of_json(const boost::json::object& alert, alert_order order) {
    const auto* id = alert.if_contains("id");
    const auto* started = alert.if_contains("started_at");
    if (!id || !id->is_string() || !started || !started->is_string()) return std::nullopt;
    auto at = parse_rfc3339(started->get_string());
    if (!at) return std::nullopt;
    alert_position p;
    p.order = order;
    p.id = std::string(id->get_string());
    p.started_at = *at;
    if (const auto* arr = alert.if_contains("arr"); arr && arr->is_number()) p.arr = arr->to_number<double>();
    return p;
}

std::string encode_cursor(const alert_position& p) {
    // "<order>:<ARR in hex bits>:<start in ms>:<id>", hex-encoded so it is one opaque token.
    std::uint64_t bits = 0;
    std::memcpy(&bits, &p.arr, sizeof bits);
    char head[64];
    std::snprintf(head, sizeof head, "%c:%016llx:%lld:", p.order == alert_order::arr ? 'a' : 'n',
                  static_cast<unsigned long long>(bits), static_cast<long long>(to_millis(p.started_at)));
    std::string text = head + p.id;
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (unsigned char c : text) {
        out += digits[c >> 4];
        out += digits[c & 15];
    }
    return out;
}

std::optional<alert_position> decode_cursor(std::string_view cursor, alert_order order) {
    if (cursor.empty() || cursor.size() % 2 || cursor.size() > 4096) return std::nullopt;
    std::string text;
    for (std::size_t i = 0; i < cursor.size(); i += 2) {
        unsigned v = 0;
        auto [end, ec] = std::from_chars(cursor.data() + i, cursor.data() + i + 2, v, 16);
        if (ec != std::errc{} || end != cursor.data() + i + 2) return std::nullopt;
        text += static_cast<char>(v);
    }
    // order, bits, ms, id
    if (text.size() < 4 || text[1] != ':' || text[0] != (order == alert_order::arr ? 'a' : 'n')) return std::nullopt;
    auto second = text.find(':', 2);
    if (second == std::string::npos) return std::nullopt;
    auto third = text.find(':', second + 1);
    if (third == std::string::npos) return std::nullopt;
    std::uint64_t bits = 0;
    long long ms = 0;
    auto parse = [](std::string_view s, auto& value, int base) {
        auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value, base);
        return ec == std::errc{} && end == s.data() + s.size() && !s.empty();
    };
    if (!parse(std::string_view(text).substr(2, second - 2), bits, 16) ||
        !parse(std::string_view(text).substr(second + 1, third - second - 1), ms, 10))
        return std::nullopt;
    alert_position p;
    p.order = order;
    std::memcpy(&p.arr, &bits, sizeof bits);
    if (!std::isfinite(p.arr)) return std::nullopt;
    p.started_at = from_millis(ms);
    p.id = text.substr(third + 1);
    return p;
}

namespace {
// The first `limit` of `found` in `order`: a partial sort keeps a page cheap even when
// most alerts match.
void take_page(std::vector<alert_record> found, alert_order order, std::size_t limit, alert_page& out) {
    auto less = [order](const alert_record& x, const alert_record& y) {
        return before(order, arr_of(x), x.a.started_at, x.a.id, position_of(order, y));
    };
    const std::size_t n = std::min(limit, found.size());
    std::partial_sort(found.begin(), found.begin() + static_cast<std::ptrdiff_t>(n), found.end(), less);
    const bool more = found.size() > n;
    found.resize(n);
    out.next = more && n > 0 ? std::optional(position_of(order, found.back())) : std::nullopt;
    out.alerts = std::move(found);
}

bool after_position(alert_order order, const alert_record& r, const std::optional<alert_position>& after) {
    return !after || (r.a.id != after->id && !before(order, arr_of(r), r.a.started_at, r.a.id, *after));
}

// A stored record's bytes decoded; an unreadable one is logged and left out.
std::optional<alert_record> decode_stored(std::string_view id, std::string_view bytes) {
    std::string why;
    auto r = decode_record(bytes, &why);
    if (!r) spdlog::warn("alert {}: unreadable record: {}", id, why);
    return r;
}

// The records of `ids` read from the store, in that order; unreadable records are left
// out, and the ids the store no longer has are added to `gone` when given.
store::status read_records(const store::store& store, const std::vector<std::string>& ids,
                           std::vector<alert_record>& out, std::vector<std::string>* gone = nullptr) {
    for (const auto& id : ids) {
        auto value = store.get(store::column::alerts, id);
        if (!value.ok()) return value.error();
        if (!value.value()) {
            if (gone) gone->push_back(id);
        } else if (auto r = decode_stored(id, *value.value())) {
            out.push_back(std::move(*r));
        }
    }
    return store::status{};
}
}  // namespace

store::status list_alert_page(const store::store& store, const alert_filter& filter, alert_order order,
                              const std::optional<alert_position>& after, std::size_t limit, alert_page& out,
                              alert_index* index) {
    std::vector<alert_record> found;
    if (index && filter.account) {
        // One account's records: a handful of reads.
        std::vector<alert_record> records;
        std::vector<std::string> gone;  // expired since the index saw them
        if (auto st = read_records(store, index->of_account(*filter.account), records, &gone); !st.ok()) return st;
        for (const auto& id : gone) index->forget(id, *filter.account);
        for (auto& r : records)
            if (matches(filter, r) && after_position(order, r, after)) found.push_back(std::move(r));
        take_page(std::move(found), order, limit, out);
        return store::status{};
    }
    if (index && alert_index::covers(filter)) {
        // Pending and firing alerts in order from the index; the page's records from the
        // store. A record that changed since the index saw it (it resolved a moment ago)
        // and no longer matches is left out of this page.
        const auto ids = index->active_page(filter, order, after, limit);
        const bool more = ids.size() > limit;
        std::vector<std::string> page_ids(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(std::min(limit, ids.size())));
        std::vector<alert_record> records;
        if (auto st = read_records(store, page_ids, records); !st.ok()) return st;
        for (auto& r : records)
            if (matches(filter, r)) found.push_back(std::move(r));
        out.next = more && !found.empty() ? std::optional(position_of(order, found.back())) : std::nullopt;
        out.alerts = std::move(found);
        return store::status{};
    }
    // Every matching record after the position, then the first `limit` of them in order.
    auto st = store.for_each_prefix(store::column::alerts, "", [&](std::string_view, std::string_view value) {
        auto r = decode_record(value);
        if (!r || !matches(filter, *r) || !after_position(order, *r, after)) return true;
        found.push_back(std::move(*r));
        return true;
    });
    if (!st.ok()) return st;
    take_page(std::move(found), order, limit, out);
    return st;
}

store::result<std::optional<alert_record>> find_alert(const store::store& store, std::string_view id) {
    auto value = store.get(store::column::alerts, id);
    if (!value.ok()) return value.error();
    if (!value.value()) return std::optional<alert_record>{};
    return decode_stored(id, *value.value());
}

store::status notification_history(const store::store& store, std::string_view id, boost::json::array& out,
                                   std::size_t& unreadable) {
    return store.for_each_prefix(store::column::outbox, delivery::alert_prefix(id),
                                 [&](std::string_view key, std::string_view value) {
                                     std::string why;
                                     if (auto e = delivery::parse_entry(key, value, &why)) {
                                         out.push_back(delivery::history_json(*e));
                                     } else {
                                         spdlog::warn("alert {}: unreadable outbox record: {}", id, why);
                                         ++unreadable;
                                     }
                                     return true;
                                 });
}

}  // namespace redflag::alerts
