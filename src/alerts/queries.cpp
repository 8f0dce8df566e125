#include "alerts/queries.hpp"

#include "delivery/outbox.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace redflag::alerts {

namespace {
bool matches(const alert_filter& f, const alert_record& r) {
    if (f.state && r.a.state != *f.state) return false;
    if (f.rule && r.a.rule != *f.rule) return false;
    if (f.account && r.a.account != *f.account) return false;
    if (f.csm && (!r.profile || (r.profile->csm_email != *f.csm && r.profile->csm != *f.csm))) return false;
    return true;
}
}  // namespace

store::status list_alerts(const store::store& store, const alert_filter& filter, std::vector<alert_record>& out) {
    auto st = store.for_each_prefix(store::column::alerts, "", [&](std::string_view, std::string_view value) {
        auto r = decode_record(value);
        if (r && matches(filter, *r)) out.push_back(std::move(*r));
        return true;
    });
    if (!st.ok()) return st;
    std::stable_sort(out.begin(), out.end(), [](const auto& x, const auto& y) { return x.a.started_at > y.a.started_at; });
    return st;
}

store::result<std::optional<alert_record>> find_alert(const store::store& store, std::string_view id) {
    auto value = store.get(store::column::alerts, id);
    if (!value.ok()) return value.error();
    if (!value.value()) return std::optional<alert_record>{};
    std::string why;
    auto r = decode_record(*value.value(), &why);
    if (!r) spdlog::warn("alert {}: unreadable record: {}", id, why);
    return r;
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
