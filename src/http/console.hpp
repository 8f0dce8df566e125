// The web console under /ui/ (README "Web console"; issue 15): pages and assets from
// http/console_files.hpp, sign-in with an api token kept in a cookie (http/access.hpp).
//
//   GET  /ui/login            the sign-in page (open)
//   POST /ui/login            form field `token`: one of api.read_tokens or api.write_tokens;
//                             303 to /ui/ with the session and CSRF cookies, or 303 back to
//                             /ui/login?failed
//   POST /ui/logout           clears the cookies; 303 to /ui/login
//   GET  /ui/assets/NAME      scripts, styles, the chart library (open: they hold no data)
//   GET  /ui/, /ui/accounts, /ui/accounts/{id}, /ui/playground
//                             the pages; 303 to /ui/login without credentials the
//                             management API's read scope accepts
//
// Pages are sent with Cache-Control: no-store; assets with no-cache and a strong ETag (a
// matching If-None-Match gets 304). Every answer carries a Content-Security-Policy that
// allows only this origin's scripts, X-Content-Type-Options: nosniff and X-Frame-Options: DENY.
// With ui.enabled false every /ui/ path is 404. Pure request -> response, thread-safe.
#pragma once

#include "http/access.hpp"
#include "http/handlers.hpp"

#include <string>
#include <vector>

namespace redflag::http {

struct console_options {
    bool enabled = true;         // ui.enabled
    bool secure_cookie = false;  // ui.secure_cookie: mark the cookies Secure (TLS in front of the service)
};

// Answers a request whose path starts with /ui; `path` holds the decoded segments after "ui".
response console_response(const console_options& options, const access_policy& policy,
                          const std::vector<std::string>& path, const request& req);

}  // namespace redflag::http
