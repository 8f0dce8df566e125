// A standalone condition of the rule language, outside rule files: a snooze's `wake_if`
// (POST /v1/alerts/{id}/snooze), e.g. `health.score < 30 or account.renewal_at - now() < 30d`.
// It goes through the same stages as a rule's `when`: parse → check (names of the rule
// set: lets, scores, classes; its type must be a condition, true or false) → compile; then
// it is evaluated on an account's state. Diagnostics carry line:column inside the
// expression text (1-based), `origin` as their file.
//
// compile_condition() is start-up/request-time work; condition::holds() is thread-safe
// and never throws (a runtime error, e.g. null, is false).
#pragma once

#include "core/time.hpp"
#include "model/account_state.hpp"
#include "rules/diagnostic.hpp"
#include "rules/rule_set.hpp"

#include <memory>
#include <string>
#include <string_view>

namespace redflag::rules {

class condition {
public:
    explicit condition(std::unique_ptr<compiled_template> code) : code_(std::move(code)) {}
    // Whether the condition is true for `account` at `now`.
    bool holds(const model::account_state& account, timestamp now) const;

private:
    std::unique_ptr<compiled_template> code_;
};

struct condition_result {
    std::unique_ptr<condition> compiled;  // null when there are errors
    diagnostics problems;
};

// Compiles `text` against the names of `names` (may be null: account fields and functions
// only). The condition reads `names`, which must outlive it.
condition_result compile_condition(std::string_view text, std::string_view origin, const rule_set* names);

}  // namespace redflag::rules
