#include "rules/format/formatter.hpp"

#include "rules/parse/parser.hpp"

#include "../support.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

using namespace redflag::rules;

namespace {

using redflag::test_support::read;

std::string fmt(const std::string& text) {
    auto r = parse::parse_file("t.rules", text);
    EXPECT_TRUE(r.problems.empty()) << render_text(r.problems);
    return format::format_file(r.file);
}

// format(format(x)) == format(x), and the tree does not change.
void expect_stable(const std::string& text) {
    auto first = parse::parse_file("t.rules", text);
    ASSERT_TRUE(first.problems.empty()) << render_text(first.problems);
    auto once = format::format_file(first.file);
    auto second = parse::parse_file("t.rules", once);
    ASSERT_TRUE(second.problems.empty()) << render_text(second.problems) << once;
    EXPECT_EQ(format::dump_tree(first.file), format::dump_tree(second.file)) << once;
    EXPECT_EQ(format::format_file(second.file), once);
}

}  // namespace

TEST(Formatter, spec_example_is_a_fixed_point) {
    auto text = read(REDFLAG_TEST_DATA "/spec_example.rules");
    EXPECT_EQ(fmt(text), text);
}

TEST(Formatter, conformance_files_are_fixed_points) {
    for (const char* name : {"health", "no_activity", "superuser", "usage_drop"}) {
        auto text = read(std::string(REDFLAG_TEST_DATA "/conformance/") + name + ".rules");
        EXPECT_EQ(fmt(text), text) << name;
    }
}

TEST(Formatter, messy_file_gets_the_canonical_layout) {
    auto messy = read(REDFLAG_TEST_DATA "/messy.rules");
    EXPECT_EQ(fmt(messy), read(REDFLAG_TEST_DATA "/messy.expected.rules"));
    expect_stable(messy);
}

TEST(Formatter, keeps_comments_with_their_lines) {
    EXPECT_EQ(fmt("# a\nlet x = 1 # b\n\n\n# c\n\nlet y = 2\n# end\n"),
              "# a\nlet x = 1  # b\n\n# c\n\nlet y = 2\n\n# end\n");
    // A trailing comment stays with its field when fields are reordered.
    EXPECT_EQ(fmt("rule r {\n  severity low # why\n  when true\n}\n"),
              "rule r {\n  when     true\n  severity low  # why\n}\n");
    EXPECT_EQ(fmt("# only\n"), "# only\n");
    EXPECT_EQ(fmt(""), "");
}

TEST(Formatter, expressions_one_line_with_parentheses_as_written) {
    EXPECT_EQ(fmt("let x = (a+b)*c\n"), "let x = (a + b) * c\n");
    EXPECT_EQ(fmt("let x = not(a)or-b<3\n"), "let x = not (a) or -b < 3\n");
    EXPECT_EQ(fmt("let x = a\n  and b\n"), "let x = a and b\n");
    EXPECT_EQ(fmt("let x = count( ticket where status==\"open\" , 28d   offset 7d )\n"),
              "let x = count(ticket where status == \"open\", 28d offset 7d)\n");
    EXPECT_EQ(fmt("let x = [ \"a\",\"b\\\"\" ]\n"), "let x = [\"a\", \"b\\\"\"]\n");
    EXPECT_EQ(fmt("let x = - -3\n"), "let x = --3\n");
}

TEST(Formatter, aligns_components_bands_and_labels) {
    EXPECT_EQ(fmt("score s {\ncomponent a weight 5 = 1\ncomponent bbb weight 100 = 2\nband x >= 10\nband yy >= 5\n"
                  "band zzzz\n}\n"),
              "score s {\n  component a   weight 5   = 1\n  component bbb weight 100 = 2\n  band x  >= 10\n"
              "  band yy >= 5\n  band zzzz\n}\n");
    EXPECT_EQ(fmt("classify c {\na when true\ndefault b\n}\n"), "classify c {\n  a       when true\n  default b\n}\n");
}

TEST(Formatter, is_idempotent_on_tricky_input) {
    expect_stable("rule r { # header\n  when a # one\n    or b # two\n  # three\n} # close\n# tail\n");
    expect_stable("let a = if x then 1 else if y then 2 else 3\nlet b = a ?? 1 + 2 * -(3)\n");
    expect_stable("rule r {\n  when true\n  message \"{{literal}} {account.name | round} \\\\ \\\" done\"\n}\n");
    expect_stable("score s{component nps weight 1.5=1 band a>=-1 band b}");
    expect_stable("rule r{when true labels{}}");
}

TEST(Formatter, comments_inside_lists_and_multi_line_fields_survive) {
    const std::string text =
        "rule r {\n  when a # one\n    and b # two\n  notify x, # first\n    y # second\n  labels {\n    k = \"v\" # label\n"
        "  }\n}\n";
    expect_stable(text);
    auto out = fmt(text);
    for (const char* c : {"# one", "# two", "# first", "# second", "# label"})
        EXPECT_NE(out.find(c), std::string::npos) << c << "\n" << out;
    EXPECT_EQ(out.substr(0, out.find('\n', out.find('\n') + 1)), "rule r {\n  when     a and b  # one");
}

TEST(Formatter, alerts_names_round_trip) {
    EXPECT_EQ(fmt("rule r {\nwhen alerts.unacked_for>2d and(alerts.unacked)>=1\nmessage \"{alerts.unacked_for|days}\"\n}\n"),
              "rule r {\n  when     alerts.unacked_for > 2d and (alerts.unacked) >= 1\n  message  \"{alerts.unacked_for|days}\"\n}\n");
    expect_stable("rule r{when alerts.unacked_for>2d message \"{alerts.unacked} for {alerts.unacked_for|days}\"}");
}

TEST(Formatter, issue_13_clauses_round_trip) {
    const std::string messy =
        "rule risk {\n"
        "  snooze_wake_if   account.mrr<100 or(health_low)\n"
        "  escalate   after  1d12h   to   leadership\n"
        "  inhibited_by[ churned ,cancellation_requested ]\n"
        "  when true\n"
        "}\n";
    const std::string canonical =
        "rule risk {\n"
        "  when     true\n"
        "  inhibited_by [churned, cancellation_requested]\n"
        "  escalate after 1d12h to leadership\n"
        "  snooze_wake_if account.mrr < 100 or (health_low)\n"
        "}\n";
    EXPECT_EQ(fmt(messy), canonical);
    expect_stable(messy);
    expect_stable(canonical);
}
