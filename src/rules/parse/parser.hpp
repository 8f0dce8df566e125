// Parsing: rule file text → ast::source_file (rules/ast/ast.hpp), with a source position on
// every node, message templates split into literal text and parsed `{EXPR | FORMAT}`
// interpolations (positions mapped back into the file), and every comment kept for the
// formatter.
//
// Failure: never throws. A syntax error becomes a diagnostic (code "parse") at the first
// character where the expected construct was not found, with a message saying what was
// expected; the parser then resumes at the next line that starts with `let`, `rule`,
// `score` or `classify` in column 1, so one file can report several syntax errors. Items
// parsed before an error are kept. Other problems found while building the tree (a
// duration with units out of order, a rule field given twice, a broken template) are
// diagnostics too. The functions are thread-safe (no shared state).
#pragma once

#include "rules/ast/ast.hpp"
#include "rules/diagnostic.hpp"

#include <string>
#include <string_view>

namespace redflag::rules::parse {

struct parse_result {
    ast::source_file file;  // path and text as given; the items that parsed
    diagnostics problems;
};

parse_result parse_file(std::string path, std::string text);

// A template outside rule files, e.g. an email channel's `to: "{account.csm_email}"`.
// `text` is the template itself, with any quoting of its container already resolved (it
// is what message_template::raw holds). Positions are lines and columns within `text`;
// diagnostics name `origin` (e.g. "redflag.yaml: channels.owner_email.to") as their file
// and carry the template's line as snippet. Problems are appended to `problems`.
ast::message_template parse_template_text(std::string_view text, const std::string& origin, diagnostics& problems);

}  // namespace redflag::rules::parse
