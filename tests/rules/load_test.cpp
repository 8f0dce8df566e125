// rules::load, the path every way in takes (`redflag check`, `serve` at start, and a
// reload by SIGHUP or POST /-/reload): hostile rule files give positioned diagnostics and
// no rule set, never a crash, and a reload that fails leaves the running set usable.
// Each deep shape below crashed (stack overflow) before nesting was bounded.
#include "rules/limits.hpp"
#include "rules/rule_set.hpp"
#include "rules/sources.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace redflag::rules {
namespace {

namespace fs = std::filesystem;

// A folder of rule files, removed afterwards.
class rule_folder {
public:
    rule_folder() : path_(fs::temp_directory_path() / ("redflag-load-" + std::to_string(::getpid()))) {
        fs::create_directories(path_);
    }
    ~rule_folder() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    std::string write(const std::string& name, const std::string& text) {
        std::ofstream(path_ / name, std::ios::binary) << text;
        return (path_ / name).string();
    }
    std::string path() const { return path_.string(); }

private:
    fs::path path_;
};

std::string repeat(std::string_view s, std::size_t n) {
    std::string out;
    out.reserve(s.size() * n);
    for (std::size_t i = 0; i < n; ++i) out += s;
    return out;
}

std::string rule_when(const std::string& expr) { return "rule r {\n  when " + expr + "\n}\n"; }

// Loads one file and expects no rules and a first problem with this code at this place.
void expect_refused(const std::string& text, std::string_view code, std::uint32_t line, std::uint32_t column) {
    rule_folder folder;
    std::string file = folder.write("deep.rules", text);
    std::vector<std::string> paths{folder.path()};
    load_result r = load(paths);
    EXPECT_FALSE(r.rules);
    ASSERT_FALSE(r.problems.empty());
    const diagnostic& d = r.problems.front();
    EXPECT_EQ(d.code, code) << render_text(r.problems).substr(0, 2000);
    EXPECT_EQ(d.file, file);
    EXPECT_EQ(d.line, line);
    EXPECT_EQ(d.column, column);
    EXPECT_FALSE(d.snippet.empty());
}

// `when` is at line 2, its expression starts at column 8.
constexpr std::uint32_t when_line = 2, when_column = 8;
constexpr auto limit = static_cast<std::uint32_t>(max_nesting);

TEST(Load, ten_thousand_nested_parentheses_are_refused_at_the_first_too_many) {
    expect_refused(rule_when(repeat("(", 10'000) + "true" + repeat(")", 10'000)), "too-deep", when_line,
                   when_column + limit);
}

TEST(Load, a_long_unary_chain_is_refused) {
    // when 1 < ------...1: the minus signs start at column 12.
    expect_refused(rule_when("1 < " + repeat("-", 50'000) + "1"), "too-deep", when_line, 12 + limit);
    expect_refused(rule_when(repeat("not ", 50'000) + "true"), "too-deep", when_line, when_column + 4 * limit);
}

TEST(Load, deep_abs_nesting_is_refused) {
    expect_refused(rule_when(repeat("abs(", 10'000) + "1" + repeat(")", 10'000) + " > 0"), "too-deep", when_line,
                   when_column + 4 * limit);
}

TEST(Load, deep_where_nesting_is_refused) {
    // Each level is a call and a where: two levels of 16 characters.
    const std::string level = "any(users where ";
    expect_refused(rule_when(repeat(level, 10'000) + "true" + repeat(")", 10'000)), "too-deep", when_line,
                   when_column + (limit / 2) * 16);
}

TEST(Load, deep_template_nesting_is_refused) {
    // message "{(((...: the interpolation's brace is at column 12 of line 3.
    std::string text = "rule r {\n  when true\n  message \"{" + repeat("(", 10'000) + "1" + repeat(")", 10'000) +
                       "}\"\n}\n";
    expect_refused(text, "too-deep", 3, 13 + limit);
}

TEST(Load, a_reverse_ordered_chain_of_twenty_thousand_lets_is_refused_where_it_gets_too_deep) {
    // let l0 = l1 + 1, ..., let l19999 = l20000 + 1, let l20000 = 1: each let is two
    // levels deeper than the next, so l(N - 128) is the first past the bound; its
    // reference to the next let is where it is reported, once.
    constexpr int n = 20'000;
    std::string text;
    for (int i = 0; i < n; ++i) text += "let l" + std::to_string(i) + " = l" + std::to_string(i + 1) + " + 1\n";
    text += "let l" + std::to_string(n) + " = 1\n" + rule_when("l0 > 0");
    const int crossing = n - 128;
    const std::string head = "let l" + std::to_string(crossing) + " = ";
    expect_refused(text, "too-deep", crossing + 1, static_cast<std::uint32_t>(head.size() + 1));

    rule_folder folder;
    std::vector<std::string> paths{folder.write("chain.rules", text)};
    load_result r = load(paths);
    ASSERT_EQ(r.problems.size(), 1u);
    EXPECT_NE(r.problems[0].message.find("let l19872 nests too deeply: counting l19873"), std::string::npos)
        << r.problems[0].message;
}

TEST(Load, a_forward_chain_of_lets_that_would_evaluate_too_deep_is_refused) {
    // Loaded before, then crashed the shard evaluating it.
    constexpr int n = 20'000;
    std::string text = "let l0 = 1\n";
    for (int i = 1; i < n; ++i) text += "let l" + std::to_string(i) + " = l" + std::to_string(i - 1) + " + 1\n";
    text += rule_when("l" + std::to_string(n - 1) + " > 0");
    expect_refused(text, "too-deep", 129, 12);  // let l128 = l127 + 1
}

TEST(Load, a_cycle_of_twenty_thousand_lets_is_a_cycle) {
    constexpr int n = 20'000;
    std::string text;
    for (int i = 0; i < n; ++i) text += "let c" + std::to_string(i) + " = c" + std::to_string((i + 1) % n) + " + 1\n";
    text += rule_when("c0 > 0");
    expect_refused(text, "cycle", 1, 5);
}

// A reload runs load(): the service keeps the set it has when the new files fail.
TEST(Load, a_reload_to_a_deep_file_reports_it_and_the_running_rules_keep_working) {
    rule_folder folder;
    std::string file = folder.write("main.rules", rule_when("account.seats > 10"));
    std::vector<std::string> paths{folder.path()};
    load_result running = load(paths);
    ASSERT_TRUE(running.rules) << render_text(running.problems);

    folder.write("main.rules", rule_when(repeat("(", 100'000) + "true" + repeat(")", 100'000)));
    load_result reload = load(paths);
    EXPECT_FALSE(reload.rules);
    ASSERT_EQ(reload.problems.size(), 1u);
    EXPECT_EQ(reload.problems[0].code, "too-deep");
    EXPECT_EQ(reload.problems[0].file, file);

    model::account_state account;
    account.id = "acme";
    model::event e;
    e.type = model::event_type::account;
    e.account = "acme";
    e.id = "1";
    e.fields = {{"seats", 50}};
    account.apply(e);
    evaluation out = running.rules->make_evaluation();
    running.rules->evaluate(account, timestamp{}, minute, out);
    EXPECT_EQ(out.conditions.at(0), 1);
}

// Cluster mode compares the instances' fingerprints (README "Cluster mode"): the same
// texts in other folders match; any changed byte, or a text moved to another file, does not.
TEST(Load, the_fingerprint_names_the_texts_not_the_folders) {
    const std::string rule = "rule low {\n  when nps.score < 7\n  severity high\n}\n";
    auto folder = [](const std::string& name) {
        auto p = fs::temp_directory_path() / ("redflag-print-" + std::to_string(::getpid()) + "-" + name);
        fs::create_directories(p);
        return p;
    };
    auto a = folder("a"), b = folder("b");
    std::ofstream(a / "x.rules", std::ios::binary) << rule;
    std::ofstream(b / "x.rules", std::ios::binary) << rule;
    auto print = [](const fs::path& folder) {
        diagnostics problems;
        std::vector<std::string> paths{folder.string()};
        auto sources = read_sources(paths, problems);
        EXPECT_TRUE(problems.empty());
        return source_fingerprint(sources);
    };
    const auto first = print(a);
    EXPECT_EQ(first.size(), 64u);
    EXPECT_EQ(first, print(b));

    std::ofstream(b / "x.rules", std::ios::binary) << rule << "\n";
    EXPECT_NE(print(b), first);
    fs::remove(b / "x.rules");
    std::ofstream(b / "y.rules", std::ios::binary) << rule;
    EXPECT_NE(print(b), first);
    fs::remove_all(a);
    fs::remove_all(b);
}

}  // namespace
}  // namespace redflag::rules
