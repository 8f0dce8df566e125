// Text of runtime values in message templates: the default form and the formats of
// rules-language.md ("Message templates"): round, pct, money, days, date. Stateless,
// thread-safe; appends to the caller's string (allocation only as the string grows).
#pragma once

#include "rules/ast/ast.hpp"
#include "rules/eval/value.hpp"

#include <string>

namespace redflag::rules::eval {

// The shortest text that reads back as `x`: 3, 61.25, 0.1, 1e+21.
void append_number(std::string& out, double x);

// A duration as a number of days: "14 days", "1 day", "1.5 days".
void append_days(std::string& out, double days);

// $12,400, $1,234.50, -$5: the currency symbol is "$" until the config names one.
void append_money(std::string& out, double amount);

// `v` with `fmt`; a format that does not fit the value's kind prints the default form.
// null prints as "—". pct and days keep at most one decimal (33.3%, 1.5 days); money
// prints cents only when there are some; round of a duration rounds its days.
void append_formatted(std::string& out, const value& v, ast::template_format fmt);

}  // namespace redflag::rules::eval
