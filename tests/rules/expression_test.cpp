// Standalone conditions (rules/expression.hpp): a snooze's wake_if, checked like a rule's
// `when` against the rule set's names, with positions inside the expression.
#include "rules/expression.hpp"

#include "rules/rule_set.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace redflag::rules {
namespace {

const timestamp t0 = *parse_rfc3339("2026-01-01T00:00:00Z");

std::shared_ptr<const rule_set> names() {
    load_result r = load_sources({{"test.rules", R"(
let busy = count(tickets where priority == "urgent") > 2
rule urgent { when count(tickets where priority == "urgent") > 0 }
score health {
  component calm weight 1 = 1 - count(tickets) / 10
  band green >= 40
  band red
}
)"}});
    EXPECT_TRUE(r.rules) << render_text(r.problems);
    return r.rules;
}

model::account_state with_tickets(int n) {
    model::account_state s;
    for (int i = 0; i < n; ++i) {
        model::event e;
        e.type = model::event_type::ticket;
        e.account = "acme";
        e.at = t0;
        e.fields = boost::json::object{{"ticket_id", "t" + std::to_string(i)}, {"status", "open"}, {"priority", "low"}};
        s.apply(e);
    }
    return s;
}

TEST(Condition, compiles_against_the_rule_sets_names_and_evaluates) {
    auto rules = names();
    auto c = compile_condition("health.score < 70 or busy", "wake_if", rules.get());
    ASSERT_TRUE(c.compiled) << render_text(c.problems);
    EXPECT_FALSE(c.compiled->holds(with_tickets(1), t0 + minute));  // score 90
    EXPECT_TRUE(c.compiled->holds(with_tickets(4), t0 + minute));   // score 60
    auto timed = compile_condition("count(tickets) > 0 and now() - 1d > account.renewal_at", "wake_if", rules.get());
    ASSERT_TRUE(timed.compiled) << render_text(timed.problems);
    EXPECT_FALSE(timed.compiled->holds(with_tickets(1), t0));  // renewal_at unset: null is false
}

TEST(Condition, errors_point_inside_the_expression) {
    auto rules = names();
    struct bad {
        std::string text;
        std::uint32_t line, column;
        std::string says;
    };
    for (const auto& b : std::vector<bad>{
             {"count(tickets) + 1", 1, 1, "must be true or false, not number"},
             {"health.score < 30 or nope > 1", 1, 22, "nope"},
             {"count(tickets) > 0 and\n  since(activity) > 5", 2, 21, "cannot compare duration with number"},
             {"health.score <", 1, 15, ""},
             {"busy or {x}", 1, 9, "unexpected '{'"},
             {"   ", 1, 1, "empty"},
         }) {
        auto c = compile_condition(b.text, "wake_if", rules.get());
        EXPECT_FALSE(c.compiled) << b.text;
        ASSERT_FALSE(c.problems.empty()) << b.text;
        const auto& d = c.problems.front();
        EXPECT_EQ(d.file, "wake_if") << b.text;
        EXPECT_EQ(d.line, b.line) << b.text << ": " << d.message;
        EXPECT_EQ(d.column, b.column) << b.text << ": " << d.message;
        EXPECT_NE(d.message.find(b.says), std::string::npos) << b.text << ": " << d.message;
    }
    // Without a rule set only account fields and functions are known.
    EXPECT_FALSE(compile_condition("busy", "wake_if", nullptr).compiled);
    EXPECT_TRUE(compile_condition("count(tickets) > 3", "wake_if", nullptr).compiled);
}

}  // namespace
}  // namespace redflag::rules
