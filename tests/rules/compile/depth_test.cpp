// compile/depth.hpp: how deep evaluating an expression goes, counting what it reads.
#include "rules/compile/depth.hpp"

#include "rules/check/checker.hpp"
#include "rules/limits.hpp"
#include "rules/parse/parser.hpp"
#include "rules/rule_set.hpp"

#include <gtest/gtest.h>

namespace redflag::rules::compile {
namespace {

ast::program checked(const std::string& text) {
    auto parsed = parse::parse_file("d.rules", text);
    EXPECT_TRUE(parsed.problems.empty()) << render_text(parsed.problems);
    ast::program p;
    p.files.push_back(std::move(parsed.file));
    auto problems = check::check(p, {});
    EXPECT_TRUE(problems.empty()) << render_text(problems);
    return p;
}

std::string repeat(std::string_view s, std::size_t n) {
    std::string out;
    for (std::size_t i = 0; i < n; ++i) out += s;
    return out;
}

TEST(Depth, a_reference_counts_the_depth_of_what_it_reads) {
    auto p = checked(
        "let a = 1 + 1\n"                     // 2
        "let b = (a)\n"                       // paren, reference: 1 + 1 + 2 = 4
        "score s {\n  component c weight 1 = b\n  band x\n}\n"  // one more for the score: 1 + 5 = 6
        "classify k {\n  y when s.score > 1\n  default z\n}\n"    // 1 + (1 + 1 + 6) = 9
        "rule r {\n  when k == \"y\"\n}\n");
    depth_meter m(p);
    const auto& rule = *p.rules.at(0).item;
    EXPECT_EQ(m.of(*rule.when), 1 + 1 + 9u);
    EXPECT_TRUE(m.problems().empty());
}

TEST(Depth, a_chain_is_reported_once_where_it_crosses_the_bound) {
    // Two separate chains: each reported at its own crossing, not at the rule reading both.
    std::string text = "let a0 = 1\nlet b0 = 1\n";
    for (int i = 1; i <= 200; ++i) {
        text += "let a" + std::to_string(i) + " = a" + std::to_string(i - 1) + " + 1\n";
        text += "let b" + std::to_string(i) + " = b" + std::to_string(i - 1) + " + 1\n";
    }
    text += "rule r {\n  when a200 > b200\n}\n";
    auto program = checked(text);
    auto problems = depth_meter(program).problems();
    ASSERT_EQ(problems.size(), 2u) << render_text(problems);
    // a128 = a127 + 1 is 257 deep: line 2 + 2 * 128 - 1.
    EXPECT_EQ(problems[0].line, 257u);
    EXPECT_EQ(problems[0].column, 12u);
    EXPECT_EQ(problems[0].code, "too-deep");
    EXPECT_EQ(problems[0].message,
              "let a128 nests too deeply: counting a127 and what it reads, evaluating it goes 257 levels deep (at "
              "most 256)");
    EXPECT_EQ(problems[1].message.substr(0, 25), "let b128 nests too deeply");
}

TEST(Depth, a_rule_within_the_bound_reading_items_within_it_can_still_be_too_deep_together) {
    // The let is 200 deep and the rule's own expression 100: each is fine, the two are not.
    std::string text = "let deep = " + repeat("(", 199) + "1" + repeat(")", 199) + "\n" +
                       "rule r {\n  when " + repeat("(", 98) + "deep" + repeat(")", 98) + " > 0\n}\n";
    auto problems = depth_meter(checked(text)).problems();
    ASSERT_EQ(problems.size(), 1u);
    EXPECT_EQ(problems[0].line, 3u);
    EXPECT_EQ(problems[0].column, 8u + 98);  // at the reference to deep
    EXPECT_EQ(problems[0].message.substr(0, 42), "rule r nests too deeply: counting deep and");
}

TEST(Depth, templates_outside_rule_files_are_measured_with_the_rule_sets_lets) {
    std::string text = "let deep = " + repeat("(", 199) + "1" + repeat(")", 199) + "\n";
    load_result r = load_sources({{"d.rules", text}});
    ASSERT_TRUE(r.rules) << render_text(r.problems);
    auto shallow = compile_template("{deep | round}", "channels.x.to", r.rules.get());
    EXPECT_TRUE(shallow.compiled) << render_text(shallow.problems);
    auto deep = compile_template("{" + repeat("abs(", 60) + "deep" + repeat(")", 60) + "}", "channels.x.to",
                                 r.rules.get());
    EXPECT_FALSE(deep.compiled);
    ASSERT_EQ(deep.problems.size(), 1u);
    EXPECT_EQ(deep.problems[0].code, "too-deep");
    EXPECT_EQ(deep.problems[0].file, "channels.x.to");
    EXPECT_EQ(deep.problems[0].column, 2u + 4 * 60);
}

}  // namespace
}  // namespace redflag::rules::compile
