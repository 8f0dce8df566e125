// The rule language's builtin functions (rules-language.md, "Streams, windows and
// aggregates", "Collections", "History", "Other functions"): one table, read by the
// checker (names, arity, which family's type rules apply) and by the compiler (the
// evaluator operation each call becomes). A new function is one row here, its type rule
// in rules/check/calls.cpp and its evaluation in rules/eval/evaluator.cpp.
//
// Plain constant data; thread-safe.
#pragma once

#include "rules/ast/ast.hpp"
#include "rules/eval/program.hpp"

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace redflag::rules {

// Which of the checker's type rules a function follows.
enum class builtin_family : std::uint8_t {
    aggregate,   // over a stream in a window; min, max and count also over values or a collection
    quantifier,  // any, all: over a collection
    history,     // since, changed, previous, now
    scalar,      // plain functions of values
};

inline constexpr std::size_t variadic = SIZE_MAX;

struct builtin_spec {
    std::string_view name;
    ast::builtin fn;
    builtin_family family;
    std::size_t min_args;
    std::size_t max_args;  // `variadic`: no upper bound
    // What a call compiles to: over a stream or collection (aggregates, since), and over
    // values (scalar functions; min, max and count of values). eval::op::constant: none.
    eval::op over_source;
    eval::op over_values;
};

// Every builtin, in the order of ast::builtin (min_of and max_of, which the checker
// derives from min and max, have no row: they cannot be written).
std::span<const builtin_spec> builtins();

// The row named `name`, or null.
const builtin_spec* find_builtin(std::string_view name);

// The row of `fn`; min_of and max_of give the rows of min and max; null for unresolved.
const builtin_spec* find_builtin(ast::builtin fn);

}  // namespace redflag::rules
