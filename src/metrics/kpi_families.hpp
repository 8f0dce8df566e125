// The CS KPI families (../shared/spec/metrics.md, "CS KPIs", and the additive parts the
// board divides), registered once here with their names, help and types; kpi/exposition
// sets them at scrape, kpi/hub's shards feed the per-account ones.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <string>

namespace redflag::metrics {

struct kpi_families {
    using gauges = prometheus::Family<prometheus::Gauge>;
    // Set per label combination (csm, segment, health_band, ...) at scrape.
    gauges* accounts = nullptr;
    gauges* mrr = nullptr;
    gauges* arr = nullptr;
    gauges* nrr = nullptr;
    gauges* csm_nrr = nullptr;
    gauges* grr = nullptr;
    gauges* csm_grr = nullptr;
    gauges* logo_churn = nullptr;
    gauges* revenue_churn = nullptr;
    gauges* quick_ratio = nullptr;
    gauges* ltv = nullptr;
    gauges* nps = nullptr;
    gauges* nps_responses = nullptr;
    gauges* csat = nullptr;
    gauges* tickets_open = nullptr;
    gauges* renewal_arr = nullptr;
    gauges* opportunity = nullptr;
    gauges* alignment = nullptr;
    gauges* score = nullptr;
    gauges* classification = nullptr;
    gauges* active_accounts = nullptr;
    gauges* cohort_arr_then = nullptr;
    gauges* cohort_arr_now = nullptr;
    gauges* cohort_arr_retained = nullptr;
    gauges* mrr_month_ago = nullptr;
    gauges* active_month_ago = nullptr;
    gauges* churned_month = nullptr;
    gauges* moved_month = nullptr;
    gauges* csat_sum = nullptr;
    gauges* csat_responses = nullptr;
    gauges* stack_accounts = nullptr;
    gauges* book_alerts = nullptr;
    gauges* acquisition_spend = nullptr;   // redflag_acquisition_spend_90d{segment}
    gauges* new_accounts = nullptr;        // redflag_new_accounts_90d{csm, segment, health_band}
    gauges* new_accounts_mrr = nullptr;    // redflag_new_accounts_mrr_90d{csm, segment, health_band}
    gauges* cac = nullptr;                 // redflag_cac
    gauges* ltv_cac = nullptr;             // redflag_ltv_cac_ratio
    gauges* cac_payback = nullptr;         // redflag_cac_payback_months
    gauges* alerts_unacked = nullptr;      // redflag_alerts_unacked{csm, segment, health_band}
    prometheus::Family<prometheus::Histogram>* alert_ack = nullptr;  // redflag_alert_ack_seconds
    gauges* activities = nullptr;          // redflag_activities_90d{kind, csm, segment, health_band}
    gauges* goals = nullptr;               // redflag_goals{status, csm, segment, health_band}
    gauges* cost_to_serve = nullptr;       // redflag_cost_to_serve_90d{csm, segment, health_band}
    gauges* cost_to_serve_ratio = nullptr; // redflag_cost_to_serve_ratio
    prometheus::Family<prometheus::Histogram>* ticket_first_response = nullptr;  // redflag_ticket_first_response_seconds
    prometheus::Family<prometheus::Histogram>* ticket_resolution = nullptr;      // redflag_ticket_resolution_seconds
    // Product-led growth.
    gauges* activated_accounts = nullptr;  // redflag_activated_accounts{csm, segment, health_band}
    gauges* activation_ratio = nullptr;    // redflag_activation_ratio
    prometheus::Family<prometheus::Histogram>* time_to_activate = nullptr;  // redflag_time_to_activate_seconds
    gauges* free_accounts = nullptr;       // redflag_free_accounts_90d{csm, segment, health_band}
    gauges* free_to_paid = nullptr;        // redflag_free_to_paid_90d{csm, segment, health_band}
    gauges* free_to_paid_ratio = nullptr;  // redflag_free_to_paid_ratio
    gauges* active_users_day = nullptr;    // redflag_active_users_1d{csm, segment, health_band}
    gauges* active_users_month = nullptr;  // redflag_active_users_30d{csm, segment, health_band}
    gauges* stickiness = nullptr;          // redflag_stickiness_ratio{segment}
    gauges* gross_margin = nullptr;                                   // redflag_gross_margin_ratio
    prometheus::Family<prometheus::Counter>* movements = nullptr;          // redflag_mrr_movement_total{kind}
    prometheus::Family<prometheus::Counter>* book_alerts_fired = nullptr;  // redflag_book_alerts_fired_total
    prometheus::Family<prometheus::Histogram>* ttfv = nullptr;             // redflag_time_to_first_value_seconds
    gauges* account_value = nullptr;                                  // redflag_account_value (opt-in)
    gauges* account_effort = nullptr;                                 // redflag_account_effort (opt-in)
};

// Registers every KPI family in `registry`, once per registry. `currency` goes in the
// help of the money families.
kpi_families register_kpi_families(prometheus::Registry& registry, const std::string& currency);

}  // namespace redflag::metrics
