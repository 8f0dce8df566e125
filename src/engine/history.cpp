#include "engine/history.hpp"

#include "store/keys.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <cmath>

namespace redflag::engine::history {
namespace json = boost::json;

std::int64_t day_of(timestamp t) {
    const auto ms = to_millis(t);
    const std::int64_t per_day = day.count();
    return ms >= 0 ? ms / per_day : -((-ms + per_day - 1) / per_day);
}

timestamp start_of_day(std::int64_t d) { return from_millis(d * day.count()); }

std::string prefix(std::string_view account) { return store::keys::account_prefix(account); }

std::string key(std::string_view account, std::int64_t d) {
    auto k = prefix(account);
    store::keys::append_be64(k, static_cast<std::uint64_t>(d));
    return k;
}

point point_of(const account_record& record, const rules::rule_set& rules, timestamp at) {
    point p;
    p.day = day_of(at);
    auto defs = rules.scores();
    std::size_t first = 0;  // the memo's components are flat, in score order
    auto number = [](double v) -> std::optional<double> { return std::isnan(v) ? std::nullopt : std::optional(v); };
    for (std::size_t i = 0; i < defs.size(); ++i) {
        score_value s;
        s.name = defs[i].name;
        if (i < record.scores().size()) s.value = number(record.scores()[i]);
        for (std::size_t c = 0; c < defs[i].components.size(); ++c) {
            component_value cv{defs[i].components[c], std::nullopt};
            if (first + c < record.memo.components().size()) cv.value = number(record.memo.components()[first + c].value);
            s.components.push_back(std::move(cv));
        }
        first += defs[i].components.size();
        const int b = i < record.bands().size() ? record.bands()[i] : -1;
        s.band = b >= 0 && static_cast<std::size_t>(b) < defs[i].bands.size() ? defs[i].bands[b] : "unknown";
        p.scores.push_back(std::move(s));
    }
    return p;
}

namespace {

json::value number(const std::optional<double>& v) {
    if (!v || !std::isfinite(*v)) return nullptr;
    return *v;
}

std::optional<double> read_number(const json::value& v) {
    if (v.is_number()) return v.to_number<double>();
    return std::nullopt;
}

std::string format_day(std::int64_t d) { return format_date(start_of_day(d)); }

}  // namespace

std::string encode(const point& p) {
    json::object scores, components, bands;
    for (const auto& s : p.scores) {
        scores[s.name] = number(s.value);
        json::object cs;
        for (const auto& c : s.components) cs[c.name] = number(c.value);
        components[s.name] = std::move(cs);
        if (!s.band.empty()) bands[s.name] = s.band;
    }
    return json::serialize(json::object{
        {"scores", std::move(scores)}, {"components", std::move(components)}, {"bands", std::move(bands)}});
}

std::optional<point> decode(std::string_view k, std::string_view value, std::string* error) {
    auto fail = [&](std::string why) -> std::optional<point> {
        if (error) *error = std::move(why);
        return std::nullopt;
    };
    if (k.size() < 1 + 1 + store::keys::sequence_size || k[k.size() - store::keys::sequence_size - 1] != '\0')
        return fail("not a history key");
    point p;
    p.day = static_cast<std::int64_t>(store::keys::read_be64(k.substr(k.size() - store::keys::sequence_size)));
    boost::system::error_code ec;
    auto v = json::parse(value, ec);
    if (ec) return fail("malformed JSON: " + ec.message());
    const auto* o = v.if_object();
    const auto* scores = o ? o->if_contains("scores") : nullptr;
    const auto* components = o ? o->if_contains("components") : nullptr;
    if (!scores || !scores->is_object() || !components || !components->is_object())
        return fail("a history point needs the objects \"scores\" and \"components\"");
    const auto* bands = o->if_contains("bands");
    for (const auto& [name, value_of] : scores->get_object()) {
        score_value s{std::string(name), read_number(value_of), {}, {}};
        if (const auto* cs = components->get_object().if_contains(name); cs && cs->is_object())
            for (const auto& [cname, cvalue] : cs->get_object())
                s.components.push_back({std::string(cname), read_number(cvalue)});
        if (bands && bands->is_object())
            if (const auto* b = bands->get_object().if_contains(name); b && b->is_string()) s.band = b->get_string();
        p.scores.push_back(std::move(s));
    }
    return p;
}

bool expired(std::string_view k, std::string_view, timestamp horizon) {
    if (k.size() < 1 + 1 + store::keys::sequence_size) return false;  // not ours to judge: keep
    const auto d = static_cast<std::int64_t>(store::keys::read_be64(k.substr(k.size() - store::keys::sequence_size)));
    return d < day_of(horizon);
}

json::object to_json(const point& p, std::string_view only) {
    json::object scores, components, bands;
    for (const auto& s : p.scores) {
        if (!only.empty() && s.name != only) continue;
        scores[s.name] = number(s.value);
        json::object cs;
        for (const auto& c : s.components) cs[c.name] = number(c.value);
        components[s.name] = std::move(cs);
        if (!s.band.empty()) bands[s.name] = s.band;
    }
    return json::object{{"day", format_day(p.day)},
                        {"scores", std::move(scores)},
                        {"components", std::move(components)},
                        {"bands", std::move(bands)}};
}

}  // namespace redflag::engine::history
