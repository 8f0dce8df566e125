#include "app/server_options.hpp"

namespace redflag::app {

std::vector<http::slack_secret> slack_secrets_of(const config& c) {
    std::vector<http::slack_secret> out;
    for (const auto& [name, ch] : c.channels)
        if (ch.type == "slack" && !ch.signing_secret.empty()) out.push_back({name, ch.signing_secret});
    return out;
}

http::server_options server_options_from(const config& c) {
    http::server_options options;
    options.address = c.listen_host;
    options.port = c.listen_port;
    options.threads = static_cast<unsigned>(c.http.threads);
    options.idle_timeout = c.http.idle_timeout;
    options.max_body = c.ingest.max_body;
    options.max_events = c.ingest.max_events;
    options.limits.max_age = c.storage.retention;  // older: its id would not deduplicate
    options.limits.max_future = c.ingest.max_future;
    options.access.ingest_tokens = c.ingest.tokens;
    options.access.hmac_secret = c.ingest.hmac_secret;
    options.access.ingest_insecure = c.ingest.insecure;
    options.access.read_tokens = c.api.read_tokens;
    options.access.write_tokens = c.api.write_tokens;
    options.access.api_insecure = c.api.insecure;
    options.access.metrics_tokens = c.metrics.tokens;
    options.access.slack_secrets = std::make_shared<http::slack_secret_set>(slack_secrets_of(c));
    options.console.enabled = c.ui.enabled;
    options.console.secure_cookie = c.ui.secure_cookie;
    if (!c.adapters.empty()) options.hooks = std::make_shared<const ingest::adapters::hook_registry>(c.adapters);
    return options;
}

}  // namespace redflag::app
