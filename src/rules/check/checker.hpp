// The checker: names, types and structure of parsed rule files (rules-language.md,
// "Expressions", "Null and types", "Errors"). It annotates the AST in place, for the
// compiler:
//   - every ast::expr's `type`;
//   - every ast::path's `resolution` (ref_kind and indices into the program's tables);
//     for an event field inside `where`, `sub` is stream_field_index(type, field) and,
//     for the event's `at`, 0xFFFFFFFF; for a collection item field, `sub` is the field's
//     position in: users (id email name role active first_seen last_seen), tickets
//     (id status priority subject opened_at), products (product);
//   - every ast::call's `fn`: min/max/count over a stream or collection are the
//     aggregates (builtin::min/max/count); min/max of values are builtin::min_of/max_of;
//     count of a list value (count(account.products)) is builtin::count with a
//     first argument of type list;
//   - every template_part's `fmt`;
// and fills program.lets/scores/classifies/rules in load order (files in the order given,
// items in file order). A name defined twice keeps its first definition in the tables.
//
// Failure: never throws; every problem found is returned (it does not stop at the first),
// positioned at the first character of the offending part, sorted by file (load order),
// line and column. Codes: unknown-name, unknown-function, unknown-label, unknown-format,
// unknown-channel, duplicate-name, duplicate-label, duplicate-channel, reserved-name,
// missing-field, invalid-value, invalid-score, invalid-window, type-mismatch, arity,
// usage-where, cycle. Unknown names carry a "did you mean X?" hint when one is close. Not thread-safe for one
// program; separate programs may be checked concurrently.
#pragma once

#include "rules/ast/ast.hpp"
#include "rules/diagnostic.hpp"

#include <optional>
#include <set>
#include <string>

namespace redflag::rules::check {

struct check_options {
    // The config's channel names; when set, a rule's `notify` naming another is an error.
    std::optional<std::set<std::string>> channels;
};

diagnostics check(ast::program& program, const check_options& options);

// Checks a template outside rule files (e.g. an email channel's `to: "{account.csm_email}"`,
// parsed with parse::parse_template_text) against the names of an already checked program:
// lets, scores and classifications. Diagnostics name `origin` as their file.
diagnostics check_template(ast::message_template& tpl, const std::string& origin, const ast::program& checked);

// The language's name for a type, as used in messages ("number", "duration", ...).
std::string_view type_name(ast::value_type t);

}  // namespace redflag::rules::check
