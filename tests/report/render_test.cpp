#include "report/render.hpp"

#include "world.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <sstream>

using namespace redflag;
using namespace redflag::report;
using namespace redflag::report::testing;
namespace json = boost::json;

namespace {

// The lines of `text` from the one starting with `title` to the next blank line.
std::vector<std::string> section(const std::string& text, const std::string& title) {
    std::istringstream in(text);
    std::vector<std::string> out;
    std::string line;
    bool inside = false;
    while (std::getline(in, line)) {
        if (!inside && line.rfind(title, 0) == 0) inside = true;
        else if (inside && line.empty()) break;
        if (inside) out.push_back(line);
    }
    return out;
}

std::vector<std::string> words(const std::string& line) {
    std::istringstream in(line);
    std::vector<std::string> out;
    for (std::string w; in >> w;) out.push_back(w);
    return out;
}

}  // namespace

TEST(ReportRender, formats_by_name) {
    EXPECT_EQ(format_from("text"), format::text);
    EXPECT_EQ(format_from("html"), format::html);
    EXPECT_EQ(format_from("json"), format::json);
    EXPECT_EQ(format_from("pdf"), std::nullopt);
}

TEST(ReportRender, json_holds_every_section_with_instants_and_nulls) {
    auto j = to_json(build_weekly(world()));
    EXPECT_EQ(j.at("from").as_string(), "2026-11-02T08:00:00Z");
    EXPECT_EQ(j.at("to").as_string(), "2026-11-09T08:00:00Z");
    EXPECT_TRUE(j.at("csm").is_null());
    const auto& flag = j.at("red_flags").at(0).as_object();
    EXPECT_EQ(flag.at("alert_id").as_string(), "a1");
    EXPECT_EQ(flag.at("firing_since").as_string(), "2026-11-05T10:00:00Z");
    EXPECT_EQ(flag.at("account").at("name").as_string(), "Acme");
    EXPECT_EQ(flag.at("account").at("csm").as_string(), "ana@example.com");
    EXPECT_EQ(flag.at("account").at("arr").to_number<double>(), 120000);
    EXPECT_EQ(j.at("recovered").as_array().size(), 2u);
    EXPECT_EQ(j.at("bands_up").at(0).at("band_before").as_string(), "yellow");
    EXPECT_EQ(j.at("renewals").at(1).at("renewal_at").as_string(), "2027-02-01T00:00:00Z");
    EXPECT_EQ(j.at("onboardings").at(0).at("completed_at").as_string(), "2026-11-06T00:00:00Z");
    EXPECT_TRUE(j.at("promoters").at(1).at("best_nps").is_null());
    EXPECT_EQ(j.at("goals_due").at(0).at("goal_id").as_string(), "sso");
    EXPECT_EQ(j.at("goals_overdue").at(0).at("due_at").as_string(), "2026-11-01T00:00:00Z");
    const auto& csms = j.at("csms").as_array();
    ASSERT_EQ(csms.size(), 2u);
    EXPECT_EQ(csms[0].at("csm").as_string(), "ana@example.com");
    EXPECT_DOUBLE_EQ(csms[0].at("nrr").to_number<double>(), 12000.0 / 11000.0);
    EXPECT_TRUE(csms[1].at("nps").is_null()) << "Bo has no NPS answer in the last 90 days";
    EXPECT_DOUBLE_EQ(csms[1].at("nps_week_ago").to_number<double>(), 100.0);
}

TEST(ReportRender, text_has_a_table_per_section) {
    auto text = render_text(build_weekly(world()));
    EXPECT_EQ(text.rfind("Redflag weekly report, 2026-11-02 to 2026-11-09\n", 0), 0u) << text;
    auto flags = section(text, "New red flags");
    ASSERT_EQ(flags.size(), 4u) << text;  // title, header, two rows
    EXPECT_EQ(flags[0], "New red flags (2)");
    EXPECT_EQ(words(flags[1]),
              (std::vector<std::string>{"Account", "CSM", "ARR", "Rule", "Severity", "Firing", "since", "State"}));
    EXPECT_EQ(words(flags[2]), (std::vector<std::string>{"Acme", "ana@example.com", "120,000", "usage_drop", "high",
                                                         "2026-11-05", "firing"}));
    EXPECT_EQ(words(flags[3]), (std::vector<std::string>{"Beta", "ana@example.com", "24,000", "low_nps", "medium",
                                                         "2026-11-03", "resolved"}));
    // Columns line up: each cell of a column starts at the same offset.
    EXPECT_EQ(flags[2].find("usage_drop"), flags[3].find("low_nps"));

    auto bands = section(text, "Turnarounds: health bands up");
    ASSERT_EQ(bands.size(), 3u) << text;
    EXPECT_EQ(words(bands[2]), (std::vector<std::string>{"Acme", "ana@example.com", "120,000", "55.0", "(yellow)",
                                                         "80.0", "(green)"}));

    auto csms = section(text, "Per CSM, now and a week ago");
    ASSERT_EQ(csms.size(), 4u) << text;
    // NRR 12000 / 11000 = 109.1 %, GRR 10000 / 11000 = 90.9 %, NPS 0 now and 100 a week ago.
    EXPECT_EQ(words(csms[2]), (std::vector<std::string>{"ana@example.com", "2", "109.1%", "100.0%", "90.9%", "100.0%",
                                                        "0.0", "100.0"}));
    EXPECT_EQ(words(csms[3]),
              (std::vector<std::string>{"bo@example.com", "2", "0.0%", "100.0%", "0.0%", "100.0%", "-", "100.0"}));
}

TEST(ReportRender, empty_sections_say_so) {
    weekly_input in;
    in.now = now;
    auto text = render_text(build_weekly(in));
    EXPECT_EQ(section(text, "New red flags"), (std::vector<std::string>{"New red flags (0)",
                                                                          "  No alert started firing this week."}));
    EXPECT_NE(text.find("No goal overdue."), std::string::npos);
}

TEST(ReportRender, html_escapes_what_the_accounts_say) {
    auto in = world();
    in.accounts[0].name = "<b>Acme & Co</b>";
    auto html = render_html(build_weekly(in));
    EXPECT_NE(html.find("<h2>New red flags (2)</h2>"), std::string::npos);
    EXPECT_NE(html.find("&lt;b&gt;Acme &amp; Co&lt;/b&gt;"), std::string::npos);
    EXPECT_EQ(html.find("<b>Acme"), std::string::npos);
    EXPECT_EQ(subject(build_weekly(in)), "Redflag weekly report 2026-11-02 to 2026-11-09");
}
