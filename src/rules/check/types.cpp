// The checker's types (rules-language.md, "Null and types"): every expression's type,
// written into ast::expr::type. `error` marks a problem already reported and absorbs
// follow-up problems, as `null` (the literal) and `dynamic` (account.attributes.KEY,
// typed at run time) do.
#include "rules/check/context.hpp"

#include "rules/limits.hpp"

#include <cmath>

namespace redflag::rules::check {

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
    if (!like(t, value_type::boolean)) report(e.pos, "type-mismatch", std::string(what) + " needs a bool, not " + tn(t));
    return t;
}

// The parser bounds how deep an expression nests (rules/limits.hpp); a deeper tree handed
// to the checker directly is refused here rather than walked.
value_type checker::check(ast::expr& e) {
    if (depth_ >= max_nesting) {
        if (!too_deep_reported_)
            report(e.pos, "too-deep", "expression nested too deeply: more than " + std::to_string(max_nesting) + " levels");
        too_deep_reported_ = true;
        e.type = value_type::error;
        return e.type;
    }
    ++depth_;
    value_type t = check_node(e);
    --depth_;
    e.type = t;
    return t;
}

value_type checker::check_node(ast::expr& e) {
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
        t = check_list(*list);
    } else if (auto* p = std::get_if<ast::path>(&e.node)) {
        t = p->segments.empty() ? value_type::error : check_path(e, *p);
    } else if (auto* c = std::get_if<ast::call>(&e.node)) {
        t = check_call(*c);
    } else if (auto* f = std::get_if<ast::filtered>(&e.node)) {
        t = check_filtered(*f);
    } else if (std::holds_alternative<ast::window>(e.node)) {
        report(e.pos, "invalid-window", "a window such as 28d offset 7d is only allowed as an aggregate's window argument");
        t = value_type::error;
    } else if (auto* u = std::get_if<ast::unary>(&e.node)) {
        t = check_unary(*u);
    } else if (auto* b = std::get_if<ast::binary>(&e.node)) {
        t = check_binary(*b);
    } else if (auto* c = std::get_if<ast::conditional>(&e.node)) {
        t = check_conditional(*c);
    } else if (auto* paren = std::get_if<ast::parenthesized>(&e.node)) {
        t = paren->inner ? check(*paren->inner) : value_type::error;
    }
    return t;
}

value_type checker::check_list(ast::list_literal& list) {
    value_type item = value_type::null;
    for (auto& i : list.items) {
        if (!i) continue;
        auto it = check_value(*i);
        if (!like(item, it))
            report(i->pos, "type-mismatch", "list items must be of one type: " + tn(it) + " after " + tn(item));
        else
            item = unify(item, it);
    }
    return value_type::list;
}

value_type checker::check_conditional(ast::conditional& c) {
    if (c.condition) check_bool(*c.condition, "if");
    auto a = c.then_branch ? check_value(*c.then_branch) : value_type::error;
    auto b = c.else_branch ? check_value(*c.else_branch) : value_type::error;
    if (!like(a, b)) {
        report(c.else_branch->pos, "type-mismatch", "the branches of if have different types: " + tn(a) + " and " + tn(b));
        return value_type::error;
    }
    return unify(a, b);
}

value_type checker::check_unary(ast::unary& u) {
    if (!u.operand) return value_type::error;
    auto t = check_value(*u.operand);
    if (u.op == ast::unary_op::logical_not) {
        if (!like(t, value_type::boolean)) report(u.operand->pos, "type-mismatch", "not needs a bool, not " + tn(t));
        return value_type::boolean;
    }
    if (t == value_type::number || t == value_type::duration || is_absorbing(t)) return t;
    report(u.operand->pos, "type-mismatch", "cannot negate a " + tn(t));
    return value_type::error;
}

// ----------------------------------------------------------------- `where` and windows

value_type checker::check_filtered(ast::filtered& f) {
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
        report(f.source->pos, "type-mismatch", "where needs a stream or a collection before it, not " + tn(t));
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

// ----------------------------------------------------------------- binary operators

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

bool arithmetic_operand(value_type t) {
    return t == value_type::number || t == value_type::duration || t == value_type::time || is_absorbing(t);
}

// The type of `lt OP rt` for + - * / with two known (not absorbing) types; none when the
// operation is not defined.
std::optional<value_type> arithmetic_of_known(ast::binary_op op, value_type lt, value_type rt) {
    using vt = value_type;
    switch (op) {
        case ast::binary_op::add:
            if (lt == rt && lt != vt::time) return lt;
            if ((lt == vt::time && rt == vt::duration) || (lt == vt::duration && rt == vt::time)) return vt::time;
            return std::nullopt;
        case ast::binary_op::sub:
            if (lt == rt) return lt == vt::time ? vt::duration : lt;
            if (lt == vt::time && rt == vt::duration) return vt::time;
            return std::nullopt;
        case ast::binary_op::mul:
            if (lt == vt::number && rt == vt::number) return vt::number;
            if ((lt == vt::duration && rt == vt::number) || (lt == vt::number && rt == vt::duration)) return vt::duration;
            return std::nullopt;
        default:  // div
            if (lt == vt::number && rt == vt::number) return vt::number;
            if (lt == vt::duration && rt == vt::number) return vt::duration;
            if (lt == vt::duration && rt == vt::duration) return vt::number;
            return std::nullopt;
    }
}

// The same when one side or both are absorbing (null, dynamic): what can still be told.
std::optional<value_type> arithmetic_of_absorbing(ast::binary_op op, value_type lt, value_type rt) {
    using vt = value_type;
    if (is_absorbing(lt) && is_absorbing(rt)) return lt == vt::null && rt == vt::null ? vt::null : vt::dynamic;
    auto known = is_absorbing(lt) ? rt : lt;
    if (known == vt::time) {
        if (op == ast::binary_op::add) return vt::time;
        if (op == ast::binary_op::sub) return vt::dynamic;
        return std::nullopt;
    }
    if (known == vt::duration && op == ast::binary_op::div) return vt::dynamic;
    return known;
}

}  // namespace

value_type checker::check_binary(ast::binary& b) {
    if (!b.lhs || !b.rhs) return value_type::error;
    using ast::binary_op;
    auto lt = check_value(*b.lhs);
    auto rt = check_value(*b.rhs);
    switch (b.op) {
        case binary_op::logical_and:
        case binary_op::logical_or: return check_logical(b, lt, rt);
        case binary_op::eq:
        case binary_op::ne:
        case binary_op::lt:
        case binary_op::le:
        case binary_op::gt:
        case binary_op::ge: return check_comparison(b, lt, rt);
        case binary_op::in: return check_membership(b, lt, rt);
        case binary_op::coalesce:
            if (!like(lt, rt)) {
                report(b.rhs->pos, "type-mismatch", "?? needs operands of one type, not " + tn(lt) + " and " + tn(rt));
                return value_type::error;
            }
            return unify(lt, rt);
        case binary_op::add:
        case binary_op::sub:
        case binary_op::mul:
        case binary_op::div: return check_arithmetic(b, lt, rt);
    }
    return value_type::error;
}

value_type checker::check_logical(ast::binary& b, value_type lt, value_type rt) {
    const char* op = b.op == ast::binary_op::logical_and ? "and" : "or";
    if (!like(lt, value_type::boolean))
        report(b.lhs->pos, "type-mismatch", std::string(op) + " needs bool operands, not " + tn(lt));
    if (!like(rt, value_type::boolean))
        report(b.rhs->pos, "type-mismatch", std::string(op) + " needs bool operands, not " + tn(rt));
    return value_type::boolean;
}

value_type checker::check_comparison(ast::binary& b, value_type lt, value_type rt) {
    if (!like(lt, rt)) {
        const ast::expr& at = is_literal(*b.lhs) && !is_literal(*b.rhs) ? *b.lhs : *b.rhs;
        report(at.pos, "type-mismatch", "cannot compare " + tn(lt) + " with " + tn(rt),
               duration_hint(*b.lhs, lt, *b.rhs, rt));
        return value_type::boolean;
    }
    const bool ordering = b.op != ast::binary_op::eq && b.op != ast::binary_op::ne;
    if (ordering && !(orderable(lt) && orderable(rt))) {
        auto t = is_absorbing(lt) ? rt : lt;
        report(b.rhs->pos, "type-mismatch", "cannot order values of type " + tn(t), "use == or != for " + tn(t) + " values");
        return value_type::boolean;
    }
    check_label_literal(*b.lhs, *b.rhs);
    check_label_literal(*b.rhs, *b.lhs);
    return value_type::boolean;
}

value_type checker::check_membership(ast::binary& b, value_type lt, value_type rt) {
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
    if (!like(lt, item)) report(b.lhs->pos, "type-mismatch", "cannot look for a " + tn(lt) + " in a list of " + tn(item) + "s");
    if (lt == value_type::list) report(b.lhs->pos, "type-mismatch", "cannot look for a list in a list");
    return value_type::boolean;
}

value_type checker::check_arithmetic(ast::binary& b, value_type lt, value_type rt) {
    using ast::binary_op;
    if (lt == value_type::error || rt == value_type::error) return value_type::error;
    std::optional<value_type> result;
    if (arithmetic_operand(lt) && arithmetic_operand(rt))
        result = is_absorbing(lt) || is_absorbing(rt) ? arithmetic_of_absorbing(b.op, lt, rt)
                                                      : arithmetic_of_known(b.op, lt, rt);
    if (result) return *result;
    std::string message;
    switch (b.op) {
        case binary_op::add: message = "cannot add " + tn(lt) + " and " + tn(rt); break;
        case binary_op::sub: message = "cannot subtract " + tn(rt) + " from " + tn(lt); break;
        case binary_op::mul: message = "cannot multiply " + tn(lt) + " by " + tn(rt); break;
        default: message = "cannot divide " + tn(lt) + " by " + tn(rt); break;
    }
    const ast::expr& at = !arithmetic_operand(lt) ? *b.lhs : *b.rhs;
    report(at.pos, "type-mismatch", message, duration_hint(*b.lhs, lt, *b.rhs, rt));
    return value_type::error;
}

// `health.band == "gren"`, `quadrant in ["a", "b"]`: a string literal compared with a
// score's band or a classification must be one of its labels.
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

}  // namespace redflag::rules::check
