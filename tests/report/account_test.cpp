#include "report/account.hpp"

#include "model/schema.hpp"

#include <gtest/gtest.h>

using namespace redflag;
using namespace redflag::report;

namespace {

timestamp at(const char* text) { return *parse_rfc3339(text); }

engine::history::point point(const char* day_text, double health, std::string band) {
    engine::history::point p;
    p.day = engine::history::day_of(at(day_text));
    p.scores.push_back({"health", health, {}, std::move(band)});
    return p;
}

alerts::alert_record alert(std::string id, const char* fired, std::optional<const char*> resolved) {
    alerts::alert_record r;
    r.a.id = std::move(id);
    r.a.rule = "usage_drop";
    r.a.account = "acme";
    r.a.severity = rules::alert_severity::high;
    r.a.firing_since = at(fired);
    r.a.started_at = at(fired);
    if (resolved) {
        r.a.state = alerts::alert_state::resolved;
        r.a.resolved_at = at(*resolved);
    } else {
        r.a.state = alerts::alert_state::firing;
    }
    return r;
}

// (2026-11-01 00:00Z, 2026-11-08 00:00Z]: history on the 2nd, 3rd and 6th (and the 31st,
// outside); a call on the 3rd; an alert fired on the 3rd, acked on the 4th, resolved on
// the 6th; another fired in October and resolved on the 2nd.
account_report sample() {
    std::vector<engine::history::point> history{point("2026-10-31T00:00:00Z", 30, "red"),
                                                point("2026-11-02T00:00:00Z", 40, "red"),
                                                point("2026-11-03T00:00:00Z", 48, "yellow"),
                                                point("2026-11-06T00:00:00Z", 71, "green")};
    std::vector<activity> activities{{at("2026-11-03T14:00:00Z"), "call", "dana", "renewal risk", 30.0},
                                     {at("2026-10-20T10:00:00Z"), "email", "dana", "", std::nullopt}};
    auto fired = alert("a1", "2026-11-03T09:10:00Z", "2026-11-06T10:00:00Z");
    fired.a.acks.push_back({"dana", "on it", at("2026-11-04T08:00:00Z"), ""});
    std::vector<alerts::alert_record> records{fired, alert("a0", "2026-10-10T00:00:00Z", "2026-11-02T12:00:00Z")};
    return build_account("acme", "Acme Corp", at("2026-11-01T00:00:00Z"), at("2026-11-08T00:00:00Z"), history,
                         activities, records);
}

}  // namespace

TEST(AccountReport, days_join_health_activities_and_alert_changes) {
    auto r = sample();
    ASSERT_EQ(r.days.size(), 4u);  // the 2nd, 3rd, 4th (the ack) and 6th
    EXPECT_EQ(r.days[0].day, engine::history::day_of(at("2026-11-02T00:00:00Z")));
    EXPECT_EQ(r.days[0].health, 40.0);
    ASSERT_EQ(r.days[0].alerts.size(), 1u);
    EXPECT_EQ(r.days[0].alerts[0].what, "resolved");  // a0: fired in October, outside
    const auto& third = r.days[1];
    EXPECT_EQ(third.band, "yellow");
    ASSERT_EQ(third.activities.size(), 1u);
    EXPECT_EQ(third.activities[0].kind, "call");
    ASSERT_EQ(third.alerts.size(), 1u);
    EXPECT_EQ(third.alerts[0].what, "fired");
    EXPECT_EQ(r.days[2].health, std::nullopt) << "no point on the 4th";
    EXPECT_EQ(r.days[2].alerts.at(0).what, "acknowledged by dana");
    EXPECT_EQ(r.days[3].band, "green");
    EXPECT_EQ(r.days[3].alerts.at(0).what, "resolved");
}

TEST(AccountReport, text_puts_each_day_on_its_lines) {
    auto text = render_text(sample());
    EXPECT_EQ(text,
              "Health and actions of Acme Corp (acme), 2026-11-01 to 2026-11-08\n"
              "\n"
              "  Day         Health         Actions and alerts\n"
              "  2026-11-02  40.0 (red)     12:00 alert usage_drop (high) resolved\n"
              "  2026-11-03  48.0 (yellow)  09:10 alert usage_drop (high) fired\n"
              "                             14:00 call by dana (30.0 min): renewal risk\n"
              "  2026-11-04  -              08:00 alert usage_drop (high) acknowledged by dana\n"
              "  2026-11-06  71.0 (green)   10:00 alert usage_drop (high) resolved\n");
}

TEST(AccountReport, json_lists_days_oldest_first) {
    auto j = to_json(sample());
    EXPECT_EQ(j.at("account").as_string(), "acme");
    const auto& days = j.at("days").as_array();
    ASSERT_EQ(days.size(), 4u);
    EXPECT_EQ(days[1].at("day").as_string(), "2026-11-03");
    EXPECT_EQ(days[1].at("activities").at(0).at("minutes").as_double(), 30.0);
    EXPECT_TRUE(days[2].at("health").is_null());
}

TEST(AccountReport, activities_come_from_the_state_within_the_window) {
    model::account_state s;
    s.id = "acme";
    // Stream records as the state keeps them: one value per in-stream field of the type.
    auto index = [](std::string_view name) { return *model::stream_field_index(model::event_type::activity, name); };
    model::stream_record r{at("2026-11-03T14:00:00Z"), {}};
    r.values.resize(model::stream_field_count(model::event_type::activity));
    r.values[index("kind")] = std::string("call");
    r.values[index("by")] = std::string("dana");
    r.values[index("minutes")] = 30.0;
    auto& records = s.stream_for(model::event_type::activity);
    records.push_back({at("2026-10-03T14:00:00Z"), r.values});  // before the window
    records.push_back(r);
    auto got = activities_of(s, at("2026-11-01T00:00:00Z"), at("2026-11-08T00:00:00Z"));
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].kind, "call");
    EXPECT_EQ(got[0].by, "dana");
    EXPECT_EQ(got[0].minutes, 30.0);
}
