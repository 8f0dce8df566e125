// Which parts of an account's state each rule condition, let, score and classification
// reads, and which parts an event changes, both as one bit mask (an `input_mask`). With
// them an evaluation after an event recomputes only the items the event can affect: an
// item whose inputs are untouched keeps its last value until its own next-change instant
// (rule_set.hpp, previous_evaluation). A usage event, most of any log, touches a handful
// of the shipped rules; the NPS, ticket, owner and contract rules keep their values.
//
// The bits, coarse on purpose (a false "may change" costs an evaluation, a missed one a
// wrong answer):
//   profile      profile fields and their history, attributes, products, arr
//   first_seen   the account's first event (account.first_seen, since() with no events)
//   users        the users collection and its fields (user events; a usage event naming
//                a user not seen before)
//   user_seen    users' first_seen and last_seen (usage events carrying a user_id)
//   alerts       the account's alert facts (alerts.unacked, alerts.unacked_for): no event
//                changes them; the engine sets the bit when its alerts change (a rule
//                firing or resolving, an ack, a snooze)
//   tickets      the tickets collection
//   stream(T)    the records and latest time of event type T (for usage: any metric)
//   metric(k)    the usage series of the k-th metric the rules name (program::input_metrics);
//                metrics beyond the available bits fall back to stream(usage)
//
// Pure functions over a compiled program; thread-safe.
#pragma once

#include "model/account_state.hpp"
#include "model/event.hpp"
#include "rules/rule_set.hpp"

#include <cstdint>
#include <string_view>

namespace redflag::rules::eval {

struct program;
struct node;

using input_mask = std::uint64_t;

namespace inputs {
inline constexpr input_mask profile = input_mask{1} << 0;
inline constexpr input_mask first_seen = input_mask{1} << 1;
inline constexpr input_mask users = input_mask{1} << 2;
inline constexpr input_mask tickets = input_mask{1} << 3;
inline constexpr input_mask user_seen = input_mask{1} << 4;
inline constexpr input_mask alerts = alert_facts::changed_input;
inline constexpr unsigned first_stream_bit = 6;
constexpr input_mask stream(model::event_type t) {
    return input_mask{1} << (first_stream_bit + static_cast<unsigned>(t));
}
inline constexpr unsigned first_metric_bit = first_stream_bit + static_cast<unsigned>(model::event_type_count);
inline constexpr unsigned metric_bits = 64 - first_metric_bit;
inline constexpr input_mask all = ~input_mask{0};
}  // namespace inputs

// Fills p.input_metrics, p.slot_inputs and p.rule_inputs (program.hpp). Called once by
// the compiler after every expression is built.
void analyze_inputs(program& p);

// The inputs of one expression (lets, scores and classifications it refers to included);
// needs analyze_inputs() to have run for the slots it refers to.
input_mask inputs_of(const program& p, const node& n);

// What applying `e` to `before` (the account's state before the event) may change.
input_mask inputs_changed_by(const program& p, const model::event& e, const model::account_state& before);

}  // namespace redflag::rules::eval
