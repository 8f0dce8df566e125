#include "metrics/kpi_families.hpp"

namespace redflag::metrics {
namespace {

prometheus::Family<prometheus::Gauge>& gauge(prometheus::Registry& r, const std::string& name, const std::string& help) {
    return prometheus::BuildGauge().Name(name).Help(help).Register(r);
}

prometheus::Family<prometheus::Histogram>& histogram(prometheus::Registry& r, const std::string& name,
                                                     const std::string& help) {
    return prometheus::BuildHistogram().Name(name).Help(help).Register(r);
}

}  // namespace

kpi_families register_kpi_families(prometheus::Registry& r, const std::string& currency) {
    // In the order kpi/exposition registered them before, which is the exposition's order.
    kpi_families f;
    f.accounts = &gauge(r, "redflag_accounts", "Accounts by profile status, CSM, segment and health band");
    f.mrr = &gauge(r, "redflag_mrr", "Current monthly recurring revenue (" + currency + ") by CSM, segment and health band");
    f.arr = &gauge(r, "redflag_arr", "Current annual recurring revenue (12 x MRR, " + currency + ")");
    f.nrr = &gauge(r, "redflag_nrr_ratio", "Net revenue retention: ARR now of the accounts with ARR 365 days ago / their ARR then");
    f.csm_nrr = &gauge(r, "redflag_csm_nrr_ratio", "Net revenue retention of each CSM's book (accounts owned now)");
    f.grr = &gauge(r, "redflag_grr_ratio", "Gross revenue retention: as NRR with each account's ARR now capped at its ARR then");
    f.csm_grr = &gauge(r, "redflag_csm_grr_ratio", "Gross revenue retention of each CSM's book (accounts owned now)");
    f.logo_churn = &gauge(r, "redflag_logo_churn_ratio", "Accounts churned in the last 30 days / accounts active 30 days ago");
    f.revenue_churn = &gauge(r, "redflag_revenue_churn_ratio", "Churned and contracted MRR in the last 30 days / MRR 30 days ago");
    f.quick_ratio = &gauge(r, "redflag_quick_ratio", "(New + expansion + reactivation MRR) / (contraction + churn MRR), last 30 days");
    f.ltv = &gauge(r, "redflag_ltv", "Lifetime value: ARPA x gross margin / monthly revenue churn (" + currency + ")");
    f.nps = &gauge(r, "redflag_nps", "Net promoter score over 90 days (%promoters - %detractors) by CSM and segment");
    f.nps_responses = &gauge(r, "redflag_nps_responses", "NPS answers in the last 90 days by category, CSM, segment and health band");
    f.csat = &gauge(r, "redflag_csat_avg", "Mean CSAT answer over 90 days by CSM");
    f.tickets_open = &gauge(r, "redflag_tickets_open", "Open and pending support tickets by priority, CSM, segment and health band");
    f.renewal_arr = &gauge(r, "redflag_renewal_arr", "ARR of active accounts renewing within 30 or 90 days, by health band, CSM and segment");
    f.opportunity = &gauge(r, "redflag_opportunity_mrr", "List price x seats of stack products active accounts lack (" + currency + ")");
    f.alignment = &gauge(r, "redflag_stack_alignment_ratio", "Share of active accounts that have the product");
    f.score = &gauge(r, "redflag_score", "Accounts per band of every score, by CSM, segment and health band");
    f.classification = &gauge(r, "redflag_classification", "Accounts per label of every classify, by CSM, segment and health band");
    f.active_accounts = &gauge(r, "redflag_active_accounts", "Accounts with MRR above 0 now (the denominator of ARPA and stack alignment)");
    f.cohort_arr_then = &gauge(r, "redflag_cohort_arr_then", "ARR 365 days ago of the accounts that had ARR then (NRR and GRR denominator; accounts labelled by their current CSM, segment and band)");
    f.cohort_arr_now = &gauge(r, "redflag_cohort_arr_now", "ARR now of the accounts that had ARR 365 days ago (NRR numerator)");
    f.cohort_arr_retained = &gauge(r, "redflag_cohort_arr_retained", "Sum of min(ARR now, ARR then) of the accounts that had ARR 365 days ago (GRR numerator)");
    f.mrr_month_ago = &gauge(r, "redflag_mrr_30d_ago", "MRR 30 days ago (revenue churn denominator)");
    f.active_month_ago = &gauge(r, "redflag_accounts_active_30d_ago", "Accounts with MRR above 0 30 days ago (logo churn denominator)");
    f.churned_month = &gauge(r, "redflag_accounts_churned_30d", "Accounts active 30 days ago with a churn movement since (logo churn numerator)");
    f.moved_month = &gauge(r, "redflag_mrr_moved_30d", "MRR moved in the last 30 days by kind, in absolute value (quick ratio, revenue churn)");
    f.csat_sum = &gauge(r, "redflag_csat_points", "Sum of the scores of CSAT answers of the last 90 days (CSAT average numerator)");
    f.csat_responses = &gauge(r, "redflag_csat_responses", "CSAT answers of the last 90 days (CSAT average denominator)");
    f.stack_accounts = &gauge(r, "redflag_stack_accounts", "Active accounts that have the product (stack alignment numerator)");
    f.book_alerts = &gauge(r, "redflag_book_alerts", "Pending and firing alerts by rule, severity and the account's current CSM, segment and health band");
    f.acquisition_spend = &gauge(r, "redflag_acquisition_spend_90d", "Acquisition spend of the last 90 days (" + currency + ") by the segment it was spent on (none when not given)");
    f.new_accounts = &gauge(r, "redflag_new_accounts_90d", "Accounts whose first MRR above 0 is in the last 90 days, by CSM, segment and health band");
    f.new_accounts_mrr = &gauge(r, "redflag_new_accounts_mrr_90d", "MRR now (" + currency + ") of the accounts new in the last 90 days (CAC payback denominator)");
    f.cac = &gauge(r, "redflag_cac", "Customer acquisition cost: acquisition spend / new accounts, last 90 days (" + currency + ")");
    f.ltv_cac = &gauge(r, "redflag_ltv_cac_ratio", "redflag_ltv / redflag_cac");
    f.cac_payback = &gauge(r, "redflag_cac_payback_months", "CAC / (mean MRR now of the new accounts x gross margin), in months");
    f.alerts_unacked = &gauge(r, "redflag_alerts_unacked", "Alerts firing for over a day without an acknowledgement, by the account's CSM, segment and health band");
    f.alert_ack = &histogram(r, "redflag_alert_ack_seconds", "Time from an alert's firing to its first acknowledgement, observed once per alert, by the account's CSM, segment and health band then");
    f.activities = &gauge(r, "redflag_activities_90d", "Activities of the last 90 days by kind and the account's CSM, segment and health band");
    f.goals = &gauge(r, "redflag_goals", "Success-plan goals by status (missed includes open goals past due), CSM, segment and health band");
    f.cost_to_serve = &gauge(r, "redflag_cost_to_serve_90d", "Cost to serve over 90 days (" + currency + "): activity minutes x kpi.cost.csm_hourly / 60 + ticket handle_minutes x kpi.cost.support_hourly / 60");
    f.cost_to_serve_ratio = &gauge(r, "redflag_cost_to_serve_ratio", "Cost to serve over 90 days / (3 x MRR now of active accounts)");
    f.ticket_first_response = &histogram(r, "redflag_ticket_first_response_seconds", "Time from a ticket's opening to its first response, observed once per ticket, by the account's CSM, segment and health band then");
    f.ticket_resolution = &histogram(r, "redflag_ticket_resolution_seconds", "Time from a ticket's opening to its solving (its latest event while solved or closed), observed once per resolution, by the account's CSM, segment and health band then");
    f.activated_accounts = &gauge(r, "redflag_activated_accounts", "Accounts with the activated milestone, by CSM, segment and health band (activation ratio numerator; redflag_accounts is its denominator)");
    f.activation_ratio = &gauge(r, "redflag_activation_ratio", "Accounts with the activated milestone / accounts");
    f.time_to_activate = &histogram(r, "redflag_time_to_activate_seconds", "Time from signed_at (or first seen) to the activated milestone, observed once per account, by CSM, segment and health band then");
    f.free_accounts = &gauge(r, "redflag_free_accounts_90d", "Accounts on a plan of kpi.free_plans at some time in the last 90 days (free to paid conversion denominator)");
    f.free_to_paid = &gauge(r, "redflag_free_to_paid_90d", "Accounts that moved from a plan of kpi.free_plans to another plan in the last 90 days");
    f.free_to_paid_ratio = &gauge(r, "redflag_free_to_paid_ratio", "Free to paid conversion over 90 days: redflag_free_to_paid_90d / redflag_free_accounts_90d");
    f.active_users_day = &gauge(r, "redflag_active_users_1d", "Users whose last usage is within the last day (DAU), by CSM, segment and health band");
    f.active_users_month = &gauge(r, "redflag_active_users_30d", "Users whose last usage is within the last 30 days (MAU), by CSM, segment and health band");
    f.stickiness = &gauge(r, "redflag_stickiness_ratio", "DAU / MAU (redflag_active_users_1d / redflag_active_users_30d) by segment");
    f.gross_margin = &gauge(r, "redflag_gross_margin_ratio", "kpi.gross_margin, the margin LTV uses");
    f.movements = &prometheus::BuildCounter()
                       .Name("redflag_mrr_movement_total")
                       .Help("MRR moved by contract changes, in absolute value (" + currency + ")")
                       .Register(r);
    f.book_alerts_fired = &prometheus::BuildCounter()
                               .Name("redflag_book_alerts_fired_total")
                               .Help("Alerts that started firing, by rule, severity and the account's CSM, segment and health band then")
                               .Register(r);
    f.ttfv = &histogram(r, "redflag_time_to_first_value_seconds", "Time from signed_at (or first seen) to the first_value milestone, of the accounts that reached it");
    f.account_value = &gauge(r, "redflag_account_value", "Per account (opt-in): current MRR");
    f.account_effort = &gauge(r, "redflag_account_effort", "Per account (opt-in): the effort score");
    return f;
}

}  // namespace redflag::metrics
