#include "http/router.hpp"

#include <gtest/gtest.h>

using namespace redflag::http;
using verb = boost::beast::http::verb;

TEST(Router, own_endpoints) {
    EXPECT_EQ(match_route(verb::get, "/healthz").endpoint, endpoint::healthz);
    EXPECT_EQ(match_route(verb::get, "/readyz").endpoint, endpoint::readyz);
    EXPECT_EQ(match_route(verb::get, "/metrics").endpoint, endpoint::metrics);
    auto m = match_route(verb::post, "/v1/events");
    EXPECT_EQ(m.result, route_match::result::found);
    EXPECT_EQ(m.endpoint, endpoint::ingest);
}

TEST(Router, api_routes_and_their_ids) {
    struct row {
        verb method;
        const char* target;
        api_route route;
        const char* id;
    };
    const row rows[] = {
        {verb::get, "/v1/accounts/acme", api_route::get_account, "acme"},
        {verb::get, "/v1/alerts", api_route::list_alerts, ""},
        {verb::get, "/v1/alerts/a1", api_route::get_alert, "a1"},
        {verb::post, "/v1/alerts/a1/ack", api_route::ack_alert, "a1"},
        {verb::post, "/v1/alerts/a1/snooze", api_route::snooze_alert, "a1"},
        {verb::get, "/v1/silences", api_route::list_silences, ""},
        {verb::post, "/v1/silences", api_route::create_silence, ""},
        {verb::delete_, "/v1/silences/s9", api_route::delete_silence, "s9"},
        {verb::post, "/-/reload", api_route::reload, ""},
        {verb::get, "/v1/accounts", api_route::list_accounts, ""},
        {verb::get, "/v1/accounts/acme%2Fwest/history", api_route::account_history, "acme/west"},
        {verb::get, "/v1/reports/weekly?csm=ana%40example.com", api_route::weekly_report, ""},
        {verb::get, "/v1/reports/account/acme%2Fwest?days=7", api_route::account_report, "acme/west"},
        {verb::post, "/v1/rules/check", api_route::check_rules, ""},
        {verb::post, "/v1/rules/backtest", api_route::backtest_rules, ""},
    };
    for (const auto& r : rows) {
        auto m = match_route(r.method, r.target);
        ASSERT_EQ(m.result, route_match::result::found) << r.target;
        EXPECT_EQ(m.endpoint, endpoint::api) << r.target;
        EXPECT_EQ(m.route, r.route) << r.target;
        EXPECT_EQ(m.id, r.id) << r.target;
    }
}

TEST(Router, every_route_has_its_scope) {
    struct row {
        verb method;
        const char* target;
        scope expected;
    };
    const row rows[] = {
        {verb::get, "/healthz", scope::open},
        {verb::get, "/readyz", scope::open},
        {verb::get, "/metrics", scope::metrics},
        {verb::post, "/v1/events", scope::ingest},
        {verb::post, "/v1/hooks/stripe", scope::vendor},
        {verb::get, "/v1/hooks/unmatched?vendor=stripe", scope::read},
        {verb::get, "/v1/accounts/acme", scope::read},
        {verb::get, "/v1/alerts?state=firing", scope::read},
        {verb::get, "/v1/alerts/a1", scope::read},
        {verb::get, "/v1/silences", scope::read},
        {verb::post, "/v1/alerts/a1/ack", scope::write},
        {verb::post, "/v1/alerts/a1/snooze", scope::write},
        {verb::post, "/v1/slack/interactions", scope::slack},
        {verb::post, "/v1/silences", scope::write},
        {verb::delete_, "/v1/silences/s9", scope::write},
        {verb::post, "/-/reload", scope::write},
        {verb::get, "/v1/accounts?q=acme", scope::read},
        {verb::get, "/v1/accounts/acme/history", scope::read},
        {verb::get, "/v1/reports/weekly", scope::read},
        {verb::get, "/v1/reports/account/acme", scope::read},
        {verb::post, "/v1/rules/check", scope::read},  // changes nothing: a reader may try rules
        {verb::post, "/v1/rules/backtest", scope::read},
    };
    for (const auto& r : rows) {
        auto m = match_route(r.method, r.target);
        ASSERT_EQ(m.result, route_match::result::found) << r.target;
        EXPECT_EQ(m.scope, r.expected) << r.target;
    }
}

TEST(Router, path_segments_are_percent_decoded_one_by_one) {
    auto m = match_route(verb::get, "/v1/accounts/acme%2Fwest%20coast");
    ASSERT_EQ(m.result, route_match::result::found);
    EXPECT_EQ(m.id, "acme/west coast");
    m = match_route(verb::get, "/v1/accounts/caf%C3%A9");
    EXPECT_EQ(m.id, "caf\xC3\xA9");
    // A decoded '/' does not make a new segment, so this is not the ack route.
    m = match_route(verb::post, "/v1/alerts/a1%2Fack");
    EXPECT_EQ(m.result, route_match::result::method_not_allowed);
}

TEST(Router, query_parameters_are_decoded_in_order) {
    auto m = match_route(verb::get, "/v1/alerts?state=firing&csm=dana%40example.com&rule=usage+drop&flag&state=pending");
    ASSERT_EQ(m.result, route_match::result::found);
    std::vector<std::pair<std::string, std::string>> expected{
        {"state", "firing"}, {"csm", "dana@example.com"}, {"rule", "usage drop"}, {"flag", ""}, {"state", "pending"}};
    EXPECT_EQ(m.query, expected);
    api_request req;
    req.query = m.query;
    ASSERT_TRUE(req.param("state"));
    EXPECT_EQ(*req.param("state"), "firing");
    EXPECT_EQ(req.param("account"), nullptr);
}

TEST(Router, unknown_paths_are_not_found) {
    for (auto target : {"/", "/v1", "/v1/events/x", "/v1/alerts/", "/v1/accounts/", "/healthz/x", "/v2/events"})
        EXPECT_EQ(match_route(verb::get, target).result, route_match::result::not_found) << target;
}

TEST(Router, wrong_method_lists_the_allowed_ones) {
    auto m = match_route(verb::get, "/v1/events");
    EXPECT_EQ(m.result, route_match::result::method_not_allowed);
    EXPECT_EQ(m.allow, "POST");
    m = match_route(verb::delete_, "/v1/silences");
    EXPECT_EQ(m.allow, "GET, POST");
    m = match_route(verb::post, "/v1/silences/s1");
    EXPECT_EQ(m.allow, "DELETE");
    m = match_route(verb::post, "/metrics");
    EXPECT_EQ(m.allow, "GET");
}

TEST(Router, bad_targets_are_reported) {
    auto m = match_route(verb::get, "http://example.com/healthz");
    EXPECT_EQ(m.result, route_match::result::bad_target);
    EXPECT_NE(m.error.find("http://example.com/healthz"), std::string::npos);
    EXPECT_EQ(match_route(verb::get, "/v1/accounts/%zz").result, route_match::result::bad_target);
}

#include "http/server.hpp"

TEST(ListenAddress, host_and_port) {
    using result = std::optional<std::pair<std::string, std::uint16_t>>;
    EXPECT_EQ(parse_listen_address("127.0.0.1:8080"), (result{{"127.0.0.1", 8080}}));
    EXPECT_EQ(parse_listen_address("localhost:0"), (result{{"localhost", 0}}));
    EXPECT_EQ(parse_listen_address("[::1]:9090"), (result{{"::1", 9090}}));
    EXPECT_EQ(parse_listen_address("0.0.0.0:65535"), (result{{"0.0.0.0", 65535}}));
    for (auto bad : {"", "8080", ":8080", "host:", "host:65536", "host:80a", "::1:8080", "[]:80", "host:123456"})
        EXPECT_EQ(parse_listen_address(bad), std::nullopt) << bad;
}

TEST(Router, hooks_unmatched_is_a_read_and_posting_to_it_is_a_vendor_named_unmatched) {
    auto m = match_route(verb::get, "/v1/hooks/unmatched?vendor=stripe&limit=5");
    ASSERT_EQ(m.result, route_match::result::found);
    EXPECT_EQ(m.endpoint, endpoint::hooks_unmatched);
    ASSERT_EQ(m.query.size(), 2u);
    EXPECT_EQ(m.query[0], (std::pair<std::string, std::string>{"vendor", "stripe"}));
    m = match_route(verb::post, "/v1/hooks/unmatched");
    ASSERT_EQ(m.result, route_match::result::found);
    EXPECT_EQ(m.endpoint, endpoint::hook);
    EXPECT_EQ(m.id, "unmatched");
}

TEST(Router, every_path_under_ui_goes_to_the_console_with_its_decoded_segments) {
    using v = std::vector<std::string>;
    for (auto method : {verb::get, verb::post, verb::delete_}) {
        auto m = match_route(method, "/ui/accounts/acme%2Fwest");
        ASSERT_EQ(m.result, route_match::result::found);
        EXPECT_EQ(m.endpoint, endpoint::console);
        EXPECT_EQ(m.console_path, (v{"accounts", "acme/west"}));
    }
    EXPECT_EQ(match_route(verb::get, "/ui").console_path, v{});
    EXPECT_EQ(match_route(verb::get, "/ui/").console_path, v{""});
    EXPECT_EQ(match_route(verb::get, "/ui/assets/../x").console_path, (v{"assets", "..", "x"}));
    EXPECT_EQ(match_route(verb::get, "/uix").result, route_match::result::not_found);
}
