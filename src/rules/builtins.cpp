#include "rules/builtins.hpp"

namespace redflag::rules {
namespace {

using ast::builtin;
using f = builtin_family;
using eval::op;

constexpr op none = op::constant;

// clang-format off
constexpr builtin_spec table[] = {
    // name          fn                    family      args           over a source       over values
    {"count",       builtin::count,       f::aggregate,  1, 2,          op::count,          op::count_of},
    {"sum",         builtin::sum,         f::aggregate,  1, 2,          op::sum,            none},
    {"avg",         builtin::avg,         f::aggregate,  1, 2,          op::avg,            none},
    {"min",         builtin::min,         f::aggregate,  1, variadic,   op::min,            op::min_of},
    {"max",         builtin::max,         f::aggregate,  1, variadic,   op::max,            op::max_of},
    {"first",       builtin::first,       f::aggregate,  1, 2,          op::first,          none},
    {"last",        builtin::last,        f::aggregate,  1, 2,          op::last,           none},
    {"distinct",    builtin::distinct,    f::aggregate,  1, 2,          op::distinct,       none},
    {"rate",        builtin::rate,        f::aggregate,  1, 2,          op::rate,           none},
    {"any",         builtin::any,         f::quantifier, 1, 1,          op::any,            none},
    {"all",         builtin::all,         f::quantifier, 1, 1,          op::all,            none},
    {"since",       builtin::since,       f::history,    1, 1,          op::since_stream,   op::since_value},
    {"changed",     builtin::changed,     f::history,    2, 2,          op::changed,        none},
    {"previous",    builtin::previous,    f::history,    1, 1,          op::previous,       none},
    {"now",         builtin::now,         f::history,    0, 0,          none,               op::now},
    {"abs",         builtin::abs,         f::scalar,     1, 1,          none,               op::abs},
    {"clamp",       builtin::clamp,       f::scalar,     3, 3,          none,               op::clamp},
    {"round",       builtin::round,       f::scalar,     1, 1,          none,               op::round},
    {"floor",       builtin::floor,       f::scalar,     1, 1,          none,               op::floor},
    {"ceil",        builtin::ceil,        f::scalar,     1, 1,          none,               op::ceil},
    {"pct_change",  builtin::pct_change,  f::scalar,     2, 2,          none,               op::pct_change},
    {"days",        builtin::days,        f::scalar,     1, 1,          none,               op::days},
    {"coalesce",    builtin::coalesce,    f::scalar,     2, variadic,   none,               op::coalesce_fn},
    {"lower",       builtin::lower,       f::scalar,     1, 1,          none,               op::lower},
    {"upper",       builtin::upper,       f::scalar,     1, 1,          none,               op::upper},
    {"contains",    builtin::contains,    f::scalar,     2, 2,          none,               op::contains},
    {"starts_with", builtin::starts_with, f::scalar,     2, 2,          none,               op::starts_with},
};
// clang-format on

}  // namespace

std::span<const builtin_spec> builtins() { return table; }

const builtin_spec* find_builtin(std::string_view name) {
    for (const auto& b : table)
        if (b.name == name) return &b;
    return nullptr;
}

const builtin_spec* find_builtin(ast::builtin fn) {
    if (fn == builtin::min_of) fn = builtin::min;
    if (fn == builtin::max_of) fn = builtin::max;
    for (const auto& b : table)
        if (b.fn == fn) return &b;
    return nullptr;
}

}  // namespace redflag::rules
