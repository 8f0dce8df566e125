// The board's filters: every KPI series carries csm, segment and health_band, and the
// ratios recomputed from their additive parts under a filter (as the board's PromQL
// does: sum(numerator{filter}) / sum(denominator{filter})) give the hand-computed values
// of the accounts the filter selects. Alerts per book: active alerts by the account's
// labels, and alerts fired counted once per start of firing.
#include "kpi/hub.hpp"
#include "kpi_support.hpp"
#include "metrics/engine_metrics.hpp"

#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <sstream>

namespace redflag::kpi {
namespace {

using model::event_type;
using testing::now;

timestamp ago(int days) { return now - days * day; }

// Σ of the samples of `name` whose labels include every one of `match` (the PromQL
// sum(name{match}) of one scrape), and how many samples there were.
struct summed {
    double value = 0;
    int samples = 0;
};
summed sum(const std::string& text, const std::string& name, const std::map<std::string, std::string>& match = {}) {
    static const std::regex line_re(R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$)");
    static const std::regex label_re(R"re((\w+)="([^"]*)")re");
    summed out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        std::smatch m;
        if (!std::regex_match(line, m, line_re) || m[1] != name) continue;
        std::map<std::string, std::string> labels;
        const std::string body = m[3];
        for (std::sregex_iterator it(body.begin(), body.end(), label_re), end; it != end; ++it)
            labels[(*it)[1]] = (*it)[2];
        bool ok = true;
        for (const auto& [k, v] : match) ok = ok && labels.count(k) && labels[k] == v;
        if (!ok) continue;
        out.value += std::stod(m[4]);
        ++out.samples;
    }
    return out;
}
double value(const std::string& text, const std::string& name, const std::map<std::string, std::string>& match = {}) {
    return sum(text, name, match).value;
}

struct evaluated_account {
    model::account_state state;
    rules::evaluation eval;
    std::vector<alerts::alert> alerts;
};

void apply(evaluated_account& a, event_type type, timestamp at, boost::json::object fields) {
    auto e = testing::make_event(type, at, std::move(fields));
    e.account = a.state.id;
    a.state.apply(e);
}

timestamp report(shard_tracker& tracker, std::uint32_t index, evaluated_account& a, timestamp at) {
    auto rules = testing::test_rules();
    a.eval = rules->make_evaluation();
    rules->evaluate(a.state, at, hour, a.eval);
    return tracker.on_evaluated(
        index, account_input{a.state, a.eval.scores, a.eval.bands, a.eval.classes, a.alerts}, rules.get(), at);
}

// An alert of the test rule `few_seats` (index 0 of the test rules).
alerts::alert few_seats(const std::string& account, alerts::alert_state state, timestamp since) {
    alerts::alert a;
    a.rule = "few_seats";
    a.account = account;
    a.severity = rules::alert_severity::high;
    a.state = state;
    a.started_at = since;
    if (state == alerts::alert_state::firing) a.firing_since = since;
    return a;
}

// now = 2026-06-01; MRR by account (d = days before now):
//   ana1  csm Ana, smb, 80 seats (green)   1000 since -400d, 1200 at -10d (expansion)
//         products backup; NPS 10, 9; CSAT 5; one open high ticket
//   ben1  csm Ben, smb, 10 seats (red)      500 since -400d,  300 at -5d (contraction)
//         products backup; NPS 3; CSAT 2, 4; one open urgent ticket; few_seats firing since now
//   ana2  csm Ana, enterprise, 10 seats (red) 200 since -20d (new); products backup,
//         archiving; renewal in 20 days; few_seats pending
struct board {
    std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
    settings config;
    std::unique_ptr<hub> h;
    evaluated_account ana1, ben1, ana2;

    board() {
        config.stack = {{"backup", 9}, {"archiving", 4}};
        config.gross_margin = 0.5;
        h = std::make_unique<hub>(config, *registry, 2);
        ana1.state.id = "ana1";
        apply(ana1, event_type::account, ago(400), {{"csm", "Ana"}, {"segment", "smb"}, {"seats", 80}});
        apply(ana1, event_type::contract, ago(400), {{"mrr", 1000}, {"products", boost::json::array{"backup"}}});
        apply(ana1, event_type::contract, ago(10), {{"mrr", 1200}});
        apply(ana1, event_type::nps, ago(3), {{"score", 10}});
        apply(ana1, event_type::nps, ago(2), {{"score", 9}});
        apply(ana1, event_type::csat, ago(2), {{"score", 5}});
        apply(ana1, event_type::ticket, ago(1), {{"ticket_id", "t1"}, {"status", "open"}, {"priority", "high"}});

        ben1.state.id = "ben1";
        apply(ben1, event_type::account, ago(400), {{"csm", "Ben"}, {"segment", "smb"}, {"seats", 10}});
        apply(ben1, event_type::contract, ago(400), {{"mrr", 500}, {"products", boost::json::array{"backup"}}});
        apply(ben1, event_type::contract, ago(5), {{"mrr", 300}});
        apply(ben1, event_type::nps, ago(3), {{"score", 3}});
        apply(ben1, event_type::csat, ago(3), {{"score", 2}});
        apply(ben1, event_type::csat, ago(2), {{"score", 4}});
        apply(ben1, event_type::ticket, ago(1), {{"ticket_id", "t2"}, {"status", "open"}, {"priority", "urgent"}});
        ben1.alerts.push_back(few_seats("ben1", alerts::alert_state::firing, now));

        ana2.state.id = "ana2";
        apply(ana2, event_type::account, ago(20), {{"csm", "Ana"}, {"segment", "enterprise"}, {"seats", 10}});
        apply(ana2, event_type::contract, ago(20),
              {{"mrr", 200},
               {"products", boost::json::array{"backup", "archiving"}},
               {"renewal_at", format_rfc3339(now + 20 * day)}});
        ana2.alerts.push_back(few_seats("ana2", alerts::alert_state::pending, ago(1)));

        report(h->tracker(0), 0, ana1, now);
        report(h->tracker(1), 0, ben1, now);
        report(h->tracker(0), 1, ana2, now);
    }
    std::string scrape() {
        h->tracker(0).publish(true);
        h->tracker(1).publish(true);
        h->refresh_metrics();
        return metrics::serialize_text(*registry);
    }
};

using labels = std::map<std::string, std::string>;

TEST(Filters, every_kpi_series_carries_csm_segment_and_health_band) {
    board b;
    const auto text = b.scrape();
    for (const char* name :
         {"redflag_accounts", "redflag_mrr", "redflag_arr", "redflag_active_accounts", "redflag_cohort_arr_then",
          "redflag_cohort_arr_now", "redflag_cohort_arr_retained", "redflag_mrr_30d_ago",
          "redflag_accounts_active_30d_ago", "redflag_accounts_churned_30d", "redflag_mrr_moved_30d",
          "redflag_nps_responses", "redflag_csat_points", "redflag_csat_responses", "redflag_tickets_open",
          "redflag_renewal_arr", "redflag_opportunity_mrr", "redflag_stack_accounts", "redflag_score",
          "redflag_classification", "redflag_book_alerts", "redflag_book_alerts_fired_total",
          "redflag_time_to_first_value_seconds_count"}) {
        // Every sample of the family is in exactly one (csm, segment, band) of the book.
        const int all = sum(text, name).samples;
        int by_cell = 0;
        for (const auto& [csm, segment, band] : {std::tuple{"Ana", "smb", "green"}, std::tuple{"Ben", "smb", "red"},
                                                  std::tuple{"Ana", "enterprise", "red"}})
            by_cell += sum(text, name, {{"csm", csm}, {"segment", segment}, {"health_band", band}}).samples;
        if (std::string(name) == "redflag_time_to_first_value_seconds_count") {
            EXPECT_EQ(all, 0) << name;  // nobody reached first value
            continue;
        }
        EXPECT_GT(all, 0) << name;
        EXPECT_EQ(by_cell, all) << name;
    }
    // The spec's label sets still sum as before.
    EXPECT_EQ(value(text, "redflag_nps_responses", {{"category", "promoter"}}), 2);
    EXPECT_EQ(value(text, "redflag_nps_responses", {{"category", "detractor"}}), 1);
    EXPECT_EQ(value(text, "redflag_tickets_open", {{"priority", "urgent"}}), 1);
    EXPECT_EQ(value(text, "redflag_renewal_arr", {{"within", "30d"}, {"health_band", "red"}}), 2400);
    EXPECT_EQ(value(text, "redflag_score", {{"score", "health"}, {"band", "red"}}), 2);
    EXPECT_EQ(value(text, "redflag_gross_margin_ratio"), 0.5);
}

TEST(Filters, revenue_ratios_from_their_parts) {
    board b;
    const auto text = b.scrape();
    auto ratio = [&](const char* numerator, const char* denominator, const labels& filter) {
        return value(text, numerator, filter) / value(text, denominator, filter);
    };
    // The whole book equals the spec's gauges: cohort ana1 (12000 → 14400) and ben1
    // (6000 → 3600); ana2 is 20 days old.
    EXPECT_DOUBLE_EQ(ratio("redflag_cohort_arr_now", "redflag_cohort_arr_then", {}), 18000.0 / 18000.0);
    EXPECT_DOUBLE_EQ(value(text, "redflag_nrr_ratio"), 1.0);
    EXPECT_DOUBLE_EQ(ratio("redflag_cohort_arr_retained", "redflag_cohort_arr_then", {}), 15600.0 / 18000.0);
    EXPECT_DOUBLE_EQ(value(text, "redflag_grr_ratio"), 15600.0 / 18000.0);
    // Ana's book: ana1 only in the cohort.
    EXPECT_DOUBLE_EQ(ratio("redflag_cohort_arr_now", "redflag_cohort_arr_then", {{"csm", "Ana"}}), 1.2);
    EXPECT_DOUBLE_EQ(ratio("redflag_cohort_arr_retained", "redflag_cohort_arr_then", {{"csm", "Ana"}}), 1.0);
    // Red band: ben1's cohort (6000 → 3600).
    EXPECT_DOUBLE_EQ(ratio("redflag_cohort_arr_now", "redflag_cohort_arr_then", {{"health_band", "red"}}), 0.6);

    // 30 days: expansion 200 (ana1, green), contraction 200 (ben1, red), new 200 (ana2, red).
    auto moved = [&](const char* kind, labels filter) {
        filter["kind"] = kind;
        return value(text, "redflag_mrr_moved_30d", filter);
    };
    EXPECT_EQ(moved("expansion", {{"health_band", "green"}}), 200);
    EXPECT_EQ(moved("contraction", {{"csm", "Ben"}}), 200);
    EXPECT_EQ(moved("new", {{"segment", "enterprise"}}), 200);
    const labels red{{"health_band", "red"}};
    const double quick_red = (moved("new", red) + moved("expansion", red) + moved("reactivation", red)) /
                             (moved("contraction", red) + moved("churn", red));
    EXPECT_DOUBLE_EQ(quick_red, 1.0);
    EXPECT_DOUBLE_EQ(value(text, "redflag_quick_ratio"), 400.0 / 200.0);
    // Revenue churn of smb: contraction 200 over MRR 30 days ago 1500; logo churn 0 of 2.
    EXPECT_EQ(value(text, "redflag_mrr_30d_ago", {{"segment", "smb"}}), 1500);
    EXPECT_EQ(value(text, "redflag_mrr_30d_ago", {{"segment", "enterprise"}}), 0);
    EXPECT_EQ(value(text, "redflag_accounts_active_30d_ago", {{"segment", "smb"}}), 2);
    EXPECT_EQ(value(text, "redflag_accounts_churned_30d"), 0);
    // LTV of the whole book from parts = the spec's gauge: ARPA 1700/3 × 0.5 ÷ (200/1500).
    const double arpa = value(text, "redflag_mrr") / value(text, "redflag_active_accounts");
    const double churn = (moved("churn", {}) + moved("contraction", {})) / value(text, "redflag_mrr_30d_ago");
    EXPECT_DOUBLE_EQ(arpa * value(text, "redflag_gross_margin_ratio") / churn, (1700.0 / 3) * 0.5 / (200.0 / 1500.0));
    EXPECT_NEAR(value(text, "redflag_ltv"), (1700.0 / 3) * 0.5 / (200.0 / 1500.0), 1e-9);
}

TEST(Filters, voice_stack_and_renewals_under_filters) {
    board b;
    const auto text = b.scrape();
    // NPS of the red band (ben1: one detractor) and of Ana (two promoters).
    auto nps = [&](const labels& filter) {
        auto f = [&](const char* category) {
            auto l = filter;
            l["category"] = category;
            return value(text, "redflag_nps_responses", l);
        };
        return 100 * (f("promoter") - f("detractor")) / value(text, "redflag_nps_responses", filter);
    };
    EXPECT_DOUBLE_EQ(nps({{"health_band", "red"}}), -100);
    EXPECT_DOUBLE_EQ(nps({{"csm", "Ana"}}), 100);
    EXPECT_DOUBLE_EQ(nps({}), 100.0 * (2 - 1) / 3);
    // CSAT: Ben 6 / 2; the whole book 11 / 3; the spec's per-CSM gauge agrees.
    EXPECT_DOUBLE_EQ(value(text, "redflag_csat_points", {{"csm", "Ben"}}) / value(text, "redflag_csat_responses", {{"csm", "Ben"}}),
                     3.0);
    EXPECT_DOUBLE_EQ(value(text, "redflag_csat_points") / value(text, "redflag_csat_responses"), 11.0 / 3.0);
    EXPECT_DOUBLE_EQ(value(text, "redflag_csat_avg", {{"csm", "Ben"}}), 3.0);
    // Tickets by priority within a band.
    EXPECT_EQ(value(text, "redflag_tickets_open", {{"priority", "high"}, {"health_band", "green"}}), 1);
    EXPECT_EQ(value(text, "redflag_tickets_open", {{"priority", "high"}, {"health_band", "red"}}), 0);
    // Stack alignment of archiving: 1 of Ana's 2 active accounts, 1 of 3 overall.
    auto alignment_of = [&](labels filter) {
        const double active = value(text, "redflag_active_accounts", filter);
        filter["product"] = "archiving";
        return value(text, "redflag_stack_accounts", filter) / active;
    };
    EXPECT_DOUBLE_EQ(alignment_of({{"csm", "Ana"}}), 0.5);
    EXPECT_DOUBLE_EQ(alignment_of({}), 1.0 / 3.0);
    EXPECT_DOUBLE_EQ(value(text, "redflag_stack_alignment_ratio", {{"product", "archiving"}}), 1.0 / 3.0);
    // Opportunity (archiving, 4 per seat): ana1 80 seats, ben1 10 seats.
    EXPECT_EQ(value(text, "redflag_opportunity_mrr", {{"product", "archiving"}, {"csm", "Ana"}}), 4 * 80);
    EXPECT_EQ(value(text, "redflag_opportunity_mrr", {{"product", "archiving"}, {"segment", "smb"}}), 4 * 90);
    // Renewals: ana2 renews in 20 days (ARR 2400), in Ana's enterprise book.
    EXPECT_EQ(value(text, "redflag_renewal_arr", {{"within", "90d"}, {"csm", "Ana"}, {"segment", "enterprise"}}), 2400);
    EXPECT_EQ(value(text, "redflag_renewal_arr", {{"within", "90d"}, {"csm", "Ben"}}), 0);
    // Scores and classes per book.
    EXPECT_EQ(value(text, "redflag_classification", {{"name", "size"}, {"label", "small"}, {"csm", "Ana"}}), 1);
    EXPECT_EQ(value(text, "redflag_score", {{"score", "health"}, {"band", "red"}, {"segment", "enterprise"}}), 1);
}

TEST(Filters, alerts_per_book_and_fired_once_per_start) {
    board b;
    auto text = b.scrape();
    const labels ben{{"rule", "few_seats"}, {"severity", "high"}, {"csm", "Ben"}, {"segment", "smb"}, {"health_band", "red"}};
    auto with_state = [](labels l, const char* state) {
        l["state"] = state;
        return l;
    };
    EXPECT_EQ(value(text, "redflag_book_alerts", with_state(ben, "firing")), 1);
    EXPECT_EQ(value(text, "redflag_book_alerts", {{"state", "pending"}, {"csm", "Ana"}, {"segment", "enterprise"}}), 1);
    EXPECT_EQ(value(text, "redflag_book_alerts", {{"state", "firing"}, {"csm", "Ana"}}), 0);
    EXPECT_EQ(value(text, "redflag_book_alerts_fired_total", ben), 1);
    EXPECT_EQ(value(text, "redflag_book_alerts_fired_total", {{"csm", "Ana"}}), 0);

    // Evaluated again at the same instant (a second event stamped alike), then later:
    // the start is still counted once.
    report(b.h->tracker(1), 0, b.ben1, now);
    report(b.h->tracker(1), 0, b.ben1, now + hour);
    text = b.scrape();
    EXPECT_EQ(value(text, "redflag_book_alerts_fired_total", ben), 1);
    EXPECT_EQ(value(text, "redflag_book_alerts", with_state(ben, "firing")), 1);

    // ana2's pending alert fires at now + 2h: counted under Ana's labels; the gauge follows.
    b.ana2.alerts[0].state = alerts::alert_state::firing;
    b.ana2.alerts[0].firing_since = now + 2 * hour;
    report(b.h->tracker(0), 1, b.ana2, now + 2 * hour);
    // ben1's alert resolves (it leaves the active set), and a new one fires a day later.
    b.ben1.alerts.clear();
    report(b.h->tracker(1), 0, b.ben1, now + 3 * hour);
    text = b.scrape();
    EXPECT_EQ(value(text, "redflag_book_alerts_fired_total", {{"csm", "Ana"}, {"severity", "high"}}), 1);
    EXPECT_EQ(value(text, "redflag_book_alerts", {{"state", "firing"}, {"csm", "Ana"}}), 1);
    EXPECT_EQ(value(text, "redflag_book_alerts", {{"state", "pending"}}), 0);
    EXPECT_EQ(sum(text, "redflag_book_alerts", {{"csm", "Ben"}}).samples, 0);  // no active alert: no series
    b.ben1.alerts.push_back(few_seats("ben1", alerts::alert_state::firing, now + day));
    report(b.h->tracker(1), 0, b.ben1, now + day);
    text = b.scrape();
    EXPECT_EQ(value(text, "redflag_book_alerts_fired_total", ben), 2);
}

}  // namespace
}  // namespace redflag::kpi
