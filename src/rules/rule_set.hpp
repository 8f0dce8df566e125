// A loaded, checked and compiled set of rule files: what the engine evaluates. Built by
// rules::load (parse → check → compile); immutable once built and shared between shards
// through a shared_ptr, so a reload builds a new set and swaps it in whole.
//
// evaluate() is thread-safe (const, no shared mutable state) and does not allocate once
// the `evaluation` it writes into has been made by make_evaluation().
#pragma once

#include "core/time.hpp"
#include "model/account_state.hpp"
#include "rules/diagnostic.hpp"

#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace redflag::rules {

enum class alert_severity : std::uint8_t { info, low, medium, high, critical };
inline constexpr std::string_view severity_names[] = {"info", "low", "medium", "high", "critical"};

struct rule_definition {
    std::string name;
    std::string title;  // the rule's name when not given
    alert_severity severity = alert_severity::medium;
    duration for_duration{0};
    duration keep_firing_for{0};
    std::vector<std::string> notify;  // channel names
    bool resolve_notify = true;       // `resolve notify` (the default) or `resolve silent`
    bool has_repeat = false;
    std::vector<std::pair<std::string, std::string>> labels;
    // `inhibited_by [a, b]`: the names, and their indices in the same rule set. While an
    // alert of one of them fires for the account, this rule's notifications are held.
    std::vector<std::string> inhibited_by;
    std::vector<std::uint32_t> inhibitors;
    // `escalate after D to CHANNEL`: a firing alert nobody acknowledged within D notifies
    // CHANNEL once. Zero duration: no escalation.
    duration escalate_after{0};
    std::string escalate_to;
    // `snooze_wake_if EXPR` in canonical text (rules/format), empty when none: the wake_if
    // a snooze of this rule's alerts uses when the caller gives none.
    std::string snooze_wake_if;
    // Whether the rule's condition reads alerts.* (directly or through a let, score or
    // classification): the engine leaves its alerts out of alert_facts, so that such a rule
    // never counts its own alerts nor those of another that reads them (no feedback).
    bool reads_alerts = false;
    std::string file;
    std::uint32_t line = 0;
    // A hash of the rule's canonical text: on reload, alerts of rules whose fingerprint
    // is unchanged keep their state.
    std::uint64_t fingerprint = 0;
};

struct score_definition {
    std::string name;
    std::vector<std::string> components;
    std::vector<std::string> bands;  // top to bottom; the last one catches the rest
};

struct classify_definition {
    std::string name;
    std::vector<std::string> labels;  // the cases' labels in order, then the default
};

// What the engine tells the rules about the account's own alerts (alerts.unacked,
// alerts.unacked_for in the language). Counted over the account's firing alerts that
// are not acknowledged and not snoozed at the evaluation instant, of rules that do not
// read alerts.* themselves (rule_definition::reads_alerts). The rules layer knows no
// alert records: the engine computes this from its alert set and passes it in.
struct alert_facts {
    std::uint32_t unacked = 0;
    // The earliest instant one of them started waiting for an answer: when it began
    // firing or, for one that was snoozed, when its last snooze ended; nullopt when none.
    std::optional<timestamp> unacked_since;
    // The earliest instant after the evaluation at which a snooze in force among the
    // counted rules' alerts ends (the facts change then with no new event).
    timestamp next_change = timestamp_max;
    friend bool operator==(const alert_facts&, const alert_facts&) = default;

    // The bit of previous_evaluation::changed_inputs that says these facts changed
    // (rules/eval/inputs.hpp): items reading alerts.* are then recomputed.
    static constexpr std::uint64_t changed_input = std::uint64_t{1} << 5;
};

// A score component's clamped value (NaN when null) and the instant it may next change.
struct component_memo {
    double value = 0;
    timestamp next = timestamp_max;
    friend bool operator==(const component_memo& a, const component_memo& b) {
        return a.next == b.next && (a.value == b.value || (a.value != a.value && b.value != b.value));
    }
};

// What evaluating one account at one instant produced. evaluate() overwrites every
// member; make it once per shard with rule_set::make_evaluation().
struct evaluation {
    std::vector<std::uint8_t> conditions;        // per rule: 1 when `when` holds
    std::vector<double> scores;                  // per score: NaN when null
    std::vector<std::int16_t> bands;             // per score: index into its bands, -1 "unknown"
    std::vector<std::uint16_t> classes;          // per classify: index into its labels
    // Per rule, for redflag_rule_evaluations_total and redflag_rule_runtime_errors_total:
    // 1 when its condition was computed by this evaluation, 0 when it was reused; and the
    // runtime errors met computing it (rules-language.md: an account.attributes value of
    // the wrong type for what it meets, which makes that comparison false), 0 when reused.
    // The errors of the lets, scores and classifications it reads count for it.
    std::vector<std::uint8_t> evaluated;
    std::vector<std::uint32_t> runtime_errors;
    // The earliest instant after `now` at which a condition, score or class may change
    // with no new event (a window's edge passing an event, a `since` crossing a
    // threshold); timestamp_max when none. The engine's timer wheel wakes the account
    // then. When the compiler cannot tell (e.g. now() in arithmetic), it returns
    // now + the tick given to evaluate().
    timestamp next_change = timestamp_max;
    // The same per item: rules, then scores, then classifications (for reuse below).
    std::vector<timestamp> item_next;
    // Every score's components, flat in score order: a score recomputed because one
    // component's inputs changed reuses the others.
    std::vector<component_memo> components;
    // How many items were computed rather than reused (statistics and tests).
    std::uint32_t items_evaluated = 0;
};

// What an account's last evaluation left, so that the next one recomputes only the
// items whose inputs changed since (rule_set::inputs_changed_by, OR-ed over the events
// applied in between) or whose own next-change instant has come; the others keep their
// value. The spans are the previous evaluation's members (or copies of them).
struct previous_evaluation {
    std::uint64_t changed_inputs = ~std::uint64_t{0};
    std::span<const std::uint8_t> conditions;
    std::span<const double> scores;
    std::span<const std::int16_t> bands;
    std::span<const std::uint16_t> classes;
    std::span<const timestamp> item_next;
    std::span<const component_memo> components;
};

class rule_set {
public:
    virtual ~rule_set() = default;

    virtual std::span<const rule_definition> rules() const = 0;
    virtual std::span<const score_definition> scores() const = 0;
    virtual std::span<const classify_definition> classifications() const = 0;

    std::optional<std::size_t> find_rule(std::string_view name) const {
        auto all = rules();
        for (std::size_t i = 0; i < all.size(); ++i)
            if (all[i].name == name) return i;
        return std::nullopt;
    }

    // The rule's `snooze_wake_if` expression as text (canonical form), for a snooze of
    // one of its alerts that gives no wake_if of its own (the Slack snooze buttons);
    // nullopt when the rule does not exist or has none. The text compiles against this
    // set like any wake_if; snooze_wake_if_holds evaluates the compiled clause directly.
    std::optional<std::string> default_wake_if(std::string_view rule_name) const {
        auto i = find_rule(rule_name);
        if (!i || rules()[*i].snooze_wake_if.empty()) return std::nullopt;
        return rules()[*i].snooze_wake_if;
    }

    // Sized for this set: evaluate() will not allocate when given it.
    virtual evaluation make_evaluation() const = 0;

    // Evaluates every rule, score and classification of one account at `now`. `tick` is
    // the engine's evaluation period, the fallback for next_change.
    // With `previous` (sized for this set), items it shows unaffected are reused.
    // `alerts`: the account's alert facts at `now` (null: none, as for an account with no
    // alert); items reading alerts.* are recomputed when previous->changed_inputs says so.
    virtual void evaluate(const model::account_state& account, timestamp now, duration tick,
                          evaluation& out, const previous_evaluation* previous = nullptr,
                          const alert_facts* alerts = nullptr) const = 0;

    // The inputs (a mask, rules/eval/inputs.hpp) that applying `e` to the account's state
    // `before` may change. Call it before applying the event.
    virtual std::uint64_t inputs_changed_by(const model::event& e, const model::account_state& before) const = 0;

    // The rule's message (its template, or "TITLE: ACCOUNT NAME") rendered at `now`,
    // with `alerts` as in evaluate().
    virtual std::string render_message(std::size_t rule, const model::account_state& account,
                                       timestamp now, const alert_facts* alerts = nullptr) const = 0;

    // The rule's `repeat` evaluated at `now`; nullopt when it has none or it is null.
    virtual std::optional<duration> repeat_interval(std::size_t rule, const model::account_state& account,
                                                    timestamp now) const = 0;

    // The rule's `snooze_wake_if` evaluated on the account at `now` (null counts as
    // false); nullopt when the rule has none.
    virtual std::optional<bool> snooze_wake_if_holds(std::size_t /*rule*/, const model::account_state& /*account*/,
                                                     timestamp /*now*/) const {
        return std::nullopt;
    }
};

// A template outside rule files, e.g. an email channel's `to: "{account.csm_email}"`:
// checked and compiled against the same names as a rule's message.
class compiled_template {
public:
    virtual ~compiled_template() = default;
    virtual std::string render(const model::account_state& account, timestamp now) const = 0;
};

struct load_options {
    // The channel names of the config; when set, `notify` naming another is an error.
    std::optional<std::set<std::string>> channels;
};

struct load_result {
    std::shared_ptr<const rule_set> rules;  // null when there were errors
    diagnostics problems;                   // errors and warnings, in file order
};

// Loads rule files: each path is a `.rules` file or a folder whose `*.rules` files are
// loaded in name order (not recursively). All files are parsed, then checked together.
load_result load(std::span<const std::string> paths, const load_options& options = {});

struct source_text {
    std::string path;
    std::string text;
};
load_result load_sources(std::vector<source_text> sources, const load_options& options = {});

// Compiles a template against an existing rule set's names (lets, scores, classes).
struct template_result {
    std::unique_ptr<compiled_template> compiled;
    diagnostics problems;
};
template_result compile_template(std::string_view text, std::string_view origin, const rule_set* names);

}  // namespace redflag::rules
