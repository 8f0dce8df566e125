// The engine core of one shard: the account states it owns, their alerts, the current
// rule set and a timer wheel of per-account wakes. `serve` (one core per shard),
// `replay` and `test` drive the same core with their own time source, so the same events
// and rules give the same alerts in all three (../shared/DESIGN.md).
//
// Time. The core has no clock: the driver calls apply() for each event and advance_to()
// as its clock moves. Evaluation instants are the evaluated account's event times and the
// grid `grid_origin + k × tick`. After evaluating an account the core schedules one wake
// for it: the earliest of evaluation::next_change and its alerts' deadlines (`for`,
// `keep_firing_for`, `repeat`), rounded UP to the grid. So a transition happens at the
// first evaluation instant at which it is due, and accounts whose rules cannot change are
// never looked at. A driver that wants "every event's at, then the grid" calls
// advance_to(at - 1ms) before apply(event) (wakes strictly before the event first, then
// the event, then wakes at the same instant), as test_runner and replay do.
//
// Output. Every lifecycle change (alerts/lifecycle.hpp) is appended to events(): the
// caller takes them after each call, puts them in the same write batch as the event that
// caused them, and clears the vector (clear_events keeps its capacity).
//
// Not thread-safe: one core is touched by one thread (its shard's strand). It does not
// throw on the data path; a null rule set means "no rules" (state is still kept).
#pragma once

#include "alerts/lifecycle.hpp"
#include "core/time.hpp"
#include "engine/account_index.hpp"
#include "engine/evaluation_memo.hpp"
#include "engine/timer_wheel.hpp"
#include "model/account_state.hpp"
#include "model/event.hpp"
#include "rules/expression.hpp"
#include "rules/rule_set.hpp"

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace redflag::engine {

struct account_record;

// Told after every evaluation of an account (event, wake, reload), on the core's thread,
// with the account's index (dense, stable: the timer id) and the evaluation instant. It
// returns the next instant at which what it derives from the account changes with time
// alone (timestamp_max: never); the core wakes the account then too. The service's KPI
// trackers (kpi/hub.hpp) are one. Must not throw.
class account_observer {
public:
    virtual ~account_observer() = default;
    virtual timestamp evaluated(std::uint32_t index, const account_record& record, const rules::rule_set* rules,
                                timestamp at) = 0;
    // The account at `index` is gone (a failed round that created it was taken back): what
    // was derived from it must go too. The index may be given to a new account later.
    virtual void forgotten(std::uint32_t index) = 0;
};

struct core_options {
    timestamp grid_origin{};       // the evaluation grid is grid_origin + k × tick
    duration tick = hour;          // also the evaluator's fallback for next_change
    bool render_messages = true;   // fill alert_event::message for transitions and repeats
    account_observer* observer = nullptr;  // not owned; outlives the core
    // Upper bounds (seconds, ascending) of the per-rule evaluation time histogram that
    // rule_statistics collects; empty: evaluations are not timed (replay, test).
    std::span<const double> eval_duration_buckets{};
};

// What the rule metrics need of the evaluations since the driver last took them
// (core::statistics, then clear_statistics), gathered without a metric call per evaluation so that the
// service can add them to its counters once per round.
struct rule_statistics {
    std::uint64_t evaluations = 0;                // account evaluations (events, wakes, reloads)
    std::vector<std::uint64_t> runtime_errors;    // per rule of the current set
    // Each timed evaluation's time divided by the items (rules, scores, classifications)
    // it computed, counted once per such item, per bucket of
    // core_options::eval_duration_buckets (the last entry: above every bound), and the
    // sum of those times in seconds.
    std::vector<std::uint64_t> duration_buckets;
    double duration_sum = 0;
    bool empty() const { return evaluations == 0; }
};

// One account as the core holds it. Scores, bands and classes are those of the last
// evaluation, indexed like the current rule set's scores() and classifications().
struct account_record {
    model::account_state state;
    alerts::alert_set alerts;
    // The last evaluation's scores, bands and classes, and what the next evaluation may
    // reuse (rules::previous_evaluation), with the inputs the events applied since have
    // changed.
    evaluation_memo memo;
    std::uint64_t changed_inputs = ~std::uint64_t{0};
    std::span<const double> scores() const { return memo.scores(); }          // NaN when null
    std::span<const std::int16_t> bands() const { return memo.bands(); }      // -1 "unknown"
    std::span<const std::uint16_t> classes() const { return memo.classes(); }
    std::optional<timestamp> evaluated_at;     // the last evaluation instant
    timestamp next_change = timestamp_max;     // evaluation::next_change of that evaluation, or the
                                               // observer's next instant when earlier
    timestamp wake = timestamp_max;            // the scheduled evaluation (on the grid)
    std::uint64_t journal_round = 0;           // the round that journaled it last (core::begin_round)
    std::uint32_t journal_slot = 0;            // and where in that round's journal
};

struct score_reading {
    std::optional<double> value;  // nullopt when the score is null
    std::string_view band;        // "unknown" for a null score
};

class core {
public:
    core(std::shared_ptr<const rules::rule_set> rules, core_options options);

    const core_options& options() const { return options_; }
    const std::shared_ptr<const rules::rule_set>& rules() const { return rules_; }
    // The latest instant evaluated or advanced to; timestamp_min before any.
    timestamp now() const { return now_; }

    // Applies one event to its account (creating it) and evaluates that account at
    // max(e.at, now()), or max(evaluate_at, now()); now() becomes that instant. The first
    // form is for event-time drivers (replay, test). A live service passes its clock,
    // apply(e, clock.now()), so that an event stamped in the future cannot drag the
    // shard's time (and every `since`) forward. Returns the account.
    const account_record& apply(const model::event& e);
    const account_record& apply(const model::event& e, timestamp evaluate_at);

    // Prefetching, for a driver that knows its next events (replay): an event's account
    // is cold (its state is one of 100,000 scattered over a gigabyte), and apply() would
    // otherwise wait on a dozen cache misses in turn. Four steps, an event or more
    // apart, so that each step's lines have arrived when the next one reads them:
    // prefetch_slot prefetches where the account's lookup starts and returns its hash;
    // prefetch_record finds the account by that hash (creating nothing) and prefetches
    // its record; prefetch_contents prefetches what the record points to and apply()
    // reads (the memo, users, tickets, stream tails, alerts, the usage series' node);
    // prefetch_series the newest usage points. None changes anything.
    static constexpr std::uint32_t no_account = 0xffffffffu;
    std::uint64_t prefetch_slot(std::string_view account) const;
    std::uint32_t prefetch_record(std::uint64_t hash) const;
    void prefetch_contents(std::uint32_t index) const;
    void prefetch_series(std::uint32_t index) const;

    // Evaluates, in time order, every account whose wake is due at or before `t`, each at
    // its wake's instant; then now() becomes t. A `t` before now() does nothing.
    void advance_to(timestamp t);

    // The instant of the earliest scheduled wake, if any (for a driver's sleep).
    std::optional<timestamp> next_wake() const;

    // Swaps in a new rule set: alerts of rules with the same name and fingerprint keep
    // their state; alerts of rules that are gone or changed resolve silently at now();
    // then every account is re-evaluated at now(). A null set is "no rules".
    void swap_rules(std::shared_ptr<const rules::rule_set> next);

    // Records an ack of an active alert of `account`, stopping its repeats. False when
    // there is no such active alert.
    bool acknowledge(std::string_view account, std::string_view alert_id, alerts::acknowledgement ack);
    // Snoozes the firing alert `alert_id` of `account` (alerts::alert_set::snooze). False
    // when the account or a firing alert of that id is unknown.
    bool snooze(std::string_view account, std::string_view alert_id, alerts::snooze s);

    // Start-up from storage: puts back an account and its active alerts without
    // evaluating it. Alerts are matched to the current rules by name and fingerprint;
    // the others resolve silently. Call reevaluate_all() once every account is back.
    void restore(model::account_state state, std::vector<alerts::alert> active);

    // Evaluates every account at now() (or, before any time is known, at its latest
    // event) and reschedules it.
    void reevaluate_all();

    // Drops what every account holds from before `cutoff` (stream records, usage points,
    // field history, closed tickets; model::account_state::expire keeps the latest of
    // each), so that state stays bounded by the retention horizon in a long-running
    // service. Windows longer than now - cutoff lose their oldest data.
    void expire_before(timestamp cutoff);

    // Rounds, for a driver that writes what a stretch of work produced in one batch and
    // must be able to take it all back when that write fails (serve: a failed round must
    // leave memory as if it never happened, so that nothing it applied is mistaken later
    // for durable). Between begin_round() and commit_round() or rollback_round() the core
    // keeps a journal: for every account whose alerts or state the round touches, its
    // alerts as they were (copied when first touched), whether an event changed its
    // state, and whether the round created it. Without begin_round() (replay, test)
    // nothing is journaled. Not for swap_rules(), which cannot be taken back: call it
    // outside a round.
    void begin_round();
    void commit_round();
    // The account's state as durable storage has it, or nullopt when it cannot be read.
    using durable_state = std::function<std::optional<model::account_state>(std::string_view account)>;
    // Takes back everything since begin_round(): alert events produced since are
    // dropped; each journaled account gets its alerts back; an account the round created
    // is removed (and the observer told); one whose state an event changed gets its state
    // from `durable` (which must not hold the round's events). Restored accounts are due
    // for evaluation at the next advance_to(). Returns the ids whose durable state could
    // not be read: they keep the round's state until reload() succeeds for them.
    std::vector<std::string> rollback_round(const durable_state& durable);
    // Replaces an account's state (a rollback_round() that could not read it); its memo
    // is reset and it is due for evaluation at the next advance_to(). False when unknown.
    bool reload(model::account_state state);

    std::vector<alerts::alert_event>& events() { return events_; }
    void clear_events() { events_.clear(); }

    // Queries, for the API and `redflag test`.
    const account_record* find(std::string_view account) const;
    std::size_t account_count() const { return accounts_.size(); }
    // How many account evaluations were made (events, wakes, reloads), for metrics.
    std::uint64_t evaluation_count() const { return evaluations_; }
    // The statistics since the last clear_statistics() (per rule of the current set). A
    // driver takes them before swap_rules(), which zeroes them for the new set.
    const rule_statistics& statistics() const { return stats_; }
    void clear_statistics();
    // Rules, scores and classifications computed (not reused) over all evaluations.
    std::uint64_t items_evaluated() const { return items_evaluated_; }
    template <class F>
    void for_each_account(F&& f) const {
        for (const auto& a : accounts_) f(a);
    }
    // nullopt when the account or the score is unknown.
    std::optional<score_reading> score(std::string_view account, std::string_view score_name) const;
    // The label, or nullopt when the account or the classification is unknown.
    std::optional<std::string_view> classification(std::string_view account, std::string_view name) const;

    // The grid instant at or after `t` / at or before `t`.
    timestamp grid_ceil(timestamp t) const;
    timestamp grid_floor(timestamp t) const;

private:
    std::uint32_t find_or_create(std::string_view account);
    // Wakes the account's snoozed alerts whose wake_if holds at `at` (alerts::alert_set::wake).
    void wake_snoozed(alerts::alert_set& alerts, const model::account_state& state, timestamp at,
                      const alerts::repeat_source& repeats);
    // The compiled wake_if `text` against the current rules (cached; null when it no
    // longer compiles, e.g. a name a reload removed: it then never wakes, and is logged once).
    const rules::condition* wake_condition(const std::string& text);
    // Journals the account's alerts (and, with `state`, that an event changed its state)
    // when a round is open and it is not journaled yet.
    void journal(std::uint32_t index, bool state) {
        if (round_ != 0) journal_slow(index, state);
    }
    void journal_slow(std::uint32_t index, bool state);
    void forget_created(std::size_t first_created);
    void make_due(std::uint32_t index);
    // `again`: the second pass after the alerts changed (alerts.* facts; at most one).
    void evaluate_account(std::uint32_t index, timestamp at, bool again = false);
    // After an ack or snooze of one of its alerts at `acted_at`: evaluates the account
    // again when some rule reads alerts.*; false (nothing done) when none does.
    bool reevaluate_for_alerts(std::uint32_t index, timestamp acted_at);
    void observe(std::uint32_t index, timestamp at);
    void reschedule(std::uint32_t index, timestamp after);
    std::span<const rules::rule_definition> rule_definitions() const;
    std::int64_t floor_index(timestamp t) const;
    std::int64_t ceil_index(timestamp t) const;
    timestamp index_time(std::int64_t k) const;

    std::shared_ptr<const rules::rule_set> rules_;
    bool reads_alerts_ = false;  // a rule of rules_ reads alerts.* (set with rules_)
    // wake_if text → compiled against wake_rules_ (cleared when the rule set changes; the
    // conditions read its names, so it is held while they are).
    std::shared_ptr<const rules::rule_set> wake_rules_;  // declared first: outlives the conditions
    std::unordered_map<std::string, std::shared_ptr<const rules::condition>> wake_conditions_;
    core_options options_;
    timestamp now_ = timestamp_min;
    rules::evaluation scratch_;
    std::deque<account_record> accounts_;  // stable addresses; index = timer id
    account_index index_;
    std::uint32_t lookup(std::string_view account) const;
    timer_wheel wheel_;
    std::vector<alerts::alert_event> events_;
    std::uint64_t evaluations_ = 0;
    std::uint64_t items_evaluated_ = 0;
    rule_statistics stats_;
    void reset_statistics();
    void time_evaluation(std::chrono::steady_clock::time_point start, std::uint32_t rules_computed);

    struct journal_entry {
        std::uint32_t index = 0;
        bool state_changed = false;
        alerts::alert_set alerts;  // as they were when the round first touched the account
    };
    std::uint64_t round_ = 0;         // the open round's number; 0 when none is open
    std::uint64_t rounds_begun_ = 0;
    std::size_t round_accounts_ = 0;  // accounts_.size() at begin_round(): later ones are the round's
    std::size_t round_events_ = 0;    // events_.size() at begin_round()
    std::vector<journal_entry> journal_;
};

}  // namespace redflag::engine
