#include "rules/grammar/errors.hpp"
#include "rules/grammar/grammar.hpp"

#include <gtest/gtest.h>
#include <tao/pegtl/contrib/analyze.hpp>

#include <string>

namespace g = redflag::rules::grammar;
namespace pegtl = tao::pegtl;

namespace {

template <typename Rule>
bool matches_all(const std::string& text) {
    pegtl::memory_input<> in(text, "test");
    g::depth_guard guard;
    try {
        return pegtl::parse<pegtl::seq<Rule, pegtl::eof>, pegtl::nothing, g::control>(in, guard);
    } catch (const pegtl::parse_error&) {
        return false;
    }
}

// The message of the parse error `text` raises for Rule, or "" when it parses.
template <typename Rule>
std::string error_of(const std::string& text) {
    pegtl::memory_input<> in(text, "test");
    g::depth_guard guard;
    try {
        pegtl::parse<pegtl::seq<Rule, pegtl::eof>, pegtl::nothing, g::control>(in, guard);
        return "";
    } catch (const pegtl::parse_error& e) {
        return std::string(e.message()) + " @" + std::to_string(e.positions().front().column);
    }
}

}  // namespace

TEST(Grammar, has_no_left_recursion_or_empty_loops) { EXPECT_EQ(pegtl::analyze<g::grammar>(), 0u); }

TEST(Grammar, embedded_expression_has_no_issues) { EXPECT_EQ(pegtl::analyze<g::embedded_expression>(), 0u); }

TEST(Grammar, number_literals) {
    EXPECT_TRUE(matches_all<g::number_literal>("12"));
    EXPECT_TRUE(matches_all<g::number_literal>("0.7"));
    EXPECT_TRUE(matches_all<g::number_literal>("70%"));
    EXPECT_FALSE(matches_all<g::number_literal>("70 %"));
    EXPECT_EQ(error_of<g::number_literal>("1.5d").substr(0, 25), "invalid number or duratio");
}

TEST(Grammar, duration_literals_are_compound) {
    EXPECT_TRUE(matches_all<g::duration_literal>("90d"));
    EXPECT_TRUE(matches_all<g::duration_literal>("1d12h"));
    EXPECT_TRUE(matches_all<g::duration_literal>("500ms"));
    EXPECT_TRUE(matches_all<g::duration_literal>("2w"));
    EXPECT_FALSE(matches_all<g::duration_literal>("90"));
    EXPECT_FALSE(matches_all<g::duration_literal>("90dx"));
}

TEST(Grammar, reserved_words_are_not_names) {
    EXPECT_TRUE(matches_all<g::name>("high_value"));
    EXPECT_TRUE(matches_all<g::name>("android"));  // starts with a keyword
    EXPECT_TRUE(matches_all<g::name>("title"));    // field keywords are not reserved
    for (const char* word : {"let", "rule", "where", "offset", "null", "usage", "account", "in", "default"})
        EXPECT_FALSE(matches_all<g::name>(word)) << word;
}

TEST(Grammar, strings_with_escapes) {
    EXPECT_TRUE(matches_all<g::string_literal>(R"("a \"b\" \\ c")"));
    EXPECT_EQ(error_of<g::string_literal>(R"("a \n")"), "unknown escape in string: only \\\" and \\\\ are allowed @5");
    EXPECT_EQ(error_of<g::string_literal>("\"abc\nx\""),
              "unterminated string: expected \" before the end of the line @5");
}

TEST(Grammar, expressions) {
    EXPECT_TRUE(matches_all<g::expression>("a or b and not c == 1"));
    EXPECT_TRUE(matches_all<g::expression>("avg(usage.active_users, 28d offset 7d)"));
    EXPECT_TRUE(matches_all<g::expression>("count(ticket where status == \"open\", 30d) / 10"));
    EXPECT_TRUE(matches_all<g::expression>("x in [\"a\", \"b\"]"));
    EXPECT_TRUE(matches_all<g::expression>("if a then 1d else 7d"));
    EXPECT_TRUE(matches_all<g::expression>("a\n  and b"));  // newlines are white space
    EXPECT_TRUE(matches_all<g::expression>("- -3"));
    EXPECT_TRUE(matches_all<g::expression>("now()"));
    EXPECT_TRUE(matches_all<g::expression>("a # comment\n and b"));
}

TEST(Grammar, comparisons_do_not_chain) {
    EXPECT_EQ(error_of<g::expression>("a < b < c"), "comparisons do not chain: join them with and @6");
    EXPECT_EQ(error_of<g::expression>("a in b in c"), "comparisons do not chain: join them with and @7");
}

TEST(Grammar, committed_constructs_say_what_was_expected) {
    EXPECT_EQ(error_of<g::expression>("if a then b"), "expected else: an if needs both branches @12");
    EXPECT_EQ(error_of<g::expression>("f(a, )"), "expected an argument after , @6");
    EXPECT_EQ(error_of<g::expression>("(a + b"), "expected ) to close the parenthesis @7");
    EXPECT_EQ(error_of<g::expression>("a +"), "expected an operand after + or - @4");
    EXPECT_EQ(error_of<g::expression>("avg(x, 28d offset)"), "expected a duration after offset, e.g. 28d offset 7d @18");
}

TEST(Grammar, items) {
    EXPECT_TRUE(matches_all<g::file>("let a = 1\nlet b = a"));
    EXPECT_TRUE(matches_all<g::file>("rule r {\n  when a\n  severity high\n}\n"));
    EXPECT_TRUE(matches_all<g::file>("score s {\n component c weight 1 = 1\n band b\n}"));
    EXPECT_TRUE(matches_all<g::file>("classify c {\n a when x\n default b\n}"));
    EXPECT_TRUE(matches_all<g::file>("# only a comment\n"));
    EXPECT_TRUE(matches_all<g::file>(""));
    EXPECT_EQ(error_of<g::file>("rule r {\n  when a b\n}"),
              "expected a rule field (title, when, for, severity, notify, message, repeat, keep_firing_for, resolve, "
              "labels, inhibited_by, escalate, snooze_wake_if) or } @10");
    EXPECT_EQ(error_of<g::file>("let usage = 1"), "expected a name after let (reserved words cannot be names) @5");
    EXPECT_EQ(error_of<g::file>("alert x {}"), "expected let, rule, score or classify @1");
}

TEST(Grammar, inhibition_escalation_and_snooze_clauses) {
    EXPECT_TRUE(matches_all<g::file>("rule r {\n  when a\n  inhibited_by [b, c_2]\n  escalate after 1d12h to lead-ers\n"
                                     "  snooze_wake_if x < 3\n}\n"));
    EXPECT_EQ(error_of<g::file>("rule r {\n  inhibited_by b\n}"),
              "expected [ and a list of rule names, e.g. inhibited_by [churned] @16");
    EXPECT_EQ(error_of<g::file>("rule r {\n  inhibited_by [b c]\n}"), "expected , or ] in inhibited_by @19");
    EXPECT_EQ(error_of<g::file>("rule r {\n  inhibited_by [b,]\n}"), "expected a rule name after , @19");
    EXPECT_EQ(error_of<g::file>("rule r {\n  escalate 3d to x\n}"),
              "expected after, as in escalate after 3d to leadership @12");
    EXPECT_EQ(error_of<g::file>("rule r {\n  escalate after 3d x\n}"),
              "expected to and a channel name, as in escalate after 3d to leadership @21");
    EXPECT_EQ(error_of<g::file>("rule r {\n  escalate after soon to x\n}"), "expected a duration such as 2d or 1d12h @18");
    EXPECT_EQ(error_of<g::file>("rule r {\n  snooze_wake_if\n}"), "expected an expression @1");
}

TEST(Grammar, deep_nesting_is_refused_not_a_crash) {
    std::string deep(5000, '(');
    EXPECT_EQ(error_of<g::expression>(deep).substr(0, 28), "expression nested too deeply");
    std::string negations(5000, '-');
    EXPECT_EQ(error_of<g::expression>(negations + "1").substr(0, 28), "expression nested too deeply");
}
