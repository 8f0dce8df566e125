// The compiled form of a rule set: a tree of nodes per expression in which every name is
// already resolved to an index (profile field, let, score, classification, stream type,
// stream field index, collection field), plus the tables of lets, scores,
// classifications and rules. Built once by rules::compile::compiler; read (never
// written) by the evaluator, so one program is shared by every shard's thread.
//
// Nodes are owned by the program (stable addresses) and refer to their children by
// pointer; constants that are strings point into their own node.
#pragma once

#include "core/time.hpp"
#include "model/account_state.hpp"
#include "model/event.hpp"
#include "rules/ast/ast.hpp"
#include "rules/eval/inputs.hpp"
#include "rules/eval/value.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace redflag::rules::eval {

enum class op : std::uint8_t {
    constant,     // value_
    list,         // args: the items; strings_ set when every item is a constant string
    // the account
    account_field,       // field_
    account_id,
    account_arr,
    account_first_seen,
    account_attribute,   // key_
    goals_count,         // sub_: goal_counts::overdue (0) or by_status[achieved] (1)
    alert_facts,         // sub_: alerts.unacked (0) or alerts.unacked_for (1): rules::alert_facts
    // cached items
    let_ref,             // index_
    score_value,         // index_
    score_band,          // index_
    score_component,     // index_ (score), sub_ (component)
    classify_ref,        // index_
    // inside `where`: a field of the current record or collection item; sub_ per item_fields
    item_field,
    now,
    // operators
    logical_not, negate, logical_and, logical_or,
    eq, ne, lt, le, gt, ge, in, coalesce, add, sub, mul, div,
    conditional,
    // aggregates over source_ in window_
    count, sum, avg, min, max, first, last, distinct, rate, any, all,
    // time and history
    since_stream,   // source_
    since_value,    // args[0]: a time
    changed,        // field_, window_
    previous,       // field_
    // scalar functions, args as written
    min_of, max_of, abs, clamp, round, floor, ceil, pct_change, days, coalesce_fn, lower, upper, contains,
    starts_with, count_of,
};

// count … all: the aggregates over a source and window.
constexpr bool is_aggregate(op code) { return code >= op::count && code <= op::all; }

// Where an aggregate reads its items.
enum class source_kind : std::uint8_t {
    records,       // account.stream(type): stream_record values
    usage_metric,  // account.usage[metric]: points (value = the point's sum)
    usage_all,     // every usage series: `usage` without a metric
    users,
    tickets,       // open tickets only
    products,
};

// Field indices of items that are not stream records (item_field's sub_).
inline constexpr std::uint32_t field_at = 0xFFFF;  // `at` of a record or usage point
namespace user_fields { enum : std::uint32_t { id, email, name, role, active, first_seen, last_seen }; }
namespace ticket_fields { enum : std::uint32_t { id, status, priority, subject, opened_at, first_response_at }; }
namespace usage_fields { enum : std::uint32_t { metric, value, user_id }; }  // per schema order
inline constexpr std::uint32_t product_item = 0;

struct node;

struct source_spec {
    source_kind kind = source_kind::records;
    model::event_type type = model::event_type::account;
    std::string metric;           // usage_metric
    std::int32_t field = -1;      // records: stream field index of the numeric field, -1 none;
                                  // usage: 0 (the value) when the stream has a field
    const node* filter = nullptr; // `where` condition, evaluated with the item in scope
};

struct window_spec {
    bool present = false;
    duration length{0};
    duration offset{0};
};

struct node {
    op code = op::constant;
    value value_;
    std::string text_;                 // storage of a constant string
    string_list strings_;              // storage of a constant list
    std::vector<const node*> args;
    std::uint32_t index_ = 0;
    std::uint32_t sub_ = 0;
    model::profile_field field_{};
    std::string key_;                  // attribute key
    source_spec source_;
    window_spec window_;
    ast::position pos;
};

// A let, score or classification: evaluated at most once per evaluation, on first use.
enum class cached_kind : std::uint8_t { let, score, classify };

struct compiled_score {
    std::string name;
    struct component {
        std::string name;
        double weight = 0;
        const node* expr = nullptr;
    };
    std::vector<component> components;
    std::uint32_t first_component = 0;  // offset of its components in the frame's flat table
    struct band {
        std::string name;
        std::optional<double> threshold;  // none: the catch-all
    };
    std::vector<band> bands;
};

struct compiled_classify {
    std::string name;
    std::vector<std::pair<std::string, const node*>> cases;
    std::optional<std::string> default_label;
};

struct message_part {
    std::string text;
    const node* expr = nullptr;  // null for literal text
    ast::template_format fmt = ast::template_format::none;
};

struct compiled_rule {
    const node* when = nullptr;
    const node* repeat = nullptr;
    const node* snooze_wake_if = nullptr;
    bool has_message = false;
    std::vector<message_part> message;
    std::string title;
    // The lets, scores and classifications the rule reads, directly or not, as indices
    // into program::cached (for per-rule runtime error counts).
    std::vector<std::uint32_t> depends_on;
};

struct program {
    std::vector<std::unique_ptr<node>> nodes;
    std::vector<const node*> lets;
    std::vector<compiled_score> scores;
    std::vector<compiled_classify> classifies;
    std::vector<compiled_rule> rules;
    std::uint32_t component_count = 0;

    // What each item reads (inputs.hpp), filled by analyze_inputs(): per cache slot, per
    // rule condition, and the usage metrics that have a bit of their own.
    std::vector<input_mask> slot_inputs;
    std::vector<input_mask> rule_inputs;
    std::vector<input_mask> component_inputs;  // per score component, flat (first_component + c)
    std::vector<std::string> input_metrics;
    // Per score: 1 when some expression reads one of its components (`health.usage`).
    std::vector<std::uint8_t> score_components_read;

    // One cache slot per let, then per score, then per classification.
    std::uint32_t cached_count() const {
        return static_cast<std::uint32_t>(lets.size() + scores.size() + classifies.size());
    }
    std::uint32_t let_slot(std::uint32_t i) const { return i; }
    std::uint32_t score_slot(std::uint32_t i) const { return static_cast<std::uint32_t>(lets.size()) + i; }
    std::uint32_t classify_slot(std::uint32_t i) const {
        return static_cast<std::uint32_t>(lets.size() + scores.size()) + i;
    }
};

}  // namespace redflag::rules::eval
