// What the HTTP server takes of the config: the listener, its limits and every credential
// (ingest, management API, /metrics), in one place so that a new key reaches the server
// and its test here, not in the wiring of serve.
#pragma once

#include "app/config.hpp"
#include "http/server.hpp"

namespace redflag::app {

http::server_options server_options_from(const config& c);

// The signing secrets of the config's `type: slack` channels, for the server at start and
// for a reload, which replaces the server's set with them.
std::vector<http::slack_secret> slack_secrets_of(const config& c);

}  // namespace redflag::app
