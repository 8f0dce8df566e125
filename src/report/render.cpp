#include "report/render.hpp"

#include "delivery/channels/email_message.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace redflag::report {
namespace {

namespace json = boost::json;

// ---- JSON

json::value number(const std::optional<double>& v) {
    if (!v || !std::isfinite(*v)) return nullptr;
    return *v;
}

json::object account_json(const account_ref& a) {
    return {{"id", a.id}, {"name", a.name}, {"csm", a.csm}, {"arr", a.arr}};
}

template <class Row, class F>
json::array rows_json(const std::vector<Row>& rows, F&& fields) {
    json::array out;
    for (const auto& row : rows) {
        json::object o{{"account", account_json(row.account)}};
        fields(row, o);
        out.push_back(std::move(o));
    }
    return out;
}

// ---- Tables: each section as a title, headers and rows of cells, for text and HTML.

struct table {
    std::string title;
    std::string empty;  // what to say when there are no rows
    std::vector<std::string> headers;
    std::vector<std::vector<std::string>> rows;
};

std::string money(double v) {
    // Whole units with thousands separators: 120000 → "120,000".
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.0f", std::fabs(v));
    std::string digits = buffer, out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
        out += digits[i];
    }
    return (v < 0 ? "-" : "") + out;
}

std::string fixed(const std::optional<double>& v, const char* spec = "%.1f") {
    if (!v || !std::isfinite(*v)) return "-";
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, spec, *v);
    return buffer;
}

std::string percent(const std::optional<double>& ratio) {
    if (!ratio) return "-";
    return fixed(*ratio * 100.0) + "%";
}

std::string day_of(timestamp t) { return format_date(t); }

std::string health(const std::optional<double>& value, const std::string& band) {
    if (!value) return band.empty() ? "-" : band;
    return fixed(value) + (band.empty() ? "" : " (" + band + ")");
}

std::vector<std::string> account_cells(const account_ref& a) { return {a.name, a.csm.empty() ? "-" : a.csm, money(a.arr)}; }

template <class Row, class F>
table make_table(std::string title, std::string empty, std::vector<std::string> extra_headers,
                 const std::vector<Row>& rows, F&& extra_cells) {
    table t{std::move(title), std::move(empty), {"Account", "CSM", "ARR"}, {}};
    for (auto& h : extra_headers) t.headers.push_back(std::move(h));
    for (const auto& row : rows) {
        auto cells = account_cells(row.account);
        for (auto& c : extra_cells(row)) cells.push_back(std::move(c));
        t.rows.push_back(std::move(cells));
    }
    return t;
}

std::vector<table> tables_of(const weekly_report& r) {
    std::vector<table> out;
    out.push_back(make_table("New red flags", "No alert started firing this week.",
                             {"Rule", "Severity", "Firing since", "State"}, r.red_flags, [](const red_flag& f) {
                                 return std::vector<std::string>{f.rule, f.severity, day_of(f.firing_since), f.state};
                             }));
    out.push_back(make_table("Turnarounds: alerts recovered", "No alert recovered this week.",
                             {"Rule", "Severity", "Firing since", "Recovered"}, r.recovered, [](const recovery& f) {
                                 return std::vector<std::string>{f.rule, f.severity, day_of(f.firing_since),
                                                                 day_of(f.resolved_at)};
                             }));
    out.push_back(make_table("Turnarounds: health bands up", "No health band went up this week.",
                             {"Health a week ago", "Health now"}, r.bands_up, [](const band_change& b) {
                                 return std::vector<std::string>{health(b.health_before, b.band_before),
                                                                 health(b.health_now, b.band_now)};
                             }));
    out.push_back(make_table("Renewals in the next 90 days", "No renewal in the next 90 days.", {"Renews", "Health"},
                             r.renewals, [](const renewal& x) {
                                 return std::vector<std::string>{day_of(x.renewal_at), health(x.health, x.band)};
                             }));
    out.push_back(make_table("Onboardings completed", "No onboarding completed this week.", {"Completed"},
                             r.onboardings, [](const onboarding& o) { return std::vector<std::string>{day_of(o.at)}; }));
    out.push_back(make_table("Promoters", "No promoter.", {"Best NPS (90 days)", "Advocacy"}, r.promoters,
                             [](const promoter& p) {
                                 return std::vector<std::string>{fixed(p.best_nps, "%.0f"),
                                                                 p.classified ? "promoter" : "-"};
                             }));
    auto goal_cells = [](const goal_row& g) {
        return std::vector<std::string>{g.title.empty() ? g.goal_id : g.title, day_of(g.due_at)};
    };
    out.push_back(make_table("Goals due in the next 7 days", "No goal due in the next 7 days.", {"Goal", "Due"},
                             r.goals_due, goal_cells));
    out.push_back(make_table("Goals overdue", "No goal overdue.", {"Goal", "Due"}, r.goals_overdue, goal_cells));
    table csms{"Per CSM, now and a week ago", "No account.",
               {"CSM", "Accounts", "NRR", "NRR a week ago", "GRR", "GRR a week ago", "NPS", "NPS a week ago"},
               {}};
    for (const auto& c : r.csms)
        csms.rows.push_back({c.csm.empty() ? "(none)" : c.csm, std::to_string(c.accounts), percent(c.nrr),
                             percent(c.nrr_week_ago), percent(c.grr), percent(c.grr_week_ago), fixed(c.nps),
                             fixed(c.nps_week_ago)});
    out.push_back(std::move(csms));
    return out;
}

std::string title_of(const weekly_report& r) {
    return "Redflag weekly report, " + day_of(r.from) + " to " + day_of(r.to) +
           (r.csm.empty() ? std::string() : " for " + r.csm);
}

}  // namespace

std::optional<format> format_from(std::string_view name) {
    if (name == "text") return format::text;
    if (name == "html") return format::html;
    if (name == "json") return format::json;
    return std::nullopt;
}

std::string subject(const weekly_report& r) {
    return "Redflag weekly report " + day_of(r.from) + " to " + day_of(r.to) +
           (r.csm.empty() ? std::string() : " for " + r.csm);
}

json::object to_json(const weekly_report& r) {
    json::object out{{"from", format_rfc3339(r.from)}, {"to", format_rfc3339(r.to)}};
    out["csm"] = r.csm.empty() ? json::value(nullptr) : json::value(r.csm);
    out["red_flags"] = rows_json(r.red_flags, [](const red_flag& f, json::object& o) {
        o["alert_id"] = f.alert_id;
        o["rule"] = f.rule;
        o["severity"] = f.severity;
        o["state"] = f.state;
        o["firing_since"] = format_rfc3339(f.firing_since);
    });
    out["recovered"] = rows_json(r.recovered, [](const recovery& f, json::object& o) {
        o["alert_id"] = f.alert_id;
        o["rule"] = f.rule;
        o["severity"] = f.severity;
        o["firing_since"] = format_rfc3339(f.firing_since);
        o["resolved_at"] = format_rfc3339(f.resolved_at);
    });
    out["bands_up"] = rows_json(r.bands_up, [](const band_change& b, json::object& o) {
        o["band_before"] = b.band_before;
        o["band_now"] = b.band_now;
        o["health_before"] = number(b.health_before);
        o["health_now"] = number(b.health_now);
    });
    out["renewals"] = rows_json(r.renewals, [](const renewal& x, json::object& o) {
        o["renewal_at"] = format_rfc3339(x.renewal_at);
        o["health"] = number(x.health);
        o["band"] = x.band;
    });
    out["onboardings"] = rows_json(r.onboardings, [](const onboarding& x, json::object& o) {
        o["completed_at"] = format_rfc3339(x.at);
    });
    out["promoters"] = rows_json(r.promoters, [](const promoter& p, json::object& o) {
        o["best_nps"] = number(p.best_nps);
        o["classified"] = p.classified;
    });
    auto goal = [](const goal_row& g, json::object& o) {
        o["goal_id"] = g.goal_id;
        o["title"] = g.title;
        o["due_at"] = format_rfc3339(g.due_at);
    };
    out["goals_due"] = rows_json(r.goals_due, goal);
    out["goals_overdue"] = rows_json(r.goals_overdue, goal);
    json::array csms;
    for (const auto& c : r.csms)
        csms.push_back(json::object{{"csm", c.csm},
                                    {"accounts", c.accounts},
                                    {"nrr", number(c.nrr)},
                                    {"nrr_week_ago", number(c.nrr_week_ago)},
                                    {"grr", number(c.grr)},
                                    {"grr_week_ago", number(c.grr_week_ago)},
                                    {"nps", number(c.nps)},
                                    {"nps_week_ago", number(c.nps_week_ago)}});
    out["csms"] = std::move(csms);
    return out;
}

std::string render_text(const weekly_report& r) {
    std::string out = title_of(r) + "\n";
    for (const auto& t : tables_of(r)) {
        out += "\n" + t.title + " (" + std::to_string(t.rows.size()) + ")\n";
        if (t.rows.empty()) {
            out += "  " + t.empty + "\n";
            continue;
        }
        std::vector<std::size_t> width(t.headers.size());
        for (std::size_t i = 0; i < t.headers.size(); ++i) width[i] = t.headers[i].size();
        for (const auto& row : t.rows)
            for (std::size_t i = 0; i < row.size() && i < width.size(); ++i) width[i] = std::max(width[i], row[i].size());
        auto line = [&](const std::vector<std::string>& cells) {
            std::string l = " ";
            for (std::size_t i = 0; i < cells.size(); ++i) {
                l += " " + cells[i];
                if (i + 1 < cells.size()) l.append(width[i] - cells[i].size() + 1, ' ');
            }
            return l + "\n";
        };
        out += line(t.headers);
        for (const auto& row : t.rows) out += line(row);
    }
    return out;
}

std::string render_html(const weekly_report& r) {
    using delivery::channels::html_escape;
    std::string out = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" + html_escape(title_of(r)) +
                      "</title></head>\n<body style=\"font-family:sans-serif\">\n<h1>" + html_escape(title_of(r)) +
                      "</h1>\n";
    for (const auto& t : tables_of(r)) {
        out += "<h2>" + html_escape(t.title) + " (" + std::to_string(t.rows.size()) + ")</h2>\n";
        if (t.rows.empty()) {
            out += "<p>" + html_escape(t.empty) + "</p>\n";
            continue;
        }
        out += "<table border=\"1\" cellpadding=\"4\" cellspacing=\"0\">\n<tr>";
        for (const auto& h : t.headers) out += "<th>" + html_escape(h) + "</th>";
        out += "</tr>\n";
        for (const auto& row : t.rows) {
            out += "<tr>";
            for (const auto& c : row) out += "<td>" + html_escape(c) + "</td>";
            out += "</tr>\n";
        }
        out += "</table>\n";
    }
    return out + "</body></html>\n";
}

}  // namespace redflag::report
