#include "http/account_view.hpp"

#include "alerts/codec.hpp"
#include "model/schema.hpp"

#include <cmath>

namespace redflag::http {

namespace json = boost::json;

json::value number_to_json(double v) {
    if (std::isfinite(v) && v == std::floor(v) && std::abs(v) < 9e15) return static_cast<std::int64_t>(v);
    return v;
}

json::value scalar_to_json(const scalar& value) {
    return std::visit(
        [](const auto& v) -> json::value {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, std::monostate>) return nullptr;
            else if constexpr (std::is_same_v<T, bool>) return v;
            else if constexpr (std::is_same_v<T, double>) return number_to_json(v);
            else if constexpr (std::is_same_v<T, timestamp>) return json::string(format_rfc3339(v));
            else if constexpr (std::is_same_v<T, std::string>) return json::string(v);
            else {
                json::array a;
                for (const auto& s : v) a.emplace_back(s);
                return a;
            }
        },
        value);
}

namespace {

json::value optional_time(const std::optional<timestamp>& t) {
    if (!t) return nullptr;
    return json::string(format_rfc3339(*t));
}

// Events of each type with `at` in (now - window, now].
json::object event_counts(const model::account_state& s, timestamp now, duration window) {
    json::object counts;
    for (std::size_t t = 0; t < model::event_type_count; ++t) {
        auto type = static_cast<model::event_type>(t);
        std::uint64_t n = 0;
        if (type == model::event_type::usage) {
            for (const auto& [metric, series] : s.usage)
                for (const auto& p : series.points)
                    if (p.at > now - window && p.at <= now) n += p.count;
        } else {
            for (const auto& r : s.stream(type))
                if (r.at > now - window && r.at <= now) ++n;
        }
        counts[model::name_of(type)] = n;
    }
    return counts;
}

}  // namespace

namespace {

json::object score_readings(const engine::account_record& record, const rules::rule_set* rules) {
    json::object scores;
    if (!rules) return scores;
    auto defs = rules->scores();
    for (std::size_t i = 0; i < defs.size() && i < record.scores().size(); ++i) {
        json::object one;
        double v = record.scores()[i];
        one["score"] = std::isnan(v) ? json::value(nullptr) : number_to_json(v);
        auto band = i < record.bands().size() ? record.bands()[i] : -1;
        one["band"] = band >= 0 && static_cast<std::size_t>(band) < defs[i].bands.size() ? defs[i].bands[band]
                                                                                          : std::string("unknown");
        scores[defs[i].name] = std::move(one);
    }
    return scores;
}

}  // namespace

json::object account_summary(const engine::account_record& record, const rules::rule_set* rules) {
    const auto& s = record.state;
    json::object out;
    out["id"] = s.id;
    for (auto f : {model::profile_field::name, model::profile_field::csm, model::profile_field::csm_email,
                   model::profile_field::segment, model::profile_field::plan, model::profile_field::seats})
        out[model::name_of(f)] = scalar_to_json(s.get(f));
    out["arr"] = number_to_json(12 * s.mrr());
    out["renewal_at"] = scalar_to_json(s.get(model::profile_field::renewal_at));
    out["scores"] = score_readings(record, rules);
    return out;
}

json::object account_sort_fields(const engine::account_record& record, const rules::rule_set* rules,
                                 std::string_view sort) {
    const auto& s = record.state;
    json::object out;
    if (sort == "arr") out["arr"] = number_to_json(12 * s.mrr());
    else if (sort == "renewal") out["renewal_at"] = scalar_to_json(s.get(model::profile_field::renewal_at));
    else out["scores"] = score_readings(record, rules);
    return out;
}

json::object account_view(const engine::account_record& record, const rules::rule_set* rules, timestamp now) {
    const auto& s = record.state;
    json::object out;
    out["id"] = s.id;
    out["first_seen"] = optional_time(s.first_seen);
    out["latest_event_at"] = s.first_seen ? json::value(format_rfc3339(s.latest_at)) : json::value(nullptr);

    json::object profile;
    for (std::size_t f = 0; f < model::profile_field_count; ++f)
        profile[model::profile_field_names[f]] = scalar_to_json(s.get(static_cast<model::profile_field>(f)));
    profile["arr"] = number_to_json(12 * s.mrr());
    json::object attributes;
    for (const auto& [k, v] : s.attributes) attributes[k] = scalar_to_json(v);
    profile["attributes"] = std::move(attributes);
    out["profile"] = std::move(profile);

    json::object contract;
    contract["mrr"] = number_to_json(s.mrr());
    contract["arr"] = number_to_json(12 * s.mrr());
    contract["renewal_at"] = scalar_to_json(s.get(model::profile_field::renewal_at));
    contract["products"] = scalar_to_json(s.get(model::profile_field::products));
    contract["status"] = scalar_to_json(s.get(model::profile_field::contract_status));
    json::array movements;
    for (const auto& m : s.movements)
        movements.push_back(json::object{{"at", format_rfc3339(m.at)},
                                         {"kind", model::movement_kind_names[static_cast<std::size_t>(m.kind)]},
                                         {"before", number_to_json(m.before)},
                                         {"after", number_to_json(m.after)}});
    contract["movements"] = std::move(movements);
    out["contract"] = std::move(contract);

    json::array users;
    for (const auto& u : s.users)
        users.push_back(json::object{{"id", u.id},
                                     {"email", u.email},
                                     {"name", u.name},
                                     {"role", u.role},
                                     {"active", u.active},
                                     {"first_seen", format_rfc3339(u.first_seen)},
                                     {"last_seen", optional_time(u.last_seen)}});
    out["users"] = std::move(users);

    json::array tickets;
    for (const auto& t : s.tickets)
        if (t.is_open())
            tickets.push_back(json::object{{"id", t.id},
                                           {"status", t.status},
                                           {"priority", t.priority},
                                           {"subject", t.subject},
                                           {"opened_at", format_rfc3339(t.opened_at)},
                                           {"updated_at", format_rfc3339(t.updated_at)}});
    out["open_tickets"] = std::move(tickets);

    out["event_counts"] = json::object{{"last_7d", event_counts(s, now, 7 * day)},
                                       {"last_30d", event_counts(s, now, 30 * day)},
                                       {"last_90d", event_counts(s, now, 90 * day)}};

    json::object classes;
    json::object scores = score_readings(record, rules);
    if (rules) {
        auto cdefs = rules->classifications();
        for (std::size_t i = 0; i < cdefs.size() && i < record.classes().size(); ++i) {
            auto label = record.classes()[i];
            if (label < cdefs[i].labels.size()) classes[cdefs[i].name] = cdefs[i].labels[label];
        }
    }
    out["scores"] = std::move(scores);
    out["classifications"] = std::move(classes);
    out["evaluated_at"] = optional_time(record.evaluated_at);

    json::array active;
    for (const auto& a : record.alerts.active()) active.push_back(alerts::to_json(a));
    out["alerts"] = std::move(active);
    return out;
}

}  // namespace redflag::http
