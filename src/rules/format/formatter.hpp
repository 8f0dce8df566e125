// The formatter behind `redflag fmt`: prints a parsed rule file in canonical layout, the
// one of the spec's complete example: items separated by one blank line; 2-space indent
// inside braces; rule fields in a fixed order (title, when, for, severity, notify,
// message, repeat, keep_firing_for, resolve, labels, inhibited_by, escalate,
// snooze_wake_if) with keywords padded so values line
// up; component, band and classify labels padded to align; each expression on one line
// with single spaces around operators; literals as written (70%, 1d12h); parentheses as
// written.
//
// Comments are kept: a comment on the line of a field (or item header, band, case,
// closing brace) stays at the end of that line; others are printed on their own line
// before what follows them. One blank line after a top-level comment is kept.
//
// Guarantees, for a file that parsed without errors: format_file(parse(format_file(f)))
// == format_file(f), and parse(format_file(f)) has the same tree as f (dump_tree). Never
// throws; thread-safe.
#pragma once

#include "rules/ast/ast.hpp"

#include <string>

namespace redflag::rules::format {

std::string format_file(const ast::source_file& file);

// One expression in canonical form, e.g. for messages and tools.
std::string format_expr(const ast::expr& e);

// The tree of a file without positions and comments, one item per line, fully
// parenthesised: two files with equal dumps have the same meaning. For tests and the
// fuzzer (parse → format → parse must not change it).
std::string dump_tree(const ast::source_file& file);

}  // namespace redflag::rules::format
