#include "rules/parse/parser.hpp"

#include "rules/format/formatter.hpp"

#include "../support.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

using namespace redflag;
using namespace redflag::rules;

namespace {

using redflag::test_support::read;

// The tree of one expression, e.g. "(or (path a) (path b))".
std::string tree(const std::string& expr) {
    auto r = parse::parse_file("t.rules", "let x = " + expr + "\n");
    if (!r.problems.empty()) return "error: " + r.problems.front().message;
    auto dump = format::dump_tree(r.file);
    auto start = std::string("let x = ").size();
    return dump.substr(start, dump.find('\n') - start);
}

const ast::rule_item& rule_at(const parse::parse_result& r, std::size_t i) {
    return std::get<ast::rule_item>(r.file.items.at(i));
}

}  // namespace

TEST(Parser, parses_the_spec_example) {
    auto r = parse::parse_file("example.rules", read(REDFLAG_TEST_DATA "/spec_example.rules"));
    ASSERT_TRUE(r.problems.empty()) << render_text(r.problems);
    ASSERT_EQ(r.file.items.size(), 8u);
    EXPECT_TRUE(std::holds_alternative<ast::let_item>(r.file.items[0]));
    const auto& health = std::get<ast::score_item>(r.file.items[1]);
    EXPECT_EQ(health.name.value, "health");
    ASSERT_EQ(health.components.size(), 4u);
    EXPECT_EQ(health.components[2].name.value, "usage");
    EXPECT_EQ(health.components[2].weight.value, 35);
    ASSERT_EQ(health.bands.size(), 3u);
    EXPECT_FALSE(health.bands[2].threshold.has_value());
    EXPECT_EQ(health.bands[1].threshold->value, 40);
    const auto& quadrant = std::get<ast::classify_item>(r.file.items[3]);
    EXPECT_EQ(quadrant.cases.size(), 3u);
    EXPECT_EQ(quadrant.default_label->value, "low_value_low_effort");
    const auto& usage_drop = rule_at(r, 4);
    EXPECT_EQ(usage_drop.title->value, "Usage dropped");
    EXPECT_EQ(usage_drop.for_duration->value, 2 * day);
    EXPECT_EQ(usage_drop.severity->value, "high");
    ASSERT_EQ(usage_drop.notify.size(), 2u);
    EXPECT_EQ(usage_drop.notify[1].value, "owner_email");
    ASSERT_TRUE(usage_drop.message.has_value());
    EXPECT_EQ(usage_drop.message->parts.size(), 6u);
    ASSERT_EQ(r.file.comments.size(), 1u);
    EXPECT_EQ(r.file.comments[0].text, "# Red flags from the CS playbook.");
    EXPECT_TRUE(rule_at(r, 7).repeat != nullptr);
}

TEST(Parser, parses_the_conformance_files) {
    for (const char* name : {"health", "no_activity", "superuser", "usage_drop"}) {
        auto r = parse::parse_file(name, read(std::string(REDFLAG_TEST_DATA "/conformance/") + name + ".rules"));
        EXPECT_TRUE(r.problems.empty()) << name << "\n" << render_text(r.problems);
        EXPECT_FALSE(r.file.items.empty());
    }
}

TEST(Parser, precedence_loosest_first) {
    EXPECT_EQ(tree("a or b and c"), "(or (path a) (and (path b) (path c)))");
    EXPECT_EQ(tree("not a == b"), "(not (== (path a) (path b)))");
    EXPECT_EQ(tree("a == b ?? c"), "(== (path a) (?? (path b) (path c)))");
    EXPECT_EQ(tree("a ?? b + c"), "(?? (path a) (+ (path b) (path c)))");
    EXPECT_EQ(tree("a + b * c"), "(+ (path a) (* (path b) (path c)))");
    EXPECT_EQ(tree("-a * b"), "(* (neg (path a)) (path b))");
    EXPECT_EQ(tree("a in [\"x\"] and b"), "(and (in (path a) (list (str \"x\"))) (path b))");
}

TEST(Parser, binary_operators_are_left_associative) {
    EXPECT_EQ(tree("1 - 2 - 3"), "(- (- (num 1 1) (num 2 2)) (num 3 3))");
    EXPECT_EQ(tree("a / b * c"), "(* (/ (path a) (path b)) (path c))");
    EXPECT_EQ(tree("a ?? b ?? c"), "(?? (?? (path a) (path b)) (path c))");
}

TEST(Parser, else_extends_as_far_as_possible) {
    EXPECT_EQ(tree("if a then 1 else 2 + 3"), "(if (path a) (num 1 1) (+ (num 2 2) (num 3 3)))");
    EXPECT_EQ(tree("if a then b else if c then d else e"), "(if (path a) (path b) (if (path c) (path d) (path e)))");
}

TEST(Parser, literals) {
    EXPECT_EQ(tree("70%"), "(num 0.69999999999999996 70%)");
    EXPECT_EQ(tree("1d12h"), "(dur 129600000 1d12h)");
    EXPECT_EQ(tree("\"a \\\"q\\\" \\\\\""), "(str \"a \\\"q\\\" \\\\\")");
    EXPECT_EQ(tree("[true, false, null]"), "(list (true) (false) (null))");
    EXPECT_EQ(tree("-3"), "(neg (num 3 3))");
}

TEST(Parser, calls_streams_windows_and_where) {
    EXPECT_EQ(tree("avg(usage.active_users, 28d offset 7d)"),
              "(call avg (path usage active_users) (window 2419200000 604800000))");
    EXPECT_EQ(tree("count(ticket where status == \"open\", 30d)"),
              "(call count (where (path ticket) (== (path status) (str \"open\"))) (dur 2592000000 30d))");
    EXPECT_EQ(tree("now()"), "(call now)");
    EXPECT_EQ(tree("account.attributes.tier"), "(path account attributes tier)");
}

TEST(Parser, newlines_continue_an_expression_and_field_keywords_end_it) {
    auto r = parse::parse_file("t.rules", "rule r {\n  when a\n    and b\n  severity high\n}\n");
    ASSERT_TRUE(r.problems.empty()) << render_text(r.problems);
    const auto& rule = rule_at(r, 0);
    EXPECT_TRUE(std::holds_alternative<ast::binary>(rule.when->node));
    EXPECT_EQ(rule.severity->value, "high");
    EXPECT_EQ(rule.severity->pos.line, 4u);
    EXPECT_EQ(rule.severity->pos.column, 12u);
}

TEST(Parser, field_keywords_are_names_outside_field_position) {
    auto r = parse::parse_file("t.rules", "let title = 1\nrule r {\n  when title > 0\n  title \"T\"\n}\n");
    ASSERT_TRUE(r.problems.empty()) << render_text(r.problems);
    EXPECT_EQ(rule_at(r, 1).title->value, "T");
}

TEST(Parser, positions_are_one_based_line_and_column) {
    auto r = parse::parse_file("t.rules", "rule r {\n    when since(activity) > 90\n}\n");
    ASSERT_TRUE(r.problems.empty());
    const auto& when = *rule_at(r, 0).when;
    EXPECT_EQ(when.pos.line, 2u);
    EXPECT_EQ(when.pos.column, 10u);
    const auto& cmp = std::get<ast::binary>(when.node);
    EXPECT_EQ(cmp.rhs->pos.column, 28u);
    const auto& since = std::get<ast::call>(cmp.lhs->node);
    EXPECT_EQ(since.args[0]->pos.column, 16u);
}

TEST(Parser, reports_what_was_expected_with_position) {
    auto r = parse::parse_file("bad.rules", "rule r {\n  when a >\n}\n");
    ASSERT_EQ(r.problems.size(), 1u);
    const auto& d = r.problems[0];
    EXPECT_EQ(d.code, "parse");
    EXPECT_EQ(d.message, "expected an operand after the comparison");
    EXPECT_EQ(d.file, "bad.rules");
    EXPECT_EQ(d.line, 3u);
    EXPECT_EQ(d.column, 1u);
    EXPECT_EQ(d.snippet, "}");
}

TEST(Parser, resumes_at_the_next_item_after_an_error) {
    auto r = parse::parse_file("bad.rules",
                               "let a = (1\nlet b = 2\nrule r {\n  when\n}\nscore s {\n  component c weight = 1\n}\n"
                               "let ok = 3\n");
    ASSERT_EQ(r.problems.size(), 3u) << render_text(r.problems);
    EXPECT_EQ(r.problems[0].line, 2u);  // the ) is expected where `let` is
    EXPECT_EQ(r.problems[1].message, "expected an expression");
    EXPECT_EQ(r.problems[1].line, 5u);
    EXPECT_EQ(r.problems[2].message, "expected a number after weight");
    EXPECT_EQ(r.problems[2].line, 7u);
    EXPECT_EQ(r.problems[2].column, 22u);
    // b and ok still parsed
    ASSERT_EQ(r.file.items.size(), 2u);
    EXPECT_EQ(std::get<ast::let_item>(r.file.items[0]).name.value, "b");
    EXPECT_EQ(std::get<ast::let_item>(r.file.items[1]).name.value, "ok");
}

TEST(Parser, duration_units_must_go_largest_first) {
    auto r = parse::parse_file("t.rules", "let d = 12h1d\n");
    ASSERT_EQ(r.problems.size(), 1u);
    EXPECT_EQ(r.problems[0].message, "invalid duration 12h1d");
    EXPECT_EQ(r.problems[0].column, 9u);
}

TEST(Parser, a_field_given_twice_is_an_error_at_the_second) {
    auto r = parse::parse_file("t.rules", "rule r {\n  when a\n  severity low\n  severity high\n}\n");
    ASSERT_EQ(r.problems.size(), 1u);
    EXPECT_EQ(r.problems[0].code, "duplicate-field");
    EXPECT_EQ(r.problems[0].message, "severity is given twice in rule r");
    EXPECT_EQ(r.problems[0].line, 4u);
    EXPECT_EQ(rule_at(r, 0).severity->value, "low");
}

TEST(Parser, labels_and_all_fields) {
    auto r = parse::parse_file("t.rules",
                               "rule r {\n  when a\n  keep_firing_for 1h\n  resolve silent\n  labels { team = \"cs\", "
                               "tier = \"1\" }\n  repeat if a then 1d else 7d\n}\n");
    ASSERT_TRUE(r.problems.empty()) << render_text(r.problems);
    const auto& rule = rule_at(r, 0);
    EXPECT_EQ(rule.keep_firing_for->value, hour);
    EXPECT_EQ(rule.resolve->value, "silent");
    ASSERT_EQ(rule.labels.size(), 2u);
    EXPECT_EQ(rule.labels[1].key.value, "tier");
    EXPECT_EQ(rule.labels[1].value.value, "1");
    EXPECT_TRUE(std::holds_alternative<ast::conditional>(rule.repeat->node));
}

TEST(Parser, splits_templates_and_maps_positions_into_the_file) {
    auto r = parse::parse_file("t.rules",
                               "rule r {\n  when a\n  message \"{{x}} {account.name}: {x | round} {\\\"a|b\\\" | pct}\"\n}\n");
    ASSERT_TRUE(r.problems.empty()) << render_text(r.problems);
    const auto& tpl = *rule_at(r, 0).message;
    EXPECT_EQ(tpl.raw, "{{x}} {account.name}: {x | round} {\"a|b\" | pct}");
    ASSERT_EQ(tpl.parts.size(), 6u);
    EXPECT_EQ(tpl.parts[0].text, "{x} ");
    EXPECT_EQ(format::format_expr(*tpl.parts[1].expression), "account.name");
    EXPECT_EQ(tpl.parts[1].format.value, "");
    EXPECT_EQ(tpl.parts[2].text, ": ");
    EXPECT_EQ(tpl.parts[3].format.value, "round");
    EXPECT_EQ(format::format_expr(*tpl.parts[5].expression), "\"a|b\"");
    EXPECT_EQ(tpl.parts[5].format.value, "pct");
    // account.name starts at column 19 of line 3: `  message "{{x}} {` is 18 characters.
    EXPECT_EQ(tpl.parts[1].expression->pos.line, 3u);
    EXPECT_EQ(tpl.parts[1].expression->pos.column, 19u);
    // After an escaped quote, columns still count source characters.
    EXPECT_EQ(tpl.parts[5].expression->pos.column, 47u);
    EXPECT_EQ(tpl.parts[5].format.pos.column, 57u);
}

TEST(Parser, template_errors_point_into_the_string) {
    auto r = parse::parse_file("t.rules", "rule r {\n  when a\n  message \"x {a +} {b\"\n}\n");
    ASSERT_EQ(r.problems.size(), 2u) << render_text(r.problems);
    EXPECT_EQ(r.problems[0].message, "expected an operand after + or -");
    EXPECT_EQ(r.problems[0].column, 18u);  // where the operand should be: the }
    EXPECT_EQ(r.problems[1].message, "unclosed { in template");
    EXPECT_EQ(r.problems[1].column, 20u);
}

TEST(Parser, template_text_outside_rule_files) {
    diagnostics problems;
    auto tpl = parse::parse_template_text("{account.csm_email}", "redflag.yaml: channels.owner_email.to", problems);
    EXPECT_TRUE(problems.empty());
    ASSERT_EQ(tpl.parts.size(), 1u);
    EXPECT_EQ(tpl.parts[0].expression->pos.column, 2u);
    auto bad = parse::parse_template_text("x {account.}", "cfg", problems);
    ASSERT_EQ(problems.size(), 1u);
    EXPECT_EQ(problems[0].file, "cfg");
    EXPECT_EQ(problems[0].line, 1u);
    EXPECT_EQ(problems[0].snippet, "x {account.}");
}

TEST(Parser, keeps_every_comment_but_not_hashes_in_strings) {
    auto r = parse::parse_file("t.rules", "# head\nrule r { # after brace\n  title \"#1\"\n  when a # why\n}\n");
    ASSERT_TRUE(r.problems.empty());
    ASSERT_EQ(r.file.comments.size(), 3u);
    EXPECT_EQ(r.file.comments[1].text, "# after brace");
    EXPECT_EQ(r.file.comments[2].pos.line, 4u);
    EXPECT_EQ(r.file.comments[2].pos.column, 10u);
    EXPECT_EQ(rule_at(r, 0).title->value, "#1");
}

TEST(Parser, very_long_chains_are_refused_not_a_crash) {
    std::string chain = "1";
    for (int i = 0; i < 3000; ++i) chain += " + 1";
    auto r = parse::parse_file("t.rules", "let x = " + chain + "\n");
    ASSERT_EQ(r.problems.size(), 1u);
    EXPECT_EQ(r.problems[0].code, "too-deep");
    EXPECT_EQ(r.problems[0].message, "expression nested too deeply: more than 256 levels");
}

TEST(Parser, an_error_on_an_items_first_line_does_not_loop) {
    auto r = parse::parse_file("t.rules", "# c\nlet = 1\nlet b = 2\n");
    ASSERT_EQ(r.problems.size(), 1u);
    EXPECT_EQ(r.problems[0].line, 2u);
    EXPECT_EQ(r.problems[0].column, 5u);
    ASSERT_EQ(r.file.items.size(), 1u);
}

TEST(Parser, an_error_at_the_end_of_the_file_points_after_the_last_line) {
    auto r = parse::parse_file("t.rules", "rule r {\n  when a\n\n");
    ASSERT_EQ(r.problems.size(), 1u);
    EXPECT_EQ(r.problems[0].line, 2u);
    EXPECT_EQ(r.problems[0].column, 9u);
    EXPECT_EQ(r.problems[0].snippet, "  when a");
}
