// The rule language's grammar (../shared/spec/rules-language.md) as PEGTL rules. This
// header holds only rule structs, in the order of grammar/rules.ebnf, so that it reads
// like the EBNF (grammar/README.md ties them together rule by rule).
//
// Every place where the parse can fail after it has committed to a construct is its own
// named rule (the `expected_*` and `*_operand` rules, the closing brackets, ...), used as
// must<RULE>; errors.hpp attaches the message to each of them with must_if, so the grammar
// carries no message text. (must<> is needed because PEGTL's parse tree does not call
// failure() for rules it does not store, so must_if's raise-on-failure alone would not fire.)
#pragma once

#include <tao/pegtl.hpp>

namespace redflag::rules::grammar {

using namespace tao::pegtl;

// ---------------------------------------------------------------- lexical
struct comment : seq<one<'#'>, star<not_one<'\n', '\r'>>> {};
struct skip : star<sor<space, comment>> {};  // white space, newlines and comments

struct kw_let : TAO_PEGTL_KEYWORD("let") {};
struct kw_rule : TAO_PEGTL_KEYWORD("rule") {};
struct kw_score : TAO_PEGTL_KEYWORD("score") {};
struct kw_classify : TAO_PEGTL_KEYWORD("classify") {};
struct kw_component : TAO_PEGTL_KEYWORD("component") {};
struct kw_weight : TAO_PEGTL_KEYWORD("weight") {};
struct kw_band : TAO_PEGTL_KEYWORD("band") {};
struct kw_default : TAO_PEGTL_KEYWORD("default") {};
struct kw_when : TAO_PEGTL_KEYWORD("when") {};
struct kw_and : TAO_PEGTL_KEYWORD("and") {};
struct kw_or : TAO_PEGTL_KEYWORD("or") {};
struct kw_not : TAO_PEGTL_KEYWORD("not") {};
struct kw_in : TAO_PEGTL_KEYWORD("in") {};
struct kw_if : TAO_PEGTL_KEYWORD("if") {};
struct kw_then : TAO_PEGTL_KEYWORD("then") {};
struct kw_else : TAO_PEGTL_KEYWORD("else") {};
struct kw_where : TAO_PEGTL_KEYWORD("where") {};
struct kw_offset : TAO_PEGTL_KEYWORD("offset") {};
struct kw_true : TAO_PEGTL_KEYWORD("true") {};
struct kw_false : TAO_PEGTL_KEYWORD("false") {};
struct kw_null : TAO_PEGTL_KEYWORD("null") {};

struct event_type_name
    : sor<TAO_PEGTL_KEYWORD("account"), TAO_PEGTL_KEYWORD("contract"), TAO_PEGTL_KEYWORD("usage"),
          TAO_PEGTL_KEYWORD("user"), TAO_PEGTL_KEYWORD("ticket"), TAO_PEGTL_KEYWORD("nps"),
          TAO_PEGTL_KEYWORD("csat"), TAO_PEGTL_KEYWORD("activity"), TAO_PEGTL_KEYWORD("milestone")> {};

struct reserved_word
    : sor<kw_let, kw_rule, kw_score, kw_classify, kw_component, kw_weight, kw_band, kw_default, kw_when, kw_and,
          kw_or, kw_not, kw_in, kw_if, kw_then, kw_else, kw_where, kw_offset, kw_true, kw_false, kw_null,
          event_type_name> {};

struct name : seq<not_at<reserved_word>, identifier> {};
// Component, band and classify labels may also be event type names (`component nps`).
struct label_word : sor<event_type_name, name> {};

// Field keywords: reserved only where a field is expected.
struct kw_title : TAO_PEGTL_KEYWORD("title") {};
struct kw_for : TAO_PEGTL_KEYWORD("for") {};
struct kw_severity : TAO_PEGTL_KEYWORD("severity") {};
struct kw_notify : TAO_PEGTL_KEYWORD("notify") {};
struct kw_message : TAO_PEGTL_KEYWORD("message") {};
struct kw_repeat : TAO_PEGTL_KEYWORD("repeat") {};
struct kw_keep_firing_for : TAO_PEGTL_KEYWORD("keep_firing_for") {};
struct kw_resolve : TAO_PEGTL_KEYWORD("resolve") {};
struct kw_labels : TAO_PEGTL_KEYWORD("labels") {};
struct kw_inhibited_by : TAO_PEGTL_KEYWORD("inhibited_by") {};
struct kw_escalate : TAO_PEGTL_KEYWORD("escalate") {};
struct kw_snooze_wake_if : TAO_PEGTL_KEYWORD("snooze_wake_if") {};
struct kw_after : TAO_PEGTL_KEYWORD("after") {};  // only inside `escalate`
struct kw_to : TAO_PEGTL_KEYWORD("to") {};        // only inside `escalate`

// ---------------------------------------------------------------- literals
struct digits : plus<digit> {};
struct duration_unit : sor<string<'m', 's'>, one<'w', 'd', 'h', 'm', 's'>> {};
struct duration_literal : seq<plus<digits, duration_unit>, not_at<identifier_other>> {};
struct number_end : not_at<identifier_other> {};  // "1.5d", "90dx"
struct number_literal : seq<digits, opt<one<'.'>, digits>, opt<one<'%'>>, must<number_end>> {};
struct signed_number : seq<opt<one<'-'>>, number_literal> {};

struct escaped_char : one<'"', '\\'> {};
struct escape : seq<one<'\\'>, must<escaped_char>> {};
struct string_char : not_one<'"', '\\', '\n', '\r'> {};
struct string_close : one<'"'> {};
struct string_literal : seq<one<'"'>, star<sor<escape, string_char>>, must<string_close>> {};

struct true_literal : kw_true {};
struct false_literal : kw_false {};
struct null_literal : kw_null {};

// ---------------------------------------------------------------- expressions
struct expression;

struct list_item : seq<expression> {};
struct list_close : one<']'> {};
struct list_literal
    : seq<one<'['>, skip, opt<expression, star<skip, one<','>, skip, must<list_item>>, skip>, must<list_close>> {};

struct paren_inner : seq<expression> {};
struct paren_close : one<')'> {};
struct parenthesized : seq<one<'('>, skip, must<paren_inner>, skip, must<paren_close>> {};

struct path_head : sor<event_type_name, name> {};
struct path_segment : identifier {};
struct path : seq<path_head, star<one<'.'>, path_segment>> {};

struct window_offset : duration_literal {};
struct window : seq<duration_literal, skip, kw_offset, skip, must<window_offset>> {};
struct where_condition : seq<expression> {};
struct where_clause : seq<kw_where, skip, must<where_condition>> {};
struct argument : sor<window, seq<expression, opt<skip, where_clause>>> {};
struct next_argument : argument {};
struct call_close : one<')'> {};
struct function_name : name {};
struct call : seq<function_name, one<'('>, skip, opt<argument, star<skip, one<','>, skip, must<next_argument>>, skip>,
                  must<call_close>> {};

struct primary : sor<parenthesized, list_literal, string_literal, duration_literal, number_literal, true_literal,
                     false_literal, null_literal, call, path> {};

struct unary_expr;
struct negate_operand : seq<unary_expr> {};
struct negation : seq<one<'-'>, skip, must<negate_operand>> {};
struct unary_expr : sor<negation, primary> {};

struct mul_op : one<'*', '/'> {};
struct product_operand : unary_expr {};
struct product : seq<unary_expr, star<skip, mul_op, skip, must<product_operand>>> {};

struct add_op : one<'+', '-'> {};
struct sum_operand : seq<product> {};
struct sum : seq<product, star<skip, add_op, skip, must<sum_operand>>> {};

struct coalesce_op : string<'?', '?'> {};
struct coalesce_operand : seq<sum> {};
struct coalescing : seq<sum, star<skip, coalesce_op, skip, must<coalesce_operand>>> {};

struct compare_op : sor<string<'=', '='>, string<'!', '='>, string<'<', '='>, string<'>', '='>, one<'<'>, one<'>'>> {};
struct in_op : kw_in {};
struct comparison_operand : seq<coalescing> {};
struct no_chained_comparison : not_at<skip, sor<compare_op, in_op>> {};
struct comparison
    : seq<coalescing,
          opt<skip, sor<compare_op, in_op>, skip, must<comparison_operand>, must<no_chained_comparison>>> {};

struct not_expr;
struct not_operand : seq<not_expr> {};
struct logical_not : seq<kw_not, skip, must<not_operand>> {};
struct not_expr : sor<logical_not, comparison> {};

struct and_operand : not_expr {};
struct conjunction : seq<not_expr, star<skip, kw_and, skip, must<and_operand>>> {};

struct or_operand : seq<conjunction> {};
struct disjunction : seq<conjunction, star<skip, kw_or, skip, must<or_operand>>> {};

struct if_condition : seq<expression> {};
struct expected_then : kw_then {};
struct then_branch : seq<expression> {};
struct expected_else : kw_else {};
struct else_branch : seq<expression> {};
struct conditional : seq<kw_if, skip, must<if_condition>,
                         skip, must<expected_then>, skip, must<then_branch>,
                         skip, must<expected_else>, skip, must<else_branch>> {};

struct expression : sor<conditional, disjunction> {};
struct expected_expression : seq<expression> {};

// ---------------------------------------------------------------- let
struct expected_equals : one<'='> {};
struct let_name : name {};
struct let_item : seq<kw_let, skip, must<let_name>, skip, must<expected_equals>, skip, must<expected_expression>> {};

// ---------------------------------------------------------------- rule
struct expected_string : string_literal {};
struct expected_duration : duration_literal {};
struct field_word : identifier {};
struct channel_name : seq<identifier_first, star<sor<identifier_other, one<'-'>>>> {};
struct next_channel : channel_name {};

struct title_field : seq<kw_title, skip, must<expected_string>> {};
struct when_field : seq<kw_when, skip, must<expected_expression>> {};
struct for_field : seq<kw_for, skip, must<expected_duration>> {};
struct severity_field : seq<kw_severity, skip, must<field_word>> {};
struct notify_field : seq<kw_notify, skip, must<channel_name>, star<skip, one<','>, skip, must<next_channel>>> {};
struct message_field : seq<kw_message, skip, must<expected_string>> {};
struct repeat_field : seq<kw_repeat, skip, must<expected_expression>> {};
struct keep_firing_for_field : seq<kw_keep_firing_for, skip, must<expected_duration>> {};
struct resolve_field : seq<kw_resolve, skip, must<field_word>> {};

// `inhibited_by [a, b]`: rule names, checked after parsing.
struct expected_open_bracket : one<'['> {};
struct inhibitor_name : identifier {};
struct next_inhibitor : inhibitor_name {};
struct inhibitors_close : one<']'> {};
struct inhibited_by_field
    : seq<kw_inhibited_by, skip, must<expected_open_bracket>, skip, must<inhibitor_name>,
          star<skip, one<','>, skip, must<next_inhibitor>>, skip, must<inhibitors_close>> {};

// `escalate after DURATION to CHANNEL`.
struct expected_after : kw_after {};
struct expected_to : kw_to {};
struct escalate_channel : channel_name {};
struct escalate_field : seq<kw_escalate, skip, must<expected_after>, skip, must<expected_duration>, skip,
                            must<expected_to>, skip, must<escalate_channel>> {};

struct snooze_wake_if_field : seq<kw_snooze_wake_if, skip, must<expected_expression>> {};

struct label_key : identifier {};
struct label : seq<label_key, skip, must<expected_equals>, skip, must<expected_string>> {};
struct next_label : label {};
struct expected_open_brace : one<'{'> {};
struct labels_close : one<'}'> {};
struct labels_field
    : seq<kw_labels, skip, must<expected_open_brace>, skip,
          opt<label, star<skip, one<','>, skip, must<next_label>>, skip>,
          must<labels_close>> {};

struct rule_field : sor<title_field, when_field, for_field, severity_field, notify_field, message_field, repeat_field,
                        keep_firing_for_field, resolve_field, labels_field, inhibited_by_field, escalate_field,
                        snooze_wake_if_field> {};
struct rule_close : one<'}'> {};
struct rule_name : name {};
struct rule_item : seq<kw_rule, skip, must<rule_name>, skip, must<expected_open_brace>, skip,
                       star<rule_field, skip>, must<rule_close>> {};

// ---------------------------------------------------------------- score
struct component_name : label_word {};
struct expected_weight : kw_weight {};
struct weight : signed_number {};
struct component : seq<kw_component, skip, must<component_name>, skip, must<expected_weight>, skip, must<weight>,
                       skip, must<expected_equals>, skip, must<expected_expression>> {};
struct band_name : label_word {};
struct threshold : signed_number {};
struct band : seq<kw_band, skip, must<band_name>, opt<skip, string<'>', '='>, skip, must<threshold>>> {};
struct score_close : one<'}'> {};
struct score_name : name {};
struct score_item
    : seq<kw_score, skip, must<score_name>, skip, must<expected_open_brace>, skip,
          star<sor<component, band>, skip>, must<score_close>> {};

// ---------------------------------------------------------------- classify
struct case_label : label_word {};
struct expected_when : kw_when {};
struct classify_case : seq<case_label, skip, must<expected_when>, skip, must<expected_expression>> {};
struct default_label : label_word {};
struct default_case : seq<kw_default, skip, must<default_label>> {};
struct classify_close : one<'}'> {};
struct classify_name : name {};
struct classify_item : seq<kw_classify, skip, must<classify_name>, skip, must<expected_open_brace>, skip,
                           star<classify_case, skip>, opt<default_case, skip>, must<classify_close>> {};

// ---------------------------------------------------------------- file
struct item : sor<let_item, rule_item, score_item, classify_item> {};
struct expected_item : item {};
// One step of the parser's item loop (it resumes after an error at the next item).
struct item_step : seq<skip, sor<eof, must<expected_item>>> {};
struct file : seq<skip, star<item, skip>, sor<eof, must<expected_item>>> {};

// A message template's embedded expression: `{EXPR | FORMAT}` without braces and format.
struct embedded_end : eof {};
struct embedded_expression : seq<skip, must<expected_expression>, skip, must<embedded_end>> {};

// The whole language, for pegtl::analyze.
struct grammar : file {};

}  // namespace redflag::rules::grammar
