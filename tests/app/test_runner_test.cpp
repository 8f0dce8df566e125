#include "app/test_runner.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace redflag::app {
namespace {

namespace fs = std::filesystem;

struct result {
    int status;
    std::string out;
    std::string err;
};

result run(std::vector<std::string> files) {
    std::ostringstream out, err;
    int status = run_tests(files, out, err);
    return {status, out.str(), err.str()};
}

std::string data(std::string_view name) { return std::string(REDFLAG_TEST_DATA) + "/" + std::string(name); }

// Writes a test file next to the fixtures' rules (so `rules: [runner.rules]` resolves).
std::string write_case(std::string_view name, std::string_view text) {
    // One folder per test: ctest may run tests of this file in parallel processes.
    fs::path dir = fs::temp_directory_path() /
                   ("redflag-test-runner-" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::create_directories(dir);
    fs::copy_file(data("runner.rules"), dir / "runner.rules", fs::copy_options::overwrite_existing);
    auto path = (dir / name).string();
    std::ofstream(path) << text;
    return path;
}

TEST(TestRunner, passing_file_exits_0_with_a_summary) {
    auto r = run({data("runner_pass.yaml")});
    EXPECT_EQ(r.status, 0) << r.out << r.err;
    EXPECT_NE(r.out.find("ok   " + data("runner_pass.yaml") + ": quiet fires on the clock"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("2 passed, 0 failed"), std::string::npos) << r.out;
    EXPECT_EQ(r.err, "");
}

TEST(TestRunner, wrong_expectation_exits_1_with_instant_expected_and_actual) {
    auto r = run({data("runner_fail.yaml")});
    EXPECT_EQ(r.status, 1) << r.out << r.err;
    EXPECT_NE(r.out.find("FAIL " + data("runner_fail.yaml") + ": wrong expectation"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("at +31d (2026-02-01T00:00:00Z):"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("firing: expected [], actual [{rule: quiet, account: acme}]"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("1 passed, 1 failed"), std::string::npos) << r.out;
}

TEST(TestRunner, broken_file_exits_2_naming_file_and_problem) {
    auto r = run({data("runner_broken.yaml")});
    EXPECT_EQ(r.status, 2) << r.out << r.err;
    EXPECT_NE(r.err.find(data("runner_broken.yaml") + ":6:"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("event: type: must be one of account, contract, usage"), std::string::npos) << r.err;
    EXPECT_NE(r.out.find("0 passed, 0 failed"), std::string::npos) << r.out;
}

TEST(TestRunner, a_broken_file_does_not_stop_the_others_and_wins_the_status) {
    auto r = run({data("runner_broken.yaml"), data("runner_fail.yaml"), data("runner_pass.yaml")});
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.out.find("3 passed, 1 failed"), std::string::npos) << r.out;
}

TEST(TestRunner, missing_file_is_broken) {
    auto r = run({data("no-such-file.yaml")});
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find("no-such-file.yaml: error: cannot read the file"), std::string::npos) << r.err;
}

struct broken_case {
    const char* name;
    const char* text;
    const char* message;
};

TEST(TestRunner, reports_what_is_wrong_in_a_broken_file) {
    const broken_case cases[] = {
        {"syntax.yaml", "rules: [runner.rules\nstart: x\n", "error: "},
        {"no_start.yaml", "rules: [runner.rules]\ntests: [{name: a, expect: [{at: +1d}]}]\n", "missing start"},
        {"bad_start.yaml", "rules: [runner.rules]\nstart: tomorrow\ntests: []\n", "is not an RFC 3339 timestamp"},
        {"unknown_key.yaml", "rules: [runner.rules]\nstart: 2026-01-01T00:00:00Z\nticks: 1h\ntests: []\n",
         "unknown key \"ticks\""},
        {"no_rules_file.yaml", "rules: [missing.rules]\nstart: 2026-01-01T00:00:00Z\ntests: [{name: a, expect: [{at: +1d}]}]\n",
         "the rules do not load"},
        {"unknown_rule.yaml",
         "rules: [runner.rules]\nstart: 2026-01-01T00:00:00Z\ntests:\n  - name: a\n    expect:\n      - at: +1d\n"
         "        firing: [{rule: nope, account: acme}]\n",
         "no rule named \"nope\""},
        {"unknown_band.yaml",
         "rules: [runner.rules]\nstart: 2026-01-01T00:00:00Z\ntests:\n  - name: a\n    expect:\n      - at: +1d\n"
         "        scores: [{account: acme, score: health, band: purple}]\n",
         "score health has no band \"purple\""},
        {"bad_at.yaml",
         "rules: [runner.rules]\nstart: 2026-01-01T00:00:00Z\ntests:\n  - name: a\n    events:\n"
         "      - {type: account, account: acme, at: soon}\n    expect: [{at: +1d}]\n",
         "\"soon\" is not +DURATION"},
        {"missing_field.yaml",
         "rules: [runner.rules]\nstart: 2026-01-01T00:00:00Z\ntests:\n  - name: a\n    events:\n"
         "      - {type: ticket, account: acme, ticket_id: t1}\n    expect: [{at: +1d}]\n",
         "error: event: status: is required"},
        {"bad_enum.yaml",
         "rules: [runner.rules]\nstart: 2026-01-01T00:00:00Z\ntests:\n  - name: a\n    events:\n"
         "      - {type: nps, account: acme, score: 11}\n    expect: [{at: +1d}]\n",
         "error: event: score: must be an integer from 0 to 10"},
        {"bad_series.yaml",
         "rules: [runner.rules]\nstart: 2026-01-01T00:00:00Z\ntests:\n  - name: a\n    events:\n"
         "      - {series: \"usage logins\", account: acme, every: 1d, values: \"4*x\"}\n    expect: [{at: +1d}]\n",
         "\"4*x\" is not VALUE or VALUE*COUNT"},
        // The checks of live ingest, through the one decoder (they were not made here).
        {"nul_account.yaml",
         "rules: [runner.rules]\nstart: 2026-01-01T00:00:00Z\ntests:\n  - name: a\n    events:\n"
         "      - {type: nps, account: \"ac\\0me\", score: 3}\n    expect: [{at: +1d}]\n",
         ":6:30: error: event: account: must not contain control characters (U+0000 at character 3)"},
        {"infinite_value.yaml",
         "rules: [runner.rules]\nstart: 2026-01-01T00:00:00Z\ntests:\n  - name: a\n    events:\n"
         "      - {type: usage, account: acme, metric: logins, value: inf}\n    expect: [{at: +1d}]\n",
         "error: event: value: must be a number from -1000000000000 to 1000000000000"},
        {"huge_mrr.yaml",
         "rules: [runner.rules]\nstart: 2026-01-01T00:00:00Z\ntests:\n  - name: a\n    events:\n"
         "      - {type: contract, account: acme, mrr: 9.2e15}\n    expect: [{at: +1d}]\n",
         "error: event: mrr: must be a number from 0 to 10000000"},
        {"series_bound.yaml",
         "rules: [runner.rules]\nstart: 2026-01-01T00:00:00Z\ntests:\n  - name: a\n    events:\n"
         "      - {series: \"usage logins\", account: acme, every: 1d, values: \"1 2e12\"}\n    expect: [{at: +1d}]\n",
         "error: event: value: must be a number from"},
        {"string_list_item.yaml",
         "rules: [runner.rules]\nstart: 2026-01-01T00:00:00Z\ntests:\n  - name: a\n    events:\n"
         "      - {type: contract, account: acme, mrr: 5, products: [a, \"\"]}\n    expect: [{at: +1d}]\n",
         "error: event: products[1]: must be a string of 1 to 200 characters"},
    };
    for (const auto& c : cases) {
        auto path = write_case(c.name, c.text);
        auto r = run({path});
        EXPECT_EQ(r.status, 2) << c.name << "\n" << r.out << r.err;
        EXPECT_EQ(r.err.rfind(path, 0), 0u) << c.name << ": " << r.err;
        EXPECT_NE(r.err.find(c.message), std::string::npos) << c.name << ": " << r.err;
    }
}

TEST(TestRunner, ties_keep_listed_order_and_series_expand_from_from) {
    // status active then onboarding at the same instant: the later one wins, so nothing fires.
    auto path = write_case("ties.yaml", R"(rules: [runner.rules]
start: 2026-01-01T00:00:00Z
tests:
  - name: ties
    events:
      - {type: account, account: acme, status: active, seats: 10}
      - {type: account, account: acme, status: onboarding}
      - {series: "usage active_users", account: acme, every: 12h, from: +1d, values: [2, "3*2"]}
    expect:
      - at: +40d
        firing: []
      - at: +2d
        scores: [{account: acme, score: health, value: 27}]
)");
    auto r = run({path});
    // avg(2, 3, 3) / 10 = 0.2667 → 27
    EXPECT_EQ(r.status, 0) << r.out << r.err;
}

TEST(TestRunner, score_class_and_pending_mismatches_show_expected_and_actual) {
    auto path = write_case("mismatch.yaml", R"(rules: [runner.rules]
start: 2026-01-01T00:00:00Z
tests:
  - name: mismatches
    events:
      - {type: account, account: big, seats: 100}
      - {series: "usage active_users", account: big, every: 1d, values: "80*3"}
    expect:
      - at: +2d
        pending: [{rule: red_health, account: big}]
        scores: [{account: big, score: health, value: 81, band: green}, {account: ghost, score: health, band: red}]
        classes: [{account: big, name: tier, label: small}]
)");
    auto r = run({path});
    EXPECT_EQ(r.status, 1) << r.out << r.err;
    EXPECT_NE(r.out.find("at +2d (2026-01-03T00:00:00Z):"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("pending: expected [{rule: red_health, account: big}], actual []"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("score health of big: expected 81 (green), actual 80 (green)"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("score health of ghost: expected any value (red), actual: no such account"), std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("class tier of big: expected small, actual big"), std::string::npos) << r.out;
}

TEST(TestRunner, config_channel_names_check_notify) {
    fs::path dir = fs::temp_directory_path() / "redflag-test-runner-config";
    fs::create_directories(dir);
    std::ofstream(dir / "notify.rules") << "rule r {\n  when account.seats > 5\n  notify cs_red_flags\n}\n";
    std::ofstream(dir / "good.yaml") << "channels:\n  cs_red_flags:\n    type: slack\n    token: ${NOT_SET_ANYWHERE}\n";
    std::ofstream(dir / "bad.yaml") << "channels:\n  other: {type: slack}\n";
    const char* test = "start: 2026-01-01T00:00:00Z\ntests:\n  - name: n\n    events:\n"
                       "      - {type: account, account: acme, seats: 10}\n"
                       "    expect:\n      - at: +1h\n        firing: [{rule: r, account: acme}]\n";
    std::ofstream(dir / "with_good.yaml") << "rules: [notify.rules]\nconfig: good.yaml\n" << test;
    std::ofstream(dir / "with_bad.yaml") << "rules: [notify.rules]\nconfig: bad.yaml\n" << test;
    std::ofstream(dir / "without.yaml") << "rules: [notify.rules]\n" << test;

    auto good = run({(dir / "with_good.yaml").string()});
    EXPECT_EQ(good.status, 0) << good.out << good.err;
    auto without = run({(dir / "without.yaml").string()});  // no config: channel names are not checked
    EXPECT_EQ(without.status, 0) << without.out << without.err;
    auto bad = run({(dir / "with_bad.yaml").string()});
    EXPECT_EQ(bad.status, 2) << bad.out << bad.err;
    EXPECT_NE(bad.err.find("cs_red_flags"), std::string::npos) << bad.err;
}

TEST(TestRunner, conformance_scenarios_pass) {
    fs::path dir = fs::path(REDFLAG_SOURCE_DIR) / ".." / "shared" / "conformance";
    if (!fs::exists(dir)) GTEST_SKIP() << "no " << dir;
    std::vector<std::string> files;
    for (const auto& entry : fs::directory_iterator(dir))
        if (entry.path().extension() == ".yaml") files.push_back(entry.path().string());
    std::sort(files.begin(), files.end());
    ASSERT_FALSE(files.empty());
    auto r = run(files);
    EXPECT_EQ(r.status, 0) << r.out << r.err;
}

}  // namespace
}  // namespace redflag::app
