// The quick scan a replay core makes of every line of the log to tell whether the line
// is its own: the value of the line's top-level "account" member, read from the raw
// text without parsing the JSON.
//
// Pure functions, thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace redflag::app {

inline constexpr std::string_view account_key = "\"account\"";

// The value of the line's "account" member when the raw text says it without doubt: the
// key appears once, after '{' or ',', and its value is a string without escapes. Else
// nullopt, and the line is parsed to know. (A key inside a nested object gives a wrong
// account only for a line that has no top-level account: that line fails to decode,
// and its owner, whoever it is, reports it.)
std::optional<std::string_view> quick_account(std::string_view line);

// line.find(account_key, from) (npos when absent), faster: with SSE2 it looks at 16
// positions at once for a quote followed by 'a' and compares the whole key only there.
// Each core scans every line, and std::string_view::find stops at each of a line's
// twenty-odd quotes: about 120 ns a line against 30.
std::size_t find_account_key(std::string_view line, std::size_t from = 0);

}  // namespace redflag::app
