// A hand-written rule_set for engine tests: rules, scores and classes whose evaluation
// is a test-supplied function of the account state and the instant.
#pragma once

#include "rules/rule_set.hpp"

#include <functional>

namespace redflag::engine::testing {

class fake_rules final : public rules::rule_set {
public:
    using eval_fn = std::function<void(const model::account_state&, timestamp, rules::evaluation&)>;
    using repeat_fn = std::function<std::optional<duration>(std::size_t, const model::account_state&, timestamp)>;

    std::vector<rules::rule_definition> rule_list;
    std::vector<rules::score_definition> score_list;
    std::vector<rules::classify_definition> class_list;
    eval_fn eval;
    repeat_fn repeat;
    mutable std::size_t evaluations = 0;

    std::span<const rules::rule_definition> rules() const override { return rule_list; }
    std::span<const rules::score_definition> scores() const override { return score_list; }
    std::span<const rules::classify_definition> classifications() const override { return class_list; }

    rules::evaluation make_evaluation() const override {
        rules::evaluation e;
        e.conditions.resize(rule_list.size());
        e.runtime_errors.resize(rule_list.size());
        e.scores.resize(score_list.size());
        e.bands.resize(score_list.size());
        e.classes.resize(class_list.size());
        return e;
    }

    // Always evaluates in full: a fake has no inputs to tell unaffected items by.
    void evaluate(const model::account_state& account, timestamp now, duration, rules::evaluation& out,
                  const rules::previous_evaluation* = nullptr, const rules::alert_facts* = nullptr) const override {
        ++evaluations;
        std::fill(out.conditions.begin(), out.conditions.end(), 0);
        std::fill(out.scores.begin(), out.scores.end(), std::nan(""));
        std::fill(out.bands.begin(), out.bands.end(), -1);
        std::fill(out.classes.begin(), out.classes.end(), 0);
        out.next_change = timestamp_max;
        if (eval) eval(account, now, out);
    }

    std::uint64_t inputs_changed_by(const model::event&, const model::account_state&) const override {
        return ~std::uint64_t{0};
    }

    std::string render_message(std::size_t rule, const model::account_state& account, timestamp now,
                               const rules::alert_facts* = nullptr) const override {
        return rule_list[rule].title + ": " + account.id + " @ " + format_rfc3339(now);
    }

    std::optional<duration> repeat_interval(std::size_t rule, const model::account_state& account,
                                            timestamp now) const override {
        if (!rule_list[rule].has_repeat || !repeat) return std::nullopt;
        return repeat(rule, account, now);
    }
};

inline rules::rule_definition rule(std::string name, duration for_duration = duration::zero(),
                                   duration keep = duration::zero(), std::uint64_t fingerprint = 1) {
    rules::rule_definition r;
    r.name = name;
    r.title = name;
    r.for_duration = for_duration;
    r.keep_firing_for = keep;
    r.fingerprint = fingerprint;
    return r;
}

}  // namespace redflag::engine::testing
