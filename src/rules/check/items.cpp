// The checker's items: declarations (names defined twice, reserved names), lets, rules'
// fields, scores' components and bands, classifications' labels, message templates, and
// cycles among lets, scores and classifications.
#include "rules/check/context.hpp"

#include "rules/limits.hpp"
#include "rules/rule_set.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iterator>
#include <map>
#include <set>
#include <type_traits>

namespace redflag::rules::check {
namespace {

std::string format_number(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%g", v);
    return buf;
}

}  // namespace

// ----------------------------------------------------------------- declarations

void checker::declare(ast::program& program) {
    program.lets.clear();
    program.scores.clear();
    program.classifies.clear();
    program.rules.clear();
    for (std::size_t f = 0; f < program.files.size(); ++f) {
        auto& file = program.files[f];
        file_paths_.push_back(&file.path);
        file_texts_.push_back(file.text);
        source_ = {&file.path, file.text};
        for (auto& item : file.items) {
            auto define = [&](const ast::located<std::string>& name, node_kind kind, std::uint32_t index) {
                if (std::find(std::begin(collection_names), std::end(collection_names), name.value) !=
                    std::end(collection_names)) {
                    report(name.pos, "reserved-name", name.value + " is the name of a collection and cannot be redefined");
                    return false;
                }
                if (name.value == "goals") {
                    report(name.pos, "reserved-name", "goals is the account's goals (goals.overdue, goals.achieved) and cannot be redefined");
                    return false;
                }
                if (name.value == "alerts") {
                    report(name.pos, "reserved-name", "alerts is the account's alerts (alerts.unacked, alerts.unacked_for) and cannot be redefined");
                    return false;
                }
                auto [it, inserted] = names_.emplace(name.value, symbol{kind, index});
                if (!inserted) {
                    report(name.pos, "duplicate-name", name.value + " is defined twice",
                           "the first definition is here: " + where_defined(it->second));
                    return false;
                }
                return true;
            };
            if (auto* let = std::get_if<ast::let_item>(&item)) {
                auto index = static_cast<std::uint32_t>(lets_.size());
                if (define(let->name, node_kind::let, index)) {
                    lets_.push_back(let);
                    let_seq_.push_back(next_seq_++);
                    let_files_.push_back(f);
                    program.lets.push_back({let, f});
                } else {
                    duplicates_.push_back({&item, f});
                }
            } else if (auto* score = std::get_if<ast::score_item>(&item)) {
                auto index = static_cast<std::uint32_t>(scores_.size());
                if (define(score->name, node_kind::score, index)) {
                    scores_.push_back(score);
                    score_seq_.push_back(next_seq_++);
                    score_files_.push_back(f);
                    program.scores.push_back({score, f});
                } else {
                    duplicates_.push_back({&item, f});
                }
            } else if (auto* cl = std::get_if<ast::classify_item>(&item)) {
                auto index = static_cast<std::uint32_t>(classifies_.size());
                if (define(cl->name, node_kind::classify, index)) {
                    classifies_.push_back(cl);
                    classify_seq_.push_back(next_seq_++);
                    classify_files_.push_back(f);
                    program.classifies.push_back({cl, f});
                } else {
                    duplicates_.push_back({&item, f});
                }
            } else if (auto* rule = std::get_if<ast::rule_item>(&item)) {
                auto [it, inserted] = rule_names_.emplace(rule->name.value, f);
                if (!inserted) {
                    report(rule->name.pos, "duplicate-name", "rule " + rule->name.value + " is defined twice");
                } else {
                    program.rules.push_back({rule, f});
                }
            }
        }
    }
}

// ----------------------------------------------------------------- lets

// A let is checked once, in its own file and scope, when first reached: in file order,
// or earlier from a reference to it. The lets it reads are checked before it, without
// recursion (a chain of lets may be as long as the files are): when its walk meets a let
// not checked yet, the walk is undone and retried once those are done (each let is
// undone at most once). A let reached again while in progress or waiting is in a cycle.
void checker::check_let(std::uint32_t index) {
    if (let_state_[index] != state::unvisited) return;
    auto saved_source = source_;
    auto saved_owner = owner_;
    auto saved_scopes = std::move(scopes_);
    auto saved_depth = depth_;
    std::vector<std::uint32_t> pending{index};
    while (!pending.empty()) {
        std::uint32_t top = pending.back();
        if (let_state_[top] == state::done) {
            pending.pop_back();
            continue;
        }
        auto needed = attempt_let(top);
        if (needed.empty()) pending.pop_back();
        else pending.insert(pending.end(), needed.rbegin(), needed.rend());
    }
    scopes_ = std::move(saved_scopes);
    owner_ = saved_owner;
    source_ = saved_source;
    depth_ = saved_depth;
}

// Walks one let's expression; returns the lets it reads that are not checked yet, after
// undoing the walk (its diagnostics, edges and types), or nothing once it is done.
std::vector<std::uint32_t> checker::attempt_let(std::uint32_t index) {
    let_state_[index] = state::in_progress;
    enter_file(let_files_[index]);
    scopes_.clear();
    depth_ = 0;
    const std::size_t node = node_id(node_kind::let, index);
    owner_ = node;
    const std::size_t diagnostics_before = out_.size(), edges_before = edges_[node].size();
    const bool reported_before = too_deep_reported_;
    auto& let = *lets_[index];
    needed_.clear();
    attempting_ = true;
    if (let.value) check_value(*let.value);
    attempting_ = false;
    if (needed_.empty()) {
        let_state_[index] = state::done;
        return {};
    }
    out_.resize(diagnostics_before);
    edges_[node].resize(edges_before);
    too_deep_reported_ = reported_before;
    if (let.value) forget_types(*let.value);
    let_state_[index] = state::waiting;
    return std::move(needed_);
}

// Marks a walked expression unchecked again (check_rest relies on it).
void checker::forget_types(ast::expr& e, std::size_t depth) {
    if (e.type == value_type::unknown || depth > max_nesting) return;
    e.type = value_type::unknown;
    auto go = [&](ast::expr_ptr& c) {
        if (c) forget_types(*c, depth + 1);
    };
    std::visit(
        [&](auto& n) {
            using T = std::decay_t<decltype(n)>;
            if constexpr (std::is_same_v<T, ast::list_literal>) {
                for (auto& i : n.items) go(i);
            } else if constexpr (std::is_same_v<T, ast::call>) {
                for (auto& a : n.args) go(a);
            } else if constexpr (std::is_same_v<T, ast::filtered>) {
                go(n.source);
                go(n.condition);
            } else if constexpr (std::is_same_v<T, ast::unary>) {
                go(n.operand);
            } else if constexpr (std::is_same_v<T, ast::binary>) {
                go(n.lhs);
                go(n.rhs);
            } else if constexpr (std::is_same_v<T, ast::conditional>) {
                go(n.condition);
                go(n.then_branch);
                go(n.else_branch);
            } else if constexpr (std::is_same_v<T, ast::parenthesized>) {
                go(n.inner);
            }
        },
        e.node);
}

// ----------------------------------------------------------------- rules

void checker::check_rule(ast::rule_item& rule, const check_options& options) {
    if (!rule.when) {
        report(rule.name.pos, "missing-field", "rule " + rule.name.value + " has no when",
               "every rule needs a condition: when EXPR");
    } else {
        check_bool(*rule.when, "when");
    }
    if (rule.severity) {
        const auto& s = rule.severity->value;
        if (std::find(std::begin(severity_names), std::end(severity_names), s) == std::end(severity_names)) {
            std::vector<std::string> all(std::begin(severity_names), std::end(severity_names));
            report(rule.severity->pos, "invalid-value", "unknown severity " + s + "; expected info, low, medium, high, critical",
                   did_you_mean(s, all));
        }
    }
    if (rule.resolve && rule.resolve->value != "notify" && rule.resolve->value != "silent") {
        report(rule.resolve->pos, "invalid-value", "unknown resolve " + rule.resolve->value + "; expected notify, silent",
               did_you_mean(rule.resolve->value, {"notify", "silent"}));
    }
    check_channels(rule, options);
    if (rule.repeat) {
        auto t = check_value(*rule.repeat);
        if (!like(t, value_type::duration) || t == value_type::null)
            if (t != value_type::error && t != value_type::dynamic)
                report(rule.repeat->pos, "type-mismatch",
                       "repeat must be a duration, not " + tn(t), "e.g. repeat 7d");
    }
    std::vector<std::string> keys;
    for (const auto& l : rule.labels) {
        if (std::find(keys.begin(), keys.end(), l.key.value) != keys.end())
            report(l.key.pos, "duplicate-label", "label " + l.key.value + " is given twice");
        keys.push_back(l.key.value);
    }
    if (rule.message) check_template_parts(*rule.message);
    check_inhibitor_names(rule);
    if (rule.escalate_after && rule.escalate_after->value <= duration::zero())
        report(rule.escalate_after->pos, "invalid-value", "escalate after must be longer than 0", "e.g. escalate after 3d to leadership");
    if (rule.escalate_to) check_channel_name(*rule.escalate_to, options);
    if (rule.snooze_wake_if) check_bool(*rule.snooze_wake_if, "snooze_wake_if");
}

// `inhibited_by`: each name a rule of the loaded files, not the rule itself, named once.
// Cycles among rules are found once every rule is known (check_inhibition_cycles).
void checker::check_inhibitor_names(const ast::rule_item& rule) {
    std::vector<std::string> seen;
    for (const auto& name : rule.inhibited_by) {
        if (std::find(seen.begin(), seen.end(), name.value) != seen.end()) {
            report(name.pos, "duplicate-inhibitor", "rule " + name.value + " is named twice in inhibited_by");
            continue;
        }
        seen.push_back(name.value);
        if (name.value == rule.name.value) {
            report(name.pos, "self-inhibition", "rule " + rule.name.value + " cannot be inhibited by itself",
                   "a rule's own alert would hold back its own notifications forever");
        } else if (!rule_names_.count(name.value)) {
            std::vector<std::string> all;
            for (const auto& [n, f] : rule_names_) all.push_back(n);
            report(name.pos, "unknown-rule", "unknown rule " + name.value + " in inhibited_by", did_you_mean(name.value, all));
        }
    }
}

// A cycle of inhibitions (a inhibited_by b, b inhibited_by a) would let each alert hold
// back the other's notifications: both stay silent. Reported once per cycle, at the
// inhibited_by entry of its first rule in load order.
void checker::check_inhibition_cycles(const ast::program& program) {
    const std::size_t n = program.rules.size();
    std::map<std::string_view, std::size_t> index;
    for (std::size_t i = 0; i < n; ++i) index.emplace(program.rules[i].item->name.value, i);
    // edges[i]: (target rule, the entry naming it)
    std::vector<std::vector<std::pair<std::size_t, const ast::located<std::string>*>>> edges(n);
    for (std::size_t i = 0; i < n; ++i)
        for (const auto& name : program.rules[i].item->inhibited_by)
            if (auto it = index.find(name.value); it != index.end() && it->second != i)
                edges[i].emplace_back(it->second, &name);
    std::vector<std::uint8_t> color(n, 0);  // 0 white, 1 on the stack, 2 done
    struct frame {
        std::size_t rule;
        std::size_t next = 0;
    };
    for (std::size_t start = 0; start < n; ++start) {
        if (color[start]) continue;
        std::vector<frame> frames{{start}};
        color[start] = 1;
        while (!frames.empty()) {
            auto& top = frames.back();
            if (top.next >= edges[top.rule].size()) {
                color[top.rule] = 2;
                frames.pop_back();
                continue;
            }
            // Named copies, not a structured binding: clang 14 cannot capture a binding in a lambda.
            const auto& edge = edges[top.rule][top.next++];
            const auto to = edge.first;
            const auto* entry = edge.second;
            if (color[to] == 0) {
                color[to] = 1;
                frames.push_back({to});
            } else if (color[to] == 1) {
                auto first = std::find_if(frames.begin(), frames.end(), [&](const frame& f) { return f.rule == to; });
                std::string path;
                for (auto f = first; f != frames.end(); ++f) path += program.rules[f->rule].item->name.value + " -> ";
                path += program.rules[to].item->name.value;
                // The cycle's first rule in load order, and its entry on the cycle.
                auto lowest = std::min_element(first, frames.end(), [](const frame& a, const frame& b) { return a.rule < b.rule; });
                const auto* at = entry;
                for (const auto& [target, e] : edges[lowest->rule]) {
                    bool next_on_cycle = std::next(lowest) != frames.end() ? target == std::next(lowest)->rule : target == to;
                    if (next_on_cycle) { at = e; break; }
                }
                enter_file(program.rules[lowest->rule].file);
                report(at->pos, "inhibition-cycle", "inhibition cycle: " + path,
                       "rules that inhibit each other would hold back each other's notifications");
            }
        }
    }
}

void checker::check_channels(const ast::rule_item& rule, const check_options& options) {
    std::vector<std::string> seen_channels;
    for (const auto& ch : rule.notify) {
        if (std::find(seen_channels.begin(), seen_channels.end(), ch.value) != seen_channels.end())
            report(ch.pos, "duplicate-channel", "channel " + ch.value + " is named twice");
        seen_channels.push_back(ch.value);
        check_channel_name(ch, options);
    }
}

// A channel a rule names (notify, escalate): with a config given, one it defines.
void checker::check_channel_name(const ast::located<std::string>& ch, const check_options& options) {
    if (!options.channels || options.channels->count(ch.value)) return;
    std::vector<std::string> all(options.channels->begin(), options.channels->end());
    std::string hint = did_you_mean(ch.value, all);
    if (hint.empty()) hint = all.empty() ? "the config defines no channels" : "channels in the config: " + join(all);
    report(ch.pos, "unknown-channel", "unknown channel " + ch.value, hint);
}

// ----------------------------------------------------------------- scores

void checker::check_score_item(ast::score_item& score) {
    check_components(score);
    check_bands(score);
}

void checker::check_components(ast::score_item& score) {
    if (score.components.empty())
        report(score.name.pos, "invalid-score", "score " + score.name.value + " has no component",
               "e.g. component usage weight 35 = avg(usage.active_users, 28d) / account.seats");
    std::vector<std::string> seen;
    for (auto& c : score.components) {
        if (std::find(seen.begin(), seen.end(), c.name.value) != seen.end())
            report(c.name.pos, "duplicate-name", "component " + c.name.value + " is defined twice in score " + score.name.value);
        else if (c.name.value == "score" || c.name.value == "band")
            report(c.name.pos, "reserved-name", "a component cannot be called " + c.name.value,
                   score.name.value + "." + c.name.value + " is the score's own " + c.name.value);
        seen.push_back(c.name.value);
        if (!(c.weight.value > 0) || !std::isfinite(c.weight.value))
            report(c.weight.pos, "invalid-score", "weight must be greater than 0");
        if (c.value) {
            auto t = check_value(*c.value);
            if (!like(t, value_type::number))
                report(c.value->pos, "type-mismatch", "a component must be a number, not " + tn(t),
                       "components are numbers clamped to [0, 1]");
        }
    }
}

void checker::check_bands(ast::score_item& score) {
    if (score.bands.empty())
        report(score.name.pos, "invalid-score", "score " + score.name.value + " has no band", "e.g. band green >= 70, then band red");
    std::vector<std::string> band_names;
    std::optional<double> previous;
    std::string previous_name;
    for (std::size_t i = 0; i < score.bands.size(); ++i) {
        auto& b = score.bands[i];
        bool last = i + 1 == score.bands.size();
        if (std::find(band_names.begin(), band_names.end(), b.name.value) != band_names.end())
            report(b.name.pos, "duplicate-name", "band " + b.name.value + " is defined twice in score " + score.name.value);
        else if (b.name.value == "unknown")
            report(b.name.pos, "reserved-name", "a band cannot be called unknown", "unknown is the band of a null score");
        band_names.push_back(b.name.value);
        if (last && b.threshold) {
            report(b.threshold->pos, "invalid-score", "the last band catches the rest and has no threshold",
                   "write band " + b.name.value + " without >= N");
        } else if (!last && !b.threshold) {
            report(b.name.pos, "invalid-score", "band " + b.name.value + " needs a threshold (>= N): only the last band has none");
        }
        if (b.threshold) {
            if (previous && !(b.threshold->value < *previous))
                report(b.threshold->pos, "invalid-score",
                       "band thresholds must descend: " + b.name.value + " >= " + b.threshold_text + " comes after " +
                           previous_name + " >= " + format_number(*previous));
            previous = b.threshold->value;
            previous_name = b.name.value;
        }
    }
}

// ----------------------------------------------------------------- classifications

void checker::check_classify_item(ast::classify_item& cl) {
    std::vector<std::string> labels;
    for (auto& c : cl.cases) {
        if (std::find(labels.begin(), labels.end(), c.label.value) != labels.end())
            report(c.label.pos, "duplicate-name", "label " + c.label.value + " is given twice in classify " + cl.name.value);
        labels.push_back(c.label.value);
        if (c.condition) check_bool(*c.condition, "when");
    }
    if (!cl.default_label) {
        report(cl.name.pos, "missing-field", "classify " + cl.name.value + " has no default label",
               "end it with: default LABEL");
    } else if (std::find(labels.begin(), labels.end(), cl.default_label->value) != labels.end()) {
        report(cl.default_label->pos, "duplicate-name",
               "label " + cl.default_label->value + " is given twice in classify " + cl.name.value);
    }
}

// ----------------------------------------------------------------- cycles

// Depth-first search over the dependency graph (with an explicit stack: a chain of lets
// may be as long as the files are); each cycle is reported once, at the definition (in
// load order) of its first member.
void checker::check_cycles() {
    const std::size_t n = edges_.size();
    std::vector<std::uint8_t> color(n, 0);  // 0 white, 1 on the stack, 2 done
    std::vector<std::size_t> stack;
    std::set<std::vector<std::size_t>> reported;
    struct frame {
        std::size_t node;
        std::size_t next = 0;
    };
    for (std::size_t start = 0; start < n; ++start) {
        if (color[start]) continue;
        std::vector<frame> frames{{start}};
        color[start] = 1;
        stack.assign(1, start);
        while (!frames.empty()) {
            auto& top = frames.back();
            if (top.next < edges_[top.node].size()) {
                auto to = edges_[top.node][top.next++];
                if (color[to] == 0) {
                    color[to] = 1;
                    frames.push_back({to});
                    stack.push_back(to);
                } else if (color[to] == 1) {
                    std::vector<std::size_t> cycle(std::find(stack.begin(), stack.end(), to), stack.end());
                    auto first = std::min_element(cycle.begin(), cycle.end(), [&](auto a, auto b) {
                        return node_order(a) < node_order(b);
                    });
                    std::rotate(cycle.begin(), first, cycle.end());
                    if (reported.insert(cycle).second) report_cycle(std::move(cycle));
                }
            } else {
                color[top.node] = 2;
                frames.pop_back();
                stack.pop_back();
            }
        }
    }
}

// "cycle: a -> b -> a"; a long cycle shows its first and last names and how many.
void checker::report_cycle(std::vector<std::size_t> cycle) {
    constexpr std::size_t shown = 16;
    std::string text;
    for (std::size_t i = 0; i < cycle.size(); ++i) {
        if (cycle.size() > shown && i == shown - 2) {
            text += "... -> ";
            i = cycle.size() - 2;
        }
        text += name_of(cycle[i]) + " -> ";
    }
    text += name_of(cycle.front());
    if (cycle.size() > shown) text += " (" + std::to_string(cycle.size()) + " names)";
    auto [file, pos] = definition_of(cycle.front());
    enter_file(file);
    report(pos, "cycle", "cycle: " + text, "lets, scores and classifications cannot depend on themselves");
}

// ----------------------------------------------------------------- templates

void checker::check_template_parts(ast::message_template& tpl) {
    for (auto& part : tpl.parts) {
        part.fmt = ast::template_format::none;
        if (!part.expression) continue;
        auto t = check_value(*part.expression);
        const auto& f = part.format.value;
        if (f.empty()) {
            part.fmt = ast::template_format::none;
            continue;
        }
        value_type wanted = value_type::number;
        if (f == "round") part.fmt = ast::template_format::round;
        else if (f == "pct") part.fmt = ast::template_format::pct;
        else if (f == "money") part.fmt = ast::template_format::money;
        else if (f == "days") part.fmt = ast::template_format::days, wanted = value_type::duration;
        else if (f == "date") part.fmt = ast::template_format::date, wanted = value_type::time;
        else {
            report(part.format.pos, "unknown-format", "unknown format " + f + "; expected round, pct, money, days, date",
                   did_you_mean(f, {"round", "pct", "money", "days", "date"}));
            continue;
        }
        if (!like(t, wanted))
            report(part.expression->pos, "type-mismatch",
                   "format " + f + " needs a " + tn(wanted) + ", not " + tn(t));
    }
}

}  // namespace redflag::rules::check
