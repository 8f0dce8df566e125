// The seam between the HTTP server and the service behind the management API: alerts,
// acks, silences, accounts and reload (../shared/spec/alerts.md, "Acting on alerts";
// cli.md for POST /-/reload). The server does the HTTP part (routing, 404/405,
// percent-decoding of path segments and query parameters, auth, JSON parsing of request
// bodies); an implementation only sees a decoded request and answers it, asynchronously,
// from whatever thread owns the state (the engine answers from its shard thread).
#pragma once

#include <boost/json/value.hpp>

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace redflag::http {

enum class api_route {
    get_account,     // GET    /v1/accounts/{id}
    list_accounts,   // GET    /v1/accounts?q=&sort=arr|health|renewal|name&limit=&cursor=
    account_history, // GET    /v1/accounts/{id}/history?score=&from=&to=
    list_alerts,     // GET    /v1/alerts?state=&rule=&account=&csm=&severity=&segment=&sort=&limit=&cursor=
    get_alert,       // GET    /v1/alerts/{id}
    ack_alert,       // POST   /v1/alerts/{id}/ack      {"by": "...", "comment": "..."}
    snooze_alert,    // POST   /v1/alerts/{id}/snooze   {"for": "7d", "by", "comment"?, "wake_if"?}
    // A Slack button click, verified and decoded by the server (POST /v1/slack/interactions,
    // http/slack_interactions.hpp): {"action": "ack"|"snooze", "for"?: "1d", "key",
    // "user_id", "user_name", "channel"}; {id} is the alert. Acts once per key.
    slack_action,
    list_silences,   // GET    /v1/silences
    create_silence,  // POST   /v1/silences             {"rule"?, "account"?, "until", "reason", "by"}
    delete_silence,  // DELETE /v1/silences/{id}
    check_rules,     // POST   /v1/rules/check          {"text": "...", "matches": true} (the playground)
    backtest_rules,  // POST   /v1/rules/backtest       {"text": "..."} (the playground)
    reload,          // POST   /-/reload
    weekly_report,   // GET    /v1/reports/weekly?csm=&format=text|html|json (report/render.hpp)
    account_report,  // GET    /v1/reports/account/{id}?days=30&format=text|json (report/account.hpp)
};

std::string_view name_of(api_route route);

struct api_request {
    api_route route = api_route::list_alerts;
    std::string id;  // the percent-decoded {id} path segment; empty for routes without one
    // Percent-decoded query parameters in request order ('+' is a space); a key may repeat.
    std::vector<std::pair<std::string, std::string>> query;
    // The request body parsed as JSON; null when the body was empty. Bodies that are not
    // JSON never get here: the server answers them with 400.
    boost::json::value body;
    // The request as it came, for cluster mode's forwarding to the owner of the state
    // (http/cluster_routing.hpp): method, origin-form target (still percent-encoded), the
    // Authorization header, and the node named by X-Redflag-Forwarded ("" when none).
    std::string method;
    std::string target;
    std::string authorization;
    std::string forwarded_by;
    // A request whose authority is its raw body (a Slack click: the signature covers the
    // form body as sent): forwarded with this body and these headers as they came,
    // instead of `body` as JSON and the Authorization header. Empty for the API's routes.
    std::string raw_body;
    std::vector<std::pair<std::string, std::string>> raw_headers;

    // The first value of query parameter `key`, or nullptr.
    const std::string* param(std::string_view key) const {
        for (const auto& [k, v] : query)
            if (k == key) return &v;
        return nullptr;
    }
};

struct api_response {
    unsigned status = 200;
    // Sent as application/json. Errors are {"error": "what was wrong and where"}; see
    // error() below. A null body with status 204 sends no body.
    boost::json::value body;
    std::vector<std::pair<std::string, std::string>> headers;  // extra headers, e.g. Location
    // A body that is not JSON (a rendered report): sent as it is, with this content type,
    // instead of `body` when the content type is not empty.
    std::string content_type;
    std::string text;

    static api_response error(unsigned status, std::string message) {
        api_response r;
        r.status = status;
        r.body = boost::json::object{{"error", std::move(message)}};
        return r;
    }
};

class api {
public:
    virtual ~api() = default;

    // Answers `request`. `done` must be called exactly once, from any thread, and may be
    // called before handle() returns. Must not block the caller (an HTTP I/O thread):
    // hand the work to the thread that owns the state.
    virtual void handle(api_request request, std::function<void(api_response)> done) = 0;

    // Whether the service is ready (state open, rules loaded): GET /readyz answers 200 or
    // 503. Called from HTTP I/O threads: must be thread-safe and cheap.
    virtual bool ready() const = 0;
    // Why it is not ready, for the body of GET /readyz's 503 ("" when unknown). Same rules.
    virtual std::string not_ready_reason() const { return {}; }
    // A problem that does not make the service unready but that an operator should see in
    // GET /readyz's 200 ("warning"): in cluster mode, instances running other rule texts.
    virtual std::string readiness_warning() const { return {}; }
};

}  // namespace redflag::http
