// Helpers for the KPI tests: accounts built from real events (model::account_state),
// evaluated by a real rule set loaded from text, contributed as the engine would.
#pragma once

#include "kpi/aggregate.hpp"
#include "kpi/contribution.hpp"
#include "kpi/labels.hpp"
#include "model/account_state.hpp"
#include "rules/rule_set.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace redflag::kpi::testing {

inline const timestamp now = *parse_rfc3339("2026-06-01T00:00:00Z");

inline model::event make_event(model::event_type type, timestamp at, boost::json::object fields) {
    model::event e;
    e.type = type;
    e.account = "acct";
    e.at = at;
    e.fields = std::move(fields);
    return e;
}

// A small rule set: score `health` (green when seats ≥ 50, else red; null without
// seats), score `effort`, classify `size` and rule `few_seats` (severity high).
inline std::shared_ptr<const rules::rule_set> test_rules() {
    static const auto loaded = rules::load_sources({{"kpi.rules", R"(
score health {
  component size weight 1 = account.seats / 100
  band green >= 50
  band red
}

score effort {
  component tickets weight 1 = count(ticket, 90d) / 10
  band high >= 50
  band low
}

classify size {
  big when account.seats >= 50
  default small
}

rule few_seats {
  when account.seats < 50
  severity high
}
)"}});
    EXPECT_TRUE(loaded.rules) << (loaded.problems.empty() ? "" : loaded.problems.front().message);
    return loaded.rules;
}

// One account: its state, the evaluation of the test rules, its contribution.
class account {
public:
    explicit account(std::string id) { state_.id = std::move(id); }

    account& contract(timestamp at, double mrr, boost::json::object extra = {}) {
        extra["mrr"] = mrr;
        return apply(model::event_type::contract, at, std::move(extra));
    }
    account& apply(model::event_type type, timestamp at, boost::json::object fields) {
        auto e = make_event(type, at, std::move(fields));
        e.account = state_.id;
        state_.apply(e);
        return *this;
    }
    const model::account_state& state() const { return state_; }

    // Evaluates the rules at `at` and computes the contribution; returns the next change.
    timestamp contribute_at(timestamp at, const settings& config, label_caches& labels) {
        auto rules = test_rules();
        auto eval = rules->make_evaluation();
        rules->evaluate(state_, at, hour, eval);
        rule_layout layout(rules.get(), labels);
        account_input input{state_, eval.scores, eval.bands, eval.classes};
        contribution out;
        auto next = kpi::contribute(input, at, config, layout, labels, last_, out);
        last_ = out;
        return next;
    }
    const contribution& last() const { return last_; }

private:
    model::account_state state_;
    contribution last_;
};

}  // namespace redflag::kpi::testing
