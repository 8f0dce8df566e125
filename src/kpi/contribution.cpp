#include "kpi/contribution.hpp"

#include "core/hash.hpp"
#include "model/schema.hpp"

#include <algorithm>

namespace redflag::kpi {
namespace {

using model::event_type;
using model::movement_kind;

std::size_t field_index(event_type type, std::string_view field) { return *model::stream_field_index(type, field); }

// Positions in stream records (function statics: schema.cpp's tables are initialised
// before first use, not necessarily before this file's statics).
std::size_t nps_score_index() {
    static const std::size_t i = field_index(event_type::nps, "score");
    return i;
}
std::size_t csat_score_index() {
    static const std::size_t i = field_index(event_type::csat, "score");
    return i;
}
std::size_t milestone_name_index() {
    static const std::size_t i = field_index(event_type::milestone, "name");
    return i;
}

std::size_t spend_amount_index() {
    static const std::size_t i = field_index(event_type::spend, "amount");
    return i;
}
std::size_t spend_segment_index() {
    static const std::size_t i = field_index(event_type::spend, "segment");
    return i;
}
std::size_t activity_kind_index() {
    static const std::size_t i = field_index(event_type::activity, "kind");
    return i;
}
std::size_t activity_minutes_index() {
    static const std::size_t i = field_index(event_type::activity, "minutes");
    return i;
}
std::size_t ticket_minutes_index() {
    static const std::size_t i = field_index(event_type::ticket, "handle_minutes");
    return i;
}
const std::vector<model::stream_record>& stream(const model::account_state& s, event_type t) {
    return s.stream(t);
}

std::string_view text(const scalar& v) {
    if (const auto* s = std::get_if<std::string>(&v)) return *s;
    return {};
}

double number(const scalar& v, double otherwise = 0) {
    if (const auto* d = std::get_if<double>(&v)) return *d;
    return otherwise;
}

// Keeps the earliest instant after `now` among the candidates offered.
class next_instant {
public:
    explicit next_instant(timestamp now) : now_(now) {}
    void offer(timestamp t) {
        if (t > now_ && t < next_) next_ = t;
    }
    timestamp value() const { return next_; }

private:
    timestamp now_;
    timestamp next_ = timestamp_max;
};

// t - span without overflowing at the ends of time.
timestamp before(timestamp t, duration span) { return t < timestamp_min + span ? timestamp_min : t - span; }
timestamp after(timestamp t, duration span) { return t > timestamp_max - span ? timestamp_max : t + span; }

account_status status_of(const model::account_state& s) {
    auto status = text(s.get(model::profile_field::status));
    if (status == "onboarding") return account_status::onboarding;
    if (status == "active") return account_status::active;
    if (status == "churned") return account_status::churned;
    return account_status::none;
}

std::size_t priority_index(std::string_view p) {
    for (std::size_t i = 0; i + 1 < ticket_priority_names.size(); ++i)
        if (ticket_priority_names[i] == p) return i;
    return ticket_priority_names.size() - 1;
}

std::size_t activity_index(std::string_view kind) {
    for (std::size_t i = 0; i + 1 < activity_kind_names.size(); ++i)
        if (activity_kind_names[i] == kind) return i;
    return activity_kind_names.size() - 1;
}

std::string pair_key(std::string_view a, std::string_view b) {
    std::string key;
    key.reserve(a.size() + b.size() + 1);
    key.append(a).push_back(pair_separator);
    key.append(b);
    return key;
}

}  // namespace

rule_layout::rule_layout(const rules::rule_set* r, label_caches& labels) : rules(r) {
    health_bands.push_back(labels.band.get("unknown"));
    if (!r) return;
    auto scores = r->scores();
    for (std::size_t i = 0; i < scores.size(); ++i) {
        if (scores[i].name == "health") {
            health = i;
            for (const auto& b : scores[i].bands) health_bands.push_back(labels.band.get(b));
        }
        if (scores[i].name == "effort") effort = i;
        auto& ids = score_bands.emplace_back();
        ids.push_back(labels.score_band.get(pair_key(scores[i].name, "unknown")));
        for (const auto& b : scores[i].bands) ids.push_back(labels.score_band.get(pair_key(scores[i].name, b)));
    }
    for (const auto& c : r->classifications()) {
        auto& ids = class_labels.emplace_back();
        for (const auto& l : c.labels) ids.push_back(labels.class_label.get(pair_key(c.name, l)));
    }
    for (const auto& rule : r->rules()) {
        auto severity = rules::severity_names[static_cast<std::size_t>(rule.severity)];
        alert_rules.push_back({rule.name, rule.severity, labels.alert.get(pair_key(rule.name, severity))});
    }
}

void alert_entries(std::span<const alerts::alert> active, const rule_layout& layout, label_caches& labels,
                   std::vector<alert_entry>& out) {
    out.clear();
    for (const auto& a : active) {
        if (!a.active()) continue;
        label_id id;
        if (a.rule_index < layout.alert_rules.size() && layout.alert_rules[a.rule_index].severity == a.severity &&
            layout.alert_rules[a.rule_index].name == a.rule) {
            id = layout.alert_rules[a.rule_index].id;
        } else {
            // An alert restored or carried over a reload whose index does not match this
            // layout: looked up by name (rare).
            id = labels.alert.get(pair_key(a.rule, rules::severity_names[static_cast<std::size_t>(a.severity)]));
        }
        out.push_back({id, a.state == alerts::alert_state::firing, a.acknowledged()});
    }
}

active_users count_active_users(const model::account_state& s, timestamp now, timestamp* next) {
    active_users n;
    const timestamp day_ago = before(now, daily_window), month_ago = before(now, monthly_window);
    next_instant edge(now);
    for (const auto& u : s.users) {
        if (!u.last_seen) continue;
        if (next) {
            edge.offer(*u.last_seen);
            edge.offer(after(*u.last_seen, daily_window));
            edge.offer(after(*u.last_seen, monthly_window));
        }
        if (*u.last_seen > now) continue;
        if (*u.last_seen > month_ago) ++n.month;
        if (*u.last_seen > day_ago) ++n.day;
    }
    if (next) *next = edge.value();
    return n;
}

double mrr_at(const std::vector<model::mrr_movement>& movements, timestamp t) {
    auto it = std::upper_bound(movements.begin(), movements.end(), t,
                               [](timestamp at, const model::mrr_movement& m) { return at < m.at; });
    return it == movements.begin() ? 0.0 : std::prev(it)->after;
}

namespace {

// The company's contribution: spend of the last 90 days per segment.
timestamp contribute_company(const model::account_state& s, timestamp now, label_caches& labels, contribution& out) {
    next_instant next(now);
    out = contribution{};
    out.present = true;
    out.company = true;
    out.at = now;
    const timestamp quarter_ago = before(now, acquisition_window);
    for (const auto& r : stream(s, event_type::spend)) {
        next.offer(r.at);
        next.offer(after(r.at, acquisition_window));
        if (r.at <= quarter_ago || r.at > now) continue;
        const auto segment = text(r.values[spend_segment_index()]);
        const label_id id = labels.segment.get(segment.empty() ? std::string_view("none") : segment);
        auto it = std::lower_bound(out.spend.begin(), out.spend.end(), id,
                                   [](const auto& entry, label_id key) { return entry.first < key; });
        if (it == out.spend.end() || it->first != id) it = out.spend.insert(it, {id, 0});
        it->second += to_money(std::max(0.0, number(r.values[spend_amount_index()])));
    }
    return next.value();
}

std::int64_t seconds_between(timestamp from, timestamp to) {
    return std::max<std::int64_t>(0, std::chrono::duration_cast<std::chrono::seconds>(to - from).count());
}

// The plan at `t` from the field's history (null before the field was first set).
scalar plan_at(const model::account_state& s, timestamp t) {
    constexpr auto f = model::profile_field::plan;
    if (is_null(s.get(f)) || s.first_set_at(f) > t) return scalar{};
    const auto& h = s.history_of(f);
    auto it = std::upper_bound(h.begin(), h.end(), t, [](timestamp at, const model::field_change& c) { return at < c.at; });
    if (it != h.begin()) return std::prev(it)->after;
    return h.empty() ? s.get(f) : h.front().before;
}

// Free → paid over the last 90 days (kpi.free_plans): the account was on a free plan at
// some instant of (now - 90 d, now] (at the window's start, when its plan was first set
// inside the window, or after a change inside it), and it moved from a free plan to a
// plan that is not free in the window.
void plg_plans(const model::account_state& s, timestamp now, const settings& config, next_instant& next,
               contribution& out) {
    out.free_in_quarter = out.converted_in_quarter = false;
    if (config.free_plans.empty()) return;
    constexpr auto f = model::profile_field::plan;
    if (is_null(s.get(f))) return;
    const timestamp start = before(now, conversion_window);
    auto free = [&](const scalar& v) { return !is_null(v) && config.is_free(text(v)); };
    const timestamp first = s.first_set_at(f);
    next.offer(first);
    next.offer(after(first, conversion_window));
    if (free(plan_at(s, start))) out.free_in_quarter = true;
    if (first > start && first <= now && free(plan_at(s, first))) out.free_in_quarter = true;
    for (const auto& c : s.history_of(f)) {
        next.offer(c.at);
        next.offer(after(c.at, conversion_window));
        if (c.at <= start || c.at > now) continue;
        if (free(c.after)) out.free_in_quarter = true;
        if (free(c.before) && !free(c.after) && !text(c.after).empty()) out.converted_in_quarter = true;
    }
}

// Tickets of the last 90 days with a first response or a resolution, sorted by id hash.
void ticket_times_of(const model::account_state& s, timestamp now, next_instant& next, std::vector<ticket_times>& out) {
    out.clear();
    const timestamp start = before(now, ticket_window);
    for (const auto& t : s.tickets) {
        ticket_times times{fnv1a(t.id)};
        if (t.first_response_at) {
            next.offer(*t.first_response_at);
            next.offer(after(*t.first_response_at, ticket_window));
            if (*t.first_response_at > start && *t.first_response_at <= now && t.opened_at <= now)
                times.first_response = seconds_between(t.opened_at, *t.first_response_at);
        }
        if (!t.is_open() && (t.status == "solved" || t.status == "closed")) {
            next.offer(t.updated_at);
            next.offer(after(t.updated_at, ticket_window));
            if (t.updated_at > start && t.updated_at <= now) times.resolution = seconds_between(t.opened_at, t.updated_at);
        }
        if (times.first_response >= 0 || times.resolution >= 0) out.push_back(times);
    }
    std::sort(out.begin(), out.end(), [](const ticket_times& a, const ticket_times& b) { return a.ticket < b.ticket; });
}

}  // namespace

timestamp contribute(const account_input& account, timestamp now, const settings& config, const rule_layout& layout,
                     label_caches& labels, const contribution& previous, contribution& out, next_changes* split) {
    const auto& s = account.state;
    if (model::is_company(s.id)) {
        const timestamp next = contribute_company(s, now, labels, out);
        if (split) *split = {timestamp_max, next};
        return next;
    }
    next_instant next(now);
    out.present = true;
    out.company = false;
    out.spend.clear();
    out.at = now;

    // Dimensions.
    auto csm = text(s.get(model::profile_field::csm));
    auto segment = text(s.get(model::profile_field::segment));
    out.csm = labels.csm.get(csm.empty() ? std::string_view("none") : csm);
    out.segment = labels.segment.get(segment.empty() ? std::string_view("none") : segment);
    out.band = layout.health_bands[0];
    if (layout.health && *layout.health < account.bands.size()) {
        auto b = account.bands[*layout.health];
        if (b >= 0 && static_cast<std::size_t>(b) + 1 < layout.health_bands.size())
            out.band = layout.health_bands[static_cast<std::size_t>(b) + 1];
    }
    out.status = status_of(s);

    // Revenue: everything follows the movements, so MRR "now" ignores a contract stamped
    // after now until its time comes.
    const auto& moves = s.movements;
    const timestamp month_ago = before(now, churn_window);
    const timestamp year_ago = before(now, cohort_window);
    out.mrr = to_money(mrr_at(moves, now));
    out.active = out.mrr > 0;
    // An account whose profile never said its status is "active" while it pays.
    if (out.status == account_status::none && out.active) out.status = account_status::active;
    out.mrr_year_ago = to_money(mrr_at(moves, year_ago));
    out.mrr_month_ago = to_money(mrr_at(moves, month_ago));
    out.moved_in_month.fill(0);
    out.moved_total.fill(0);
    bool churn_in_month = false;
    const timestamp acquisition_start = before(now, acquisition_window);
    out.new_in_quarter = false;
    for (const auto& m : moves) {
        const money amount = to_money(std::abs(m.after - m.before));
        const auto kind = static_cast<std::size_t>(m.kind);
        // A movement counts from its own instant on, in the 30-day window while it is
        // younger than 30 days, and moves "MRR then" when it crosses 30 and 365 days.
        next.offer(m.at);
        next.offer(after(m.at, churn_window));
        next.offer(after(m.at, cohort_window));
        next.offer(after(m.at, acquisition_window));
        if (m.at > now) continue;
        if (m.kind == movement_kind::new_business && m.at > acquisition_start) out.new_in_quarter = true;
        out.moved_total[kind] += amount;
        if (m.at > month_ago) {
            out.moved_in_month[kind] += amount;
            if (m.kind == movement_kind::churn) churn_in_month = true;
        }
    }
    out.churned_in_month = churn_in_month && out.mrr_month_ago > 0;

    // Voice of the customer over 90 days.
    const timestamp quarter_ago = before(now, voice_window);
    out.nps.fill(0);
    for (const auto& r : stream(s, event_type::nps)) {
        next.offer(r.at);
        next.offer(after(r.at, voice_window));
        if (r.at <= quarter_ago || r.at > now) continue;
        const auto& v = r.values[nps_score_index()];
        if (is_null(v)) continue;
        ++out.nps[static_cast<std::size_t>(category_of_nps(number(v)))];
    }
    out.csat_sum = 0;
    out.csat_count = 0;
    for (const auto& r : stream(s, event_type::csat)) {
        next.offer(r.at);
        next.offer(after(r.at, voice_window));
        if (r.at <= quarter_ago || r.at > now) continue;
        const auto& v = r.values[csat_score_index()];
        if (is_null(v)) continue;
        out.csat_sum += static_cast<std::uint32_t>(std::clamp(number(v), 0.0, 5.0));
        ++out.csat_count;
    }
    out.open_tickets.fill(0);
    for (const auto& t : s.tickets)
        if (t.is_open()) ++out.open_tickets[priority_index(t.priority)];

    // Time to first value: from signed_at (or the first event) to the earliest
    // `first_value` milestone; a milestone before the start counts as 0.
    out.ttfv_seconds = -1;
    for (const auto& r : stream(s, event_type::milestone)) {
        if (text(r.values[milestone_name_index()]) != "first_value") continue;
        timestamp start = s.first_seen.value_or(r.at);
        if (const auto* signed_at = std::get_if<timestamp>(&s.get(model::profile_field::signed_at))) start = *signed_at;
        out.ttfv_seconds = std::max<std::int64_t>(0, std::chrono::duration_cast<std::chrono::seconds>(r.at - start).count());
        break;  // records are sorted by time: the first one is the earliest
    }
    if (out.ttfv_seconds < 0 && previous.present) out.ttfv_seconds = previous.ttfv_seconds;

    // Product-led growth. Activation: like time to first value, for the `activated`
    // milestone at or before now.
    out.activate_seconds = -1;
    for (const auto& r : stream(s, event_type::milestone)) {
        if (text(r.values[milestone_name_index()]) != activated_milestone) continue;
        next.offer(r.at);
        if (r.at > now) break;
        timestamp start = s.first_seen.value_or(r.at);
        if (const auto* signed_at = std::get_if<timestamp>(&s.get(model::profile_field::signed_at))) start = *signed_at;
        out.activate_seconds = seconds_between(start, r.at);
        break;
    }
    if (out.activate_seconds < 0 && previous.present) out.activate_seconds = previous.activate_seconds;
    plg_plans(s, now, config, next, out);
    timestamp users_change = timestamp_max;
    const auto users = count_active_users(s, now, &users_change);
    out.users_day = users.day;
    out.users_month = users.month;  // users_change is kept apart from `next` (next_changes)

    // Team and cost to serve over 90 days.
    out.activities.fill(0);
    out.csm_minutes = 0;
    for (const auto& r : stream(s, event_type::activity)) {
        next.offer(r.at);
        next.offer(after(r.at, voice_window));
        if (r.at <= quarter_ago || r.at > now) continue;
        ++out.activities[activity_index(text(r.values[activity_kind_index()]))];
        out.csm_minutes += to_milli_minutes(std::max(0.0, number(r.values[activity_minutes_index()])));
    }
    out.support_minutes = 0;
    for (const auto& r : stream(s, event_type::ticket)) {
        if (is_null(r.values[ticket_minutes_index()])) continue;
        next.offer(r.at);
        next.offer(after(r.at, voice_window));
        if (r.at <= quarter_ago || r.at > now) continue;
        out.support_minutes += to_milli_minutes(std::max(0.0, number(r.values[ticket_minutes_index()])));
    }
    ticket_times_of(s, now, next, out.tickets);
    timestamp goals_change = timestamp_max;
    out.goals = model::count_goals(s, now, goals_change).by_status;
    next.offer(goals_change);

    // Renewals within (now, now + 30d] and (now, now + 90d], of active accounts.
    out.renews_within_near = out.renews_within_far = false;
    if (const auto* renewal = std::get_if<timestamp>(&s.get(model::profile_field::renewal_at))) {
        next.offer(before(*renewal, renewal_far));
        next.offer(before(*renewal, renewal_near));
        next.offer(*renewal);
        if (out.active && *renewal > now) {
            out.renews_within_near = *renewal <= after(now, renewal_near);
            out.renews_within_far = *renewal <= after(now, renewal_far);
        }
    }

    // Stack.
    out.products = 0;
    if (const auto* products = std::get_if<string_list>(&s.get(model::profile_field::products))) {
        const std::size_t n = std::min(config.stack.size(), max_stack_products);
        for (std::size_t i = 0; i < n; ++i)
            if (std::find(products->begin(), products->end(), config.stack[i].first) != products->end())
                out.products |= std::uint64_t{1} << i;
    }
    out.seats = std::max(0.0, number(s.get(model::profile_field::seats)));

    // Scores and classifications of the rule set the account was just evaluated with.
    out.score_bands.clear();
    out.class_labels.clear();
    out.effort = std::numeric_limits<double>::quiet_NaN();
    for (std::size_t i = 0; i < layout.score_bands.size() && i < account.bands.size(); ++i) {
        const auto& ids = layout.score_bands[i];
        auto b = account.bands[i];
        out.score_bands.push_back(b >= 0 && static_cast<std::size_t>(b) + 1 < ids.size()
                                      ? ids[static_cast<std::size_t>(b) + 1]
                                      : ids[0]);
    }
    for (std::size_t i = 0; i < layout.class_labels.size() && i < account.classes.size(); ++i) {
        const auto& ids = layout.class_labels[i];
        if (account.classes[i] < ids.size()) out.class_labels.push_back(ids[account.classes[i]]);
    }
    if (layout.effort && *layout.effort < account.scores.size()) out.effort = account.scores[*layout.effort];

    // Alerts: the active ones, and those that started firing at this very instant.
    alert_entries(account.alerts, layout, labels, out.alerts);
    out.fired.clear();
    out.unacked = 0;
    out.acked.clear();
    std::size_t entry = 0;
    for (const auto& a : account.alerts) {
        if (!a.active()) continue;
        const label_id id = out.alerts[entry++].rule_severity;
        if (a.state == alerts::alert_state::firing && a.firing_since == now) out.fired.push_back(id);
        if (a.state != alerts::alert_state::firing || !a.firing_since) continue;
        if (a.acknowledged()) {
            const auto first = a.acks.front().at;
            out.acked.push_back({id, first, std::max<std::int64_t>(0, std::chrono::duration_cast<std::chrono::seconds>(
                                                                             first - *a.firing_since).count())});
        } else {
            const timestamp overdue = after(*a.firing_since, unacked_after);
            if (overdue <= now) ++out.unacked;
            else next.offer(overdue);
        }
    }
    if (split) *split = {users_change, next.value()};
    return std::min(users_change, next.value());
}

}  // namespace redflag::kpi
