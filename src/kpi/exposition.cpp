#include "kpi/exposition.hpp"

#include "metrics/kpi_families.hpp"

namespace redflag::kpi {
namespace {

// "score\x1fband" → {"score", "band"}.
std::pair<std::string, std::string> split_pair(const std::string& value) {
    auto at = value.find(pair_separator);
    if (at == std::string::npos) return {value, std::string(overflow_label_name)};
    return {value.substr(0, at), value.substr(at + 1)};
}

const std::string& name_of(const std::vector<std::string>& names, label_id id) {
    static const std::string unknown = "unknown";
    return id < names.size() ? names[id] : unknown;
}

prometheus::Histogram::BucketBoundaries ack_boundaries() {
    return prometheus::Histogram::BucketBoundaries(ack_bucket_seconds.begin(), ack_bucket_seconds.end());
}

template <std::size_t N>
prometheus::Histogram::BucketBoundaries boundaries(const std::array<double, N>& seconds) {
    return prometheus::Histogram::BucketBoundaries(seconds.begin(), seconds.end());
}

// Adds to `histogram` what a monotonic observation count gained since `exposed`.
template <std::size_t N>
void observe_since(prometheus::Histogram& histogram, const std::array<std::int64_t, N>& buckets,
                   const std::array<std::int64_t, N>& exposed, std::int64_t seconds, std::int64_t exposed_seconds) {
    std::vector<double> increments(N);
    for (std::size_t i = 0; i < N; ++i) increments[i] = double(buckets[i] - exposed[i]);
    histogram.ObserveMultiple(increments, double(seconds - exposed_seconds));
}

prometheus::Histogram::BucketBoundaries ttfv_boundaries() {
    prometheus::Histogram::BucketBoundaries bounds;
    for (double days : ttfv_bucket_days) bounds.push_back(days * 86400.0);
    return bounds;
}

}  // namespace

void gauge_children::set(const prometheus::Labels& labels, double value) {
    auto& c = children_[labels];
    if (!c.gauge) c.gauge = &family_->Add(labels);
    c.gauge->Set(value);
    c.generation = generation_;
}

void gauge_children::end() {
    for (auto it = children_.begin(); it != children_.end();) {
        if (it->second.generation == generation_) {
            ++it;
            continue;
        }
        family_->Remove(it->second.gauge);
        it = children_.erase(it);
    }
}

kpi_metrics::kpi_metrics(prometheus::Registry& r, const settings& config)
    : kpi_metrics(metrics::register_kpi_families(r, config.currency), config) {}

kpi_metrics::kpi_metrics(const metrics::kpi_families& f, const settings& config)
    : config_(config),
      accounts_(*f.accounts),
      mrr_(*f.mrr),
      arr_(*f.arr),
      nrr_(*f.nrr),
      csm_nrr_(*f.csm_nrr),
      grr_(*f.grr),
      csm_grr_(*f.csm_grr),
      logo_churn_(*f.logo_churn),
      revenue_churn_(*f.revenue_churn),
      quick_ratio_(*f.quick_ratio),
      ltv_(*f.ltv),
      nps_(*f.nps),
      nps_responses_(*f.nps_responses),
      csat_(*f.csat),
      tickets_open_(*f.tickets_open),
      renewal_arr_(*f.renewal_arr),
      opportunity_(*f.opportunity),
      alignment_(*f.alignment),
      score_(*f.score),
      classification_(*f.classification),
      active_accounts_(*f.active_accounts),
      cohort_arr_then_(*f.cohort_arr_then),
      cohort_arr_now_(*f.cohort_arr_now),
      cohort_arr_retained_(*f.cohort_arr_retained),
      mrr_month_ago_(*f.mrr_month_ago),
      active_month_ago_(*f.active_month_ago),
      churned_month_(*f.churned_month),
      moved_month_(*f.moved_month),
      csat_sum_(*f.csat_sum),
      csat_responses_(*f.csat_responses),
      stack_accounts_(*f.stack_accounts),
      book_alerts_(*f.book_alerts),
      acquisition_spend_(*f.acquisition_spend),
      new_accounts_(*f.new_accounts),
      new_accounts_mrr_(*f.new_accounts_mrr),
      cac_(*f.cac),
      ltv_cac_(*f.ltv_cac),
      cac_payback_(*f.cac_payback),
      alerts_unacked_(*f.alerts_unacked),
      activities_(*f.activities),
      goals_(*f.goals),
      cost_to_serve_(*f.cost_to_serve),
      cost_to_serve_ratio_(*f.cost_to_serve_ratio),
      activated_accounts_(*f.activated_accounts),
      activation_ratio_(*f.activation_ratio),
      free_accounts_(*f.free_accounts),
      free_to_paid_(*f.free_to_paid),
      free_to_paid_ratio_(*f.free_to_paid_ratio),
      active_users_day_(*f.active_users_day),
      active_users_month_(*f.active_users_month),
      stickiness_(*f.stickiness),
      all_gauges_{&accounts_,         &mrr_,           &arr_,            &nrr_,
                  &csm_nrr_,          &grr_,           &csm_grr_,        &logo_churn_,
                  &revenue_churn_,    &quick_ratio_,   &ltv_,            &nps_,
                  &nps_responses_,    &csat_,          &tickets_open_,   &renewal_arr_,
                  &opportunity_,      &alignment_,     &score_,          &classification_,
                  &active_accounts_,  &cohort_arr_then_, &cohort_arr_now_, &cohort_arr_retained_,
                  &mrr_month_ago_,    &active_month_ago_, &churned_month_, &moved_month_,
                  &csat_sum_,         &csat_responses_, &stack_accounts_, &book_alerts_,
                  &activities_,       &goals_,         &cost_to_serve_,  &cost_to_serve_ratio_,
                  &acquisition_spend_, &new_accounts_, &new_accounts_mrr_, &cac_,
                  &ltv_cac_,          &cac_payback_,    &alerts_unacked_,
                  &activated_accounts_, &activation_ratio_, &free_accounts_, &free_to_paid_,
                  &free_to_paid_ratio_, &active_users_day_, &active_users_month_, &stickiness_},
      gross_margin_(&f.gross_margin->Add({})),
      movements_(f.movements),
      book_alerts_fired_(f.book_alerts_fired),
      ttfv_(f.ttfv),
      account_value_(f.account_value),
      account_effort_(f.account_effort),
      alert_ack_(f.alert_ack),
      time_to_activate_(f.time_to_activate),
      ticket_first_response_(f.ticket_first_response),
      ticket_resolution_(f.ticket_resolution) {
    gross_margin_->Set(config.gross_margin);
    for (std::size_t k = 0; k < movement_kinds; ++k)
        movement_counters_[k] = &movements_->Add({{"kind", std::string(model::movement_kind_names[k])}});
}

void kpi_metrics::expose(const aggregate& merged, const label_tables& labels) {
    const auto csms = labels.csm.names();
    const auto segments = labels.segment.names();
    const auto bands = labels.band.names();
    const std::size_t products = std::min(config_.stack.size(), max_stack_products);

    for (auto* g : all_gauges_) g->begin();

    // The three filter labels of a cell.
    auto dims_of = [&](std::uint64_t key) {
        return prometheus::Labels{{"csm", name_of(csms, aggregate::csm_of(key))},
                                  {"segment", name_of(segments, aggregate::segment_of(key))},
                                  {"health_band", name_of(bands, aggregate::band_of(key))}};
    };
    auto with = [](prometheus::Labels labels, std::string name, std::string value) {
        labels.emplace(std::move(name), std::move(value));
        return labels;
    };

    // Every additive series per cell, and projections of the cells onto the spec's
    // coarser metrics.
    std::map<label_id, cell> by_csm;
    std::map<std::pair<label_id, label_id>, std::array<std::int64_t, 3>> nps_by_csm_segment;
    std::map<label_id, std::pair<std::int64_t, std::int64_t>> users_by_segment;  // DAU, MAU
    cell total;
    for (const auto& [key, c] : merged.cells()) {
        if (c.accounts == 0) continue;  // every account of it moved elsewhere
        const auto csm = aggregate::csm_of(key), segment = aggregate::segment_of(key);
        const auto dims = dims_of(key);
        for (std::size_t s = 0; s < account_status_names.size(); ++s) {
            if (c.accounts_by_status[s] == 0) continue;
            accounts_.set(with(dims, "status", std::string(account_status_names[s])), double(c.accounts_by_status[s]));
        }
        mrr_.set(dims, from_money(c.mrr));
        arr_.set(dims, 12 * from_money(c.mrr));
        active_accounts_.set(dims, double(c.active));
        // Revenue ratios' parts (NRR, GRR, logo and revenue churn, quick ratio, LTV).
        cohort_arr_then_.set(dims, from_money(c.cohort_arr_then));
        cohort_arr_now_.set(dims, from_money(c.cohort_arr_now));
        cohort_arr_retained_.set(dims, from_money(c.cohort_arr_capped));
        mrr_month_ago_.set(dims, from_money(c.mrr_month_ago));
        active_month_ago_.set(dims, double(c.active_month_ago));
        churned_month_.set(dims, double(c.churned_in_month));
        for (std::size_t k = 0; k < movement_kinds; ++k)
            moved_month_.set(with(dims, "kind", std::string(model::movement_kind_names[k])),
                             from_money(c.moved_in_month[k]));
        // Voice of the customer.
        for (std::size_t i = 0; i < nps_category_names.size(); ++i)
            nps_responses_.set(with(dims, "category", std::string(nps_category_names[i])), double(c.nps[i]));
        csat_sum_.set(dims, double(c.csat_sum));
        csat_responses_.set(dims, double(c.csat_count));
        for (std::size_t i = 0; i < ticket_priority_names.size(); ++i)
            tickets_open_.set(with(dims, "priority", std::string(ticket_priority_names[i])), double(c.open_tickets[i]));
        // Acquisition.
        new_accounts_.set(dims, double(c.new_accounts));
        new_accounts_mrr_.set(dims, from_money(c.new_accounts_mrr));
        // Team and cost to serve.
        alerts_unacked_.set(dims, double(c.alerts_unacked));
        for (std::size_t i = 0; i < activity_kind_names.size(); ++i)
            activities_.set(with(dims, "kind", std::string(activity_kind_names[i])), double(c.activities[i]));
        for (std::size_t i = 0; i < goal_status_names.size(); ++i)
            goals_.set(with(dims, "status", std::string(goal_status_names[i])), double(c.goals[i]));
        cost_to_serve_.set(dims, cost_to_serve(c, config_));
        // Product-led growth.
        activated_accounts_.set(dims, double(c.activated));
        free_accounts_.set(dims, double(c.free_accounts));
        free_to_paid_.set(dims, double(c.converted));
        active_users_day_.set(dims, double(c.users_day));
        active_users_month_.set(dims, double(c.users_month));
        auto& users = users_by_segment[segment];
        users.first += c.users_day;
        users.second += c.users_month;
        // Renewals and stack.
        renewal_arr_.set(with(dims, "within", "30d"), from_money(c.renewal_arr_near));
        renewal_arr_.set(with(dims, "within", "90d"), from_money(c.renewal_arr_far));
        for (std::size_t p = 0; p < products; ++p) {
            const auto& product = config_.stack[p].first;
            opportunity_.set(with(dims, "product", product), p < c.opportunity.size() ? from_money(c.opportunity[p]) : 0.0);
            stack_accounts_.set(with(dims, "product", product), p < c.has_product.size() ? double(c.has_product[p]) : 0.0);
        }

        by_csm[csm].merge(c);
        auto& answers = nps_by_csm_segment[{csm, segment}];
        for (std::size_t i = 0; i < 3; ++i) answers[i] += c.nps[i];
        total.merge(c);
    }

    for (const auto& [csm, c] : by_csm) {
        const prometheus::Labels l{{"csm", name_of(csms, csm)}};
        if (c.cohort_accounts > 0) {
            csm_nrr_.set(l, nrr(c));
            csm_grr_.set(l, grr(c));
        }
        if (c.csat_count > 0) csat_.set(l, csat_average(c));
    }
    for (const auto& [key, answers] : nps_by_csm_segment) {
        if (answers[0] + answers[1] + answers[2] == 0) continue;
        nps_.set({{"csm", name_of(csms, key.first)}, {"segment", name_of(segments, key.second)}}, nps_score(answers));
    }

    for (const auto& [segment, users] : users_by_segment)
        if (users.second > 0)
            stickiness_.set({{"segment", name_of(segments, segment)}}, double(users.first) / double(users.second));
    activation_ratio_.set({}, activation_ratio(total));
    free_to_paid_ratio_.set({}, free_to_paid_ratio(total));
    nrr_.set({}, nrr(total));
    grr_.set({}, grr(total));
    logo_churn_.set({}, logo_churn(total));
    revenue_churn_.set({}, revenue_churn(total));
    quick_ratio_.set({}, quick_ratio(total));
    ltv_.set({}, ltv(total, config_.gross_margin));
    cost_to_serve_ratio_.set({}, cost_to_serve_ratio(total, config_));
    for (const auto& [segment, amount] : merged.spend())
        acquisition_spend_.set({{"segment", name_of(segments, segment)}}, from_money(amount));
    const money spend = merged.total_spend();
    cac_.set({}, cac(spend, total));
    ltv_cac_.set({}, ltv_cac_ratio(spend, total, config_.gross_margin));
    cac_payback_.set({}, cac_payback_months(spend, total, config_.gross_margin));
    for (std::size_t p = 0; p < products; ++p) alignment_.set({{"product", config_.stack[p].first}}, alignment(total, p));

    const auto score_names = labels.score_band.names();
    for (const auto& [item, n] : merged.score_bands()) {
        if (n == 0) continue;
        auto [score, band] = split_pair(name_of(score_names, aggregate::id_of_item(item)));
        score_.set(with(with(dims_of(aggregate::cell_of_item(item)), "score", score), "band", band), double(n));
    }
    const auto class_names = labels.class_label.names();
    for (const auto& [item, n] : merged.class_labels()) {
        if (n == 0) continue;
        auto [name, label] = split_pair(name_of(class_names, aggregate::id_of_item(item)));
        classification_.set(with(with(dims_of(aggregate::cell_of_item(item)), "name", name), "label", label), double(n));
    }
    const auto alert_names = labels.alert.names();
    for (const auto& [item, n] : merged.alerts()) {
        auto [rule, severity] = split_pair(name_of(alert_names, aggregate::id_of_item(item)));
        auto l = with(with(dims_of(aggregate::cell_of_item(item)), "rule", rule), "severity", severity);
        if (n[0] != 0) book_alerts_.set(with(l, "state", "pending"), double(n[0]));
        if (n[1] != 0) book_alerts_.set(with(l, "state", "firing"), double(n[1]));
    }

    for (auto* g : all_gauges_) g->end();

    // The movement counter only ever grows: a late contract event that re-classifies
    // older movements can lower the recomputed sum, which then waits until the sum
    // passes what was already exposed.
    for (std::size_t k = 0; k < movement_kinds; ++k) {
        const double now = from_money(total.moved_total[k]);
        if (now > movement_exposed_[k]) {
            movement_counters_[k]->Increment(now - movement_exposed_[k]);
            movement_exposed_[k] = now;
        }
    }

    // Alerts fired: the aggregate's counts only grow; a child appears with its first fire.
    for (const auto& [item, n] : merged.fired()) {
        auto& child = fired_children_[item];
        if (!child.counter) {
            auto [rule, severity] = split_pair(name_of(alert_names, aggregate::id_of_item(item)));
            child.counter = &book_alerts_fired_->Add(
                with(with(dims_of(aggregate::cell_of_item(item)), "rule", rule), "severity", severity));
        }
        if (double(n) > child.exposed) {
            child.counter->Increment(double(n) - child.exposed);
            child.exposed = double(n);
        }
    }

    // Time to first value: a cumulative histogram, like the fired counters. Each account
    // is observed once, in the cell it was in when it reached first value; the children
    // only ever add what the merged aggregate has observed since the last scrape.
    for (const auto& [k, reached] : merged.reached_first_value()) {
        auto& child = ttfv_children_[k];
        if (!child.histogram) child.histogram = &ttfv_->Add(dims_of(k), ttfv_boundaries());
        if (reached.count <= child.exposed.count) continue;
        std::vector<double> increments(reached.buckets.size());
        for (std::size_t i = 0; i < increments.size(); ++i)
            increments[i] = double(reached.buckets[i] - child.exposed.buckets[i]);
        child.histogram->ObserveMultiple(increments, double(reached.seconds - child.exposed.seconds));
        child.exposed = reached;
    }

    // Alert acknowledgement times: cumulative, each alert observed once at its first ack.
    for (const auto& [k, acked] : merged.acked()) {
        auto& child = ack_children_[k];
        if (!child.histogram) child.histogram = &alert_ack_->Add(dims_of(k), ack_boundaries());
        if (acked.count <= child.exposed.count) continue;
        std::vector<double> increments(acked.buckets.size());
        for (std::size_t i = 0; i < increments.size(); ++i)
            increments[i] = double(acked.buckets[i] - child.exposed.buckets[i]);
        child.histogram->ObserveMultiple(increments, double(acked.seconds - child.exposed.seconds));
        child.exposed = acked;
    }

    // Time to activate: cumulative, each account observed once when it is activated.
    for (const auto& [k, reached] : merged.activations()) {
        auto& child = activate_children_[k];
        if (!child.histogram) child.histogram = &time_to_activate_->Add(dims_of(k), ttfv_boundaries());
        if (reached.count <= child.exposed.count) continue;
        observe_since(*child.histogram, reached.buckets, child.exposed.buckets, reached.seconds, child.exposed.seconds);
        child.exposed = reached;
    }

    // Ticket first-response and resolution times: cumulative, like the ack times.
    for (const auto& [k, seen] : merged.ticket_times_observed()) {
        auto& child = ticket_children_[k];
        if (!child.response) {
            child.response = &ticket_first_response_->Add(dims_of(k), boundaries(first_response_bucket_seconds));
            child.resolution = &ticket_resolution_->Add(dims_of(k), boundaries(resolution_bucket_seconds));
        }
        auto& was = child.exposed;
        if (seen.response_count > was.response_count)
            observe_since(*child.response, seen.response_buckets, was.response_buckets, seen.response_seconds,
                          was.response_seconds);
        if (seen.resolution_count > was.resolution_count)
            observe_since(*child.resolution, seen.resolution_buckets, was.resolution_buckets, seen.resolution_seconds,
                          was.resolution_seconds);
        if (seen.response_count > was.response_count || seen.resolution_count > was.resolution_count) was = seen;
    }
}

}  // namespace redflag::kpi
