// `redflag serve`: wires config, rules, the RocksDB store, the sharded engine service,
// the HTTP server and signals together, and runs until SIGINT or SIGTERM. SIGHUP and
// POST /-/reload reload the rules: a bad set is reported and the running one stays.
#pragma once

#include <optional>
#include <string>

namespace redflag::app {

// Exit codes per cli.md: 0 after a clean stop, 2 for bad config or rules at start (and
// for a store that cannot be opened).
int run_serve(const std::optional<std::string>& config_path);

}  // namespace redflag::app
