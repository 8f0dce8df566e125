#include "http/access.hpp"

#include "ingest/auth.hpp"

namespace redflag::http {
namespace {

using ingest::auth_result;

refusal missing(std::string_view keys) {
    return refusal{401, "missing credentials: send the header Authorization: Bearer <token> with a token of " +
                            std::string(keys),
                   true};
}

std::optional<refusal> check_tokens(std::string_view authorization, const std::vector<std::string>& tokens,
                                    std::string_view key) {
    switch (ingest::check_bearer(authorization, tokens)) {
        case auth_result::ok: return std::nullopt;
        case auth_result::missing: return missing(key);
        case auth_result::forbidden:
            return refusal{403, "the bearer token in the Authorization header is not one of " + std::string(key), false};
    }
    return missing(key);
}

std::optional<refusal> check_api(const access_policy& p, scope route_scope, std::string_view authorization) {
    if (p.read_tokens.empty() && p.write_tokens.empty()) {
        if (api_open_without_tokens(p)) return std::nullopt;
        return refusal{401,
                       "the management API needs a bearer token and none is configured: set api.read_tokens or "
                       "api.write_tokens (ingest credentials do not open it)",
                       true};
    }
    // Both lists are always checked, so the time taken tells nothing about which one matched.
    const auto as_writer = ingest::check_bearer(authorization, p.write_tokens);
    const auto as_reader = ingest::check_bearer(authorization, p.read_tokens);
    if (as_writer == auth_result::ok) return std::nullopt;
    if (route_scope == scope::read && as_reader == auth_result::ok) return std::nullopt;
    if (as_writer == auth_result::missing) return missing("api.read_tokens or api.write_tokens");
    if (as_reader == auth_result::ok)
        return refusal{403,
                       "this token may only read: acknowledging, silencing and reloading need a token of "
                       "api.write_tokens",
                       false};
    return refusal{403,
                   route_scope == scope::read
                       ? "the bearer token in the Authorization header is not one of api.read_tokens or api.write_tokens"
                       : "the bearer token in the Authorization header is not one of api.write_tokens",
                   false};
}

}  // namespace

bool api_open_without_tokens(const access_policy& p) {
    if (!p.read_tokens.empty() || !p.write_tokens.empty()) return false;
    return p.api_insecure || (p.ingest_tokens.empty() && p.hmac_secret.empty() && p.metrics_tokens.empty());
}

std::optional<refusal> authorize(const access_policy& p, scope route_scope, std::string_view authorization) {
    switch (route_scope) {
        case scope::open:
        case scope::vendor: return std::nullopt;  // the adapter checks the vendor's signature
        case scope::slack: return std::nullopt;   // the handler checks Slack's signature
        case scope::metrics:
            if (p.metrics_tokens.empty()) return std::nullopt;
            return check_tokens(authorization, p.metrics_tokens, "metrics.tokens");
        case scope::ingest:
            if (p.ingest_tokens.empty()) return std::nullopt;
            return check_tokens(authorization, p.ingest_tokens, "ingest.tokens");
        case scope::read:
        case scope::write: return check_api(p, route_scope, authorization);
    }
    return missing("the configuration");
}

std::optional<std::string> check_listener(const access_policy& p, bool loopback, std::string_view where) {
    if (loopback) return std::nullopt;
    if (p.ingest_tokens.empty() && p.hmac_secret.empty() && !p.ingest_insecure)
        return "refusing to listen on " + std::string(where) +
               ", which is not a loopback address, without ingest.tokens or ingest.hmac_secret "
               "(set ingest.insecure: true to allow it)";
    if (p.read_tokens.empty() && p.write_tokens.empty() && !p.api_insecure)
        return "refusing to listen on " + std::string(where) +
               ", which is not a loopback address, with a management API open to anyone: set api.read_tokens "
               "and api.write_tokens (or api.insecure: true to allow it)";
    return std::nullopt;
}

}  // namespace redflag::http
