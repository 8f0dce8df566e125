// Error messages for the grammar's failure points (grammar.hpp), attached with
// pegtl::must_if: a rule listed here raises a pegtl::parse_error with its message when it
// fails to match, so the parser reports what was expected at the first character where
// it was not found. The parser (rules/parse) turns that exception into a diagnostic.
//
// `control` also bounds the nesting of expressions, so that hostile input cannot exhaust
// the stack: the constructs through which the grammar recurses (parentheses, lists, calls,
// `where`, `if`, `not`, unary minus) are counted while they are open, and past
// rules::max_nesting it raises a too_deep error. Each of them adds a level to the tree the
// parser builds, so nothing the tree's own bound (parse/parser.cpp) accepts is refused.
#pragma once

#include "rules/grammar/grammar.hpp"
#include "rules/limits.hpp"

#include <cstddef>
#include <string>

namespace redflag::rules::grammar {

template <typename Rule>
inline constexpr const char* error_message = nullptr;

// clang-format off
template <> inline constexpr const char* error_message<number_end> = "invalid number or duration: durations are whole numbers with units w d h m s ms, e.g. 90d or 1d12h";
template <> inline constexpr const char* error_message<escaped_char> = "unknown escape in string: only \\\" and \\\\ are allowed";
template <> inline constexpr const char* error_message<string_close> = "unterminated string: expected \" before the end of the line";
template <> inline constexpr const char* error_message<list_item> = "expected a list item after ,";
template <> inline constexpr const char* error_message<list_close> = "expected , or ] in the list";
template <> inline constexpr const char* error_message<paren_inner> = "expected an expression after (";
template <> inline constexpr const char* error_message<paren_close> = "expected ) to close the parenthesis";
template <> inline constexpr const char* error_message<window_offset> = "expected a duration after offset, e.g. 28d offset 7d";
template <> inline constexpr const char* error_message<where_condition> = "expected a condition after where";
template <> inline constexpr const char* error_message<next_argument> = "expected an argument after ,";
template <> inline constexpr const char* error_message<call_close> = "expected , or ) in the call";
template <> inline constexpr const char* error_message<negate_operand> = "expected an operand after -";
template <> inline constexpr const char* error_message<product_operand> = "expected an operand after * or /";
template <> inline constexpr const char* error_message<sum_operand> = "expected an operand after + or -";
template <> inline constexpr const char* error_message<coalesce_operand> = "expected an operand after ??";
template <> inline constexpr const char* error_message<comparison_operand> = "expected an operand after the comparison";
template <> inline constexpr const char* error_message<no_chained_comparison> = "comparisons do not chain: join them with and";
template <> inline constexpr const char* error_message<not_operand> = "expected an operand after not";
template <> inline constexpr const char* error_message<and_operand> = "expected an operand after and";
template <> inline constexpr const char* error_message<or_operand> = "expected an operand after or";
template <> inline constexpr const char* error_message<if_condition> = "expected a condition after if";
template <> inline constexpr const char* error_message<expected_then> = "expected then";
template <> inline constexpr const char* error_message<then_branch> = "expected an expression after then";
template <> inline constexpr const char* error_message<expected_else> = "expected else: an if needs both branches";
template <> inline constexpr const char* error_message<else_branch> = "expected an expression after else";
template <> inline constexpr const char* error_message<expected_expression> = "expected an expression";
template <> inline constexpr const char* error_message<expected_equals> = "expected =";
template <> inline constexpr const char* error_message<let_name> = "expected a name after let (reserved words cannot be names)";
template <> inline constexpr const char* error_message<expected_string> = "expected a string in double quotes";
template <> inline constexpr const char* error_message<expected_duration> = "expected a duration such as 2d or 1d12h";
template <> inline constexpr const char* error_message<field_word> = "expected a name";
template <> inline constexpr const char* error_message<channel_name> = "expected a channel name";
template <> inline constexpr const char* error_message<next_channel> = "expected a channel name after ,";
template <> inline constexpr const char* error_message<next_label> = "expected a label after ,";
template <> inline constexpr const char* error_message<expected_open_brace> = "expected {";
template <> inline constexpr const char* error_message<labels_close> = "expected , or } in labels";
template <> inline constexpr const char* error_message<expected_open_bracket> = "expected [ and a list of rule names, e.g. inhibited_by [churned]";
template <> inline constexpr const char* error_message<inhibitor_name> = "expected a rule name";
template <> inline constexpr const char* error_message<next_inhibitor> = "expected a rule name after ,";
template <> inline constexpr const char* error_message<inhibitors_close> = "expected , or ] in inhibited_by";
template <> inline constexpr const char* error_message<expected_after> = "expected after, as in escalate after 3d to leadership";
template <> inline constexpr const char* error_message<expected_to> = "expected to and a channel name, as in escalate after 3d to leadership";
template <> inline constexpr const char* error_message<escalate_channel> = "expected a channel name after to";
template <> inline constexpr const char* error_message<rule_close> = "expected a rule field (title, when, for, severity, notify, message, repeat, keep_firing_for, resolve, labels, inhibited_by, escalate, snooze_wake_if) or }";
template <> inline constexpr const char* error_message<rule_name> = "expected a rule name after rule (reserved words cannot be names)";
template <> inline constexpr const char* error_message<component_name> = "expected a component name";
template <> inline constexpr const char* error_message<expected_weight> = "expected weight";
template <> inline constexpr const char* error_message<weight> = "expected a number after weight";
template <> inline constexpr const char* error_message<band_name> = "expected a band name";
template <> inline constexpr const char* error_message<threshold> = "expected a number after >=";
template <> inline constexpr const char* error_message<score_close> = "expected component, band or }";
template <> inline constexpr const char* error_message<score_name> = "expected a score name after score (reserved words cannot be names)";
template <> inline constexpr const char* error_message<expected_when> = "expected when after the label";
template <> inline constexpr const char* error_message<default_label> = "expected a label after default";
template <> inline constexpr const char* error_message<classify_close> = "expected a label with when, default LABEL, or }";
template <> inline constexpr const char* error_message<classify_name> = "expected a name after classify (reserved words cannot be names)";
template <> inline constexpr const char* error_message<expected_item> = "expected let, rule, score or classify";
template <> inline constexpr const char* error_message<embedded_end> = "unexpected text after the expression in {...}";
// clang-format on

struct errors {
    template <typename Rule>
    static constexpr const char* message = error_message<Rule>;
};

// Counts the nesting of expressions during one parse; passed to pegtl::parse as a state.
struct depth_guard {
    static constexpr std::size_t max_depth = max_nesting;
    std::size_t depth = 0;
};

// Raised when an expression nests deeper than max_depth; a parse_error, so that callers
// that only know those still report it, with its position.
struct too_deep : parse_error {
    template <typename ParseInput>
    explicit too_deep(const ParseInput& in)
        : parse_error("expression nested too deeply: more than " + std::to_string(depth_guard::max_depth) + " levels",
                      in) {}
};

namespace detail {
inline depth_guard* pick(depth_guard& g, depth_guard*) { return &g; }
template <typename T>
depth_guard* pick(T&, depth_guard* found) { return found; }
template <typename... States>
depth_guard* find_guard(States&... st) {
    depth_guard* found = nullptr;
    ((found = pick(st, found)), ...);
    return found;
}
}  // namespace detail

template <typename Rule>
struct control : must_if<errors>::control<Rule> {};

// The recursive entry points of expressions: each one entered counts one level.
template <typename Rule>
struct nesting_control : must_if<errors>::control<Rule> {
    using base = typename must_if<errors>::template control<Rule>;

    template <typename ParseInput, typename... States>
    static void start(const ParseInput& in, States&... st) {
        if (auto* g = detail::find_guard(st...)) {
            if (g->depth >= depth_guard::max_depth) throw too_deep(in);
            ++g->depth;
        }
        base::start(in, st...);
    }
    template <typename ParseInput, typename... States>
    static void success(const ParseInput& in, States&... st) {
        leave(st...);
        base::success(in, st...);
    }
    template <typename ParseInput, typename... States>
    static void failure(const ParseInput& in, States&... st) {
        leave(st...);
        base::failure(in, st...);
    }
    template <typename ParseInput, typename... States>
    static void unwind(const ParseInput&, States&... st) {
        leave(st...);
    }

private:
    template <typename... States>
    static void leave(States&... st) {
        if (auto* g = detail::find_guard(st...); g && g->depth > 0) --g->depth;
    }
};

// The recursive constructs. (Not `expression` itself: PEGTL's parse tree calls the control
// only for the rules it stores, and these are stored.)
template <> struct control<parenthesized> : nesting_control<parenthesized> {};
template <> struct control<list_literal> : nesting_control<list_literal> {};
template <> struct control<call> : nesting_control<call> {};
template <> struct control<where_clause> : nesting_control<where_clause> {};
template <> struct control<negation> : nesting_control<negation> {};
template <> struct control<logical_not> : nesting_control<logical_not> {};
template <> struct control<conditional> : nesting_control<conditional> {};

}  // namespace redflag::rules::grammar
