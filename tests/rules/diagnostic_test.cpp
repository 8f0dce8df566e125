#include "rules/diagnostic.hpp"

#include <gtest/gtest.h>

using namespace redflag::rules;

TEST(Diagnostic, source_line_finds_one_based_lines) {
    EXPECT_EQ(source_line("a\nbb\r\nccc", 1), "a");
    EXPECT_EQ(source_line("a\nbb\r\nccc", 2), "bb");
    EXPECT_EQ(source_line("a\nbb\r\nccc", 3), "ccc");
    EXPECT_EQ(source_line("a\nbb", 4), "");
    EXPECT_EQ(source_line("a", 0), "");
}

TEST(Diagnostic, renders_text_with_caret_under_the_column) {
    diagnostic d;
    d.message = "unknown name account.mmr";
    d.file = "r.rules";
    d.line = 3;
    d.column = 4;
    d.snippet = "\tx é account.mmr";
    d.hint = "did you mean account.mrr?";
    // the tab is kept and the two-byte é counts as one column
    EXPECT_EQ(render_text(d),
              "r.rules:3:4: error: unknown name account.mmr\n\tx é account.mmr\n\t  ^\n"
              "hint: did you mean account.mrr?\n");
}

TEST(Diagnostic, renders_problems_outside_files) {
    diagnostic d;
    d.level = severity::warning;
    d.message = "no rules loaded";
    EXPECT_EQ(render_text(d), "warning: no rules loaded\n");
    d.file = "rules/";
    EXPECT_EQ(render_text(d), "rules/: warning: no rules loaded\n");
}

TEST(Diagnostic, renders_json_escaped) {
    diagnostic d;
    d.code = "parse";
    d.message = "expected \"}\"\n";
    d.file = "a\\b.rules";
    d.line = 1;
    d.column = 2;
    EXPECT_EQ(render_json({d}),
              "{\"diagnostics\":[{\"file\":\"a\\\\b.rules\",\"line\":1,\"column\":2,\"severity\":\"error\","
              "\"code\":\"parse\",\"message\":\"expected \\\"}\\\"\\n\",\"hint\":\"\"}]}");
    EXPECT_EQ(render_json({}), "{\"diagnostics\":[]}");
}

TEST(Diagnostic, has_errors_ignores_warnings) {
    diagnostic warning;
    warning.level = severity::warning;
    EXPECT_FALSE(has_errors({warning}));
    EXPECT_TRUE(has_errors({warning, diagnostic{}}));
}
