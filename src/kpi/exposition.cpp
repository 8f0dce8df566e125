#include "kpi/exposition.hpp"

namespace redflag::kpi {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

prometheus::Family<prometheus::Gauge>& gauge(prometheus::Registry& r, const std::string& name, const std::string& help) {
    return BuildGauge().Name(name).Help(help).Register(r);
}

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
    : config_(config),
      accounts_(gauge(r, "redflag_accounts", "Accounts by profile status, CSM, segment and health band")),
      mrr_(gauge(r, "redflag_mrr", "Current monthly recurring revenue (" + config.currency + ") by CSM, segment and health band")),
      arr_(gauge(r, "redflag_arr", "Current annual recurring revenue (12 x MRR, " + config.currency + ")")),
      nrr_(gauge(r, "redflag_nrr_ratio", "Net revenue retention: ARR now of the accounts with ARR 365 days ago / their ARR then")),
      csm_nrr_(gauge(r, "redflag_csm_nrr_ratio", "Net revenue retention of each CSM's book (accounts owned now)")),
      grr_(gauge(r, "redflag_grr_ratio", "Gross revenue retention: as NRR with each account's ARR now capped at its ARR then")),
      csm_grr_(gauge(r, "redflag_csm_grr_ratio", "Gross revenue retention of each CSM's book (accounts owned now)")),
      logo_churn_(gauge(r, "redflag_logo_churn_ratio", "Accounts churned in the last 30 days / accounts active 30 days ago")),
      revenue_churn_(gauge(r, "redflag_revenue_churn_ratio", "Churned and contracted MRR in the last 30 days / MRR 30 days ago")),
      quick_ratio_(gauge(r, "redflag_quick_ratio", "(New + expansion + reactivation MRR) / (contraction + churn MRR), last 30 days")),
      ltv_(gauge(r, "redflag_ltv", "Lifetime value: ARPA x gross margin / monthly revenue churn (" + config.currency + ")")),
      nps_(gauge(r, "redflag_nps", "Net promoter score over 90 days (%promoters - %detractors) by CSM and segment")),
      nps_responses_(gauge(r, "redflag_nps_responses", "NPS answers in the last 90 days by category")),
      csat_(gauge(r, "redflag_csat_avg", "Mean CSAT answer over 90 days by CSM")),
      tickets_open_(gauge(r, "redflag_tickets_open", "Open and pending support tickets by priority")),
      renewal_arr_(gauge(r, "redflag_renewal_arr", "ARR of active accounts renewing within 30 or 90 days, by health band")),
      opportunity_(gauge(r, "redflag_opportunity_mrr", "List price x seats of stack products active accounts lack (" + config.currency + ")")),
      alignment_(gauge(r, "redflag_stack_alignment_ratio", "Share of active accounts that have the product")),
      score_(gauge(r, "redflag_score", "Accounts per band of every score")),
      classification_(gauge(r, "redflag_classification", "Accounts per label of every classify")),
      movements_(&BuildCounter()
                      .Name("redflag_mrr_movement_total")
                      .Help("MRR moved by contract changes, in absolute value (" + config.currency + ")")
                      .Register(r)),
      ttfv_(&BuildHistogram()
                 .Name("redflag_time_to_first_value_seconds")
                 .Help("Time from signed_at (or first seen) to the first_value milestone, of the accounts that reached it")
                 .Register(r)),
      account_value_(&gauge(r, "redflag_account_value", "Per account (opt-in): current MRR")),
      account_effort_(&gauge(r, "redflag_account_effort", "Per account (opt-in): the effort score")) {
    for (std::size_t k = 0; k < movement_kinds; ++k)
        movement_counters_[k] = &movements_->Add({{"kind", std::string(model::movement_kind_names[k])}});
}

void kpi_metrics::expose(const aggregate& merged, const label_tables& labels) {
    const auto csms = labels.csm.names();
    const auto segments = labels.segment.names();
    const auto bands = labels.band.names();
    const std::size_t products = std::min(config_.stack.size(), max_stack_products);

    for (auto* g : {&accounts_, &mrr_, &arr_, &nrr_, &csm_nrr_, &grr_, &csm_grr_, &logo_churn_, &revenue_churn_,
                    &quick_ratio_, &ltv_, &nps_, &nps_responses_, &csat_, &tickets_open_, &renewal_arr_, &opportunity_,
                    &alignment_, &score_, &classification_})
        g->begin();

    // Projections of the (csm, segment, band) cells onto each metric's labels.
    std::map<label_id, cell> by_csm;
    std::map<std::pair<label_id, label_id>, std::array<std::int64_t, 3>> nps_by_csm_segment;
    std::map<label_id, cell> by_band;
    std::map<label_id, std::pair<std::array<std::int64_t, ttfv_bucket_days.size() + 1>, std::int64_t>> ttfv_by_segment;
    cell total;
    for (const auto& [key, c] : merged.cells()) {
        if (c.accounts == 0) continue;  // every account of it moved elsewhere
        const auto csm = aggregate::csm_of(key), segment = aggregate::segment_of(key), band = aggregate::band_of(key);
        const prometheus::Labels dims{{"csm", name_of(csms, csm)},
                                      {"segment", name_of(segments, segment)},
                                      {"health_band", name_of(bands, band)}};
        for (std::size_t s = 0; s < account_status_names.size(); ++s) {
            if (c.accounts_by_status[s] == 0) continue;
            auto labels_with_status = dims;
            labels_with_status["status"] = std::string(account_status_names[s]);
            accounts_.set(labels_with_status, double(c.accounts_by_status[s]));
        }
        mrr_.set(dims, from_money(c.mrr));
        arr_.set(dims, 12 * from_money(c.mrr));
        by_csm[csm].merge(c);
        by_band[band].merge(c);
        auto& answers = nps_by_csm_segment[{csm, segment}];
        for (std::size_t i = 0; i < 3; ++i) answers[i] += c.nps[i];
        auto& [buckets, seconds] = ttfv_by_segment[segment];
        for (std::size_t i = 0; i < buckets.size(); ++i) buckets[i] += c.ttfv_buckets[i];
        seconds += c.ttfv_seconds;
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

    nrr_.set({}, nrr(total));
    grr_.set({}, grr(total));
    logo_churn_.set({}, logo_churn(total));
    revenue_churn_.set({}, revenue_churn(total));
    quick_ratio_.set({}, quick_ratio(total));
    ltv_.set({}, ltv(total, config_.gross_margin));
    for (std::size_t i = 0; i < nps_category_names.size(); ++i)
        nps_responses_.set({{"category", std::string(nps_category_names[i])}}, double(total.nps[i]));
    for (std::size_t i = 0; i < ticket_priority_names.size(); ++i)
        tickets_open_.set({{"priority", std::string(ticket_priority_names[i])}}, double(total.open_tickets[i]));
    for (std::size_t p = 0; p < products; ++p) alignment_.set({{"product", config_.stack[p].first}}, alignment(total, p));

    for (const auto& [band, c] : by_band) {
        const auto& band_name = name_of(bands, band);
        renewal_arr_.set({{"within", "30d"}, {"health_band", band_name}}, from_money(c.renewal_arr_near));
        renewal_arr_.set({{"within", "90d"}, {"health_band", band_name}}, from_money(c.renewal_arr_far));
        for (std::size_t p = 0; p < products; ++p)
            opportunity_.set({{"health_band", band_name}, {"product", config_.stack[p].first}},
                             p < c.opportunity.size() ? from_money(c.opportunity[p]) : 0.0);
    }

    const auto score_names = labels.score_band.names();
    for (const auto& [id, n] : merged.score_bands()) {
        if (n == 0) continue;
        auto [score, band] = split_pair(name_of(score_names, id));
        score_.set({{"score", score}, {"band", band}}, double(n));
    }
    const auto class_names = labels.class_label.names();
    for (const auto& [id, n] : merged.class_labels()) {
        if (n == 0) continue;
        auto [name, label] = split_pair(name_of(class_names, id));
        classification_.set({{"name", name}, {"label", label}}, double(n));
    }

    for (auto* g : {&accounts_, &mrr_, &arr_, &nrr_, &csm_nrr_, &grr_, &csm_grr_, &logo_churn_, &revenue_churn_,
                    &quick_ratio_, &ltv_, &nps_, &nps_responses_, &csat_, &tickets_open_, &renewal_arr_, &opportunity_,
                    &alignment_, &score_, &classification_})
        g->end();

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

    // The histogram is a distribution of the accounts known now, not a stream of
    // observations: each scrape replaces a segment's child with the current counts.
    for (auto& [segment, h] : ttfv_children_) ttfv_->Remove(h);
    ttfv_children_.clear();
    for (const auto& [segment, data] : ttfv_by_segment) {
        const auto& [buckets, seconds] = data;
        std::int64_t count = 0;
        for (auto b : buckets) count += b;
        if (count == 0) continue;
        const auto& name = name_of(segments, segment);
        auto& h = ttfv_->Add({{"segment", name}}, ttfv_boundaries());
        std::vector<double> increments(buckets.begin(), buckets.end());
        h.ObserveMultiple(increments, double(seconds));
        ttfv_children_[name] = &h;
    }
}

}  // namespace redflag::kpi
