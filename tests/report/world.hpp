// A fixed world for the weekly report's tests: four accounts of two CSMs and five alert
// records, at now = Monday 2026-11-09 08:00Z, so the week is (2026-11-02 08:00Z, now].
//
//   acme   Ana (ana@example.com)  MRR 8000 since 2025-01-01, 10000 from 2026-11-05 (ARR 120,000)
//          renews 2026-12-01; health 80 green, a week ago 55 yellow (band up)
//          NPS 10 on 2026-10-01; goals: sso due 2026-11-12 (open), qbr due 2026-11-01 (open,
//          overdue), docs due 2026-11-10 (achieved)
//   beta   Ana                    MRR 3000 since 2025-06-01, 2000 from 2026-11-04 (ARR 24,000)
//          renews 2027-03-01 (beyond 90 days); health 40 red, a week ago 45 red; NPS 3 on 2026-11-03
//   gamma  Bo (bo@example.com)    MRR 5000 since 2026-10-20 (ARR 60,000; not in a cohort)
//          renews 2027-02-01; health 70 green, no point a week ago; onboarding completed
//          2026-11-06; classify advocacy: promoter
//   delta  Bo                     MRR 1000 since 2025-03-01, churned 2026-11-03 (ARR 0)
//          NPS 9 on 2026-08-08 (in the 90 days before a week ago, not in the 90 days before now)
#pragma once

#include "report/weekly.hpp"

namespace redflag::report::testing {

inline timestamp at(const char* text) { return *parse_rfc3339(text); }

inline const timestamp now = at("2026-11-09T08:00:00Z");

inline model::mrr_movement move(const char* when, model::movement_kind kind, double before, double after) {
    return {at(when), kind, before, after};
}

inline account_facts account(std::string id, std::string name, std::string csm, std::string email, double mrr) {
    account_facts a;
    a.id = std::move(id);
    a.name = std::move(name);
    a.csm = std::move(csm);
    a.csm_email = std::move(email);
    a.mrr = mrr;
    return a;
}

inline alerts::alert_record alert(std::string id, std::string rule, std::string account, std::string name,
                                  std::string csm_email, double arr, alerts::alert_state state,
                                  std::optional<timestamp> firing_since, std::optional<timestamp> resolved_at,
                                  rules::alert_severity severity = rules::alert_severity::high) {
    alerts::alert_record r;
    r.a.id = std::move(id);
    r.a.rule = std::move(rule);
    r.a.account = std::move(account);
    r.a.severity = severity;
    r.a.state = state;
    r.a.started_at = firing_since ? *firing_since : now - day;
    r.a.firing_since = firing_since;
    r.a.resolved_at = resolved_at;
    alerts::account_profile p;
    p.name = std::move(name);
    p.csm = csm_email.rfind("ana", 0) == 0 ? "Ana" : "Bo";  // as the accounts below
    p.csm_email = std::move(csm_email);
    p.arr = arr;
    r.profile = p;
    return r;
}

inline weekly_input world() {
    using k = model::movement_kind;
    weekly_input in;
    in.now = now;
    in.health_bands = {"green", "yellow", "red"};

    auto acme = account("acme", "Acme", "Ana", "ana@example.com", 10000);
    acme.movements = {move("2025-01-01T00:00:00Z", k::new_business, 0, 8000),
                      move("2026-11-05T00:00:00Z", k::expansion, 8000, 10000)};
    acme.renewal_at = at("2026-12-01T00:00:00Z");
    acme.health = 80;
    acme.band = "green";
    acme.health_week_ago = 55;
    acme.band_week_ago = "yellow";
    acme.nps = {{at("2026-10-01T00:00:00Z"), 10}};
    acme.goals = {{"sso", "Launch SSO", at("2026-11-12T00:00:00Z"), "open"},
                  {"qbr", "Hold the QBR", at("2026-11-01T00:00:00Z"), "open"},
                  {"docs", "Docs", at("2026-11-10T00:00:00Z"), "achieved"}};

    auto beta = account("beta", "Beta", "Ana", "ana@example.com", 2000);
    beta.movements = {move("2025-06-01T00:00:00Z", k::new_business, 0, 3000),
                      move("2026-11-04T00:00:00Z", k::contraction, 3000, 2000)};
    beta.renewal_at = at("2027-03-01T00:00:00Z");
    beta.health = 40;
    beta.band = "red";
    beta.health_week_ago = 45;
    beta.band_week_ago = "red";
    beta.nps = {{at("2026-11-03T00:00:00Z"), 3}};

    auto gamma = account("gamma", "Gamma", "Bo", "bo@example.com", 5000);
    gamma.movements = {move("2026-10-20T00:00:00Z", k::new_business, 0, 5000)};
    gamma.renewal_at = at("2027-02-01T00:00:00Z");
    gamma.health = 70;
    gamma.band = "green";
    gamma.onboarded = {at("2026-10-01T00:00:00Z"), at("2026-11-06T00:00:00Z")};
    gamma.promoter = true;

    auto delta = account("delta", "Delta", "Bo", "bo@example.com", 0);
    delta.movements = {move("2025-03-01T00:00:00Z", k::new_business, 0, 1000),
                       move("2026-11-03T00:00:00Z", k::churn, 1000, 0)};
    delta.nps = {{at("2026-08-08T00:00:00Z"), 9}};

    in.accounts = {acme, beta, gamma, delta};

    using s = alerts::alert_state;
    in.alerts = {
        alert("a1", "usage_drop", "acme", "Acme", "ana@example.com", 120000, s::firing, at("2026-11-05T10:00:00Z"),
              std::nullopt),
        alert("a2", "low_nps", "beta", "Beta", "ana@example.com", 24000, s::resolved, at("2026-11-03T10:00:00Z"),
              at("2026-11-07T10:00:00Z"), rules::alert_severity::medium),
        alert("a3", "old_flag", "gamma", "Gamma", "bo@example.com", 60000, s::resolved, at("2026-10-01T10:00:00Z"),
              at("2026-11-04T10:00:00Z"), rules::alert_severity::low),
        alert("a4", "pending_one", "delta", "Delta", "bo@example.com", 0, s::pending, std::nullopt, std::nullopt),
        // Fired exactly at the week's start: (from, to] leaves it out.
        alert("a5", "edge", "acme", "Acme", "ana@example.com", 120000, s::firing, at("2026-11-02T08:00:00Z"),
              std::nullopt),
    };
    return in;
}

}  // namespace redflag::report::testing
