// The weekly report (weekly.hpp) as text (a terminal, an email's text part), HTML (an
// email's HTML part, a browser) and JSON (GET /v1/reports/weekly?format=json, the
// default). The one place that lays the report out: the API, `redflag report weekly`
// (which prints what the API rendered) and the email channel's `report:` use these.
//
// JSON: {"from","to" (RFC 3339), "csm" (null for all), "red_flags":[...], "recovered",
// "bands_up", "renewals", "onboardings", "promoters", "goals_due", "goals_overdue",
// "csms"}; every row has "account" {"id","name","csm","arr"}; instants are RFC 3339;
// an undefined number (no health, no NRR cohort, no NPS answer) is null. NRR and GRR
// are ratios (1.05 is 105 %), NPS from -100 to 100, as on /metrics.
//
// Pure functions, thread-safe.
#pragma once

#include "report/weekly.hpp"

#include <boost/json/object.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace redflag::report {

enum class format { text, html, json };
// "text" | "html" | "json"; nullopt for anything else.
std::optional<format> format_from(std::string_view name);

boost::json::object to_json(const weekly_report& r);
std::string render_text(const weekly_report& r);
std::string render_html(const weekly_report& r);
// "Redflag weekly report 2026-11-02 to 2026-11-09" (+ " for CSM" when filtered).
std::string subject(const weekly_report& r);

}  // namespace redflag::report
