#include "report/account.hpp"

#include "model/schema.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

namespace redflag::report {
namespace {

namespace json = boost::json;
using model::event_type;

std::string text(const scalar& v) {
    if (const auto* s = std::get_if<std::string>(&v)) return *s;
    return {};
}

const scalar& field(const model::stream_record& r, std::string_view name) {
    static const scalar null;
    auto i = model::stream_field_index(event_type::activity, name);
    return i && *i < r.values.size() ? r.values[*i] : null;
}

bool inside(timestamp t, timestamp from, timestamp to) { return t > from && t <= to; }

json::value number(const std::optional<double>& v) {
    if (!v || !std::isfinite(*v)) return nullptr;
    return *v;
}

std::string one_decimal(double v) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.1f", v);
    return buffer;
}

std::string time_of_day(timestamp t) { return format_rfc3339(t).substr(11, 5); }  // "HH:MM"

}  // namespace

std::vector<activity> activities_of(const model::account_state& state, timestamp from, timestamp to) {
    std::vector<activity> out;
    for (const auto& r : state.stream(event_type::activity)) {
        if (!inside(r.at, from, to)) continue;
        activity a{r.at, text(field(r, "kind")), text(field(r, "by")), text(field(r, "note")), std::nullopt};
        if (const auto* m = std::get_if<double>(&field(r, "minutes"))) a.minutes = *m;
        out.push_back(std::move(a));
    }
    return out;
}

account_report build_account(std::string account, std::string name, timestamp from, timestamp to,
                             const std::vector<engine::history::point>& history, const std::vector<activity>& activities,
                             const std::vector<alerts::alert_record>& alert_records) {
    account_report out{std::move(account), std::move(name), from, to, {}};
    std::map<std::int64_t, account_day> days;
    auto row_of = [&](std::int64_t d) -> account_day& {
        auto& row = days[d];
        row.day = d;
        return row;
    };
    const auto first = engine::history::day_of(from + duration(1)), last = engine::history::day_of(to);
    for (const auto& p : history) {
        if (p.day < first || p.day > last) continue;
        for (const auto& s : p.scores)
            if (s.name == "health") {
                auto& row = row_of(p.day);
                row.health = s.value;
                row.band = s.band;
            }
    }
    for (const auto& a : activities)
        if (inside(a.at, from, to)) row_of(engine::history::day_of(a.at)).activities.push_back(a);
    for (const auto& r : alert_records) {
        const auto& a = r.a;
        auto add = [&](timestamp at, std::string what) {
            if (inside(at, from, to))
                row_of(engine::history::day_of(at))
                    .alerts.push_back({at, a.id, a.rule, std::string(alerts::name_of(a.severity)), std::move(what)});
        };
        if (a.firing_since) add(*a.firing_since, "fired");
        if (!a.acks.empty()) add(a.acks.front().at, "acknowledged by " + a.acks.front().by);
        if (a.resolved_at && a.firing_since) add(*a.resolved_at, "resolved");
    }
    for (auto& [d, row] : days) {
        std::stable_sort(row.activities.begin(), row.activities.end(),
                         [](const activity& x, const activity& y) { return x.at < y.at; });
        std::stable_sort(row.alerts.begin(), row.alerts.end(),
                         [](const alert_change& x, const alert_change& y) { return x.at < y.at; });
        out.days.push_back(std::move(row));
    }
    return out;
}

json::object to_json(const account_report& r) {
    json::array days;
    for (const auto& d : r.days) {
        json::array activities, alerts;
        for (const auto& a : d.activities)
            activities.push_back(json::object{{"at", format_rfc3339(a.at)},
                                              {"kind", a.kind},
                                              {"by", a.by},
                                              {"note", a.note},
                                              {"minutes", number(a.minutes)}});
        for (const auto& a : d.alerts)
            alerts.push_back(json::object{{"at", format_rfc3339(a.at)},
                                          {"alert_id", a.alert_id},
                                          {"rule", a.rule},
                                          {"severity", a.severity},
                                          {"what", a.what}});
        days.push_back(json::object{{"day", format_date(engine::history::start_of_day(d.day))},
                                    {"health", number(d.health)},
                                    {"band", d.band},
                                    {"activities", std::move(activities)},
                                    {"alerts", std::move(alerts)}});
    }
    return {{"account", r.account},
            {"name", r.name},
            {"from", format_rfc3339(r.from)},
            {"to", format_rfc3339(r.to)},
            {"days", std::move(days)}};
}

std::string render_text(const account_report& r) {
    std::string out = "Health and actions of " + (r.name.empty() ? r.account : r.name + " (" + r.account + ")") + ", " +
                      format_date(r.from) + " to " + format_date(r.to) + "\n\n";
    if (r.days.empty()) return out + "  Nothing recorded in these days.\n";
    out += "  Day         Health         Actions and alerts\n";
    for (const auto& d : r.days) {
        std::string health = d.health ? one_decimal(*d.health) : "-";
        if (!d.band.empty()) health += " (" + d.band + ")";
        if (health.size() < 14) health.append(14 - health.size(), ' ');
        // The day's activities and alert changes in time order (an alert first at a tie).
        std::vector<std::pair<timestamp, std::string>> timed;
        for (const auto& a : d.alerts)
            timed.emplace_back(a.at, time_of_day(a.at) + " alert " + a.rule + " (" + a.severity + ") " + a.what);
        for (const auto& a : d.activities) {
            std::string n = time_of_day(a.at) + " " + a.kind;
            if (!a.by.empty()) n += " by " + a.by;
            if (a.minutes) n += " (" + one_decimal(*a.minutes) + " min)";
            if (!a.note.empty()) n += ": " + a.note;
            timed.emplace_back(a.at, std::move(n));
        }
        std::stable_sort(timed.begin(), timed.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
        std::vector<std::string> notes;
        for (auto& [t, n] : timed) notes.push_back(std::move(n));
        const std::string date_text = format_date(engine::history::start_of_day(d.day));
        if (notes.empty()) {
            out += "  " + date_text + "  " + health + "\n";
            continue;
        }
        for (std::size_t i = 0; i < notes.size(); ++i)
            out += "  " + (i == 0 ? date_text + "  " + health : std::string(date_text.size() + 2 + health.size(), ' ')) + " " +
                   notes[i] + "\n";
    }
    return out;
}

}  // namespace redflag::report
