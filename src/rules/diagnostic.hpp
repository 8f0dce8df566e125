// Problems found in rule files, as values: every stage (parse, check, compile, load)
// returns them instead of throwing, and the checker collects all of them. Rendered as in
// ../shared/spec/rules-language.md ("Errors") and as JSON for `--format json`.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace redflag::rules {

enum class severity : std::uint8_t { error, warning, note };

struct diagnostic {
    std::string code;        // stable machine name: "parse", "unknown-name", "type-mismatch", ...
    rules::severity level = severity::error;
    std::string message;     // "cannot compare duration with number"
    std::string file;        // as given on the command line or in the config
    std::uint32_t line = 0;  // 1-based; 0 when the problem is not in a file
    std::uint32_t column = 0;
    std::string snippet;     // the source line, without its newline
    std::string hint;        // "write a duration such as 90d"; empty when none
};

using diagnostics = std::vector<diagnostic>;

bool has_errors(const diagnostics& all);

// The source line `line` (1-based) of `text`, for diagnostic::snippet.
std::string_view source_line(std::string_view text, std::uint32_t line);

// rules/red_flags.rules:12:28: error: cannot compare duration with number
//     when since(activity) > 90
//                            ^
// hint: write a duration such as 90d
std::string render_text(const diagnostic& d);
std::string render_text(const diagnostics& all);

// {"diagnostics":[{"file":..,"line":..,"column":..,"severity":"error","code":..,"message":..,"hint":..}]}
std::string render_json(const diagnostics& all);

}  // namespace redflag::rules
