// Maps a request's method and target to what should answer it: one of the server's own
// endpoints (health, readiness, metrics, ingest, vendor hooks whose {id} is the vendor)
// or an api_route of http/api.hpp, or the web console (every path under /ui). Path
// segments and query parameters are percent-decoded (Boost.URL), so an id may hold any
// character, '/' included ("/v1/accounts/acme%2Fwest" is account "acme/west").
//
// Each route carries its scope, so that the credentials it needs are decided here by
// route, whoever handles it.
//
// Pure function, thread-safe. An unknown path is not_found (404); a known path with
// another method is method_not_allowed (405) with the methods that are allowed; a target
// that is not an origin-form URL is bad_target (400).
#pragma once

#include "http/api.hpp"

#include <boost/beast/http/verb.hpp>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace redflag::http {

enum class endpoint { healthz, readyz, metrics, ingest, hook, hooks_unmatched, slack_interactions, api, console };

// Who may call a route; http/access.hpp decides with the configured credentials.
enum class scope {
    open,     // /healthz, /readyz: load balancers and probes
    metrics,  // GET /metrics: metrics.tokens when set
    ingest,   // POST /v1/events: ingest.tokens, ingest.hmac_secret
    vendor,   // POST /v1/hooks/{vendor}: the vendor's signature, checked by its adapter (adapters.VENDOR.secret)
    slack,    // POST /v1/slack/interactions: Slack's request signature (a slack channel's signing_secret),
              // checked by its handler (http/slack_interactions.hpp)
    read,     // the management API's reads: api.read_tokens or api.write_tokens
    write,    // what changes state (ack, silences, reload): api.write_tokens
};

struct route_match {
    enum class result { found, not_found, method_not_allowed, bad_target };
    route_match::result result = result::not_found;
    http::endpoint endpoint = endpoint::healthz;  // when found
    http::scope scope = scope::open;              // when found
    api_route route = api_route::list_alerts;     // when endpoint == api
    std::string id;                               // decoded {id} segment, when the route has one
    std::vector<std::pair<std::string, std::string>> query;
    std::string allow;  // for method_not_allowed: "GET, POST"
    std::string error;  // for bad_target: what was wrong
    // For endpoint::console (any method, any path under /ui; http/console.hpp decides): the
    // decoded segments after "ui" ("/ui/" is {""}, "/ui" is {}).
    std::vector<std::string> console_path;
};

route_match match_route(boost::beast::http::verb method, std::string_view target);

}  // namespace redflag::http
