#include "app/outcomes.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <functional>

namespace redflag::app {
namespace {

namespace json = boost::json;

constexpr double days_per_month = 365.25 / 12;

double in_days(duration d) { return static_cast<double>(d.count()) / static_cast<double>(day.count()); }

std::optional<double> ratio(std::size_t part, std::size_t whole) {
    if (whole == 0) return std::nullopt;
    return static_cast<double>(part) / static_cast<double>(whole);
}

std::optional<double> median(std::vector<double> values) {
    if (values.empty()) return std::nullopt;
    std::sort(values.begin(), values.end());
    std::size_t mid = values.size() / 2;
    return values.size() % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

// Per account, the instants that make an alert right: churns and contractions, sorted.
std::vector<std::vector<timestamp>> outcome_instants(const outcome_input& input) {
    std::vector<std::vector<timestamp>> out(input.accounts.size());
    for (std::size_t a = 0; a < input.accounts.size(); ++a) {
        const auto& acc = input.accounts[a];
        auto& v = out[a];
        v.reserve(acc.churns.size() + acc.contractions.size());
        v.insert(v.end(), acc.churns.begin(), acc.churns.end());
        v.insert(v.end(), acc.contractions.begin(), acc.contractions.end());
        std::sort(v.begin(), v.end());
    }
    return out;
}

bool inside(const outcome_input& input, timestamp t) { return input.from <= t && t <= input.until; }

// One row over the alerts of the rules `selected` accepts, taken together.
outcome_row summarise(const outcome_input& input, const outcome_options& options,
                      const std::vector<std::vector<timestamp>>& outcomes, double account_months,
                      std::size_t churns, const std::function<bool(std::size_t)>& selected) {
    outcome_row row;
    // The selected alerts per account, as (start, end) in order of start.
    std::vector<std::vector<std::pair<timestamp, timestamp>>> alerts(input.accounts.size());
    for (const auto& f : input.firings)
        if (selected(f.rule) && inside(input, f.at))
            alerts[f.account].emplace_back(f.at, f.resolved.value_or(timestamp_max));

    std::vector<double> leads;
    const timestamp last_judged = input.until - options.window;
    for (std::size_t a = 0; a < input.accounts.size(); ++a) {
        auto& times = alerts[a];
        std::sort(times.begin(), times.end());
        row.alerts += times.size();
        if (!times.empty()) ++row.alerted_accounts;

        // Precision: alerts with the whole window inside the log.
        bool judged = false, followed = false;
        for (const auto& alert : times) {
            const timestamp t = alert.first;
            if (t > last_judged) break;
            judged = true;
            ++row.judged_alerts;
            auto next = std::upper_bound(outcomes[a].begin(), outcomes[a].end(), t);
            if (next != outcomes[a].end() && *next <= t + options.window) {
                followed = true;
                ++row.followed_alerts;
            }
        }
        row.judged_accounts += judged;
        row.followed_accounts += followed;

        // Recall and lead: the earliest alert firing at some instant of [c - window, c),
        // started after the previous churn.
        const auto& account_churns = input.accounts[a].churns;
        for (std::size_t i = 0; i < account_churns.size(); ++i) {
            const timestamp c = account_churns[i];
            if (!inside(input, c)) continue;
            const timestamp after = i > 0 ? account_churns[i - 1] : timestamp_min;
            auto earliest = std::find_if(times.begin(), times.end(), [&](const auto& alert) {
                return alert.first > after && alert.first < c && alert.second > c - options.window;
            });
            if (earliest == times.end()) continue;
            const duration lead = c - earliest->first;
            ++row.caught;
            if (lead >= options.ahead) ++row.caught_ahead;
            leads.push_back(in_days(lead));
        }
    }
    row.precision = ratio(row.followed_accounts, row.judged_accounts);
    row.alert_precision = ratio(row.followed_alerts, row.judged_alerts);
    row.recall = ratio(row.caught, churns);
    row.recall_ahead = ratio(row.caught_ahead, churns);
    row.median_lead_days = median(std::move(leads));
    row.alerts_per_account_month = account_months > 0 ? static_cast<double>(row.alerts) / account_months : 0;
    return row;
}

std::string percent(const std::optional<double>& v) {
    if (!v) return "-";
    char buffer[16];
    std::snprintf(buffer, sizeof buffer, "%.0f%%", *v * 100);
    return buffer;
}

std::string fixed(const std::optional<double>& v, int decimals) {
    if (!v) return "-";
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.*f", decimals, *v);
    return buffer;
}

std::string table_line(const outcome_row& r) {
    char buffer[256];
    std::string name = r.rule + (r.lagging ? " *" : "");
    std::snprintf(buffer, sizeof buffer, "%-26s %7zu %8zu %9s %10s %7s %9s %7s %12s\n", name.c_str(), r.alerts,
                  r.alerted_accounts, percent(r.precision).c_str(), percent(r.alert_precision).c_str(),
                  percent(r.recall).c_str(), percent(r.recall_ahead).c_str(), fixed(r.median_lead_days, 0).c_str(),
                  fixed(r.alerts_per_account_month, 3).c_str());
    return buffer;
}

json::value nullable(const std::optional<double>& v) { return v ? json::value(*v) : json::value(nullptr); }

json::object row_json(const outcome_row& r) {
    return json::object{
        {"rule", r.rule},
        {"lagging", r.lagging},
        {"alerts", r.alerts},
        {"alerted_accounts", r.alerted_accounts},
        {"judged_accounts", r.judged_accounts},
        {"followed_accounts", r.followed_accounts},
        {"judged_alerts", r.judged_alerts},
        {"followed_alerts", r.followed_alerts},
        {"caught", r.caught},
        {"caught_ahead", r.caught_ahead},
        {"precision", nullable(r.precision)},
        {"alert_precision", nullable(r.alert_precision)},
        {"recall", nullable(r.recall)},
        {"recall_ahead", nullable(r.recall_ahead)},
        {"median_lead_days", nullable(r.median_lead_days)},
        {"alerts_per_account_month", r.alerts_per_account_month},
    };
}

}  // namespace

outcome_report compute_outcomes(const outcome_input& input, const outcome_options& options) {
    outcome_report report;
    report.options = options;
    report.from = input.from;
    report.until = input.until;
    for (const auto& acc : input.accounts) {
        const timestamp observed_from = std::max(acc.first_seen, input.from);
        if (observed_from > input.until) continue;
        ++report.accounts;
        report.account_months += in_days(input.until - observed_from) / days_per_month;
        report.churns += std::count_if(acc.churns.begin(), acc.churns.end(),
                                       [&](timestamp t) { return inside(input, t); });
        report.contractions += std::count_if(acc.contractions.begin(), acc.contractions.end(),
                                             [&](timestamp t) { return inside(input, t); });
    }
    const auto outcomes = outcome_instants(input);
    for (std::size_t r = 0; r < input.rules.size(); ++r) {
        auto row = summarise(input, options, outcomes, report.account_months, report.churns,
                             [r](std::size_t rule) { return rule == r; });
        row.rule = input.rules[r].name;
        row.lagging = input.rules[r].lagging;
        report.rules.push_back(std::move(row));
    }
    report.combined = summarise(input, options, outcomes, report.account_months, report.churns,
                                [&](std::size_t rule) { return !input.rules[rule].lagging; });
    report.combined.rule = "(combined)";
    return report;
}

std::string render_table(const outcome_report& report) {
    std::string out;
    char buffer[512];
    std::snprintf(buffer, sizeof buffer,
                  "outcomes from %s to %s: %zu accounts, %.0f account-months, %zu churns, %zu contractions; "
                  "window %.0f days\n",
                  format_rfc3339(report.from).c_str(), format_rfc3339(report.until).c_str(), report.accounts,
                  report.account_months, report.churns, report.contractions, in_days(report.options.window));
    out += buffer;
    std::snprintf(buffer, sizeof buffer, "%-26s %7s %8s %9s %10s %7s %9s %7s %12s\n", "rule", "alerts", "accounts",
                  "precision", "alert prec", "recall", "recall", "lead", "alerts per");
    out += buffer;
    std::snprintf(buffer, sizeof buffer, "%-26s %7s %8s %9s %10s %7s %9s %7s %12s\n", "", "", "", "", "", "",
                  (">=" + std::to_string(static_cast<long>(in_days(report.options.ahead))) + "d").c_str(), "days",
                  "acct-month");
    out += buffer;
    for (const auto& row : report.rules) out += table_line(row);
    out += table_line(report.combined);
    const double w = in_days(report.options.window);
    std::snprintf(buffer, sizeof buffer,
                  "precision: of the accounts alerted at least %.0f days before the end, those that churned or\n"
                  "  contracted within %.0f days of an alert (alert prec: the same per alert)\n"
                  "recall: churns with an alert of the rule firing in the %.0f days before them (>=%.0fd: started\n"
                  "  that far ahead); lead: median days from the start of the earliest such alert to the churn\n"
                  "* lagging (labels { indicator = \"lagging\" }): reported, not in (combined)\n",
                  w, w, w, in_days(report.options.ahead));
    out += buffer;
    return out;
}

std::string render_json(const outcome_report& report) {
    json::array rules;
    for (const auto& row : report.rules) rules.push_back(row_json(row));
    json::object o{
        {"from", format_rfc3339(report.from)},
        {"until", format_rfc3339(report.until)},
        {"window_days", in_days(report.options.window)},
        {"ahead_days", in_days(report.options.ahead)},
        {"accounts", report.accounts},
        {"account_months", report.account_months},
        {"churns", report.churns},
        {"contractions", report.contractions},
        {"rules", std::move(rules)},
        {"combined", row_json(report.combined)},
    };
    return json::serialize(o) + "\n";
}

outcomes_observer::outcomes_observer(std::optional<timestamp> from, std::optional<timestamp> until,
                                     std::string json_path, outcome_options options)
    : from_(from), until_(until), json_path_(std::move(json_path)), options_(options) {}

void outcomes_observer::on_rules(std::span<const rules::rule_definition> rules) {
    rules_.clear();
    for (const auto& r : rules) {
        bool lagging = std::any_of(r.labels.begin(), r.labels.end(), [](const auto& label) {
            return label.first == "indicator" && label.second == "lagging";
        });
        rules_.push_back({r.name, lagging});
    }
}

outcomes_observer::account_track& outcomes_observer::track(const std::string& account, timestamp at) {
    auto [it, added] = accounts_.try_emplace(account);
    if (added) {
        it->second.index = accounts_.size() - 1;
        it->second.first_seen = at;
        it->second.contracts.id = account;
    } else if (at < it->second.first_seen) {
        it->second.first_seen = at;
    }
    return it->second;
}

void outcomes_observer::on_event(const model::event& e) {
    if (!first_event_ || e.at < *first_event_) first_event_ = e.at;
    if (!last_event_ || e.at > *last_event_) last_event_ = e.at;
    if (model::is_company(e.account)) return;  // company-level (spend): no customer account
    auto& account = track(e.account, e.at);
    // Only contract events: movements (churn, contraction) are all the report needs, and
    // account_state classifies them as the engine does, out-of-order events included.
    if (e.type == model::event_type::contract) account.contracts.apply(e);
}

void outcomes_observer::on_alert(const alerts::alert_event& e) {
    if (e.kind != alerts::event_kind::transition) return;
    if (e.to != alerts::alert_state::firing && e.to != alerts::alert_state::resolved) return;
    auto it = accounts_.find(e.record.account);
    if (it == accounts_.end()) return;  // alerts come only from accounts with events
    std::size_t rule = e.record.rule_index;
    if (rule >= rules_.size() || rules_[rule].name != e.record.rule) {
        auto named = std::find_if(rules_.begin(), rules_.end(), [&](const auto& r) { return r.name == e.record.rule; });
        if (named == rules_.end()) return;
        rule = static_cast<std::size_t>(named - rules_.begin());
    }
    const std::pair key{rule, it->second.index};
    if (e.to == alerts::alert_state::firing) {
        open_[key] = firings_.size();
        firings_.push_back({rule, it->second.index, e.at, std::nullopt});
    } else if (auto open = open_.find(key); open != open_.end()) {
        firings_[open->second].resolved = e.at;
        open_.erase(open);
    }
}

outcome_input outcomes_observer::input() const {
    outcome_input in;
    in.rules = rules_;
    in.firings = firings_;
    in.from = from_.value_or(first_event_.value_or(timestamp{}));
    in.until = until_.value_or(last_event_.value_or(timestamp{}));
    in.accounts.resize(accounts_.size());
    for (const auto& [id, track] : accounts_) {
        auto& acc = in.accounts[track.index];
        acc.id = id;
        acc.first_seen = track.first_seen;
        for (const auto& m : track.contracts.movements) {
            if (m.kind == model::movement_kind::churn) acc.churns.push_back(m.at);
            else if (m.kind == model::movement_kind::contraction) acc.contractions.push_back(m.at);
        }
    }
    return in;
}

bool outcomes_observer::finish(std::ostream& /*transitions*/, std::ostream& err) {
    const auto report = compute_outcomes(input(), options_);
    err << render_table(report);
    if (json_path_.empty()) return true;
    const std::string text = render_json(report);
    std::ofstream file(json_path_, std::ios::binary | std::ios::trunc);
    file << text;
    file.close();
    if (!file) {
        err << json_path_ << ": error: cannot write the outcomes report\n";
        return false;
    }
    return true;
}

}  // namespace redflag::app
