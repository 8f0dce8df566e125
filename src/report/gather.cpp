#include "report/gather.hpp"

#include "alerts/queries.hpp"
#include "engine/history.hpp"
#include "model/goals.hpp"
#include "model/schema.hpp"

#include <algorithm>
#include <memory>
#include <mutex>

namespace redflag::report {
namespace {

using model::event_type;
using model::profile_field;

std::string text(const scalar& v) {
    if (const auto* s = std::get_if<std::string>(&v)) return *s;
    return {};
}

const std::vector<model::stream_record>& stream(const model::account_state& s, event_type t) {
    return s.stream(t);
}

// The value of field `name` of a record of type `t` (null when the schema has no such
// stream field).
const scalar& field(const model::stream_record& r, event_type t, std::string_view name) {
    static const scalar null;
    auto i = model::stream_field_index(t, name);
    return i && *i < r.values.size() ? r.values[*i] : null;
}

// Each goal's latest record at or before `now` (records are sorted by time).
std::vector<goal_fact> goals_of(const model::account_state& s, timestamp now) {
    std::vector<goal_fact> out;
    for (const auto& r : stream(s, event_type::goal)) {
        if (r.at > now) break;
        goal_fact g;
        g.id = text(field(r, event_type::goal, "goal_id"));
        g.title = text(field(r, event_type::goal, "title"));
        g.status = text(field(r, event_type::goal, "status"));
        if (const auto* due = std::get_if<timestamp>(&field(r, event_type::goal, "due_at"))) g.due_at = *due;
        auto same = std::find_if(out.begin(), out.end(), [&](const goal_fact& x) { return x.id == g.id; });
        if (same != out.end()) *same = std::move(g);
        else out.push_back(std::move(g));
    }
    return out;
}

}  // namespace

void collect(const engine::core& core, timestamp now, const std::string& csm, std::vector<account_facts>& out) {
    core.for_each_account([&](const engine::account_record& record) {
        const auto& s = record.state;
        if (model::is_company(s.id)) return;
        account_facts a;
        a.id = s.id;
        a.name = text(s.get(profile_field::name));
        a.csm = text(s.get(profile_field::csm));
        a.csm_email = text(s.get(profile_field::csm_email));
        if (!matches(a, csm)) return;
        a.segment = text(s.get(profile_field::segment));
        a.mrr = s.mrr();
        if (const auto* r = std::get_if<timestamp>(&s.get(profile_field::renewal_at))) a.renewal_at = *r;
        if (auto h = core.score(s.id, "health")) {
            a.health = h->value;
            a.band = std::string(h->band);
        }
        a.promoter = core.classification(s.id, "advocacy") == std::optional<std::string_view>("promoter");
        for (const auto& r : stream(s, event_type::nps))
            if (const auto* v = std::get_if<double>(&field(r, event_type::nps, "score"))) a.nps.emplace_back(r.at, *v);
        for (const auto& r : stream(s, event_type::milestone))
            if (text(field(r, event_type::milestone, "name")) == "onboarding_completed") a.onboarded.push_back(r.at);
        a.movements = s.movements;
        a.goals = goals_of(s, now);
        out.push_back(std::move(a));
    });
}

void collect_accounts(engine::service& service, timestamp now, std::string csm,
                      std::function<void(std::vector<account_facts>, std::vector<std::string>)> done) {
    struct gathered {
        std::mutex mutex;
        std::vector<account_facts> accounts;
        std::vector<std::string> bands;
    };
    auto all = std::make_shared<gathered>();
    service.post_all(
        [all, now, csm = std::move(csm)](engine::core& core) {
            std::vector<account_facts> mine;
            collect(core, now, csm, mine);
            std::lock_guard lock(all->mutex);
            for (auto& a : mine) all->accounts.push_back(std::move(a));
            if (all->bands.empty() && core.rules())
                for (const auto& score : core.rules()->scores())
                    if (score.name == "health") all->bands = score.bands;
        },
        [all, done = std::move(done)] { done(std::move(all->accounts), std::move(all->bands)); });
}

store::status read_history(const store::store& store, std::string_view account,
                           std::vector<engine::history::point>& out) {
    return store.for_each_prefix(store::column::history, engine::history::prefix(account),
                                 [&](std::string_view key, std::string_view value) {
                                     if (auto p = engine::history::decode(key, value)) out.push_back(std::move(*p));
                                     return true;
                                 });
}

store::status complete(const store::store& store, weekly_input& in) {
    const auto day = engine::history::day_of(in.now - week);
    for (auto& a : in.accounts) {
        if (!matches(a, in.csm)) continue;
        auto got = store.get(store::column::history, engine::history::key(a.id, day));
        if (!got.ok()) return got.error();
        if (!got.value()) continue;
        auto point = engine::history::decode(engine::history::key(a.id, day), *got.value());
        if (!point) continue;  // an unreadable point: as if there were none
        for (const auto& s : point->scores)
            if (s.name == "health") {
                a.health_week_ago = s.value;
                a.band_week_ago = s.band;
            }
    }
    alerts::alert_filter all;
    return alerts::list_alerts(store, all, in.alerts);
}

}  // namespace redflag::report
