// The condition is compiled as a one-interpolation template "{EXPR}": the template
// pipeline (parse_template_text → check_template → compile_message) already parses an
// expression, checks it against a rule set's names and compiles it, so a condition adds
// only the type check (it must be a condition) and the position shift of the '{'.
#include "rules/expression.hpp"

#include "rules/check/checker.hpp"
#include "rules/compile/compiler.hpp"
#include "rules/parse/parser.hpp"

namespace redflag::rules {
namespace {

diagnostic problem(std::string_view origin, std::string code, std::string message, ast::position pos = {1, 1},
                   std::string hint = {}) {
    diagnostic d;
    d.code = std::move(code);
    d.file = std::string(origin);
    d.message = std::move(message);
    d.line = pos.line;
    d.column = pos.column;
    d.hint = std::move(hint);
    return d;
}

}  // namespace

bool condition::holds(const model::account_state& account, timestamp now) const {
    return code_ && code_->render(account, now) == "true";
}

condition_result compile_condition(std::string_view text, std::string_view origin, const rule_set* names) {
    condition_result result;
    auto fail = [&](diagnostic d) {
        result.problems.push_back(std::move(d));
        return std::move(result);
    };
    if (text.find_first_not_of(" \t\r\n") == std::string_view::npos)
        return fail(problem(origin, "parse", "the condition is empty", {1, 1}, "write a condition such as health.score < 30"));
    // Braces would end the interpolation; the language has no use for them in a condition.
    if (auto brace = text.find_first_of("{}"); brace != std::string_view::npos) {
        std::uint32_t line = 1, column = 1;
        for (std::size_t i = 0; i < brace; ++i) {
            if (text[i] == '\n') ++line, column = 1;
            else ++column;
        }
        return fail(problem(origin, "parse", "unexpected '" + std::string(1, text[brace]) + "' in a condition",
                            {line, column}));
    }
    const std::string where(origin);
    std::string wrapped = "{" + std::string(text) + "}";
    ast::message_template tpl = parse::parse_template_text(wrapped, where, result.problems);
    const auto* compiled_names = dynamic_cast<const compile::compiled_rule_set*>(names);
    static const ast::program no_names;
    if (!has_errors(result.problems)) {
        diagnostics checked = check::check_template(tpl, where, compiled_names ? compiled_names->source() : no_names);
        result.problems.insert(result.problems.end(), checked.begin(), checked.end());
    }
    // Positions are in the wrapped text: the '{' moved line 1 one column right.
    for (auto& d : result.problems) {
        if (d.line == 1 && d.column > 1) --d.column;
        d.snippet = std::string(source_line(text, d.line));
    }
    if (has_errors(result.problems)) return result;
    if (tpl.parts.size() != 1 || !tpl.parts[0].expression || !tpl.parts[0].format.value.empty())
        return fail(problem(origin, "parse", "expected one condition, such as health.score < 30"));
    const auto& e = *tpl.parts[0].expression;
    if (e.type != ast::value_type::boolean && e.type != ast::value_type::null &&
        e.type != ast::value_type::dynamic) {
        ast::position at = e.pos;
        if (at.line == 1 && at.column > 1) --at.column;
        auto d = problem(origin, "type-mismatch",
                         "a condition must be true or false, not " + std::string(check::type_name(e.type)), at,
                         "compare it, e.g. health.score < 30");
        d.snippet = std::string(source_line(text, d.line));
        return fail(std::move(d));
    }
    compile::template_compile_result built = compile::compile_message(tpl, origin, compiled_names);
    result.problems.insert(result.problems.end(), built.problems.begin(), built.problems.end());
    if (!has_errors(result.problems) && built.compiled)
        result.compiled = std::make_unique<condition>(std::move(built.compiled));
    return result;
}

}  // namespace redflag::rules
