// What the HTTP server takes of the config: the listener, its limits and every credential
// (ingest, management API, /metrics), in one place so that a new key reaches the server
// and its test here, not in the wiring of serve.
#pragma once

#include "app/config.hpp"
#include "http/server.hpp"

namespace redflag::app {

http::server_options server_options_from(const config& c);

}  // namespace redflag::app
