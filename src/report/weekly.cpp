#include "report/weekly.hpp"

#include "kpi/aggregate.hpp"
#include "kpi/contribution.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>

namespace redflag::report {
namespace {

std::string csm_of(const std::string& email, const std::string& name) { return email.empty() ? name : email; }

account_ref ref_of(const account_facts& a) {
    return {a.id, a.name.empty() ? a.id : a.name, csm_of(a.csm_email, a.csm), 12 * a.mrr};
}

account_ref ref_of(const alerts::alert_record& r) {
    account_ref out{r.a.account, r.a.account, {}, 0};
    if (r.profile) {
        if (!r.profile->name.empty()) out.name = r.profile->name;
        out.csm = csm_of(r.profile->csm_email, r.profile->csm);
        out.arr = r.profile->arr;
    }
    return out;
}

bool record_matches(const alerts::alert_record& r, const std::string& csm) {
    return csm.empty() || (r.profile && (r.profile->csm_email == csm || r.profile->csm == csm));
}

bool in_week(timestamp t, timestamp now) { return t > now - week && t <= now; }

// Highest ARR first, then by account id (a stable order for equal ARR).
template <class Row>
void by_arr(std::vector<Row>& rows) {
    std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
        if (a.account.arr != b.account.arr) return a.account.arr > b.account.arr;
        return a.account.id < b.account.id;
    });
}

// The rank of `band` among the health bands (0 best); nullopt when it is not one of them.
std::optional<std::size_t> rank_of(const std::vector<std::string>& bands, const std::string& band) {
    auto it = std::find(bands.begin(), bands.end(), band);
    if (it == bands.end()) return std::nullopt;
    return static_cast<std::size_t>(it - bands.begin());
}

void alert_sections(const weekly_input& in, weekly_report& out) {
    for (const auto& r : in.alerts) {
        if (!record_matches(r, in.csm) || !r.a.firing_since) continue;
        const auto& a = r.a;
        if (in_week(*a.firing_since, in.now))
            out.red_flags.push_back({ref_of(r), a.id, a.rule, std::string(alerts::name_of(a.severity)),
                                     std::string(alerts::name_of(a.state)), *a.firing_since});
        if (a.state == alerts::alert_state::resolved && a.resolved_at && in_week(*a.resolved_at, in.now))
            out.recovered.push_back(
                {ref_of(r), a.id, a.rule, std::string(alerts::name_of(a.severity)), *a.firing_since, *a.resolved_at});
    }
    by_arr(out.red_flags);
    by_arr(out.recovered);
}

void account_sections(const weekly_input& in, const account_facts& a, weekly_report& out) {
    const auto ref = ref_of(a);
    const auto now = in.now;
    auto before = rank_of(in.health_bands, a.band_week_ago), after = rank_of(in.health_bands, a.band);
    if (before && after && *after < *before)
        out.bands_up.push_back({ref, a.band_week_ago, a.band, a.health_week_ago, a.health});
    if (a.renewal_at && *a.renewal_at > now && *a.renewal_at <= now + renewal_horizon)
        out.renewals.push_back({ref, *a.renewal_at, a.health, a.band});
    std::optional<timestamp> onboarded;
    for (auto t : a.onboarded)
        if (in_week(t, now) && (!onboarded || t > *onboarded)) onboarded = t;
    if (onboarded) out.onboardings.push_back({ref, *onboarded});
    std::optional<double> best;
    for (const auto& [t, score] : a.nps)
        if (t > now - promoter_window && t <= now && (!best || score > *best)) best = score;
    if (a.promoter || (best && *best >= 9)) out.promoters.push_back({ref, best, a.promoter});
    for (const auto& g : a.goals) {
        if (g.status != "open" || !g.due_at) continue;
        if (*g.due_at <= now) out.goals_overdue.push_back({ref, g.id, g.title, *g.due_at});
        else if (*g.due_at <= now + week) out.goals_due.push_back({ref, g.id, g.title, *g.due_at});
    }
}

// NRR, GRR and NPS of a CSM's accounts at one instant.
struct kpi_sums {
    double cohort_then = 0, cohort_now = 0, cohort_capped = 0;
    std::array<std::int64_t, 3> nps{};

    void add(const account_facts& a, timestamp t) {
        const double then = kpi::mrr_at(a.movements, t - cohort_window);
        if (then > 0) {
            const double now = kpi::mrr_at(a.movements, t);
            cohort_then += then;
            cohort_now += now;
            cohort_capped += std::min(now, then);
        }
        for (const auto& [at, score] : a.nps)
            if (at > t - nps_window && at <= t) ++nps[static_cast<std::size_t>(kpi::category_of_nps(score))];
    }
    std::optional<double> nrr() const { return cohort_then > 0 ? std::optional(cohort_now / cohort_then) : std::nullopt; }
    std::optional<double> grr() const {
        return cohort_then > 0 ? std::optional(cohort_capped / cohort_then) : std::nullopt;
    }
    std::optional<double> nps_score() const {
        double v = kpi::nps_score(nps);
        return std::isnan(v) ? std::nullopt : std::optional(v);
    }
};

}  // namespace

bool matches(const account_facts& account, const std::string& csm) {
    return csm.empty() || account.csm_email == csm || account.csm == csm;
}

weekly_report build_weekly(const weekly_input& in) {
    weekly_report out;
    out.from = in.now - week;
    out.to = in.now;
    out.csm = in.csm;
    alert_sections(in, out);
    std::map<std::string, std::pair<kpi_sums, kpi_sums>> sums;  // by CSM: now, a week ago
    std::map<std::string, std::size_t> counts;
    for (const auto& a : in.accounts) {
        if (!matches(a, in.csm)) continue;
        account_sections(in, a, out);
        auto& [now, week_ago] = sums[csm_of(a.csm_email, a.csm)];
        now.add(a, in.now);
        week_ago.add(a, in.now - week);
        ++counts[csm_of(a.csm_email, a.csm)];
    }
    by_arr(out.bands_up);
    by_arr(out.promoters);
    auto soonest = [](auto& rows, auto key) {
        std::stable_sort(rows.begin(), rows.end(), [&](const auto& a, const auto& b) {
            if (key(a) != key(b)) return key(a) < key(b);
            return a.account.id < b.account.id;
        });
    };
    soonest(out.renewals, [](const renewal& r) { return r.renewal_at; });
    soonest(out.onboardings, [](const onboarding& r) { return r.at; });
    soonest(out.goals_due, [](const goal_row& r) { return r.due_at; });
    soonest(out.goals_overdue, [](const goal_row& r) { return r.due_at; });
    for (const auto& [csm, pair] : sums) {
        const auto& [now, week_ago] = pair;
        out.csms.push_back({csm, counts[csm], now.nrr(), week_ago.nrr(), now.grr(), week_ago.grr(), now.nps_score(),
                            week_ago.nps_score()});
    }
    return out;
}

}  // namespace redflag::report
