#include "engine/history.hpp"

#include "rules/rule_set.hpp"

#include <gtest/gtest.h>

#include <cmath>

using namespace redflag;
using namespace redflag::engine;

namespace {

const timestamp t0 = *parse_rfc3339("2026-11-02T15:30:00Z");

history::point sample() {
    history::point p;
    p.day = history::day_of(t0);
    p.scores.push_back({"health", 71.5, {{"nps", 0.9}, {"usage", std::nullopt}}, "green"});
    p.scores.push_back({"effort", std::nullopt, {{"tickets", 0.25}}, ""});
    return p;
}

}  // namespace

TEST(History, days_are_utc_calendar_days) {
    EXPECT_EQ(history::day_of(*parse_rfc3339("1970-01-01T00:00:00Z")), 0);
    EXPECT_EQ(history::day_of(*parse_rfc3339("1970-01-01T23:59:59.999Z")), 0);
    EXPECT_EQ(history::day_of(*parse_rfc3339("1970-01-02T00:00:00Z")), 1);
    EXPECT_EQ(history::day_of(*parse_rfc3339("1969-12-31T23:00:00Z")), -1);
    EXPECT_EQ(history::start_of_day(history::day_of(t0)), *parse_rfc3339("2026-11-02T00:00:00Z"));
}

TEST(History, a_point_round_trips_and_keys_sort_by_day_within_the_account) {
    auto p = sample();
    auto k = history::key("acme", p.day);
    std::string why;
    auto back = history::decode(k, history::encode(p), &why);
    ASSERT_TRUE(back) << why;
    EXPECT_EQ(*back, p);
    EXPECT_EQ(k.rfind(history::prefix("acme"), 0), 0u);
    EXPECT_LT(history::key("acme", p.day), history::key("acme", p.day + 1));
    EXPECT_LT(history::key("acme", p.day + 300), history::key("acme", p.day + 301));
    EXPECT_NE(history::key("acme", 1).rfind(history::prefix("acm"), 0), 0u) << "one account's prefix is not another's";
}

TEST(History, bad_bytes_say_why) {
    std::string why;
    EXPECT_FALSE(history::decode("short", "{}", &why));
    EXPECT_FALSE(history::decode(history::key("a", 1), "{not json", &why));
    EXPECT_NE(why.find("malformed"), std::string::npos);
    EXPECT_FALSE(history::decode(history::key("a", 1), R"({"scores":{}})", &why));
    // A point written before bands were kept reads with no band.
    auto old = history::decode(history::key("a", 1), R"({"scores":{"health":50},"components":{"health":{}}})", &why);
    ASSERT_TRUE(old) << why;
    EXPECT_EQ(old->scores.at(0).band, "");
}

TEST(History, points_before_the_horizon_day_expire) {
    const auto horizon = t0;
    EXPECT_TRUE(history::expired(history::key("a", history::day_of(t0) - 1), "", horizon));
    EXPECT_FALSE(history::expired(history::key("a", history::day_of(t0)), "", horizon));
    EXPECT_FALSE(history::expired("x", "", horizon)) << "what it cannot read it keeps";
}

TEST(History, the_json_gives_the_day_and_can_keep_one_score) {
    auto all = history::to_json(sample());
    EXPECT_EQ(all.at("day").as_string(), "2026-11-02");
    EXPECT_EQ(all.at("scores").at("health").as_double(), 71.5);
    EXPECT_TRUE(all.at("scores").at("effort").is_null());
    EXPECT_TRUE(all.at("components").at("health").at("usage").is_null());
    EXPECT_EQ(all.at("bands").at("health").as_string(), "green");
    EXPECT_FALSE(all.at("bands").as_object().contains("effort")) << "no band kept, none shown";
    auto one = history::to_json(sample(), "effort");
    EXPECT_FALSE(one.at("scores").as_object().contains("health"));
    EXPECT_EQ(one.at("components").at("effort").at("tickets").as_double(), 0.25);
}

TEST(History, a_point_takes_each_score_and_its_components_from_the_record) {
    auto loaded = rules::load_sources({{"s.rules", R"(
score health {
  component nps   weight 50 = avg(nps.score, 30d) / 10
  component usage weight 50 = avg(usage.active_users, 28d) / 10
  band green >= 70
  band red
}
score effort {
  component tickets weight 1 = count(ticket, 90d) / 30
  band high >= 50
  band low
}
)"}});
    ASSERT_TRUE(loaded.rules) << rules::render_text(loaded.problems);
    account_record record;
    rules::evaluation last;
    last.scores = {64.0, std::nan("")};
    last.bands = {1, -1};
    last.components.resize(3);
    last.components[0].value = 0.9;
    last.components[1].value = std::nan("");
    last.components[2].value = 0.1;
    record.memo.assign(last);
    auto p = history::point_of(record, *loaded.rules, t0);
    EXPECT_EQ(p.day, history::day_of(t0));
    ASSERT_EQ(p.scores.size(), 2u);
    EXPECT_EQ(p.scores[0], (history::score_value{"health", 64.0, {{"nps", 0.9}, {"usage", std::nullopt}}, "red"}));
    EXPECT_EQ(p.scores[1], (history::score_value{"effort", std::nullopt, {{"tickets", 0.1}}, "unknown"}));
}
