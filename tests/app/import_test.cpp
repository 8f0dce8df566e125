#include "app/import.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace redflag::app {
namespace {

std::string write_temp(const std::string& text) {
    auto path = std::filesystem::temp_directory_path() /
                ("redflag-import-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
                 ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".csv");
    std::ofstream(path, std::ios::binary) << text;
    return path.string();
}

TEST(Csv, parses_rfc_4180_quoting_with_positions) {
    auto r = parse_csv("a,b,c\r\n1,\"two, \"\"quoted\"\"\",3\n\n\"multi\nline\",,x\n");
    ASSERT_TRUE(r.error.empty()) << r.error;
    ASSERT_EQ(r.rows.size(), 3u);
    EXPECT_EQ(r.rows[1][1].text, "two, \"quoted\"");
    EXPECT_EQ(r.rows[1][1].line, 2u);
    EXPECT_EQ(r.rows[1][1].column, 3u);
    EXPECT_EQ(r.rows[2][0].text, "multi\nline");
    EXPECT_EQ(r.rows[2][1].text, "");
    EXPECT_EQ(r.rows[2][2].line, 5u);
    EXPECT_EQ(r.rows[2][2].column, 8u);  // line",,x
}

TEST(Csv, reports_broken_quoting_with_its_place) {
    EXPECT_EQ(parse_csv("a,b\n1,x\"y\n").error.substr(0, 4), "2:4:");
    EXPECT_EQ(parse_csv("a,b\n1,\"open\n").error.substr(0, 4), "2:3:");
}

TEST(Import, maps_headers_and_converts_cells) {
    auto file = write_temp("Company ID,Name,Seats,Signed,Tier,Notes\n"
                           "acme,Acme Corp,25,2025-06-01,gold,likes us\n"
                           "globex,\"Globex, Inc.\",,2024-01-15T08:00:00Z,,\n");
    import_options o;
    o.file = file;
    o.dry_run = true;
    o.map = {{"Company ID", "account"}, {"Signed", "signed_at"}, {"Tier", "attributes.tier"}};
    std::ostringstream out, err;
    ASSERT_EQ(run_import(o, out, err), 0) << err.str();
    auto text = out.str();
    EXPECT_NE(text.find(R"("account":"acme")"), std::string::npos) << text;
    EXPECT_NE(text.find(R"("seats":25)"), std::string::npos) << text;
    EXPECT_NE(text.find(R"("signed_at":"2025-06-01T00:00:00Z")"), std::string::npos) << text;
    EXPECT_NE(text.find(R"("attributes":{"tier":"gold"})"), std::string::npos) << text;
    EXPECT_NE(text.find(R"("name":"Globex, Inc.")"), std::string::npos) << text;
    EXPECT_NE(text.find(R"("id":"h:)"), std::string::npos) << text;
    EXPECT_NE(err.str().find("column \"Notes\" is not a field"), std::string::npos) << err.str();
    std::filesystem::remove(file);
}

TEST(Import, every_bad_row_is_reported_with_line_and_column_and_nothing_is_sent) {
    auto file = write_temp("account,seats,status,signed_at\n"
                           "acme,25,active,2025-06-01\n"
                           "globex,many,active,2025-06-01\n"
                           ",3,active,2025-06-01\n"
                           "initech,4,paused,yesterday\n");
    import_options o;
    o.file = file;
    o.url = "http://127.0.0.1:1";  // nothing listens: a send would fail with another message
    std::ostringstream out, err;
    EXPECT_EQ(run_import(o, out, err), 1);
    auto text = err.str();
    EXPECT_NE(text.find(file + ":3:8: seats must be an integer, not \"many\""), std::string::npos) << text;
    EXPECT_NE(text.find(file + ":4:1: account is required"), std::string::npos) << text;
    EXPECT_NE(text.find(file + ":5:11: status must be one of onboarding, active, churned"), std::string::npos) << text;
    EXPECT_NE(text.find(file + ":5:18: signed_at must be a date"), std::string::npos) << text;
    EXPECT_NE(text.find("nothing was sent"), std::string::npos) << text;
    EXPECT_EQ(out.str(), "");
    std::filesystem::remove(file);
}

TEST(Import, ids_are_stable_across_runs_and_follow_the_key_column) {
    auto file = write_temp("account,name\nacme,Acme\n");
    import_options o;
    o.file = file;
    o.dry_run = true;
    std::ostringstream a, b, err;
    ASSERT_EQ(run_import(o, a, err), 0);
    ASSERT_EQ(run_import(o, b, err), 0);
    EXPECT_EQ(a.str(), b.str());
    o.key = "account";
    std::ostringstream keyed;
    ASSERT_EQ(run_import(o, keyed, err), 0);
    EXPECT_NE(keyed.str().find(R"("id":"import:account:acme")"), std::string::npos) << keyed.str();
    std::filesystem::remove(file);
}

}  // namespace
}  // namespace redflag::app
