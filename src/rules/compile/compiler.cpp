#include "rules/compile/compiler.hpp"

#include "model/schema.hpp"
#include "rules/builtins.hpp"
#include "rules/compile/depth.hpp"
#include "rules/eval/evaluator.hpp"
#include "rules/format/formatter.hpp"

#include <algorithm>
#include <set>

namespace redflag::rules::compile {

using eval::node;
using eval::op;

namespace {

template <typename... Ts>
struct overloaded : Ts... {
    using Ts::operator()...;
};
template <typename... Ts>
overloaded(Ts...) -> overloaded<Ts...>;

ast::template_format format_named(std::string_view name) {
    using f = ast::template_format;
    if (name == "round") return f::round;
    if (name == "pct") return f::pct;
    if (name == "money") return f::money;
    if (name == "days") return f::days;
    if (name == "date") return f::date;
    return f::none;
}

const ast::expr& unwrap(const ast::expr& e) {
    if (const auto* p = std::get_if<ast::parenthesized>(&e.node)) return unwrap(*p->inner);
    return e;
}

// True when `e` names a stream or a collection (possibly filtered): an aggregate's source.
bool is_source(const ast::expr& raw) {
    const ast::expr& e = unwrap(raw);
    if (std::holds_alternative<ast::filtered>(e.node)) return true;
    if (const auto* p = std::get_if<ast::path>(&e.node))
        return p->ref.kind == ast::ref_kind::stream || p->ref.kind == ast::ref_kind::collection;
    return e.type == ast::value_type::stream || e.type == ast::value_type::collection;
}

std::uint32_t user_field(std::string_view key) {
    using namespace eval::user_fields;
    if (key == "id" || key == "user_id") return id;
    if (key == "email") return email;
    if (key == "name") return name;
    if (key == "role") return role;
    if (key == "active") return active;
    if (key == "first_seen") return first_seen;
    if (key == "last_seen") return last_seen;
    return 0xFFFFFFFF;
}

std::uint32_t ticket_field(std::string_view key) {
    using namespace eval::ticket_fields;
    if (key == "id" || key == "ticket_id") return id;
    if (key == "status") return status;
    if (key == "priority") return priority;
    if (key == "subject") return subject;
    if (key == "opened_at") return opened_at;
    if (key == "first_response_at") return first_response_at;
    return 0xFFFFFFFF;
}

}  // namespace

// Builds eval nodes from annotated expressions. One compiler per rule set (or template);
// nodes go into `storage`, cache slots are those of `code`.
class compiler {
public:
    compiler(const ast::program& source, const eval::program& code, std::vector<std::unique_ptr<node>>& storage,
             diagnostics& problems)
        : source_(source), code_(code), storage_(storage), problems_(problems) {}

    void set_file(std::size_t file) { file_ = file; }

    // Compiles `e`; the cache slots it reads directly are added to `deps` when given.
    const node* expr(const ast::expr& e, std::set<std::uint32_t>* deps = nullptr) {
        std::set<std::uint32_t>* saved = deps_;
        if (deps) deps_ = deps;
        const node* n = compile(e);
        deps_ = saved;
        return n;
    }

    static compile_result build(ast::program program);

private:
    node& make(op code, const ast::expr& e) {
        storage_.push_back(std::make_unique<node>());
        node& n = *storage_.back();
        n.code = code;
        n.pos = e.pos;
        return n;
    }

    const node* error(const ast::expr& e, std::string message) {
        diagnostic d;
        d.code = "compile";
        d.message = std::move(message);
        if (file_ < source_.files.size()) {
            d.file = source_.files[file_].path;
            d.snippet = std::string(source_line(source_.files[file_].text, e.pos.line));
        }
        d.line = e.pos.line;
        d.column = e.pos.column;
        problems_.push_back(std::move(d));
        return &make(op::constant, e);
    }

    void depend(std::uint32_t slot) {
        if (deps_) deps_->insert(slot);
    }

    const node* compile(const ast::expr& e) {
        return std::visit(
            overloaded{
                [&](const ast::number_literal& v) -> const node* {
                    node& n = make(op::constant, e);
                    n.value_ = eval::value::number(v.value);
                    return &n;
                },
                [&](const ast::string_literal& v) -> const node* {
                    node& n = make(op::constant, e);
                    n.text_ = v.value;
                    n.value_ = eval::value::string(n.text_);
                    return &n;
                },
                [&](const ast::bool_literal& v) -> const node* {
                    node& n = make(op::constant, e);
                    n.value_ = eval::value::boolean(v.value);
                    return &n;
                },
                [&](const ast::null_literal&) -> const node* { return &make(op::constant, e); },
                [&](const ast::duration_literal& v) -> const node* {
                    node& n = make(op::constant, e);
                    n.value_ = eval::value::of_duration(v.value);
                    return &n;
                },
                [&](const ast::list_literal& v) -> const node* { return list(e, v); },
                [&](const ast::path& v) -> const node* { return path(e, v); },
                [&](const ast::call& v) -> const node* { return call(e, v); },
                [&](const ast::filtered&) -> const node* {
                    return error(e, "a filtered stream is only an aggregate's argument");
                },
                [&](const ast::window&) -> const node* { return error(e, "a window is only an aggregate's argument"); },
                [&](const ast::unary& v) -> const node* {
                    node& n = make(v.op == ast::unary_op::logical_not ? op::logical_not : op::negate, e);
                    n.args.push_back(compile(*v.operand));
                    return &n;
                },
                [&](const ast::binary& v) -> const node* { return binary(e, v); },
                [&](const ast::conditional& v) -> const node* {
                    node& n = make(op::conditional, e);
                    n.args = {compile(*v.condition), compile(*v.then_branch), compile(*v.else_branch)};
                    return &n;
                },
                [&](const ast::parenthesized& v) -> const node* { return compile(*v.inner); },
            },
            e.node);
    }

    const node* list(const ast::expr& e, const ast::list_literal& v) {
        node& n = make(op::list, e);
        bool strings = !v.items.empty();
        for (const auto& item : v.items) {
            const node* c = compile(*item);
            n.args.push_back(c);
            strings = strings && c->code == op::constant && c->value_.k == eval::kind::string;
        }
        if (strings) {
            for (const node* c : n.args) n.strings_.emplace_back(c->value_.str);
            n.value_ = eval::value::of_list(n.strings_);
        }
        return &n;
    }

    const node* binary(const ast::expr& e, const ast::binary& v) {
        using b = ast::binary_op;
        op code = op::add;
        switch (v.op) {
            case b::logical_or: code = op::logical_or; break;
            case b::logical_and: code = op::logical_and; break;
            case b::eq: code = op::eq; break;
            case b::ne: code = op::ne; break;
            case b::lt: code = op::lt; break;
            case b::le: code = op::le; break;
            case b::gt: code = op::gt; break;
            case b::ge: code = op::ge; break;
            case b::in: code = op::in; break;
            case b::coalesce: code = op::coalesce; break;
            case b::add: code = op::add; break;
            case b::sub: code = op::sub; break;
            case b::mul: code = op::mul; break;
            case b::div: code = op::div; break;
        }
        node& n = make(code, e);
        n.args = {compile(*v.lhs), compile(*v.rhs)};
        return &n;
    }

    const node* path(const ast::expr& e, const ast::path& p) {
        const ast::resolution& r = p.ref;
        using k = ast::ref_kind;
        switch (r.kind) {
            case k::let: {
                if (r.index >= code_.lets.size() && r.index >= source_.lets.size()) return error(e, "unknown let");
                node& n = make(op::let_ref, e);
                n.index_ = r.index;
                depend(code_.let_slot(r.index));
                return &n;
            }
            case k::score_value:
            case k::score_band:
            case k::score_component: {
                if (r.index >= source_.scores.size()) return error(e, "unknown score");
                node& n = make(r.kind == k::score_value  ? op::score_value
                               : r.kind == k::score_band ? op::score_band
                                                         : op::score_component,
                               e);
                n.index_ = r.index;
                n.sub_ = r.sub;
                if (r.kind == k::score_component && r.sub >= source_.scores[r.index].item->components.size())
                    return error(e, "unknown score component");
                depend(code_.score_slot(r.index));
                return &n;
            }
            case k::classify: {
                if (r.index >= source_.classifies.size()) return error(e, "unknown classification");
                node& n = make(op::classify_ref, e);
                n.index_ = r.index;
                depend(code_.classify_slot(r.index));
                return &n;
            }
            case k::account_field: {
                node& n = make(op::account_field, e);
                n.field_ = r.field;
                return &n;
            }
            case k::account_id: return &make(op::account_id, e);
            case k::account_arr: return &make(op::account_arr, e);
            case k::account_first_seen: return &make(op::account_first_seen, e);
            case k::goals: {
                node& n = make(op::goals_count, e);
                n.sub_ = r.sub;
                return &n;
            }
            case k::alerts: {
                node& n = make(op::alert_facts, e);
                n.sub_ = r.sub;
                return &n;
            }
            case k::account_attribute: {
                node& n = make(op::account_attribute, e);
                n.key_ = r.key;
                if (n.key_.empty() && !p.segments.empty()) n.key_ = p.segments.back().value;
                return &n;
            }
            case k::item_field: return item_field(e, p);
            case k::stream:
            case k::collection: return error(e, "a stream or collection is only an aggregate's argument");
            case k::unresolved: break;
        }
        return error(e, "unresolved name");
    }

    const node* item_field(const ast::expr& e, const ast::path& p) {
        if (!scope_) return error(e, "an event field outside `where`");
        std::string key = p.ref.key;
        if (key.empty() && !p.segments.empty()) key = p.segments.front().value;
        std::uint32_t index = 0xFFFFFFFF;
        switch (scope_->kind) {
            case eval::source_kind::records:
            case eval::source_kind::usage_metric:
            case eval::source_kind::usage_all: {
                model::event_type type = scope_->kind == eval::source_kind::records ? scope_->type
                                                                                    : model::event_type::usage;
                if (key == "at") index = eval::field_at;
                else if (auto i = model::stream_field_index(type, key)) index = static_cast<std::uint32_t>(*i);
                break;
            }
            case eval::source_kind::users: index = user_field(key); break;
            case eval::source_kind::tickets: index = ticket_field(key); break;
            case eval::source_kind::products: index = eval::product_item; break;
        }
        if (index == 0xFFFFFFFF) return error(e, "unknown field " + key);
        node& n = make(op::item_field, e);
        n.sub_ = index;
        return &n;
    }

    // Fills a source from an aggregate's first argument; false (reported) when it is not one.
    bool source(const ast::expr& raw, eval::source_spec& out) {
        const ast::expr& e = unwrap(raw);
        if (const auto* f = std::get_if<ast::filtered>(&e.node)) {
            if (!source(*f->source, out)) return false;
            const eval::source_spec* saved = scope_;
            scope_ = &out;
            out.filter = compile(*f->condition);
            scope_ = saved;
            return true;
        }
        const auto* p = std::get_if<ast::path>(&e.node);
        if (!p) {
            error(e, "expected a stream or a collection");
            return false;
        }
        const ast::resolution& r = p->ref;
        if (r.kind == ast::ref_kind::collection) {
            switch (r.collection) {
                case ast::collection_kind::users: out.kind = eval::source_kind::users; break;
                case ast::collection_kind::tickets: out.kind = eval::source_kind::tickets; break;
                case ast::collection_kind::products: out.kind = eval::source_kind::products; break;
            }
            return true;
        }
        if (r.kind != ast::ref_kind::stream) {
            error(e, "expected a stream or a collection");
            return false;
        }
        out.type = r.stream_type;
        std::string key = r.key;
        if (key.empty() && p->segments.size() > 1) key = p->segments[1].value;
        if (r.stream_type == model::event_type::usage) {
            if (key.empty()) {
                out.kind = eval::source_kind::usage_all;
            } else {
                out.kind = eval::source_kind::usage_metric;
                out.metric = key;
                out.field = 0;
            }
            return true;
        }
        out.kind = eval::source_kind::records;
        if (!key.empty()) {
            auto index = model::stream_field_index(r.stream_type, key);
            if (!index) {
                error(e, "unknown field " + key);
                return false;
            }
            out.field = static_cast<std::int32_t>(*index);
        }
        return true;
    }

    bool window(const ast::expr& raw, eval::window_spec& out) {
        const ast::expr& e = unwrap(raw);
        if (const auto* d = std::get_if<ast::duration_literal>(&e.node)) {
            out.present = true;
            out.length = d->value;
            return true;
        }
        if (const auto* w = std::get_if<ast::window>(&e.node)) {
            out.present = true;
            out.length = w->length.value;
            out.offset = w->offset.value;
            return true;
        }
        error(e, "expected a window such as 30d or 28d offset 7d");
        return false;
    }

    const node* aggregate(const ast::expr& e, const ast::call& c, op code) {
        node& n = make(code, e);
        if (c.args.empty() || !source(*c.args[0], n.source_)) return c.args.empty() ? error(e, "missing stream") : &n;
        if (c.args.size() > 1) window(*c.args[1], n.window_);
        return &n;
    }

    const node* scalar(const ast::expr& e, const ast::call& c, op code) {
        node& n = make(code, e);
        for (const auto& a : c.args) n.args.push_back(compile(*a));
        return &n;
    }

    const node* account_field_arg(const ast::expr& e, const ast::call& c, op code) {
        if (c.args.empty()) return error(e, "expected account.FIELD");
        const ast::expr& a = unwrap(*c.args[0]);
        const auto* p = std::get_if<ast::path>(&a.node);
        if (!p || p->ref.kind != ast::ref_kind::account_field) return error(a, "expected account.FIELD");
        node& n = make(code, e);
        n.field_ = p->ref.field;
        if (code == op::changed && c.args.size() > 1) window(*c.args[1], n.window_);
        return &n;
    }

    // A call, as the builtin table (rules/builtins.hpp) says: min, max and count over a
    // stream or collection are aggregates, over values scalar functions.
    const node* call(const ast::expr& e, const ast::call& c) {
        using b = ast::builtin;
        const builtin_spec* spec = c.fn == b::unresolved ? find_builtin(c.name.value) : find_builtin(c.fn);
        if (!spec) return error(e, "unknown function " + c.name.value);
        if (c.fn == b::min_of || c.fn == b::max_of) return scalar(e, c, spec->over_values);
        bool stream_arg = !c.args.empty() && is_source(*c.args[0]);
        switch (spec->family) {
            case builtin_family::aggregate:
                if (spec->over_values != op::constant && !stream_arg) return scalar(e, c, spec->over_values);
                return aggregate(e, c, spec->over_source);
            case builtin_family::quantifier: return aggregate(e, c, spec->over_source);
            case builtin_family::history: return history(e, c, *spec, stream_arg);
            case builtin_family::scalar: return scalar(e, c, spec->over_values);
        }
        return error(e, "unknown function " + c.name.value);
    }

    const node* history(const ast::expr& e, const ast::call& c, const builtin_spec& spec, bool stream_arg) {
        switch (spec.fn) {
            case ast::builtin::since: {
                if (c.args.empty()) return error(e, "since() needs an argument");
                if (!stream_arg) return scalar(e, c, spec.over_values);
                node& n = make(spec.over_source, e);
                source(*c.args[0], n.source_);
                return &n;
            }
            case ast::builtin::changed:
            case ast::builtin::previous: return account_field_arg(e, c, spec.over_source);
            default: return &make(spec.over_values, e);  // now
        }
    }

public:
    std::vector<eval::message_part> message(const ast::message_template& m) {
        std::vector<eval::message_part> parts;
        for (const ast::template_part& p : m.parts) {
            eval::message_part out;
            if (p.expression) {
                out.expr = compile(*p.expression);
                out.fmt = p.fmt != ast::template_format::none ? p.fmt : format_named(p.format.value);
            } else {
                out.text = p.text;
            }
            parts.push_back(std::move(out));
        }
        return parts;
    }

private:
    const ast::program& source_;
    const eval::program& code_;
    std::vector<std::unique_ptr<node>>& storage_;
    diagnostics& problems_;
    std::size_t file_ = 0;
    std::set<std::uint32_t>* deps_ = nullptr;
    const eval::source_spec* scope_ = nullptr;
};

namespace {

alert_severity severity_named(std::string_view s) {
    for (std::size_t i = 0; i < std::size(severity_names); ++i)
        if (severity_names[i] == s) return static_cast<alert_severity>(i);
    return alert_severity::medium;
}

// Adds `slot` and every slot it reads, directly or not, to `out` (with a stack: chains of
// lets may be long).
void close_over(std::uint32_t slot, const std::vector<std::set<std::uint32_t>>& direct, std::set<std::uint32_t>& out) {
    std::vector<std::uint32_t> todo{slot};
    while (!todo.empty()) {
        std::uint32_t s = todo.back();
        todo.pop_back();
        if (!out.insert(s).second) continue;
        todo.insert(todo.end(), direct[s].begin(), direct[s].end());
    }
}

}  // namespace

compile_result compiler::build(ast::program program) {
    auto set = std::make_shared<compiled_rule_set>();
    set->source_ = std::move(program);
    const ast::program& src = set->source_;
    eval::program& code = set->code_;
    compile_result result;

    // First how deep evaluation goes: what follows walks along references.
    result.problems = depth_meter(src).problems();
    if (has_errors(result.problems)) return result;

    // Slots first, so that references compile to indices before their targets do.
    code.lets.assign(src.lets.size(), nullptr);
    code.scores.resize(src.scores.size());
    code.classifies.resize(src.classifies.size());
    std::vector<std::set<std::uint32_t>> direct(code.cached_count());

    compiler c(src, code, code.nodes, result.problems);
    for (std::size_t i = 0; i < src.lets.size(); ++i) {
        c.set_file(src.lets[i].file);
        code.lets[i] = c.expr(*src.lets[i].item->value, &direct[code.let_slot(static_cast<std::uint32_t>(i))]);
    }
    for (std::size_t i = 0; i < src.scores.size(); ++i) {
        const ast::score_item& item = *src.scores[i].item;
        c.set_file(src.scores[i].file);
        eval::compiled_score& s = code.scores[i];
        score_definition def;
        s.name = def.name = item.name.value;
        s.first_component = code.component_count;
        for (const ast::component& comp : item.components) {
            s.components.push_back(
                {comp.name.value, comp.weight.value,
                 c.expr(*comp.value, &direct[code.score_slot(static_cast<std::uint32_t>(i))])});
            def.components.push_back(comp.name.value);
            ++code.component_count;
        }
        for (const ast::band& b : item.bands) {
            s.bands.push_back({b.name.value, b.threshold ? std::optional<double>(b.threshold->value) : std::nullopt});
            def.bands.push_back(b.name.value);
        }
        set->scores_.push_back(std::move(def));
    }
    for (std::size_t i = 0; i < src.classifies.size(); ++i) {
        const ast::classify_item& item = *src.classifies[i].item;
        c.set_file(src.classifies[i].file);
        eval::compiled_classify& k = code.classifies[i];
        classify_definition def;
        k.name = def.name = item.name.value;
        for (const ast::classify_case& cs : item.cases) {
            k.cases.emplace_back(cs.label.value,
                                 c.expr(*cs.condition, &direct[code.classify_slot(static_cast<std::uint32_t>(i))]));
            def.labels.push_back(cs.label.value);
        }
        if (item.default_label) {
            k.default_label = item.default_label->value;
            def.labels.push_back(item.default_label->value);
        }
        set->classifies_.push_back(std::move(def));
    }
    for (const auto& ref : src.rules) {
        const ast::rule_item& item = *ref.item;
        c.set_file(ref.file);
        eval::compiled_rule r;
        rule_definition def;
        def.name = item.name.value;
        def.title = item.title ? item.title->value : item.name.value;
        if (item.severity) def.severity = severity_named(item.severity->value);
        if (item.for_duration) def.for_duration = item.for_duration->value;
        if (item.keep_firing_for) def.keep_firing_for = item.keep_firing_for->value;
        for (const auto& ch : item.notify) def.notify.push_back(ch.value);
        def.resolve_notify = !item.resolve || item.resolve->value != "silent";
        def.has_repeat = item.repeat != nullptr;
        for (const auto& n : item.inhibited_by) def.inhibited_by.push_back(n.value);
        if (item.escalate_after && item.escalate_to) {
            def.escalate_after = item.escalate_after->value;
            def.escalate_to = item.escalate_to->value;
        }
        for (const auto& l : item.labels) def.labels.emplace_back(l.key.value, l.value.value);
        def.file = ref.file < src.files.size() ? src.files[ref.file].path : std::string{};
        def.line = item.pos.line;
        def.fingerprint = fingerprint(item, src);

        std::set<std::uint32_t> deps;
        if (item.when) r.when = c.expr(*item.when, &deps);
        if (item.repeat) r.repeat = c.expr(*item.repeat);
        if (item.snooze_wake_if) {
            r.snooze_wake_if = c.expr(*item.snooze_wake_if);
            def.snooze_wake_if = format::format_expr(*item.snooze_wake_if);
        }
        if (item.message) {
            r.has_message = true;
            r.message = c.message(*item.message);
        }
        r.title = def.title;
        std::set<std::uint32_t> closure;
        for (std::uint32_t d : deps) close_over(d, direct, closure);
        r.depends_on.assign(closure.begin(), closure.end());
        code.rules.push_back(std::move(r));
        set->rules_.push_back(std::move(def));
    }
    // inhibited_by names → indices, now that every rule has one (the checker refused
    // unknown names, so a miss here is skipped rather than trusted).
    for (auto& def : set->rules_) {
        for (const auto& n : def.inhibited_by)
            for (std::size_t i = 0; i < set->rules_.size(); ++i)
                if (set->rules_[i].name == n) def.inhibitors.push_back(static_cast<std::uint32_t>(i));
    }
    eval::analyze_inputs(code);
    // A condition that reads alerts.* (through lets, scores or classes too) marks its rule:
    // the engine leaves such rules' alerts out of what alerts.* counts (rule_set.hpp).
    for (std::size_t i = 0; i < set->rules_.size() && i < code.rule_inputs.size(); ++i)
        set->rules_[i].reads_alerts = (code.rule_inputs[i] & eval::inputs::alerts) != 0;
    if (!has_errors(result.problems)) result.rules = std::move(set);
    return result;
}

compile_result compile(ast::program program) { return compiler::build(std::move(program)); }

// ---------------------------------------------------------------------------------------
// compiled_rule_set

evaluation compiled_rule_set::make_evaluation() const {
    evaluation e;
    e.conditions.assign(code_.rules.size(), 0);
    e.scores.assign(code_.scores.size(), 0);
    e.bands.assign(code_.scores.size(), -1);
    e.classes.assign(code_.classifies.size(), 0);
    e.evaluated.assign(code_.rules.size(), 0);
    e.runtime_errors.assign(code_.rules.size(), 0);
    e.item_next.assign(code_.rules.size() + code_.scores.size() + code_.classifies.size(), timestamp_max);
    e.components.assign(code_.component_count, component_memo{});
    return e;
}

void compiled_rule_set::evaluate(const model::account_state& account, timestamp now, duration tick,
                                 evaluation& out, const previous_evaluation* previous,
                                 const alert_facts* alerts) const {
    const std::size_t items = code_.rules.size() + code_.scores.size() + code_.classifies.size();
    if (out.conditions.size() != code_.rules.size() || out.scores.size() != code_.scores.size() ||
        out.classes.size() != code_.classifies.size() || out.runtime_errors.size() != code_.rules.size() ||
        out.evaluated.size() != code_.rules.size() ||
        out.bands.size() != code_.scores.size() || out.item_next.size() != items ||
        out.components.size() != code_.component_count)
        out = make_evaluation();  // not made by make_evaluation(): allocate once
    // A previous evaluation of another shape (another rule set) cannot be reused.
    if (previous && (previous->conditions.size() != code_.rules.size() || previous->scores.size() != code_.scores.size() ||
                     previous->bands.size() != code_.scores.size() ||
                     previous->classes.size() != code_.classifies.size() || previous->item_next.size() != items ||
                     previous->components.size() != code_.component_count))
        previous = nullptr;
    eval::frame_lease lease;
    eval::evaluator ev(code_, account, now, tick, lease.get());
    ev.set_alert_facts(alerts);
    ev.evaluate_all(out, previous);
}

std::uint64_t compiled_rule_set::inputs_changed_by(const model::event& e, const model::account_state& before) const {
    return eval::inputs_changed_by(code_, e, before);
}

std::string compiled_rule_set::render_message(std::size_t rule, const model::account_state& account,
                                              timestamp now, const alert_facts* alerts) const {
    if (rule >= code_.rules.size()) return {};
    const eval::compiled_rule& r = code_.rules[rule];
    if (!r.has_message) {
        const auto* name = std::get_if<std::string>(&account.get(model::profile_field::name));
        return r.title + ": " + (name && !name->empty() ? *name : account.id);
    }
    eval::frame_lease lease;
    eval::evaluator ev(code_, account, now, duration{0}, lease.get());
    ev.set_alert_facts(alerts);
    return ev.render(r.message);
}

std::optional<duration> compiled_rule_set::repeat_interval(std::size_t rule, const model::account_state& account,
                                                           timestamp now) const {
    if (rule >= code_.rules.size() || !code_.rules[rule].repeat) return std::nullopt;
    eval::frame_lease lease;
    eval::evaluator ev(code_, account, now, duration{0}, lease.get());
    eval::value v = ev.eval(*code_.rules[rule].repeat);
    // A repeat of zero or less would re-notify on every evaluation: treated as none.
    if (v.k != eval::kind::duration || v.ms <= 0) return std::nullopt;
    return duration{v.ms};
}

std::optional<bool> compiled_rule_set::snooze_wake_if_holds(std::size_t rule, const model::account_state& account,
                                                             timestamp now) const {
    if (rule >= code_.rules.size() || !code_.rules[rule].snooze_wake_if) return std::nullopt;
    eval::frame_lease lease;
    eval::evaluator ev(code_, account, now, duration{0}, lease.get());
    return eval::truthy(ev.eval(*code_.rules[rule].snooze_wake_if));
}

// ---------------------------------------------------------------------------------------
// Templates outside rule files

namespace {

const eval::program& empty_program() {
    static const eval::program p;
    return p;
}

const ast::program& empty_source() {
    static const ast::program p;
    return p;
}

class template_impl final : public compiled_template {
public:
    std::string render(const model::account_state& account, timestamp now) const override {
        eval::frame_lease lease;
        eval::evaluator ev(*code_, account, now, duration{0}, lease.get());
        return ev.render(parts_);
    }

    const eval::program* code_ = nullptr;
    std::vector<std::unique_ptr<node>> nodes_;
    std::vector<eval::message_part> parts_;
};

}  // namespace

template_compile_result compile_message(const ast::message_template& message, std::string_view origin,
                                        const compiled_rule_set* names) {
    template_compile_result result;
    result.problems = depth_meter(names ? names->source() : empty_source()).template_problems(message, std::string(origin));
    if (has_errors(result.problems)) return result;
    auto t = std::make_unique<template_impl>();
    t->code_ = names ? &names->code() : &empty_program();
    compiler c(names ? names->source() : empty_source(), *t->code_, t->nodes_, result.problems);
    c.set_file(static_cast<std::size_t>(-1));  // not in a rule file: problems name `origin`
    t->parts_ = c.message(message);
    for (auto& d : result.problems)
        if (d.file.empty()) d.file = std::string(origin);
    if (!has_errors(result.problems)) result.compiled = std::move(t);
    return result;
}

}  // namespace redflag::rules::compile
