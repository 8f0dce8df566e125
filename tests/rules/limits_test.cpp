// rules/limits.hpp: every shape of nesting works at the bound through the whole pipeline
// (parse, check, compile, evaluate, render, format and format's output parsed again),
// on a thread with 2 MiB of stack, the smallest default a glibc thread gets (when
// RLIMIT_STACK is unlimited; otherwise 8 MiB): the engine's shard threads, the HTTP
// threads and the thread that runs a reload all have at least that. One level more is
// refused with a "too-deep" diagnostic, so the bound is the same in every stage.
#include "rules/format/formatter.hpp"
#include "rules/limits.hpp"
#include "rules/parse/parser.hpp"
#include "rules/rule_set.hpp"

#include <gtest/gtest.h>

#include <pthread.h>

#include <functional>

namespace redflag::rules {
namespace {

std::string repeat(std::string_view s, std::size_t n) {
    std::string out;
    for (std::size_t i = 0; i < n; ++i) out += s;
    return out;
}

// Runs fn on a new thread with `stack` bytes of stack and waits for it.
void on_thread_with_stack(std::size_t stack, const std::function<void()>& fn) {
    pthread_attr_t attr;
    ASSERT_EQ(pthread_attr_init(&attr), 0);
    ASSERT_EQ(pthread_attr_setstacksize(&attr, stack), 0);
    pthread_t thread;
    auto call = [](void* p) -> void* {
        (*static_cast<const std::function<void()>*>(p))();
        return nullptr;
    };
    ASSERT_EQ(pthread_create(&thread, &attr, call, const_cast<std::function<void()>*>(&fn)), 0);
    pthread_join(thread, nullptr);
    pthread_attr_destroy(&attr);
}

constexpr std::size_t smallest_default_stack = 2 << 20;

struct shape {
    const char* name;
    // The file for nesting parameter k; at_limit is the largest k within the bound, and
    // at_limit + step is refused.
    std::function<std::string(std::size_t)> file;
    std::size_t at_limit;
    std::size_t step;
    bool fires;  // the rule's condition at the limit
};

std::string rule_when(const std::string& expr) { return "rule r {\n  when " + expr + "\n}\n"; }

std::vector<shape> shapes() {
    const std::size_t n = max_nesting;
    return {
        // ((...(true)...)): k parentheses and the literal.
        {"parentheses", [](std::size_t k) { return rule_when(repeat("(", k) + "true" + repeat(")", k)); }, n - 1, 1, true},
        // not not ... true
        {"not chain", [](std::size_t k) { return rule_when(repeat("not ", k) + "true"); }, n - 1, 1, false},
        // --...-1 < 0: the comparison, k negations, the literal.
        {"minus chain", [](std::size_t k) { return rule_when(repeat("-", k) + "1 < 0"); }, n - 2, 1, false},
        // abs(...abs(-1)...) > 0
        {"abs nesting", [](std::size_t k) { return rule_when(repeat("abs(", k) + "-1" + repeat(")", k) + " > 0"); },
         n - 3, 1, true},
        // any(users where any(users where ... true)): two levels each.
        {"where nesting",
         [](std::size_t k) { return rule_when(repeat("any(users where ", k) + "true" + repeat(")", k)); }, (n - 1) / 2,
         1, true},
        // 1 + 1 + ... > 0: an operator chain is as deep as it is long.
        {"operator chain",
         [](std::size_t k) { return rule_when("1" + repeat(" + 1", k - 1) + " > 0"); }, n - 1, 1, true},
        // if false then false else if ... else true
        {"if chain", [](std::size_t k) { return rule_when(repeat("if false then false else ", k) + "true"); }, n - 1, 1,
         true},
        // a message interpolation nesting abs(
        {"template",
         [](std::size_t k) {
             return "rule r {\n  when true\n  message \"{" + repeat("abs(", k) + "-1" + repeat(")", k) + "}\"\n}\n";
         },
         n - 2, 1, true},
        // let l0 = 1, let li = l(i-1) + 1, rule when lk > 0: each let two levels deeper.
        {"let chain",
         [](std::size_t k) {
             std::string text = "let l0 = 1\n";
             for (std::size_t i = 1; i <= k; ++i)
                 text += "let l" + std::to_string(i) + " = l" + std::to_string(i - 1) + " + 1\n";
             return text + rule_when("l" + std::to_string(k) + " > 0");
         },
         (n - 3) / 2, 1, true},
    };
}

load_result load_text(const std::string& text) { return load_sources({{"limit.rules", text}}); }

TEST(Limits, every_shape_at_the_bound_goes_through_the_pipeline_on_a_small_stack) {
    for (const shape& s : shapes()) {
        const std::string text = s.file(s.at_limit);
        on_thread_with_stack(smallest_default_stack, [&] {
            load_result r = load_text(text);
            ASSERT_TRUE(r.rules) << s.name << "\n" << render_text(r.problems).substr(0, 500);
            model::account_state account;
            account.id = "acme";
            model::event user;
            user.type = model::event_type::user;
            user.account = "acme";
            user.id = "u";
            user.fields = {{"user_id", "u1"}, {"role", "admin"}};
            account.apply(user);
            evaluation out = r.rules->make_evaluation();
            r.rules->evaluate(account, timestamp{} + day, minute, out);
            EXPECT_EQ(out.conditions.at(0), s.fires ? 1 : 0) << s.name;
            std::string message = r.rules->render_message(0, account, timestamp{} + day);
            if (std::string_view(s.name) == "template") {
                EXPECT_EQ(message, "1");
            }

            auto parsed = parse::parse_file("limit.rules", text);
            ASSERT_TRUE(parsed.problems.empty()) << s.name;
            std::string formatted = format::format_file(parsed.file);
            auto again = parse::parse_file("limit.rules", formatted);
            EXPECT_TRUE(again.problems.empty()) << s.name;
            EXPECT_EQ(format::dump_tree(again.file), format::dump_tree(parsed.file)) << s.name;
        });
    }
}

TEST(Limits, one_level_past_the_bound_is_refused_in_every_shape) {
    for (const shape& s : shapes()) {
        load_result r = load_text(s.file(s.at_limit + s.step));
        EXPECT_FALSE(r.rules) << s.name;
        ASSERT_FALSE(r.problems.empty()) << s.name;
        EXPECT_EQ(r.problems[0].code, "too-deep") << s.name << ": " << r.problems[0].message;
        EXPECT_GT(r.problems[0].line, 0u) << s.name;
        EXPECT_GT(r.problems[0].column, 0u) << s.name;
    }
}

}  // namespace
}  // namespace redflag::rules
