#include "rules/eval/inputs.hpp"

#include "rules/eval/program.hpp"

#include <algorithm>

namespace redflag::rules::eval {
namespace {

input_mask metric_input(const program& p, std::string_view metric) {
    auto it = std::find(p.input_metrics.begin(), p.input_metrics.end(), metric);
    if (it == p.input_metrics.end()) return inputs::stream(model::event_type::usage);
    return input_mask{1} << (inputs::first_metric_bit + static_cast<unsigned>(it - p.input_metrics.begin()));
}

input_mask source_inputs(const program& p, const source_spec& s) {
    switch (s.kind) {
        case source_kind::records: return inputs::stream(s.type);
        case source_kind::usage_metric: return metric_input(p, s.metric);
        case source_kind::usage_all: return inputs::stream(model::event_type::usage);
        case source_kind::users: return inputs::users;
        case source_kind::tickets: return inputs::tickets;
        case source_kind::products: return inputs::profile;
    }
    return inputs::all;
}

// Walks expressions; a slot (let, score, classification) is analysed on first reference,
// so slots may refer to each other in any order (the checker has rejected cycles).
class analyzer {
public:
    explicit analyzer(const program& p, std::vector<input_mask>& slots) : p_(p), slots_(slots) {
        slots_.assign(p.cached_count(), 0);
        done_.assign(p.cached_count(), 0);
    }

    input_mask slot(std::uint32_t s) {
        if (s >= slots_.size()) return inputs::all;
        if (done_[s] == 2) return slots_[s];
        if (done_[s] == 1) return inputs::all;  // a cycle: the checker rejects these; be safe
        done_[s] = 1;
        input_mask m = 0;
        if (s < p_.lets.size()) {
            m = expr(*p_.lets[s]);
        } else if (s < p_.lets.size() + p_.scores.size()) {
            for (const auto& c : p_.scores[s - p_.lets.size()].components)
                if (c.expr) m |= expr(*c.expr);
        } else {
            for (const auto& [label, when] : p_.classifies[s - p_.lets.size() - p_.scores.size()].cases)
                if (when) m |= expr(*when);
        }
        slots_[s] = m;
        done_[s] = 2;
        return m;
    }

    // `scope` is the kind of item `where` filters are about (item_field reads its fields).
    input_mask expr(const node& n, source_kind scope = source_kind::records) {
        input_mask m = 0;
        for (const node* a : n.args)
            if (a) m |= expr(*a, scope);
        switch (n.code) {
            case op::item_field:
                // The times a usage event moves are their own input; other fields of a user
                // come with the collection (the aggregate's source).
                if (scope == source_kind::users && (n.sub_ == user_fields::first_seen || n.sub_ == user_fields::last_seen))
                    m |= inputs::user_seen;
                break;
            case op::account_field:
            case op::account_arr:
            case op::account_attribute:
            case op::changed:
            case op::previous: m |= inputs::profile; break;
            case op::account_first_seen: m |= inputs::first_seen; break;
            case op::goals_count: m |= inputs::stream(model::event_type::goal); break;
            case op::alert_facts: m |= inputs::alerts; break;
            case op::let_ref: m |= slot(p_.let_slot(n.index_)); break;
            case op::score_value:
            case op::score_band:
            case op::score_component: m |= slot(p_.score_slot(n.index_)); break;
            case op::classify_ref: m |= slot(p_.classify_slot(n.index_)); break;
            case op::since_stream:
                // With no event of the stream, since() counts from the account's first event.
                m |= source_inputs(p_, n.source_) | inputs::first_seen;
                if (n.source_.filter) m |= expr(*n.source_.filter, n.source_.kind);
                break;
            default:
                if (is_aggregate(n.code)) {
                    m |= source_inputs(p_, n.source_);
                    if (n.source_.filter) m |= expr(*n.source_.filter, n.source_.kind);
                }
                break;  // else constants, now(), operators, functions: their args
        }
        return m;
    }

private:
    const program& p_;
    std::vector<input_mask>& slots_;
    std::vector<std::uint8_t> done_;
};

void collect_metrics(const node& n, std::vector<std::string>& out) {
    if (n.source_.kind == source_kind::usage_metric &&
        (n.code == op::since_stream || is_aggregate(n.code)) &&
        std::find(out.begin(), out.end(), n.source_.metric) == out.end())
        out.push_back(n.source_.metric);
}

}  // namespace

void analyze_inputs(program& p) {
    p.input_metrics.clear();
    for (const auto& n : p.nodes)
        if (n) collect_metrics(*n, p.input_metrics);
    if (p.input_metrics.size() > inputs::metric_bits) p.input_metrics.resize(inputs::metric_bits);

    p.score_components_read.assign(p.scores.size(), 0);
    for (const auto& n : p.nodes)
        if (n && n->code == op::score_component && n->index_ < p.scores.size()) p.score_components_read[n->index_] = 1;

    analyzer a(p, p.slot_inputs);
    for (std::uint32_t s = 0; s < p.cached_count(); ++s) a.slot(s);
    p.rule_inputs.clear();
    for (const auto& r : p.rules) p.rule_inputs.push_back(r.when ? a.expr(*r.when) : 0);
    p.component_inputs.assign(p.component_count, 0);
    for (const auto& s : p.scores)
        for (std::size_t c = 0; c < s.components.size(); ++c)
            if (s.components[c].expr) p.component_inputs[s.first_component + c] = a.expr(*s.components[c].expr);
}

input_mask inputs_of(const program& p, const node& n) {
    std::vector<input_mask> scratch;
    analyzer a(p, scratch);
    return a.expr(n);
}

input_mask inputs_changed_by(const program& p, const model::event& e, const model::account_state& before) {
    input_mask m = inputs::stream(e.type);
    if (!before.first_seen || e.at < *before.first_seen) m |= inputs::first_seen;
    switch (e.type) {
        case model::event_type::account:
        case model::event_type::contract: m |= inputs::profile; break;
        case model::event_type::user: m |= inputs::users; break;
        case model::event_type::ticket: m |= inputs::tickets; break;
        case model::event_type::usage: {
            auto metric = e.fields.find("metric");
            if (metric != e.fields.end() && metric->value().is_string())
                m |= metric_input(p, metric->value().get_string());
            if (auto user = e.fields.find("user_id"); user != e.fields.end() && user->value().is_string()) {
                m |= inputs::user_seen;  // the user's last_seen (and first_seen)
                if (!before.find_user(user->value().get_string())) m |= inputs::users;  // a new member
            }
            break;
        }
        default: break;
    }
    return m;
}

}  // namespace redflag::rules::eval
