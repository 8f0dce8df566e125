// Evaluates a compiled program (program.hpp) for one account at one instant: every
// rule's condition, every score and classification, messages and repeat intervals, and
// the next instant at which any of them may change with no new event.
//
// Lets, scores and classifications are computed at most once per evaluation, on first
// use (so in dependency order), and cached in a `frame`. A frame is scratch memory sized
// for a program: it grows on first use and is then reused, so evaluation does not
// allocate in steady state. frame_for() hands out one per thread.
//
// Not thread-safe itself (one evaluator per call), but it only reads the program and the
// account state, so any number of threads evaluate the same program at once. No
// exceptions: mistyped data (account.attributes) gives null or false and counts as a
// runtime error.
#pragma once

#include "model/account_state.hpp"
#include "rules/eval/program.hpp"
#include "rules/eval/value.hpp"
#include "rules/rule_set.hpp"

#include <deque>
#include <optional>
#include <string>
#include <vector>

namespace redflag::rules::eval {

struct frame {
    std::vector<value> cached;             // per cache slot: let value, score value, class label
    std::vector<std::uint8_t> state;       // per cache slot: 0 not yet, 1 computing, 2 done
    std::vector<std::uint32_t> own_errors; // per cache slot: runtime errors met computing it
    std::vector<timestamp> slot_next;      // per cache slot: its own next-change instant
    std::vector<value> components;         // clamped score components, flat
    std::vector<timestamp> component_next; // per component: its own next-change instant
    std::vector<std::int16_t> bands;       // per score
    std::vector<std::uint16_t> classes;    // per classification
    std::deque<std::string> scratch;       // lower()/upper() results; a deque keeps them in place
    std::size_t scratch_used = 0;
    bool busy = false;

    // Clears the caches for a new evaluation of `p` (allocates only when growing).
    void reset(const program& p);
};

// The calling thread's frame, or a fresh one when that is already in use (a nested call).
class frame_lease {
public:
    frame_lease();
    ~frame_lease();
    frame_lease(const frame_lease&) = delete;
    frame_lease& operator=(const frame_lease&) = delete;
    frame& get() { return *frame_; }

private:
    frame* frame_;
    std::unique_ptr<frame> own_;
};

class evaluator {
public:
    evaluator(const program& p, const model::account_state& account, timestamp now, duration tick, frame& f);

    // Every rule, score and classification into `out` (sized by make_evaluation()).
    // With `previous` (sized like `out`), an item whose inputs are not in
    // previous->changed_inputs and whose next-change instant is still ahead keeps its
    // previous value instead of being computed.
    void evaluate_all(evaluation& out, const previous_evaluation* previous = nullptr);

    // One expression at this instant.
    value eval(const node& n);

    // A message's text. Allocates the string it returns.
    std::string render(const std::vector<message_part>& parts);

    // The account's alert facts for alerts.* (null, the default: no alert, as in a
    // wake_if or a channel template, which the engine evaluates without them).
    void set_alert_facts(const alert_facts* facts) { alerts_ = facts; }

    // The next-change estimate gathered so far (timestamp_max when none).
    timestamp next_change() const { return next_; }
    std::uint32_t runtime_errors() const { return errors_; }

    // Cached items.
    value let(std::uint32_t i);
    value score(std::uint32_t i);        // number or null
    std::int16_t band(std::uint32_t i);  // -1: unknown
    value component(std::uint32_t score, std::uint32_t c);
    value classification(std::uint32_t i);    // the label; null when nothing matched and no default
    std::uint16_t class_index(std::uint32_t i);  // into classify_definition::labels; 0xFFFF as above

private:
    struct item {
        source_kind kind = source_kind::records;
        const model::stream_record* record = nullptr;
        const model::usage_point* point = nullptr;
        std::string_view metric;
        const model::user_state* user = nullptr;
        const model::ticket_state* ticket = nullptr;
        const std::string* product = nullptr;
    };

    template <typename Fn>
    void for_each(const source_spec& s, const window_spec& w, Fn&& fn);
    template <typename Seq, typename Fn>
    bool scan(const Seq& seq, const window_spec& w, item base, Fn& fn);
    template <typename Seq>
    auto window_range(const Seq& seq, const window_spec& w);

    bool passes(const source_spec& s, const item& it);
    value item_value(const source_spec& s, const item& it) const;
    value field_of(const item& it, std::uint32_t field) const;

    value aggregate(const node& n);
    value since_stream(const node& n);
    value changed(const node& n);
    value previous(const node& n);
    value compare(const node& n, const value& a, const value& b);
    value membership(const node& n);
    value arithmetic(op code, const value& a, const value& b);
    value scalar_fn(const node& n);
    value attribute(const node& n);
    value alert_fact(const node& n);
    void compute_score(std::uint32_t i);
    void compute_classify(std::uint32_t i);
    // A cached item's errors and next-change instant are its own: begin_cached sets them
    // aside (and notes a done item's instant for the caller), end_cached records them and
    // folds them back into the caller's.
    struct saved_scope {
        std::uint32_t errors = 0;
        timestamp next = timestamp_max;
    };
    bool begin_cached(std::uint32_t slot, saved_scope& saved);
    void end_cached(std::uint32_t slot, saved_scope saved);

    // Next-change bookkeeping.
    void note(timestamp t);
    void note_crossing(const value& a, const value& b);
    void fallback() { note(now_ + tick_); }
    void mismatch() { ++errors_; }
    // A value a function cannot take: a runtime error when it came from account.attributes
    // (typed at run time) with another kind than `wanted` (any other kind when none).
    void mistyped(const value& v, std::optional<kind> wanted = std::nullopt) {
        if (v.dynamic && !v.is_null() && (!wanted || v.k != *wanted)) mismatch();
    }
    // A value used as a condition: only `true` holds; an attribute that is not a bool
    // (typed at run time) is a mismatch.
    bool holds(const value& v) {
        if (v.dynamic && v.k != kind::boolean && !v.is_null()) mismatch();
        return truthy(v);
    }

    std::string_view scratch_copy(std::string_view s);

    const program& program_;
    const model::account_state& account_;
    timestamp now_;
    duration tick_;
    frame& frame_;
    const item* item_ = nullptr;  // the item in scope inside `where`
    const alert_facts* alerts_ = nullptr;
    const previous_evaluation* previous_ = nullptr;  // during evaluate_all: components to reuse
    timestamp next_ = timestamp_max;
    std::uint32_t errors_ = 0;
};

}  // namespace redflag::rules::eval
