#include "rules/check/checker.hpp"

#include "model/schema.hpp"
#include "rules/check/suggest.hpp"
#include "rules/rule_set.hpp"

#include <algorithm>
#include <cstdio>
#include <set>
#include <span>
#include <cmath>
#include <map>
#include <unordered_map>

namespace redflag::rules::check {

using ast::value_type;

std::string_view type_name(value_type t) {
    switch (t) {
        case value_type::unknown: return "unknown";
        case value_type::error: return "error";
        case value_type::null: return "null";
        case value_type::boolean: return "bool";
        case value_type::number: return "number";
        case value_type::string: return "string";
        case value_type::duration: return "duration";
        case value_type::time: return "time";
        case value_type::list: return "list";
        case value_type::stream: return "stream";
        case value_type::collection: return "collection";
        case value_type::dynamic: return "dynamic";
    }
    return "unknown";
}

namespace {

constexpr std::uint32_t at_field = 0xFFFFFFFF;

struct item_field_spec {
    std::string_view name;
    value_type type;
};
constexpr item_field_spec user_item_fields[] = {
    {"id", value_type::string},         {"email", value_type::string},  {"name", value_type::string},
    {"role", value_type::string},       {"active", value_type::boolean}, {"first_seen", value_type::time},
    {"last_seen", value_type::time},
};
constexpr item_field_spec ticket_item_fields[] = {
    {"id", value_type::string},      {"status", value_type::string},  {"priority", value_type::string},
    {"subject", value_type::string}, {"opened_at", value_type::time},
};
constexpr item_field_spec product_item_fields[] = {{"product", value_type::string}};

std::span<const item_field_spec> item_fields(ast::collection_kind c) {
    switch (c) {
        case ast::collection_kind::users: return user_item_fields;
        case ast::collection_kind::tickets: return ticket_item_fields;
        case ast::collection_kind::products: return product_item_fields;
    }
    return {};
}

constexpr std::string_view collection_names[] = {"users", "tickets", "products"};

value_type field_type(model::field_kind k) {
    switch (k) {
        case model::field_kind::string: return value_type::string;
        case model::field_kind::integer:
        case model::field_kind::number: return value_type::number;
        case model::field_kind::boolean: return value_type::boolean;
        case model::field_kind::time: return value_type::time;
        case model::field_kind::string_list: return value_type::list;
        case model::field_kind::object: return value_type::dynamic;
    }
    return value_type::dynamic;
}

value_type profile_type(model::profile_field f) {
    using model::profile_field;
    switch (f) {
        case profile_field::seats:
        case profile_field::employees:
        case profile_field::locations:
        case profile_field::mrr: return value_type::number;
        case profile_field::signed_at:
        case profile_field::renewal_at: return value_type::time;
        case profile_field::products: return value_type::list;
        default: return value_type::string;
    }
}

struct function_spec {
    std::string_view name;
    ast::builtin fn;
};
constexpr function_spec functions[] = {
    {"count", ast::builtin::count},   {"sum", ast::builtin::sum},
    {"avg", ast::builtin::avg},       {"min", ast::builtin::min},
    {"max", ast::builtin::max},       {"first", ast::builtin::first},
    {"last", ast::builtin::last},     {"distinct", ast::builtin::distinct},
    {"rate", ast::builtin::rate},     {"any", ast::builtin::any},
    {"all", ast::builtin::all},       {"since", ast::builtin::since},
    {"changed", ast::builtin::changed}, {"previous", ast::builtin::previous},
    {"now", ast::builtin::now},       {"abs", ast::builtin::abs},
    {"clamp", ast::builtin::clamp},   {"round", ast::builtin::round},
    {"floor", ast::builtin::floor},   {"ceil", ast::builtin::ceil},
    {"pct_change", ast::builtin::pct_change}, {"days", ast::builtin::days},
    {"coalesce", ast::builtin::coalesce}, {"lower", ast::builtin::lower},
    {"upper", ast::builtin::upper},   {"contains", ast::builtin::contains},
    {"starts_with", ast::builtin::starts_with},
};

bool is_absorbing(value_type t) { return t == value_type::error || t == value_type::null || t == value_type::dynamic; }

bool like(value_type a, value_type b) { return a == b || is_absorbing(a) || is_absorbing(b); }

value_type unify(value_type a, value_type b) {
    if (a == value_type::error || b == value_type::error) return value_type::error;
    if (a == value_type::null || a == value_type::dynamic) return b == value_type::null ? a : b;
    return a;
}

const ast::expr& strip_parens(const ast::expr& e) {
    const ast::expr* p = &e;
    while (auto* paren = std::get_if<ast::parenthesized>(&p->node)) {
        if (!paren->inner) break;
        p = paren->inner.get();
    }
    return *p;
}

std::string path_text(const ast::path& p) {
    std::string s;
    for (const auto& seg : p.segments) {
        if (!s.empty()) s += '.';
        s += seg.value;
    }
    return s;
}

std::string join(const std::vector<std::string>& items, std::string_view sep = ", ") {
    std::string s;
    for (const auto& i : items) {
        if (!s.empty()) s += sep;
        s += i;
    }
    return s;
}

std::string format_number(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%g", v);
    return buf;
}

class checker {
public:
    checker(const ast::program& program, diagnostics& out) : program_(program), out_(out) {}

    // Full check of a program (fills its tables).
    void run(ast::program& program, const check_options& options);

    // A template against an already checked program.
    void run_template(ast::message_template& tpl, const std::string& origin);

private:
    enum class node_kind : std::uint8_t { let, score, classify };
    struct symbol {
        node_kind kind;
        std::uint32_t index;
    };
    struct where_scope {
        bool stream = true;
        model::event_type type{};
        ast::collection_kind collection{};
    };
    struct source {
        const std::string* file = nullptr;
        std::string_view text;
    };

    // ------------------------------------------------------------- reporting
    void report(ast::position pos, std::string code, std::string message, std::string hint = {}) {
        diagnostic d;
        d.code = std::move(code);
        d.message = std::move(message);
        d.file = source_.file ? *source_.file : std::string();
        d.line = pos.line;
        d.column = pos.column;
        d.snippet = std::string(source_line(source_.text, pos.line));
        d.hint = std::move(hint);
        out_.push_back(std::move(d));
    }

    std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates) {
        if (auto best = closest(word, candidates)) return "did you mean " + *best + "?";
        return {};
    }

    // ------------------------------------------------------------- items
    void declare(ast::program& program);
    void check_let(std::uint32_t index);
    void check_rule(ast::rule_item& rule, const check_options& options);
    void check_score(std::uint32_t index);
    void check_classify(std::uint32_t index);
    void check_cycles();
    void check_template_parts(ast::message_template& tpl);

    // ------------------------------------------------------------- expressions
    value_type check(ast::expr& e);
    value_type check_value(ast::expr& e);  // also rejects streams, collections and windows
    value_type check_bool(ast::expr& e, std::string_view what);
    value_type check_path(ast::expr& e, ast::path& p);
    value_type check_call(ast::expr& e, ast::call& c);
    value_type check_unary(ast::expr& e, ast::unary& u);
    value_type check_binary(ast::expr& e, ast::binary& b);
    value_type check_filtered(ast::expr& e, ast::filtered& f);
    bool check_window(ast::expr& e);
    void check_label_literal(const ast::expr& side, const ast::expr& other);
    value_type reference(node_kind kind, std::uint32_t index);
    std::vector<std::string> candidates() const;
    std::vector<std::string> global_names() const;
    mutable std::vector<std::string> global_candidates_;

    const ast::program& program_;
    diagnostics& out_;
    source source_;
    std::map<std::string, symbol, std::less<>> names_;
    std::map<std::string, std::size_t, std::less<>> rule_names_;

    std::vector<ast::let_item*> lets_;
    std::vector<std::size_t> let_files_;
    std::vector<ast::score_item*> scores_;
    std::vector<std::size_t> score_files_;
    std::vector<ast::classify_item*> classifies_;
    std::vector<std::size_t> classify_files_;
    std::vector<const std::string*> file_paths_;
    std::vector<std::string_view> file_texts_;

    enum class state : std::uint8_t { unvisited, in_progress, done };
    std::vector<state> let_state_;
    bool frozen_ = false;  // checking a template against a finished program

    // Dependency graph among lets, scores and classifies, for cycles.
    std::size_t node_id(node_kind k, std::uint32_t i) const {
        switch (k) {
            case node_kind::let: return i;
            case node_kind::score: return lets_.size() + i;
            case node_kind::classify: return lets_.size() + scores_.size() + i;
        }
        return 0;
    }
    std::vector<std::vector<std::size_t>> edges_;
    std::vector<std::pair<ast::item*, std::size_t>> duplicates_;  // second definitions, still checked
    std::string where_defined(const symbol& s) const;
    ast::position pos_of(const symbol& s) const;
    const std::string& name_of(std::size_t node) const;
    void check_score_item(ast::score_item& score);
    void check_classify_item(ast::classify_item& cl);
    void enter_file(std::size_t f) { source_ = {file_paths_[f], file_texts_[f]}; }
    std::size_t next_seq_ = 0;
    std::vector<std::size_t> let_seq_, score_seq_, classify_seq_;
    std::size_t node_order(std::size_t node) const {
        if (node < lets_.size()) return let_seq_[node];
        node -= lets_.size();
        if (node < scores_.size()) return score_seq_[node];
        return classify_seq_[node - scores_.size()];
    }
    std::pair<std::size_t, ast::position> definition_of(std::size_t node) const {
        if (node < lets_.size()) return {let_files_[node], lets_[node]->name.pos};
        node -= lets_.size();
        if (node < scores_.size()) return {score_files_[node], scores_[node]->name.pos};
        node -= scores_.size();
        return {classify_files_[node], classifies_[node]->name.pos};
    }
    std::optional<std::size_t> owner_;
    std::vector<where_scope> scopes_;
};

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

std::string checker::where_defined(const symbol& s) const {
    std::size_t f = 0;
    switch (s.kind) {
        case node_kind::let: f = let_files_[s.index]; break;
        case node_kind::score: f = score_files_[s.index]; break;
        case node_kind::classify: f = classify_files_[s.index]; break;
    }
    auto pos = pos_of(s);
    return *file_paths_[f] + ":" + std::to_string(pos.line) + ":" + std::to_string(pos.column);
}

ast::position checker::pos_of(const symbol& s) const {
    switch (s.kind) {
        case node_kind::let: return lets_[s.index]->name.pos;
        case node_kind::score: return scores_[s.index]->name.pos;
        case node_kind::classify: return classifies_[s.index]->name.pos;
    }
    return {};
}

const std::string& checker::name_of(std::size_t node) const {
    if (node < lets_.size()) return lets_[node]->name.value;
    node -= lets_.size();
    if (node < scores_.size()) return scores_[node]->name.value;
    node -= scores_.size();
    return classifies_[node]->name.value;
}

// ----------------------------------------------------------------- driver

void checker::run(ast::program& program, const check_options& options) {
    declare(program);
    let_state_.assign(lets_.size(), state::unvisited);
    edges_.assign(lets_.size() + scores_.size() + classifies_.size(), {});

    std::uint32_t let_index = 0, score_index = 0, classify_index = 0;
    for (std::size_t f = 0; f < program.files.size(); ++f) {
        for (auto& item : program.files[f].items) {
            enter_file(f);
            bool duplicate = std::any_of(duplicates_.begin(), duplicates_.end(),
                                         [&](const auto& d) { return d.first == &item; });
            if (auto* let = std::get_if<ast::let_item>(&item)) {
                if (duplicate) {
                    owner_.reset();
                    if (let->value) check_value(*let->value);
                } else {
                    check_let(let_index++);
                }
            } else if (auto* score = std::get_if<ast::score_item>(&item)) {
                owner_ = duplicate ? std::nullopt : std::optional<std::size_t>(node_id(node_kind::score, score_index++));
                check_score_item(*score);
            } else if (auto* cl = std::get_if<ast::classify_item>(&item)) {
                owner_ = duplicate ? std::nullopt
                                   : std::optional<std::size_t>(node_id(node_kind::classify, classify_index++));
                check_classify_item(*cl);
            } else if (auto* rule = std::get_if<ast::rule_item>(&item)) {
                owner_.reset();
                check_rule(*rule, options);
            }
        }
    }
    check_cycles();
}

void checker::run_template(ast::message_template& tpl, const std::string& origin) {
    frozen_ = true;
    for (const auto& l : program_.lets) lets_.push_back(const_cast<ast::let_item*>(l.item));
    for (const auto& s : program_.scores) scores_.push_back(const_cast<ast::score_item*>(s.item));
    for (const auto& c : program_.classifies) classifies_.push_back(const_cast<ast::classify_item*>(c.item));
    for (std::uint32_t i = 0; i < lets_.size(); ++i) names_.emplace(lets_[i]->name.value, symbol{node_kind::let, i});
    for (std::uint32_t i = 0; i < scores_.size(); ++i)
        names_.emplace(scores_[i]->name.value, symbol{node_kind::score, i});
    for (std::uint32_t i = 0; i < classifies_.size(); ++i)
        names_.emplace(classifies_[i]->name.value, symbol{node_kind::classify, i});
    let_state_.assign(lets_.size(), state::done);
    edges_.assign(lets_.size() + scores_.size() + classifies_.size(), {});
    source_ = {&origin, tpl.raw};
    check_template_parts(tpl);
}

// ----------------------------------------------------------------- items

void checker::check_let(std::uint32_t index) {
    if (let_state_[index] != state::unvisited) return;
    let_state_[index] = state::in_progress;
    auto saved_source = source_;
    auto saved_owner = owner_;
    auto saved_scopes = std::move(scopes_);
    scopes_.clear();
    enter_file(let_files_[index]);
    owner_ = node_id(node_kind::let, index);
    auto& let = *lets_[index];
    if (let.value) check_value(*let.value);
    scopes_ = std::move(saved_scopes);
    owner_ = saved_owner;
    source_ = saved_source;
    let_state_[index] = state::done;
}

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
    std::vector<std::string> seen_channels;
    for (const auto& ch : rule.notify) {
        if (std::find(seen_channels.begin(), seen_channels.end(), ch.value) != seen_channels.end())
            report(ch.pos, "duplicate-channel", "channel " + ch.value + " is named twice");
        seen_channels.push_back(ch.value);
        if (options.channels && !options.channels->count(ch.value)) {
            std::vector<std::string> all(options.channels->begin(), options.channels->end());
            std::string hint = did_you_mean(ch.value, all);
            if (hint.empty())
                hint = all.empty() ? "the config defines no channels" : "channels in the config: " + join(all);
            report(ch.pos, "unknown-channel", "unknown channel " + ch.value, hint);
        }
    }
    if (rule.repeat) {
        auto t = check_value(*rule.repeat);
        if (!like(t, value_type::duration) || t == value_type::null)
            if (t != value_type::error && t != value_type::dynamic)
                report(rule.repeat->pos, "type-mismatch",
                       "repeat must be a duration, not " + std::string(type_name(t)), "e.g. repeat 7d");
    }
    std::vector<std::string> keys;
    for (const auto& l : rule.labels) {
        if (std::find(keys.begin(), keys.end(), l.key.value) != keys.end())
            report(l.key.pos, "duplicate-label", "label " + l.key.value + " is given twice");
        keys.push_back(l.key.value);
    }
    if (rule.message) check_template_parts(*rule.message);
}

void checker::check_score_item(ast::score_item& score) {
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
                report(c.value->pos, "type-mismatch",
                       "a component must be a number, not " + std::string(type_name(t)),
                       "components are numbers clamped to [0, 1]");
        }
    }
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

// Depth-first search over the dependency graph; each cycle is reported once, at the
// definition (in load order) of its first member.
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
                    auto from = std::find(stack.begin(), stack.end(), to);
                    std::vector<std::size_t> cycle(from, stack.end());
                    auto first = std::min_element(cycle.begin(), cycle.end(), [&](auto a, auto b) {
                        return node_order(a) < node_order(b);
                    });
                    std::rotate(cycle.begin(), first, cycle.end());
                    if (reported.insert(cycle).second) {
                        std::string text;
                        for (auto c : cycle) text += name_of(c) + " -> ";
                        text += name_of(cycle.front());
                        auto [file, pos] = definition_of(cycle.front());
                        enter_file(file);
                        report(pos, "cycle", "cycle: " + text, "lets, scores and classifications cannot depend on themselves");
                    }
                }
            } else {
                color[top.node] = 2;
                frames.pop_back();
                stack.pop_back();
            }
        }
    }
}

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
                   "format " + f + " needs a " + std::string(type_name(wanted)) + ", not " + std::string(type_name(t)));
    }
}

// ----------------------------------------------------------------- expressions

value_type checker::check_value(ast::expr& e) {
    auto t = check(e);
    if (t == value_type::stream || t == value_type::collection) {
        const auto& inner = strip_parens(e);
        std::string what = "this";
        if (auto* p = std::get_if<ast::path>(&inner.node)) what = path_text(*p);
        else if (auto* f = std::get_if<ast::filtered>(&inner.node); f && f->source)
            if (auto* sp = std::get_if<ast::path>(&strip_parens(*f->source).node)) what = path_text(*sp);
        if (t == value_type::stream)
            report(e.pos, "type-mismatch", what + " is a stream of events, not a value",
                   "aggregate it, e.g. count(" + what + ", 30d) or since(" + what + ")");
        else
            report(e.pos, "type-mismatch", what + " is a collection, not a value",
                   "use any(" + what + " where ...), all(...) or count(...)");
        return value_type::error;
    }
    return t;
}

value_type checker::check_bool(ast::expr& e, std::string_view what) {
    auto t = check_value(e);
    if (!like(t, value_type::boolean))
        report(e.pos, "type-mismatch", std::string(what) + " needs a bool, not " + std::string(type_name(t)));
    return t;
}

value_type checker::check(ast::expr& e) {
    value_type t = value_type::error;
    if (std::holds_alternative<ast::number_literal>(e.node)) {
        t = value_type::number;
    } else if (std::holds_alternative<ast::string_literal>(e.node)) {
        t = value_type::string;
    } else if (std::holds_alternative<ast::bool_literal>(e.node)) {
        t = value_type::boolean;
    } else if (std::holds_alternative<ast::null_literal>(e.node)) {
        t = value_type::null;
    } else if (std::holds_alternative<ast::duration_literal>(e.node)) {
        t = value_type::duration;
    } else if (auto* list = std::get_if<ast::list_literal>(&e.node)) {
        value_type item = value_type::null;
        for (auto& i : list->items) {
            if (!i) continue;
            auto it = check_value(*i);
            if (!like(item, it)) {
                report(i->pos, "type-mismatch",
                       "list items must be of one type: " + std::string(type_name(it)) + " after " +
                           std::string(type_name(item)));
            } else {
                item = unify(item, it);
            }
        }
        t = value_type::list;
    } else if (auto* p = std::get_if<ast::path>(&e.node)) {
        t = p->segments.empty() ? value_type::error : check_path(e, *p);
    } else if (auto* c = std::get_if<ast::call>(&e.node)) {
        t = check_call(e, *c);
    } else if (auto* f = std::get_if<ast::filtered>(&e.node)) {
        t = check_filtered(e, *f);
    } else if (std::holds_alternative<ast::window>(e.node)) {
        report(e.pos, "invalid-window", "a window such as 28d offset 7d is only allowed as an aggregate's window argument");
        t = value_type::error;
    } else if (auto* u = std::get_if<ast::unary>(&e.node)) {
        t = check_unary(e, *u);
    } else if (auto* b = std::get_if<ast::binary>(&e.node)) {
        t = check_binary(e, *b);
    } else if (auto* c = std::get_if<ast::conditional>(&e.node)) {
        if (c->condition) check_bool(*c->condition, "if");
        auto a = c->then_branch ? check_value(*c->then_branch) : value_type::error;
        auto b = c->else_branch ? check_value(*c->else_branch) : value_type::error;
        if (!like(a, b)) {
            report(c->else_branch->pos, "type-mismatch",
                   "the branches of if have different types: " + std::string(type_name(a)) + " and " +
                       std::string(type_name(b)));
            t = value_type::error;
        } else {
            t = unify(a, b);
        }
    } else if (auto* paren = std::get_if<ast::parenthesized>(&e.node)) {
        t = paren->inner ? check(*paren->inner) : value_type::error;
    }
    e.type = t;
    return t;
}

std::vector<std::string> checker::candidates() const {
    std::vector<std::string> all;
    for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it) {
        if (it->stream) {
            for (const auto& f : model::fields_of(it->type))
                if (f.in_stream) all.emplace_back(f.name);
            all.emplace_back("at");
        } else {
            for (const auto& f : item_fields(it->collection)) all.emplace_back(f.name);
        }
    }
    // The global names do not change once declared: computed once.
    if (global_candidates_.empty()) global_candidates_ = global_names();
    all.insert(all.end(), global_candidates_.begin(), global_candidates_.end());
    return all;
}

std::vector<std::string> checker::global_names() const {
    std::vector<std::string> all;
    for (const auto* l : lets_) all.push_back(l->name.value);
    for (const auto* c : classifies_) all.push_back(c->name.value);
    for (const auto* s : scores_) {
        all.push_back(s->name.value + ".score");
        all.push_back(s->name.value + ".band");
        for (const auto& c : s->components) all.push_back(s->name.value + "." + c.name.value);
    }
    for (auto f : model::profile_field_names) all.push_back("account." + std::string(f));
    all.emplace_back("account.id");
    all.emplace_back("account.arr");
    all.emplace_back("account.first_seen");
    all.emplace_back("account.attributes");
    for (auto t : model::event_type_names) {
        all.emplace_back(t);
        auto type = *model::event_type_from(t);
        if (type == model::event_type::usage) continue;
        for (const auto& f : model::fields_of(type))
            if (f.in_stream) all.push_back(std::string(t) + "." + std::string(f.name));
    }
    for (auto c : collection_names) all.emplace_back(c);
    return all;
}

value_type checker::reference(node_kind kind, std::uint32_t index) {
    if (owner_) edges_[*owner_].push_back(node_id(kind, index));
    if (kind != node_kind::let) return value_type::unknown;  // the caller knows the type
    if (!frozen_) {
        if (let_state_[index] == state::unvisited) check_let(index);
        if (let_state_[index] == state::in_progress) return value_type::error;  // a cycle, reported later
    }
    const auto& value = lets_[index]->value;
    if (!value) return value_type::error;
    auto t = value->type;
    if (t == value_type::stream || t == value_type::collection || t == value_type::unknown) return value_type::error;
    return t;
}

value_type checker::check_path(ast::expr& e, ast::path& p) {
    auto& segs = p.segments;
    auto& r = p.ref;
    r = ast::resolution{};
    const std::string& head = segs[0].value;
    auto unknown = [&](std::string hint = {}) {
        auto text = path_text(p);
        if (hint.empty()) hint = did_you_mean(text, candidates());
        report(e.pos, "unknown-name", "unknown name " + text, hint);
        return value_type::error;
    };

    if (segs.size() == 1) {
        for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it) {
            if (it->stream) {
                if (head == "at") {
                    r.kind = ast::ref_kind::item_field;
                    r.key = head;
                    r.sub = at_field;
                    r.stream_type = it->type;
                    return value_type::time;
                }
                if (auto index = model::stream_field_index(it->type, head)) {
                    r.kind = ast::ref_kind::item_field;
                    r.key = head;
                    r.sub = static_cast<std::uint32_t>(*index);
                    r.stream_type = it->type;
                    return field_type(model::find_field(it->type, head)->kind);
                }
            } else {
                auto fields = item_fields(it->collection);
                for (std::size_t i = 0; i < fields.size(); ++i) {
                    if (fields[i].name != head) continue;
                    r.kind = ast::ref_kind::item_field;
                    r.key = head;
                    r.sub = static_cast<std::uint32_t>(i);
                    r.collection = it->collection;
                    return fields[i].type;
                }
            }
        }
    }

    if (head == "account" && segs.size() > 1) {
        const std::string& field = segs[1].value;
        if (field == "attributes") {
            if (segs.size() == 3) {
                r.kind = ast::ref_kind::account_attribute;
                r.key = segs[2].value;
                return value_type::dynamic;
            }
            return unknown("write account.attributes.KEY");
        }
        if (segs.size() == 2) {
            if (field == "id") {
                r.kind = ast::ref_kind::account_id;
                return value_type::string;
            }
            if (field == "arr") {
                r.kind = ast::ref_kind::account_arr;
                return value_type::number;
            }
            if (field == "first_seen") {
                r.kind = ast::ref_kind::account_first_seen;
                return value_type::time;
            }
            if (auto f = model::profile_field_from(field)) {
                r.kind = ast::ref_kind::account_field;
                r.field = *f;
                return profile_type(*f);
            }
        }
        return unknown();
    }

    if (auto type = model::event_type_from(head)) {
        if (segs.size() == 1) {
            r.kind = ast::ref_kind::stream;
            r.stream_type = *type;
            return value_type::stream;
        }
        if (segs.size() == 2) {
            if (*type == model::event_type::usage || model::stream_field_index(*type, segs[1].value)) {
                r.kind = ast::ref_kind::stream;
                r.stream_type = *type;
                r.key = segs[1].value;
                return value_type::stream;
            }
        }
        return unknown();
    }

    if (segs.size() == 1) {
        for (std::size_t i = 0; i < std::size(collection_names); ++i) {
            if (collection_names[i] != head) continue;
            r.kind = ast::ref_kind::collection;
            r.collection = static_cast<ast::collection_kind>(i);
            return value_type::collection;
        }
    }

    auto it = names_.find(head);
    if (it == names_.end()) return unknown();
    const auto sym = it->second;
    switch (sym.kind) {
        case node_kind::let:
            if (segs.size() != 1) return unknown(head + " is a let and has no fields");
            r.kind = ast::ref_kind::let;
            r.index = sym.index;
            return reference(node_kind::let, sym.index);
        case node_kind::classify:
            if (segs.size() != 1) return unknown(head + " is a classification and has no fields: use " + head);
            r.kind = ast::ref_kind::classify;
            r.index = sym.index;
            reference(node_kind::classify, sym.index);
            return value_type::string;
        case node_kind::score: {
            if (segs.size() != 2) {
                if (segs.size() == 1) {
                    report(e.pos, "unknown-name", head + " is a score: use " + head + ".score, " + head + ".band or " +
                                                      head + ".COMPONENT");
                    return value_type::error;
                }
                return unknown();
            }
            r.index = sym.index;
            const auto& part = segs[1].value;
            const auto& score = *scores_[sym.index];
            if (part == "score") {
                r.kind = ast::ref_kind::score_value;
            } else if (part == "band") {
                r.kind = ast::ref_kind::score_band;
            } else {
                bool found = false;
                for (std::size_t i = 0; i < score.components.size(); ++i) {
                    if (score.components[i].name.value != part) continue;
                    r.kind = ast::ref_kind::score_component;
                    r.sub = static_cast<std::uint32_t>(i);
                    found = true;
                    break;
                }
                if (!found) return unknown();
            }
            reference(node_kind::score, sym.index);
            return r.kind == ast::ref_kind::score_band ? value_type::string : value_type::number;
        }
    }
    return unknown();
}

value_type checker::check_filtered(ast::expr& e, ast::filtered& f) {
    (void)e;
    if (!f.source || !f.condition) return value_type::error;
    auto t = check(*f.source);
    const auto* p = std::get_if<ast::path>(&strip_parens(*f.source).node);
    if (t == value_type::stream && p) {
        if (p->ref.stream_type == model::event_type::usage) {
            report(f.condition->pos, "usage-where",
                   "usage cannot be filtered with where: it is kept as per-minute sums per metric, not as events",
                   "aggregate one metric instead, e.g. avg(usage.active_users, 7d)");
            return value_type::stream;  // reported; the aggregate around it is still checked
        }
        scopes_.push_back({true, p->ref.stream_type, {}});
        check_bool(*f.condition, "where");
        scopes_.pop_back();
        return value_type::stream;
    }
    if (t == value_type::collection && p) {
        scopes_.push_back({false, {}, p->ref.collection});
        check_bool(*f.condition, "where");
        scopes_.pop_back();
        return value_type::collection;
    }
    if (t != value_type::error)
        report(f.source->pos, "type-mismatch",
               "where needs a stream or a collection before it, not " + std::string(type_name(t)));
    return value_type::error;
}

bool checker::check_window(ast::expr& e) {
    if (auto* d = std::get_if<ast::duration_literal>(&e.node)) {
        e.type = value_type::duration;
        if (d->value <= duration{0}) {
            report(e.pos, "invalid-window", "a window must be longer than 0");
            return false;
        }
        return true;
    }
    if (auto* w = std::get_if<ast::window>(&e.node)) {
        e.type = value_type::duration;
        if (w->length.value <= duration{0}) {
            report(w->length.pos, "invalid-window", "a window must be longer than 0");
            return false;
        }
        return true;
    }
    auto t = check(e);
    if (t != value_type::error)
        report(e.pos, "invalid-window", "the window must be a duration literal such as 30d, or 28d offset 7d");
    return false;
}

namespace {
// The event field a stream path names, or none: nps.score → number, usage.X → number.
std::optional<value_type> element_type(const ast::path& p) {
    if (p.ref.kind != ast::ref_kind::stream || p.ref.key.empty()) return std::nullopt;
    if (p.ref.stream_type == model::event_type::usage) return value_type::number;
    const auto* f = model::find_field(p.ref.stream_type, p.ref.key);
    if (!f) return std::nullopt;
    return field_type(f->kind);
}

const ast::path* stream_path(const ast::expr& e) {
    const auto& inner = strip_parens(e);
    if (auto* p = std::get_if<ast::path>(&inner.node)) return p;
    if (auto* f = std::get_if<ast::filtered>(&inner.node); f && f->source)
        return std::get_if<ast::path>(&strip_parens(*f->source).node);
    return nullptr;
}
}  // namespace

value_type checker::check_call(ast::expr& e, ast::call& c) {
    (void)e;
    const std::string& name = c.name.value;
    const function_spec* spec = nullptr;
    for (const auto& f : functions)
        if (f.name == name) spec = &f;
    auto check_rest = [&](std::size_t from) {
        for (std::size_t i = from; i < c.args.size(); ++i)
            if (c.args[i] && c.args[i]->type == value_type::unknown) check(*c.args[i]);
    };
    if (!spec) {
        std::vector<std::string> all;
        for (const auto& f : functions) all.emplace_back(f.name);
        report(c.name.pos, "unknown-function", "unknown function " + name, did_you_mean(name, all));
        check_rest(0);
        return value_type::error;
    }
    c.fn = spec->fn;
    const std::size_t argc = c.args.size();
    for (const auto& a : c.args)
        if (!a) return value_type::error;
    auto arity = [&](std::size_t lo, std::size_t hi) {
        if (argc >= lo && argc <= hi) return true;
        std::string expected;
        if (lo == hi) expected = std::to_string(lo) + (lo == 1 ? " argument" : " arguments");
        else if (hi == SIZE_MAX) expected = "at least " + std::to_string(lo) + " arguments";
        else expected = std::to_string(lo) + " or " + std::to_string(hi) + " arguments";
        report(c.name.pos, "arity", name + " takes " + expected + ", got " + std::to_string(argc));
        check_rest(0);
        return false;
    };
    auto expect = [&](ast::expr& arg, value_type wanted) {
        auto t = check_value(arg);
        if (!like(t, wanted)) {
            report(arg.pos, "type-mismatch",
                   name + " needs a " + std::string(type_name(wanted)) + ", not " + std::string(type_name(t)));
            return value_type::error;
        }
        return t == value_type::null || t == value_type::dynamic ? wanted : t;
    };

    using ast::builtin;
    switch (spec->fn) {
        case builtin::count:
        case builtin::sum:
        case builtin::avg:
        case builtin::min:
        case builtin::max:
        case builtin::first:
        case builtin::last:
        case builtin::distinct:
        case builtin::rate: {
            if (argc == 0) {
                arity(1, 2);
                return value_type::error;
            }
            auto t0 = check(*c.args[0]);
            const bool scalar_ok = spec->fn == builtin::count || spec->fn == builtin::min || spec->fn == builtin::max;
            if (t0 == value_type::stream) {
                const auto* p = stream_path(*c.args[0]);
                // Written as a default and an assignment: GCC 12 wrongly warns that the
                // conditional's optional may be used uninitialised.
                std::optional<value_type> elem;
                if (p) elem = element_type(*p);
                const bool window_optional = spec->fn == builtin::first || spec->fn == builtin::last;
                if (argc > 2) {
                    arity(1, 2);
                    return value_type::error;
                }
                if (argc == 2) {
                    check_window(*c.args[1]);
                } else if (!window_optional) {
                    std::string what = p ? path_text(*p) : "ticket";
                    report(c.name.pos, "arity", name + " over a stream needs a window",
                           "e.g. " + name + "(" + what + ", 30d)");
                }
                switch (spec->fn) {
                    case builtin::count: return value_type::number;
                    case builtin::sum:
                    case builtin::avg:
                    case builtin::min:
                    case builtin::max:
                        if (elem != value_type::number) {
                            report(c.args[0]->pos, "type-mismatch",
                                   name + " needs a numeric stream such as nps.score or usage.active_users",
                                   p && p->ref.stream_type == model::event_type::usage && p->ref.key.empty()
                                       ? "usage needs a metric: usage.METRIC"
                                       : std::string());
                        }
                        return value_type::number;
                    case builtin::first:
                    case builtin::last:
                        if (!elem) {
                            report(c.args[0]->pos, "type-mismatch", name + " needs a stream with a field, such as nps.score");
                            return value_type::error;
                        }
                        return *elem;
                    case builtin::distinct:
                        if (!elem)
                            report(c.args[0]->pos, "type-mismatch",
                                   "distinct needs a stream with a field, such as ticket.priority");
                        return value_type::number;
                    default:  // rate
                        if (elem && elem != value_type::number)
                            report(c.args[0]->pos, "type-mismatch",
                                   "rate needs a stream without a field, or with a numeric one");
                        return value_type::number;
                }
            }
            if (t0 == value_type::collection) {
                if (spec->fn != builtin::count) {
                    report(c.args[0]->pos, "type-mismatch", name + " needs a stream, not a collection",
                           "collections take any, all and count");
                    check_rest(1);
                    return value_type::error;
                }
                if (argc != 1) {
                    report(c.args[1]->pos, "arity", "count over a collection takes no window",
                           "a collection holds the account's current users, open tickets or products");
                    check_rest(1);
                }
                return value_type::number;
            }
            if (!scalar_ok) {
                if (t0 != value_type::error)
                    report(c.args[0]->pos, "type-mismatch",
                           name + " needs a stream such as nps.score, not " + std::string(type_name(t0)));
                check_rest(1);
                return value_type::error;
            }
            if (spec->fn == builtin::count) {
                if (!arity(1, 1)) return value_type::number;
                if (!like(t0, value_type::list))
                    report(c.args[0]->pos, "type-mismatch",
                           "count needs a stream, a collection or a list, not " + std::string(type_name(t0)));
                return value_type::number;
            }
            // min/max of values
            c.fn = spec->fn == builtin::min ? builtin::min_of : builtin::max_of;
            value_type result = t0;
            if (argc < 2) {
                report(c.name.pos, "arity", name + " of values takes at least 2 arguments, got 1",
                       "over a stream: " + name + "(nps.score, 90d)");
                return value_type::error;
            }
            for (std::size_t i = 1; i < argc; ++i) {
                auto t = check_value(*c.args[i]);
                if (!like(result, t)) {
                    report(c.args[i]->pos, "type-mismatch",
                           name + " needs arguments of one type: " + std::string(type_name(t)) + " after " +
                               std::string(type_name(result)));
                    return value_type::error;
                }
                result = unify(result, t);
            }
            if (result != value_type::number && result != value_type::duration && result != value_type::time &&
                !is_absorbing(result)) {
                report(c.args[0]->pos, "type-mismatch",
                       name + " needs numbers, durations or times, not " + std::string(type_name(result)));
                return value_type::error;
            }
            return result;
        }
        case builtin::any:
        case builtin::all: {
            if (!arity(1, 1)) return value_type::error;
            auto t0 = check(*c.args[0]);
            if (t0 != value_type::collection && t0 != value_type::error)
                report(c.args[0]->pos, "type-mismatch",
                       name + " needs a collection (users, tickets or products), not " + std::string(type_name(t0)),
                       "e.g. " + name + "(users where role == \"admin\")");
            return value_type::boolean;
        }
        case builtin::since: {
            if (!arity(1, 1)) return value_type::duration;
            auto t0 = check(*c.args[0]);
            if (t0 == value_type::stream || like(t0, value_type::time)) return value_type::duration;
            report(c.args[0]->pos, "type-mismatch", "since needs a stream or a time, not " + std::string(type_name(t0)));
            return value_type::duration;
        }
        case builtin::changed:
        case builtin::previous: {
            const bool changed = spec->fn == builtin::changed;
            if (!(changed ? arity(2, 2) : arity(1, 1))) return changed ? value_type::boolean : value_type::error;
            auto t0 = check(*c.args[0]);
            const auto* p = std::get_if<ast::path>(&strip_parens(*c.args[0]).node);
            value_type result = t0;
            if (t0 != value_type::error && (!p || p->ref.kind != ast::ref_kind::account_field)) {
                report(c.args[0]->pos, "type-mismatch",
                       name + " needs an account field with history, such as account.csm",
                       "history is kept for every account.FIELD except id, arr, first_seen and attributes");
                result = value_type::error;
            }
            if (changed) {
                check_window(*c.args[1]);
                return value_type::boolean;
            }
            return result;
        }
        case builtin::now:
            arity(0, 0);
            return value_type::time;
        case builtin::abs: {
            if (!arity(1, 1)) return value_type::error;
            auto t = check_value(*c.args[0]);
            if (t == value_type::number || t == value_type::duration || is_absorbing(t)) return t;
            report(c.args[0]->pos, "type-mismatch", "abs needs a number or a duration, not " + std::string(type_name(t)));
            return value_type::error;
        }
        case builtin::clamp:
            if (!arity(3, 3)) return value_type::number;
            for (auto& a : c.args) expect(*a, value_type::number);
            return value_type::number;
        case builtin::round:
        case builtin::floor:
        case builtin::ceil:
            if (!arity(1, 1)) return value_type::number;
            expect(*c.args[0], value_type::number);
            return value_type::number;
        case builtin::pct_change:
            if (!arity(2, 2)) return value_type::number;
            for (auto& a : c.args) expect(*a, value_type::number);
            return value_type::number;
        case builtin::days:
            if (!arity(1, 1)) return value_type::number;
            expect(*c.args[0], value_type::duration);
            return value_type::number;
        case builtin::coalesce: {
            if (!arity(2, SIZE_MAX)) return value_type::error;
            value_type result = value_type::null;
            for (auto& a : c.args) {
                auto t = check_value(*a);
                if (!like(result, t)) {
                    report(a->pos, "type-mismatch",
                           "coalesce needs arguments of one type: " + std::string(type_name(t)) + " after " +
                               std::string(type_name(result)));
                    result = value_type::error;
                } else {
                    result = unify(result, t);
                }
            }
            return result;
        }
        case builtin::lower:
        case builtin::upper:
            if (!arity(1, 1)) return value_type::string;
            expect(*c.args[0], value_type::string);
            return value_type::string;
        case builtin::contains: {
            if (!arity(2, 2)) return value_type::boolean;
            auto t = check_value(*c.args[0]);
            if (t != value_type::string && t != value_type::list && !is_absorbing(t))
                report(c.args[0]->pos, "type-mismatch", "contains needs a string or a list, not " + std::string(type_name(t)));
            expect(*c.args[1], value_type::string);
            return value_type::boolean;
        }
        case builtin::starts_with:
            if (!arity(2, 2)) return value_type::boolean;
            for (auto& a : c.args) expect(*a, value_type::string);
            return value_type::boolean;
        default:
            break;
    }
    return value_type::error;
}

value_type checker::check_unary(ast::expr& e, ast::unary& u) {
    (void)e;
    if (!u.operand) return value_type::error;
    auto t = check_value(*u.operand);
    if (u.op == ast::unary_op::logical_not) {
        if (!like(t, value_type::boolean))
            report(u.operand->pos, "type-mismatch", "not needs a bool, not " + std::string(type_name(t)));
        return value_type::boolean;
    }
    if (t == value_type::number || t == value_type::duration || is_absorbing(t)) return t;
    report(u.operand->pos, "type-mismatch", "cannot negate a " + std::string(type_name(t)));
    return value_type::error;
}

namespace {
bool is_literal(const ast::expr& e) {
    const auto& n = strip_parens(e).node;
    return std::holds_alternative<ast::number_literal>(n) || std::holds_alternative<ast::string_literal>(n) ||
           std::holds_alternative<ast::bool_literal>(n) || std::holds_alternative<ast::duration_literal>(n);
}

// "write a duration such as 90d" for a number literal where a duration was meant.
std::string duration_hint(const ast::expr& lhs, value_type lt, const ast::expr& rhs, value_type rt) {
    const ast::expr* number = nullptr;
    if (lt == value_type::duration && rt == value_type::number) number = &rhs;
    else if (rt == value_type::duration && lt == value_type::number) number = &lhs;
    if (!number) return {};
    std::string example = "90d";
    if (auto* n = std::get_if<ast::number_literal>(&strip_parens(*number).node)) {
        if (n->value >= 0 && n->value < 1e6 && n->value == std::floor(n->value) && n->text.find('%') == std::string::npos)
            example = n->text + "d";
    }
    return "write a duration such as " + example;
}

bool orderable(value_type t) {
    return t == value_type::number || t == value_type::string || t == value_type::duration || t == value_type::time ||
           is_absorbing(t);
}
}  // namespace

void checker::check_label_literal(const ast::expr& side, const ast::expr& other) {
    const auto* p = std::get_if<ast::path>(&strip_parens(side).node);
    const auto* lit = std::get_if<ast::string_literal>(&strip_parens(other).node);
    if (!p || !lit) return;
    std::vector<std::string> labels;
    std::string message;
    if (p->ref.kind == ast::ref_kind::score_band && p->ref.index < scores_.size()) {
        const auto& score = *scores_[p->ref.index];
        for (const auto& b : score.bands) labels.push_back(b.name.value);
        labels.emplace_back("unknown");
        message = "score " + score.name.value + " has no band " + lit->value;
    } else if (p->ref.kind == ast::ref_kind::classify && p->ref.index < classifies_.size()) {
        const auto& cl = *classifies_[p->ref.index];
        for (const auto& c : cl.cases) labels.push_back(c.label.value);
        if (cl.default_label) labels.push_back(cl.default_label->value);
        message = "classify " + cl.name.value + " has no label " + lit->value;
    } else {
        return;
    }
    if (std::find(labels.begin(), labels.end(), lit->value) != labels.end()) return;
    std::string hint = did_you_mean(lit->value, labels);
    if (hint.empty()) hint = "expected one of " + join(labels);
    report(other.pos, "unknown-label", message, hint);
}

value_type checker::check_binary(ast::expr& e, ast::binary& b) {
    (void)e;
    if (!b.lhs || !b.rhs) return value_type::error;
    using ast::binary_op;
    auto lt = check_value(*b.lhs);
    auto rt = check_value(*b.rhs);
    auto tn = [](value_type t) { return std::string(type_name(t)); };
    switch (b.op) {
        case binary_op::logical_and:
        case binary_op::logical_or: {
            const char* op = b.op == binary_op::logical_and ? "and" : "or";
            if (!like(lt, value_type::boolean))
                report(b.lhs->pos, "type-mismatch", std::string(op) + " needs bool operands, not " + tn(lt));
            if (!like(rt, value_type::boolean))
                report(b.rhs->pos, "type-mismatch", std::string(op) + " needs bool operands, not " + tn(rt));
            return value_type::boolean;
        }
        case binary_op::eq:
        case binary_op::ne:
        case binary_op::lt:
        case binary_op::le:
        case binary_op::gt:
        case binary_op::ge: {
            if (!like(lt, rt)) {
                const ast::expr& at = is_literal(*b.lhs) && !is_literal(*b.rhs) ? *b.lhs : *b.rhs;
                report(at.pos, "type-mismatch", "cannot compare " + tn(lt) + " with " + tn(rt),
                       duration_hint(*b.lhs, lt, *b.rhs, rt));
                return value_type::boolean;
            }
            const bool ordering = b.op != binary_op::eq && b.op != binary_op::ne;
            if (ordering && !(orderable(lt) && orderable(rt))) {
                report(b.rhs->pos, "type-mismatch", "cannot order values of type " + tn(is_absorbing(lt) ? rt : lt),
                       "use == or != for " + tn(is_absorbing(lt) ? rt : lt) + " values");
                return value_type::boolean;
            }
            check_label_literal(*b.lhs, *b.rhs);
            check_label_literal(*b.rhs, *b.lhs);
            return value_type::boolean;
        }
        case binary_op::in: {
            if (!like(rt, value_type::list)) {
                report(b.rhs->pos, "type-mismatch", "in needs a list on the right, not " + tn(rt),
                       "e.g. account.plan in [\"pro\", \"enterprise\"]");
                return value_type::boolean;
            }
            value_type item = value_type::string;  // lists from the account are lists of strings
            if (auto* list = std::get_if<ast::list_literal>(&strip_parens(*b.rhs).node)) {
                item = value_type::null;
                for (const auto& i : list->items)
                    if (i) item = unify(item, i->type);
                for (const auto& i : list->items)
                    if (i) check_label_literal(*b.lhs, *i);
            } else if (rt != value_type::list) {
                item = rt;
            }
            if (!like(lt, item))
                report(b.lhs->pos, "type-mismatch", "cannot look for a " + tn(lt) + " in a list of " + tn(item) + "s");
            if (lt == value_type::list)
                report(b.lhs->pos, "type-mismatch", "cannot look for a list in a list");
            return value_type::boolean;
        }
        case binary_op::coalesce:
            if (!like(lt, rt)) {
                report(b.rhs->pos, "type-mismatch", "?? needs operands of one type, not " + tn(lt) + " and " + tn(rt));
                return value_type::error;
            }
            return unify(lt, rt);
        case binary_op::add:
        case binary_op::sub:
        case binary_op::mul:
        case binary_op::div: {
            if (lt == value_type::error || rt == value_type::error) return value_type::error;
            auto arithmetic = [](value_type t) {
                return t == value_type::number || t == value_type::duration || t == value_type::time || is_absorbing(t);
            };
            std::optional<value_type> result;
            using vt = value_type;
            if (!arithmetic(lt) || !arithmetic(rt)) {
                result.reset();
            } else if (is_absorbing(lt) && is_absorbing(rt)) {
                result = lt == vt::null && rt == vt::null ? vt::null : vt::dynamic;
            } else if (is_absorbing(lt) || is_absorbing(rt)) {
                auto known = is_absorbing(lt) ? rt : lt;
                if (known == vt::time) {
                    if (b.op == binary_op::add) result = vt::time;
                    else if (b.op == binary_op::sub) result = vt::dynamic;
                } else if (known == vt::duration && b.op == binary_op::div) {
                    result = vt::dynamic;
                } else {
                    result = known;
                }
            } else {
                switch (b.op) {
                    case binary_op::add:
                        if (lt == rt && lt != vt::time) result = lt;
                        else if ((lt == vt::time && rt == vt::duration) || (lt == vt::duration && rt == vt::time))
                            result = vt::time;
                        break;
                    case binary_op::sub:
                        if (lt == rt) result = lt == vt::time ? vt::duration : lt;
                        else if (lt == vt::time && rt == vt::duration) result = vt::time;
                        break;
                    case binary_op::mul:
                        if (lt == vt::number && rt == vt::number) result = vt::number;
                        else if ((lt == vt::duration && rt == vt::number) || (lt == vt::number && rt == vt::duration))
                            result = vt::duration;
                        break;
                    default:  // div
                        if (lt == vt::number && rt == vt::number) result = vt::number;
                        else if (lt == vt::duration && rt == vt::number) result = vt::duration;
                        else if (lt == vt::duration && rt == vt::duration) result = vt::number;
                        break;
                }
            }
            if (result) return *result;
            std::string message;
            switch (b.op) {
                case binary_op::add: message = "cannot add " + tn(lt) + " and " + tn(rt); break;
                case binary_op::sub: message = "cannot subtract " + tn(rt) + " from " + tn(lt); break;
                case binary_op::mul: message = "cannot multiply " + tn(lt) + " by " + tn(rt); break;
                default: message = "cannot divide " + tn(lt) + " by " + tn(rt); break;
            }
            const ast::expr& at = !arithmetic(lt) ? *b.lhs : *b.rhs;
            report(at.pos, "type-mismatch", message, duration_hint(*b.lhs, lt, *b.rhs, rt));
            return value_type::error;
        }
    }
    return value_type::error;
}

// Diagnostics in file order (files in load order, then line and column).
void sort_by_position(diagnostics& all, const ast::program& program) {
    std::map<std::string, std::size_t> order;
    for (std::size_t i = 0; i < program.files.size(); ++i) order.emplace(program.files[i].path, i);
    std::stable_sort(all.begin(), all.end(), [&](const diagnostic& a, const diagnostic& b) {
        auto fa = order.count(a.file) ? order[a.file] : SIZE_MAX;
        auto fb = order.count(b.file) ? order[b.file] : SIZE_MAX;
        return std::tie(fa, a.line, a.column) < std::tie(fb, b.line, b.column);
    });
}

}  // namespace

diagnostics check(ast::program& program, const check_options& options) {
    diagnostics out;
    try {
        checker c(program, out);
        c.run(program, options);
    } catch (const std::exception& e) {
        diagnostic d;
        d.code = "internal";
        d.message = std::string("internal checker error: ") + e.what();
        out.push_back(std::move(d));
    }
    sort_by_position(out, program);
    return out;
}

diagnostics check_template(ast::message_template& tpl, const std::string& origin, const ast::program& checked) {
    diagnostics out;
    try {
        checker c(checked, out);
        c.run_template(tpl, origin);
    } catch (const std::exception& e) {
        diagnostic d;
        d.code = "internal";
        d.file = origin;
        d.message = std::string("internal checker error: ") + e.what();
        out.push_back(std::move(d));
    }
    return out;
}

}  // namespace redflag::rules::check
