// The checker's calls: the builtin functions of rules/builtins.hpp, by family. Sets
// ast::call::fn (min and max of values become min_of and max_of).
#include "rules/check/context.hpp"

namespace redflag::rules::check {

// One call being checked, with the checks every family needs.
struct checker::call_site {
    checker& self;
    ast::call& c;
    const builtin_spec& spec;
    const std::string& name;
    std::size_t argc;

    ast::expr& arg(std::size_t i) { return *c.args[i]; }

    // False, with a diagnostic (and the arguments checked), when argc is not in [lo, hi].
    bool arity(std::size_t lo, std::size_t hi) {
        if (argc >= lo && argc <= hi) return true;
        std::string expected;
        if (lo == hi) expected = std::to_string(lo) + (lo == 1 ? " argument" : " arguments");
        else if (hi == variadic) expected = "at least " + std::to_string(lo) + " arguments";
        else expected = std::to_string(lo) + " or " + std::to_string(hi) + " arguments";
        self.report(c.name.pos, "arity", name + " takes " + expected + ", got " + std::to_string(argc));
        self.check_rest(c, 0);
        return false;
    }
    bool arity() { return arity(spec.min_args, spec.max_args); }

    // Checks that `a` is a value of type `wanted`; the type it has (wanted when it is
    // null or dynamic), or error after a diagnostic.
    value_type expect(ast::expr& a, value_type wanted) {
        auto t = self.check_value(a);
        if (!like(t, wanted)) {
            self.report(a.pos, "type-mismatch", name + " needs a " + tn(wanted) + ", not " + tn(t));
            return value_type::error;
        }
        return t == value_type::null || t == value_type::dynamic ? wanted : t;
    }
};

// Checks the arguments from `from` on that were not checked yet (after an error that
// stops the call's own checks, so that problems inside them are still reported).
void checker::check_rest(ast::call& c, std::size_t from) {
    for (std::size_t i = from; i < c.args.size(); ++i)
        if (c.args[i] && c.args[i]->type == value_type::unknown) check(*c.args[i]);
}

value_type checker::check_call(ast::call& c) {
    const std::string& name = c.name.value;
    const builtin_spec* spec = find_builtin(name);
    if (!spec) {
        std::vector<std::string> all;
        for (const auto& b : builtins()) all.emplace_back(b.name);
        report(c.name.pos, "unknown-function", "unknown function " + name, did_you_mean(name, all));
        check_rest(c, 0);
        return value_type::error;
    }
    c.fn = spec->fn;
    for (const auto& a : c.args)
        if (!a) return value_type::error;
    call_site call{*this, c, *spec, name, c.args.size()};
    switch (spec->family) {
        case builtin_family::aggregate: return check_aggregate(call);
        case builtin_family::quantifier: return check_quantifier(call);
        case builtin_family::history: return check_history(call);
        case builtin_family::scalar: return check_scalar(call);
    }
    return value_type::error;
}

// ----------------------------------------------------------------- aggregates

namespace {

// The stream path of an aggregate's first argument (`nps.score`, `ticket where ...`).
const ast::path* source_path(const ast::expr& e) {
    const auto& inner = strip_parens(e);
    if (auto* p = std::get_if<ast::path>(&inner.node)) return p;
    if (auto* f = std::get_if<ast::filtered>(&inner.node); f && f->source)
        return std::get_if<ast::path>(&strip_parens(*f->source).node);
    return nullptr;
}

}  // namespace

// count sum avg min max first last distinct rate: over a stream in a window; count also
// over a collection or a list; min and max also over values.
value_type checker::check_aggregate(call_site& call) {
    using ast::builtin;
    if (call.argc == 0) {
        call.arity(1, 2);
        return value_type::error;
    }
    auto t0 = check(call.arg(0));
    if (t0 == value_type::stream) return check_stream_aggregate(call);
    if (t0 == value_type::collection) return check_collection_count(call);
    const builtin fn = call.spec.fn;
    if (fn != builtin::count && fn != builtin::min && fn != builtin::max) {
        if (t0 != value_type::error)
            report(call.arg(0).pos, "type-mismatch", call.name + " needs a stream such as nps.score, not " + tn(t0));
        check_rest(call.c, 1);
        return value_type::error;
    }
    if (fn == builtin::count) {
        if (!call.arity(1, 1)) return value_type::number;
        if (!like(t0, value_type::list))
            report(call.arg(0).pos, "type-mismatch", "count needs a stream, a collection or a list, not " + tn(t0));
        return value_type::number;
    }
    return check_values_min_max(call, t0);
}

value_type checker::check_stream_aggregate(call_site& call) {
    using ast::builtin;
    const builtin fn = call.spec.fn;
    const auto* p = source_path(call.arg(0));
    // Written as a default and an assignment: GCC 12 wrongly warns that the conditional's
    // optional may be used uninitialised.
    std::optional<value_type> elem;
    if (p) elem = element_type(*p);
    if (call.argc > 2) {
        call.arity(1, 2);
        return value_type::error;
    }
    if (call.argc == 2) {
        check_window(call.arg(1));
    } else if (fn != builtin::first && fn != builtin::last) {
        std::string what = p ? path_text(*p) : "ticket";
        report(call.c.name.pos, "arity", call.name + " over a stream needs a window",
               "e.g. " + call.name + "(" + what + ", 30d)");
    }
    switch (fn) {
        case builtin::count: return value_type::number;
        case builtin::sum:
        case builtin::avg:
        case builtin::min:
        case builtin::max:
            if (elem != value_type::number)
                report(call.arg(0).pos, "type-mismatch",
                       call.name + " needs a numeric stream such as nps.score or usage.active_users",
                       p && p->ref.stream_type == model::event_type::usage && p->ref.key.empty()
                           ? "usage needs a metric: usage.METRIC"
                           : std::string());
            return value_type::number;
        case builtin::first:
        case builtin::last:
            if (!elem) {
                report(call.arg(0).pos, "type-mismatch", call.name + " needs a stream with a field, such as nps.score");
                return value_type::error;
            }
            return *elem;
        case builtin::distinct:
            if (!elem)
                report(call.arg(0).pos, "type-mismatch", "distinct needs a stream with a field, such as ticket.priority");
            return value_type::number;
        default:  // rate
            if (elem && elem != value_type::number)
                report(call.arg(0).pos, "type-mismatch", "rate needs a stream without a field, or with a numeric one");
            return value_type::number;
    }
}

value_type checker::check_collection_count(call_site& call) {
    if (call.spec.fn != ast::builtin::count) {
        report(call.arg(0).pos, "type-mismatch", call.name + " needs a stream, not a collection",
               "collections take any, all and count");
        check_rest(call.c, 1);
        return value_type::error;
    }
    if (call.argc != 1) {
        report(call.arg(1).pos, "arity", "count over a collection takes no window",
               "a collection holds the account's current users, open tickets or products");
        check_rest(call.c, 1);
    }
    return value_type::number;
}

// min(a, b, ...) and max(a, b, ...) of values of one orderable type.
value_type checker::check_values_min_max(call_site& call, value_type first) {
    call.c.fn = call.spec.fn == ast::builtin::min ? ast::builtin::min_of : ast::builtin::max_of;
    value_type result = first;
    if (call.argc < 2) {
        report(call.c.name.pos, "arity", call.name + " of values takes at least 2 arguments, got 1",
               "over a stream: " + call.name + "(nps.score, 90d)");
        return value_type::error;
    }
    for (std::size_t i = 1; i < call.argc; ++i) {
        auto t = check_value(call.arg(i));
        if (!like(result, t)) {
            report(call.arg(i).pos, "type-mismatch",
                   call.name + " needs arguments of one type: " + tn(t) + " after " + tn(result));
            return value_type::error;
        }
        result = unify(result, t);
    }
    if (result != value_type::number && result != value_type::duration && result != value_type::time &&
        !is_absorbing(result)) {
        report(call.arg(0).pos, "type-mismatch", call.name + " needs numbers, durations or times, not " + tn(result));
        return value_type::error;
    }
    return result;
}

// ----------------------------------------------------------------- any, all

value_type checker::check_quantifier(call_site& call) {
    if (!call.arity()) return value_type::error;
    auto t0 = check(call.arg(0));
    if (t0 != value_type::collection && t0 != value_type::error)
        report(call.arg(0).pos, "type-mismatch",
               call.name + " needs a collection (users, tickets or products), not " + tn(t0),
               "e.g. " + call.name + "(users where role == \"admin\")");
    return value_type::boolean;
}

// ----------------------------------------------------------------- since, changed, previous, now

value_type checker::check_history(call_site& call) {
    using ast::builtin;
    switch (call.spec.fn) {
        case builtin::since: {
            if (!call.arity()) return value_type::duration;
            auto t0 = check(call.arg(0));
            if (t0 == value_type::stream || like(t0, value_type::time)) return value_type::duration;
            report(call.arg(0).pos, "type-mismatch", "since needs a stream or a time, not " + tn(t0));
            return value_type::duration;
        }
        case builtin::changed:
        case builtin::previous: {
            const bool changed = call.spec.fn == builtin::changed;
            if (!call.arity()) return changed ? value_type::boolean : value_type::error;
            auto t0 = check(call.arg(0));
            const auto* p = std::get_if<ast::path>(&strip_parens(call.arg(0)).node);
            value_type result = t0;
            if (t0 != value_type::error && (!p || p->ref.kind != ast::ref_kind::account_field)) {
                report(call.arg(0).pos, "type-mismatch",
                       call.name + " needs an account field with history, such as account.csm",
                       "history is kept for every account.FIELD except id, arr, first_seen and attributes");
                result = value_type::error;
            }
            if (changed) {
                check_window(call.arg(1));
                return value_type::boolean;
            }
            return result;
        }
        default:  // now
            call.arity();
            return value_type::time;
    }
}

// ----------------------------------------------------------------- scalar functions

namespace {

// Functions whose every argument has one type and whose result has one type.
struct uniform_signature {
    ast::builtin fn;
    value_type argument;
    value_type result;  // also the call's type when its arity is wrong
};
constexpr uniform_signature uniform_signatures[] = {
    {ast::builtin::clamp, value_type::number, value_type::number},
    {ast::builtin::round, value_type::number, value_type::number},
    {ast::builtin::floor, value_type::number, value_type::number},
    {ast::builtin::ceil, value_type::number, value_type::number},
    {ast::builtin::pct_change, value_type::number, value_type::number},
    {ast::builtin::days, value_type::duration, value_type::number},
    {ast::builtin::lower, value_type::string, value_type::string},
    {ast::builtin::upper, value_type::string, value_type::string},
    {ast::builtin::starts_with, value_type::string, value_type::boolean},
};

}  // namespace

value_type checker::check_scalar(call_site& call) {
    using ast::builtin;
    for (const auto& s : uniform_signatures) {
        if (s.fn != call.spec.fn) continue;
        if (!call.arity()) return s.result;
        for (auto& a : call.c.args) call.expect(*a, s.argument);
        return s.result;
    }
    switch (call.spec.fn) {
        case builtin::abs: {
            if (!call.arity()) return value_type::error;
            auto t = check_value(call.arg(0));
            if (t == value_type::number || t == value_type::duration || is_absorbing(t)) return t;
            report(call.arg(0).pos, "type-mismatch", "abs needs a number or a duration, not " + tn(t));
            return value_type::error;
        }
        case builtin::contains: {
            if (!call.arity()) return value_type::boolean;
            auto t = check_value(call.arg(0));
            if (t != value_type::string && t != value_type::list && !is_absorbing(t))
                report(call.arg(0).pos, "type-mismatch", "contains needs a string or a list, not " + tn(t));
            call.expect(call.arg(1), value_type::string);
            return value_type::boolean;
        }
        case builtin::coalesce: return check_coalesce(call);
        default: return value_type::error;
    }
}

value_type checker::check_coalesce(call_site& call) {
    if (!call.arity()) return value_type::error;
    value_type result = value_type::null;
    for (auto& a : call.c.args) {
        auto t = check_value(*a);
        if (!like(result, t)) {
            report(a->pos, "type-mismatch",
                   "coalesce needs arguments of one type: " + tn(t) + " after " + tn(result));
            result = value_type::error;
        } else {
            result = unify(result, t);
        }
    }
    return result;
}

}  // namespace redflag::rules::check
