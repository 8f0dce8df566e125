// The syntax tree of rule files. The parser (rules/parse) builds it with a source
// position on every node; the checker (rules/check) fills the annotations marked
// "checker:" (types, name resolutions, builtins) and the program's symbol tables; the
// compiler (rules/compile) reads the annotated tree; the formatter (rules/format) prints
// it back in canonical layout, comments included.
#pragma once

#include "core/time.hpp"
#include "model/account_state.hpp"
#include "model/event.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace redflag::rules::ast {

// 1-based line and column in the file that holds the node.
struct position {
    std::uint32_t line = 0;
    std::uint32_t column = 0;
};

template <typename T>
struct located {
    T value{};
    position pos;
};

// Types of the language (rules-language.md, "Null and types"), plus the kinds only
// aggregates accept: a stream of events and a collection (users, tickets, products).
enum class value_type : std::uint8_t {
    unknown,     // not checked yet
    error,       // already reported: suppresses follow-up diagnostics
    null,        // the literal null, compatible with every type
    boolean,
    number,
    string,
    duration,
    time,
    list,        // of strings: products, or a list literal
    stream,
    collection,
    dynamic,     // account.attributes.KEY: typed at run time; a mismatch makes the comparison
                 // false and counts as a runtime error
};

struct expr;
using expr_ptr = std::unique_ptr<expr>;

struct number_literal {
    double value = 0;   // 70% is stored as 0.7
    std::string text;   // as written ("70%", "0.7"), for the formatter
};
struct string_literal {
    std::string value;  // escapes resolved
};
struct bool_literal {
    bool value = false;
};
struct null_literal {};
struct duration_literal {
    duration value{};
    std::string text;   // as written ("1d12h")
};
struct list_literal {
    std::vector<expr_ptr> items;
};

// What a dotted name refers to (checker:).
enum class ref_kind : std::uint8_t {
    unresolved,
    let,                // index: into program::lets
    score_value,        // NAME.score; index: program::scores
    score_band,         // NAME.band
    score_component,    // NAME.C; index: score, sub: component
    classify,           // index: program::classifies
    account_field,      // field: the profile field
    account_id,         // account.id
    account_arr,        // account.arr (12 × mrr)
    account_first_seen, // account.first_seen
    account_attribute,  // account.attributes.KEY; key: KEY (typed at run time)
    goals,              // goals.overdue (sub 0), goals.achieved (sub 1): model/goals.hpp
    alerts,             // alerts.unacked (sub 0), alerts.unacked_for (sub 1): rules::alert_facts
    stream,             // an event stream: stream_type, with key = usage metric or numeric field
    collection,         // users, tickets or products: collection
    item_field,         // inside `where`: a field of the event or collection item; key: field name,
                        // sub: its index (stream_field_index for events, or the collection's field)
};

enum class collection_kind : std::uint8_t { users, tickets, products };

struct resolution {
    ref_kind kind = ref_kind::unresolved;
    std::uint32_t index = 0;
    std::uint32_t sub = 0;
    model::profile_field field{};
    model::event_type stream_type{};
    collection_kind collection{};
    std::string key;
};

// `a.b.c`. The first segment may be an event type name (`nps.score`, `usage.active_users`).
struct path {
    std::vector<located<std::string>> segments;
    resolution ref;  // checker:
};

enum class builtin : std::uint8_t {
    unresolved,
    // aggregates over a stream (or, for count/any/all, a collection)
    count, sum, avg, min, max, first, last, distinct, rate, any, all,
    // time and history
    since, changed, previous, now,
    // scalar functions (min/max/count are scalar when their first argument is not a stream)
    min_of, max_of, abs, clamp, round, floor, ceil, pct_change, days, coalesce, lower, upper, contains,
    starts_with,
};

struct call {
    located<std::string> name;
    std::vector<expr_ptr> args;   // a window argument is a duration_literal or a window node
    builtin fn = builtin::unresolved;  // checker:
};

// `SOURCE where CONDITION`: a filtered stream or collection, only as an aggregate's argument.
struct filtered {
    expr_ptr source;
    expr_ptr condition;
};

// `LENGTH offset OFFSET`, both duration literals, only as an aggregate's window argument.
struct window {
    located<duration> length;
    located<duration> offset;
    std::string length_text, offset_text;  // as written
};

enum class unary_op : std::uint8_t { logical_not, negate };
enum class binary_op : std::uint8_t { logical_or, logical_and, eq, ne, lt, le, gt, ge, in, coalesce, add, sub, mul, div };

struct unary {
    unary_op op{};
    expr_ptr operand;
};
struct binary {
    binary_op op{};
    expr_ptr lhs;
    expr_ptr rhs;
};
struct conditional {
    expr_ptr condition;
    expr_ptr then_branch;
    expr_ptr else_branch;
};
// `( EXPR )`, kept so that the formatter can print what the author wrote.
struct parenthesized {
    expr_ptr inner;
};

struct expr {
    position pos;  // the first character of the expression
    std::variant<number_literal, string_literal, bool_literal, null_literal, duration_literal, list_literal, path,
                 call, filtered, window, unary, binary, conditional, parenthesized>
        node;
    value_type type = value_type::unknown;  // checker:
};

// A message template "{EXPR | FORMAT}" split into literal text and interpolations.
enum class template_format : std::uint8_t { none, round, pct, money, days, date };

struct template_part {
    std::string text;           // literal text ({{ and }} already unescaped); empty for an interpolation
    expr_ptr expression;        // null for literal text
    located<std::string> format;  // as written after the last '|', empty when none
    template_format fmt = template_format::none;  // checker:
    position pos;
};

struct message_template {
    std::string raw;  // the string literal's value, escapes resolved
    position pos;     // of the opening quote
    std::vector<template_part> parts;
};

struct comment {
    position pos;
    std::string text;  // from '#' to the end of the line, without the newline
};

struct let_item {
    position pos;  // of the keyword
    located<std::string> name;
    expr_ptr value;
};

struct label {
    located<std::string> key;
    located<std::string> value;
};

struct rule_item {
    position pos;
    located<std::string> name;
    expr_ptr when;
    std::optional<located<std::string>> title;
    std::optional<located<duration>> for_duration;
    std::string for_text;
    std::optional<located<std::string>> severity;   // checked after parsing
    std::vector<located<std::string>> notify;       // channel names, checked against the config
    std::optional<message_template> message;
    expr_ptr repeat;                                 // a duration expression, or null
    std::optional<located<duration>> keep_firing_for;
    std::string keep_firing_for_text;
    std::optional<located<std::string>> resolve;    // "notify" | "silent", checked after parsing
    std::vector<label> labels;
    // `inhibited_by [a, b]`: rule names, checked after parsing (known, not itself, no cycle).
    std::vector<located<std::string>> inhibited_by;
    // `escalate after DURATION to CHANNEL`.
    std::optional<located<duration>> escalate_after;
    std::string escalate_after_text;
    std::optional<located<std::string>> escalate_to;  // checked against the config like notify
    // `snooze_wake_if EXPR`: a bool over the account, the default wake_if of a snooze.
    expr_ptr snooze_wake_if;
    position close;  // of the closing brace
};

struct component {
    position pos;
    located<std::string> name;
    located<double> weight;
    std::string weight_text;
    expr_ptr value;
};

struct band {
    position pos;
    located<std::string> name;
    std::optional<located<double>> threshold;  // none: the catch-all last band
    std::string threshold_text;
};

struct score_item {
    position pos;
    located<std::string> name;
    std::vector<component> components;
    std::vector<band> bands;
    position close;
};

struct classify_case {
    position pos;
    located<std::string> label;
    expr_ptr condition;
};

struct classify_item {
    position pos;
    located<std::string> name;
    std::vector<classify_case> cases;
    std::optional<located<std::string>> default_label;
    position close;
};

using item = std::variant<let_item, rule_item, score_item, classify_item>;

struct source_file {
    std::string path;
    std::string text;
    std::vector<item> items;
    std::vector<comment> comments;  // every comment, in order, for the formatter
};

// Every loaded file, and (checker:) the items by kind in load order (files in the order
// given, items in file order); resolution indices point into these vectors.
struct program {
    std::vector<source_file> files;

    struct ref_let { const let_item* item; std::size_t file; };
    struct ref_score { const score_item* item; std::size_t file; };
    struct ref_classify { const classify_item* item; std::size_t file; };
    struct ref_rule { const rule_item* item; std::size_t file; };
    std::vector<ref_let> lets;
    std::vector<ref_score> scores;
    std::vector<ref_classify> classifies;
    std::vector<ref_rule> rules;
};

}  // namespace redflag::rules::ast
