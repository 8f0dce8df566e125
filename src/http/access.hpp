// Who may call which route (issue 11, defect 7): the credentials of each scope of
// http/router.hpp, kept apart so that a credential opens only its own door.
//
//   open      /healthz, /readyz                     never guarded
//   metrics   GET /metrics                          metrics.tokens, when any is set
//   ingest    POST /v1/events                       ingest.tokens (and ingest.hmac_secret,
//                                                   checked by the ingest handler: it needs the body)
//   slack     POST /v1/slack/interactions           Slack's signature under a slack channel's
//                                                   signing_secret, checked by its handler
//   read      GET of the management API             api.read_tokens or api.write_tokens
//   write     ack, silences, POST /-/reload         api.write_tokens
//
// The management API without api tokens answers without credentials only when nothing
// else is guarded either (the local trial on loopback) or api.insecure is set; once ingest
// or /metrics has credentials it is closed (401) until api tokens are configured, and a
// non-loopback listener without api tokens is refused at start (check_listener).
//
// Tokens travel as `Authorization: Bearer <token>`, the way Prometheus scrapes
// (`authorization: {credentials: ...}`) and Alertmanager's clients send them. A missing
// credential is 401 with `WWW-Authenticate: Bearer realm="redflag"`; a token that is not
// one of the scope's is 403. Comparisons run in constant time (ingest/auth.hpp).
//
// The web console (README "Web console") signs in with one of the api tokens at /ui/login
// and keeps it, hex-encoded, in the cookie `redflag_session` (HttpOnly, SameSite=Strict,
// Path=/, Secure with ui.secure_cookie). A request without an Authorization header is
// authorized with that cookie's token as if it were the bearer token. CSRF: a request that
// changes state (any method but GET and HEAD) authorized by the cookie must also send the
// header X-CSRF-Token equal to the cookie `redflag_csrf` (double submit: a page of another
// origin can neither read that cookie nor set the header), else 403.
//
// Pure functions, thread-safe; refusals are values.
#pragma once

#include "http/router.hpp"
#include "http/slack_interactions.hpp"

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace redflag::http {

struct access_policy {
    std::vector<std::string> ingest_tokens;   // ingest.tokens
    std::string hmac_secret;                  // ingest.hmac_secret; empty: no signature check
    bool ingest_insecure = false;             // ingest.insecure: a public listener without ingest auth
    std::vector<std::string> read_tokens;     // api.read_tokens: the management API's reads
    std::vector<std::string> write_tokens;    // api.write_tokens: reads and writes
    bool api_insecure = false;                // api.insecure: the management API open without tokens
    std::vector<std::string> metrics_tokens;  // metrics.tokens: empty leaves /metrics open
    // channels.NAME.signing_secret of `type: slack` channels; shared with serve, whose
    // reload replaces them (copies of the policy see the same set).
    std::shared_ptr<slack_secret_set> slack_secrets = std::make_shared<slack_secret_set>();
};

struct refusal {
    unsigned status = 401;  // 401 (no credentials) or 403 (not good for this route)
    std::string message;    // what was wrong, and which config key holds the right credentials
    bool challenge = false; // send WWW-Authenticate: Bearer realm="redflag"
};

// Whether a request to a route of `scope` with this Authorization header value may go on:
// nullopt if it may, else why not. For scope::ingest only the bearer token is checked.
std::optional<refusal> authorize(const access_policy& policy, scope route_scope, std::string_view authorization);

inline constexpr std::string_view session_cookie = "redflag_session";
inline constexpr std::string_view csrf_cookie = "redflag_csrf";
inline constexpr std::string_view csrf_header = "X-CSRF-Token";

// The value of cookie `name` in a Cookie header ("a=1; b=2"), or nullopt.
std::optional<std::string> cookie_value(std::string_view cookie_header, std::string_view name);

// The Authorization value a request is authorized with: its own header when it has one,
// else "Bearer <token>" from the session cookie, else "". `refused` is set when the cookie
// is used for a state-changing request without the matching CSRF header.
struct request_credentials {
    std::string authorization;
    bool from_cookie = false;
    std::optional<refusal> refused;
};
request_credentials credentials_of(std::string_view authorization, std::string_view cookie_header,
                                   std::string_view csrf_header_value, bool state_changing);

// Whether the console opens for this request's credentials (credentials_of): the
// management API's read scope lets it in.
bool console_allows(const access_policy& policy, std::string_view authorization);

// The hex form of bytes (the session cookie holds the token so, as a token may hold
// characters a cookie may not), and back (nullopt when `hex` is not hex).
std::string to_hex(std::string_view bytes);
std::optional<std::string> from_hex(std::string_view hex);

// Whether the management API answers without credentials (it has no tokens, and
// api.insecure is set or nothing else has credentials either).
bool api_open_without_tokens(const access_policy& policy);

// The start-up check of a listener: nullopt when `policy` may listen on an address that is
// (or is not) loopback, else the refusal naming `where` and the key that would allow it.
std::optional<std::string> check_listener(const access_policy& policy, bool loopback, std::string_view where);

}  // namespace redflag::http
