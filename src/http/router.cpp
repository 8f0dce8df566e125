#include "http/router.hpp"

#include <boost/url/parse.hpp>

#include <array>

namespace redflag::http {
namespace {

using verb = boost::beast::http::verb;

struct route_entry {
    std::array<std::string_view, 4> segments;  // "{id}" matches any one segment; "" ends
    verb method;
    endpoint target;
    http::scope scope;
    api_route route = api_route::list_alerts;
};

constexpr std::string_view id = "{id}";

constexpr route_entry routes[] = {
    {{"healthz"}, verb::get, endpoint::healthz, scope::open},
    {{"readyz"}, verb::get, endpoint::readyz, scope::open},
    {{"metrics"}, verb::get, endpoint::metrics, scope::metrics},
    {{"v1", "events"}, verb::post, endpoint::ingest, scope::ingest},
    {{"v1", "hooks", id}, verb::post, endpoint::hook, scope::vendor},
    {{"v1", "hooks", "unmatched"}, verb::get, endpoint::hooks_unmatched, scope::read},
    {{"v1", "accounts"}, verb::get, endpoint::api, scope::read, api_route::list_accounts},
    {{"v1", "accounts", id}, verb::get, endpoint::api, scope::read, api_route::get_account},
    {{"v1", "accounts", id, "history"}, verb::get, endpoint::api, scope::read, api_route::account_history},
    {{"v1", "alerts"}, verb::get, endpoint::api, scope::read, api_route::list_alerts},
    {{"v1", "alerts", id}, verb::get, endpoint::api, scope::read, api_route::get_alert},
    {{"v1", "alerts", id, "ack"}, verb::post, endpoint::api, scope::write, api_route::ack_alert},
    {{"v1", "alerts", id, "snooze"}, verb::post, endpoint::api, scope::write, api_route::snooze_alert},
    {{"v1", "slack", "interactions"}, verb::post, endpoint::slack_interactions, scope::slack},
    {{"v1", "silences"}, verb::get, endpoint::api, scope::read, api_route::list_silences},
    {{"v1", "silences"}, verb::post, endpoint::api, scope::write, api_route::create_silence},
    {{"v1", "silences", id}, verb::delete_, endpoint::api, scope::write, api_route::delete_silence},
    {{"v1", "rules", "check"}, verb::post, endpoint::api, scope::read, api_route::check_rules},
    {{"v1", "rules", "backtest"}, verb::post, endpoint::api, scope::read, api_route::backtest_rules},
    {{"-", "reload"}, verb::post, endpoint::api, scope::write, api_route::reload},
    {{"v1", "reports", "weekly"}, verb::get, endpoint::api, scope::read, api_route::weekly_report},
    {{"v1", "reports", "account", id}, verb::get, endpoint::api, scope::read, api_route::account_report},
};

// Matches `path` against an entry's pattern; on success stores the {id} segment.
bool matches(const route_entry& entry, const std::vector<std::string>& path, std::string& id_out) {
    std::size_t n = 0;
    while (n < entry.segments.size() && !entry.segments[n].empty()) ++n;
    if (n != path.size()) return false;
    std::string found;
    for (std::size_t i = 0; i < n; ++i) {
        if (entry.segments[i] == id) {
            if (path[i].empty()) return false;
            found = path[i];
        } else if (entry.segments[i] != path[i]) {
            return false;
        }
    }
    id_out = std::move(found);
    return true;
}

}  // namespace

std::string_view name_of(api_route route) {
    switch (route) {
        case api_route::get_account: return "get_account";
        case api_route::list_accounts: return "list_accounts";
        case api_route::account_history: return "account_history";
        case api_route::list_alerts: return "list_alerts";
        case api_route::get_alert: return "get_alert";
        case api_route::ack_alert: return "ack_alert";
        case api_route::snooze_alert: return "snooze_alert";
        case api_route::slack_action: return "slack_action";
        case api_route::list_silences: return "list_silences";
        case api_route::create_silence: return "create_silence";
        case api_route::delete_silence: return "delete_silence";
        case api_route::check_rules: return "check_rules";
        case api_route::backtest_rules: return "backtest_rules";
        case api_route::reload: return "reload";
        case api_route::weekly_report: return "weekly_report";
        case api_route::account_report: return "account_report";
    }
    return "unknown";
}

route_match match_route(verb method, std::string_view target) {
    route_match match;
    auto url = boost::urls::parse_origin_form(target);
    if (!url) {
        match.result = route_match::result::bad_target;
        match.error = "bad request target \"" + std::string(target) + "\": " + url.error().message();
        return match;
    }
    std::vector<std::string> path;
    for (auto segment : url->segments()) path.push_back(std::string(segment));

    if (!path.empty() && path[0] == "ui") {
        // The console answers its own methods and 404s; its auth is a sign-in page, not a 401.
        match.result = route_match::result::found;
        match.endpoint = endpoint::console;
        match.scope = scope::open;
        match.console_path.assign(path.begin() + 1, path.end());
        return match;
    }
    std::string allow;
    for (const auto& entry : routes) {
        std::string segment_id;
        if (!matches(entry, path, segment_id)) continue;
        if (entry.method != method) {
            auto name = boost::beast::http::to_string(entry.method);
            if (allow.find(name) == std::string::npos) {
                if (!allow.empty()) allow += ", ";
                allow += name;
            }
            continue;
        }
        match.result = route_match::result::found;
        match.endpoint = entry.target;
        match.scope = entry.scope;
        match.route = entry.route;
        match.id = std::move(segment_id);
        for (auto param : url->params(boost::urls::encoding_opts(true)))
            match.query.emplace_back(std::string(param.key), param.has_value ? std::string(param.value) : std::string());
        return match;
    }
    if (!allow.empty()) {
        match.result = route_match::result::method_not_allowed;
        match.allow = std::move(allow);
    }
    return match;
}

}  // namespace redflag::http
