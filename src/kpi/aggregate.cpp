#include "kpi/aggregate.hpp"

#include <algorithm>
#include <limits>

namespace redflag::kpi {
namespace {

constexpr double nan = std::numeric_limits<double>::quiet_NaN();
constexpr double inf = std::numeric_limits<double>::infinity();

std::size_t movement(model::movement_kind k) { return static_cast<std::size_t>(k); }

template <class T, std::size_t N>
void add_arrays(std::array<T, N>& into, const std::array<T, N>& from) {
    for (std::size_t i = 0; i < N; ++i) into[i] += from[i];
}

// One cell's histogram (non-cumulative buckets, sum of seconds, count) added to another's.
template <class Histogram>
void add_histogram(Histogram& into, const Histogram& from) {
    add_arrays(into.buckets, from.buckets);
    into.seconds += from.seconds;
    into.count += from.count;
}

template <class T>
void add_vectors(std::vector<T>& into, const std::vector<T>& from) {
    if (into.size() < from.size()) into.resize(from.size());
    for (std::size_t i = 0; i < from.size(); ++i) into[i] += from[i];
}

std::size_t ttfv_bucket(std::int64_t seconds) {
    const double days = static_cast<double>(seconds) / 86400.0;
    auto it = std::lower_bound(ttfv_bucket_days.begin(), ttfv_bucket_days.end(), days);
    return static_cast<std::size_t>(it - ttfv_bucket_days.begin());
}

double ratio(double numerator, double denominator) { return denominator == 0 ? nan : numerator / denominator; }

}  // namespace

void cell::add(const contribution& c, std::int64_t sign, const settings& config) {
    accounts += sign;
    if (c.new_in_quarter) {
        new_accounts += sign;
        new_accounts_mrr += sign * c.mrr;
    }
    accounts_by_status[static_cast<std::size_t>(c.status)] += sign;
    mrr += sign * c.mrr;
    if (c.in_cohort()) {
        cohort_accounts += sign;
        cohort_arr_then += sign * c.arr_year_ago();
        cohort_arr_now += sign * c.arr();
        cohort_arr_capped += sign * std::min(c.arr(), c.arr_year_ago());
    }
    if (c.mrr_month_ago > 0) {
        active_month_ago += sign;
        mrr_month_ago += sign * c.mrr_month_ago;
    }
    if (c.churned_in_month) churned_in_month += sign;
    for (std::size_t k = 0; k < movement_kinds; ++k) {
        moved_in_month[k] += sign * c.moved_in_month[k];
        moved_total[k] += sign * c.moved_total[k];
    }
    for (std::size_t i = 0; i < nps.size(); ++i) nps[i] += sign * c.nps[i];
    csat_sum += sign * c.csat_sum;
    csat_count += sign * c.csat_count;
    for (std::size_t i = 0; i < open_tickets.size(); ++i) open_tickets[i] += sign * c.open_tickets[i];
    alerts_unacked += sign * c.unacked;
    for (std::size_t i = 0; i < activities.size(); ++i) activities[i] += sign * c.activities[i];
    csm_minutes += sign * c.csm_minutes;
    support_minutes += sign * c.support_minutes;
    for (std::size_t i = 0; i < goals.size(); ++i) goals[i] += sign * c.goals[i];
    if (c.activated()) activated += sign;
    if (c.free_in_quarter) free_accounts += sign;
    if (c.converted_in_quarter) converted += sign;
    users_day += sign * c.users_day;
    users_month += sign * c.users_month;
    if (c.ttfv_seconds >= 0) {
        ttfv_buckets[ttfv_bucket(c.ttfv_seconds)] += sign;
        ttfv_seconds += sign * c.ttfv_seconds;
        ttfv_count += sign;
    }
    if (!c.active) return;
    active += sign;
    if (c.renews_within_near) renewal_arr_near += sign * c.arr();
    if (c.renews_within_far) renewal_arr_far += sign * c.arr();
    const std::size_t products = std::min(config.stack.size(), max_stack_products);
    if (has_product.size() < products) {
        has_product.resize(products);
        opportunity.resize(products);
    }
    for (std::size_t i = 0; i < products; ++i) {
        if (c.products & (std::uint64_t{1} << i)) has_product[i] += sign;
        else opportunity[i] += sign * to_money(config.stack[i].second * c.seats);
    }
}

void cell::merge(const cell& o) {
    accounts += o.accounts;
    add_arrays(accounts_by_status, o.accounts_by_status);
    active += o.active;
    mrr += o.mrr;
    cohort_accounts += o.cohort_accounts;
    cohort_arr_then += o.cohort_arr_then;
    cohort_arr_now += o.cohort_arr_now;
    cohort_arr_capped += o.cohort_arr_capped;
    active_month_ago += o.active_month_ago;
    churned_in_month += o.churned_in_month;
    mrr_month_ago += o.mrr_month_ago;
    add_arrays(moved_in_month, o.moved_in_month);
    add_arrays(moved_total, o.moved_total);
    add_arrays(nps, o.nps);
    csat_sum += o.csat_sum;
    csat_count += o.csat_count;
    add_arrays(open_tickets, o.open_tickets);
    add_arrays(ttfv_buckets, o.ttfv_buckets);
    ttfv_seconds += o.ttfv_seconds;
    ttfv_count += o.ttfv_count;
    alerts_unacked += o.alerts_unacked;
    new_accounts += o.new_accounts;
    new_accounts_mrr += o.new_accounts_mrr;
    add_arrays(activities, o.activities);
    csm_minutes += o.csm_minutes;
    support_minutes += o.support_minutes;
    add_arrays(goals, o.goals);
    activated += o.activated;
    free_accounts += o.free_accounts;
    converted += o.converted;
    users_day += o.users_day;
    users_month += o.users_month;
    renewal_arr_near += o.renewal_arr_near;
    renewal_arr_far += o.renewal_arr_far;
    add_vectors(has_product, o.has_product);
    add_vectors(opportunity, o.opportunity);
}

void aggregate::add(const contribution& c, std::int64_t sign, const settings& config) {
    if (!c.present) return;
    if (c.company) {  // no account: its spend only
        for (const auto& [segment, amount] : c.spend) spend_[segment] += sign * amount;
        return;
    }
    const auto k = key(c.csm, c.segment, c.band);
    cells_[k].add(c, sign, config);
    for (auto id : c.score_bands) score_bands_[item(k, id)] += sign;
    for (auto id : c.class_labels) class_labels_[item(k, id)] += sign;
    for (const auto& a : c.alerts) alerts_[item(k, a.rule_severity)][a.firing ? 1 : 0] += sign;
}

void aggregate::count_fired(const contribution& previous, const contribution& c) {
    if (!c.present || c.fired.empty()) return;
    const bool same_instant = previous.present && previous.at == c.at;
    const auto k = key(c.csm, c.segment, c.band);
    for (auto id : c.fired) {
        if (same_instant && std::find(previous.fired.begin(), previous.fired.end(), id) != previous.fired.end())
            continue;
        ++fired_[item(k, id)];
    }
}

void aggregate::count_first_value(const contribution& previous, const contribution& c) {
    if (!c.present || c.ttfv_seconds < 0 || (previous.present && previous.ttfv_seconds >= 0)) return;
    auto& reached = reached_first_value_[key(c.csm, c.segment, c.band)];
    ++reached.buckets[ttfv_bucket(c.ttfv_seconds)];
    reached.seconds += c.ttfv_seconds;
    ++reached.count;
}

void aggregate::count_acked(const contribution& previous, const contribution& c) {
    if (!c.present || c.acked.empty()) return;
    for (const auto& a : c.acked) {
        if (previous.present && std::find(previous.acked.begin(), previous.acked.end(), a) != previous.acked.end())
            continue;
        auto& into = acked_[key(c.csm, c.segment, c.band)];
        const auto bucket = std::lower_bound(ack_bucket_seconds.begin(), ack_bucket_seconds.end(), double(a.seconds));
        ++into.buckets[static_cast<std::size_t>(bucket - ack_bucket_seconds.begin())];
        into.seconds += a.seconds;
        ++into.count;
    }
}

void aggregate::count_activated(const contribution& previous, const contribution& c) {
    if (!c.present || !c.activated() || (previous.present && previous.activated())) return;
    auto& into = activations_[key(c.csm, c.segment, c.band)];
    ++into.buckets[ttfv_bucket(c.activate_seconds)];
    into.seconds += c.activate_seconds;
    ++into.count;
}

void aggregate::add_active_users(const contribution& c, std::int64_t day, std::int64_t month) {
    if (!c.present || c.company) return;
    auto& into = cells_[key(c.csm, c.segment, c.band)];
    into.users_day += day;
    into.users_month += month;
}

void aggregate::count_tickets(const contribution& previous, const contribution& c) {
    if (!c.present || c.tickets.empty()) return;
    ticket_observations* into = nullptr;
    auto old = previous.present ? previous.tickets.begin() : previous.tickets.end();
    const auto old_end = previous.tickets.end();
    for (const auto& t : c.tickets) {
        // Both lists are sorted by ticket hash: walk them together.
        while (old != old_end && old->ticket < t.ticket) ++old;
        const ticket_times* before = old != old_end && old->ticket == t.ticket ? &*old : nullptr;
        const bool respond = t.first_response >= 0 && !(before && before->first_response >= 0);
        const bool resolve = t.resolution >= 0 && !(before && before->resolution >= 0);
        if (!respond && !resolve) continue;
        if (!into) into = &tickets_[key(c.csm, c.segment, c.band)];
        if (respond) {
            const auto b = std::lower_bound(first_response_bucket_seconds.begin(), first_response_bucket_seconds.end(),
                                            double(t.first_response));
            ++into->response_buckets[static_cast<std::size_t>(b - first_response_bucket_seconds.begin())];
            into->response_seconds += t.first_response;
            ++into->response_count;
        }
        if (resolve) {
            const auto b = std::lower_bound(resolution_bucket_seconds.begin(), resolution_bucket_seconds.end(),
                                            double(t.resolution));
            ++into->resolution_buckets[static_cast<std::size_t>(b - resolution_bucket_seconds.begin())];
            into->resolution_seconds += t.resolution;
            ++into->resolution_count;
        }
    }
}

void aggregate::merge(const aggregate& other) {
    for (const auto& [k, c] : other.cells_) cells_[k].merge(c);
    for (const auto& [k, n] : other.score_bands_) score_bands_[k] += n;
    for (const auto& [k, n] : other.class_labels_) class_labels_[k] += n;
    for (const auto& [k, n] : other.alerts_) add_arrays(alerts_[k], n);
    for (const auto& [k, n] : other.fired_) fired_[k] += n;
    for (const auto& [k, m] : other.spend_) spend_[k] += m;
    for (const auto& [k, r] : other.acked_) add_histogram(acked_[k], r);
    for (const auto& [k, r] : other.activations_) add_histogram(activations_[k], r);
    for (const auto& [k, r] : other.tickets_) {
        auto& into = tickets_[k];
        add_arrays(into.response_buckets, r.response_buckets);
        into.response_seconds += r.response_seconds;
        into.response_count += r.response_count;
        add_arrays(into.resolution_buckets, r.resolution_buckets);
        into.resolution_seconds += r.resolution_seconds;
        into.resolution_count += r.resolution_count;
    }
    for (const auto& [k, r] : other.reached_first_value_) add_histogram(reached_first_value_[k], r);
}

std::int64_t aggregate::sum_of(const std::unordered_map<std::uint64_t, std::int64_t>& items, label_id id) {
    std::int64_t n = 0;
    for (const auto& [k, v] : items)
        if (id_of_item(k) == id) n += v;
    return n;
}

money aggregate::total_spend() const {
    money sum = 0;
    for (const auto& [segment, m] : spend_) sum += m;
    return sum;
}

cell aggregate::total() const {
    cell sum;
    for (const auto& [k, c] : cells_) sum.merge(c);
    return sum;
}

double nrr(const cell& c) { return ratio(double(c.cohort_arr_now), double(c.cohort_arr_then)); }
double grr(const cell& c) { return ratio(double(c.cohort_arr_capped), double(c.cohort_arr_then)); }
double logo_churn(const cell& c) { return ratio(double(c.churned_in_month), double(c.active_month_ago)); }

double revenue_churn(const cell& c) {
    const money lost = c.moved_in_month[movement(model::movement_kind::churn)] +
                       c.moved_in_month[movement(model::movement_kind::contraction)];
    return ratio(double(lost), double(c.mrr_month_ago));
}

double quick_ratio(const cell& c) {
    const money gained = c.moved_in_month[movement(model::movement_kind::new_business)] +
                         c.moved_in_month[movement(model::movement_kind::expansion)] +
                         c.moved_in_month[movement(model::movement_kind::reactivation)];
    const money lost = c.moved_in_month[movement(model::movement_kind::contraction)] +
                       c.moved_in_month[movement(model::movement_kind::churn)];
    if (lost == 0) return gained > 0 ? inf : nan;
    return double(gained) / double(lost);
}

double arpa(const cell& c) { return c.active == 0 ? nan : from_money(c.mrr) / double(c.active); }

double ltv(const cell& c, double gross_margin) {
    const double a = arpa(c);
    const double churn = revenue_churn(c);
    if (std::isnan(a) || std::isnan(churn)) return nan;
    if (churn == 0) return a * gross_margin > 0 ? inf : 0.0;
    return a * gross_margin / churn;
}

double nps_score(const std::array<std::int64_t, 3>& answers) {
    const auto total = answers[0] + answers[1] + answers[2];
    if (total == 0) return nan;
    return 100.0 * double(answers[static_cast<std::size_t>(nps_category::promoter)] -
                          answers[static_cast<std::size_t>(nps_category::detractor)]) /
           double(total);
}

double csat_average(const cell& c) { return ratio(double(c.csat_sum), double(c.csat_count)); }

double alignment(const cell& c, std::size_t product) {
    const std::int64_t has = product < c.has_product.size() ? c.has_product[product] : 0;
    return ratio(double(has), double(c.active));
}

double cac(money spend, const cell& c) { return ratio(from_money(spend), double(c.new_accounts)); }

double ltv_cac_ratio(money spend, const cell& c, double gross_margin) {
    return ltv(c, gross_margin) / cac(spend, c);
}

double cac_payback_months(money spend, const cell& c, double gross_margin) {
    if (c.new_accounts == 0) return nan;
    const double monthly_margin = from_money(c.new_accounts_mrr) / double(c.new_accounts) * gross_margin;
    return ratio(cac(spend, c), monthly_margin);
}

double cost_to_serve(const cell& c, const settings& config) {
    return double(c.csm_minutes) / 1000.0 * config.csm_hourly / 60.0 +
           double(c.support_minutes) / 1000.0 * config.support_hourly / 60.0;
}

double cost_to_serve_ratio(const cell& c, const settings& config) {
    return ratio(cost_to_serve(c, config), 3.0 * from_money(c.mrr));
}

double activation_ratio(const cell& c) { return ratio(double(c.activated), double(c.accounts)); }
double free_to_paid_ratio(const cell& c) { return ratio(double(c.converted), double(c.free_accounts)); }
double stickiness(const cell& c) { return ratio(double(c.users_day), double(c.users_month)); }

}  // namespace redflag::kpi
