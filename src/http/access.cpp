#include "http/access.hpp"

#include "ingest/auth.hpp"

#include <array>

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

std::optional<std::string> cookie_value(std::string_view header, std::string_view name) {
    while (!header.empty()) {
        auto end = header.find(';');
        auto pair = header.substr(0, end);
        header = end == std::string_view::npos ? std::string_view{} : header.substr(end + 1);
        while (!pair.empty() && (pair.front() == ' ' || pair.front() == '\t')) pair.remove_prefix(1);
        while (!pair.empty() && (pair.back() == ' ' || pair.back() == '\t')) pair.remove_suffix(1);
        auto eq = pair.find('=');
        if (eq == std::string_view::npos || pair.substr(0, eq) != name) continue;
        auto value = pair.substr(eq + 1);
        if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
        return std::string(value);
    }
    return std::nullopt;
}

std::string to_hex(std::string_view bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (unsigned char c : bytes) {
        out += digits[c >> 4];
        out += digits[c & 15];
    }
    return out;
}

std::optional<std::string> from_hex(std::string_view hex) {
    if (hex.size() % 2) return std::nullopt;
    auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    std::string out;
    out.reserve(hex.size() / 2);
    for (std::size_t i = 0; i < hex.size(); i += 2) {
        int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
        if (hi < 0 || lo < 0) return std::nullopt;
        out += static_cast<char>(hi * 16 + lo);
    }
    return out;
}

request_credentials credentials_of(std::string_view authorization, std::string_view cookie_header,
                                   std::string_view csrf_value, bool state_changing) {
    request_credentials c;
    if (!authorization.empty()) {
        c.authorization = std::string(authorization);
        return c;
    }
    auto session = cookie_value(cookie_header, session_cookie);
    if (!session || session->empty()) return c;
    auto token = from_hex(*session);
    if (!token) {
        c.refused = refusal{401, "the console's session cookie is malformed: sign in again at /ui/login", false};
        return c;
    }
    c.authorization = "Bearer " + *token;
    c.from_cookie = true;
    if (state_changing) {
        // Compared in constant time, like the tokens.
        auto expected = cookie_value(cookie_header, csrf_cookie);
        const std::array<std::string, 1> wanted{expected.value_or("")};
        if (!expected || expected->empty() || csrf_value.empty() ||
            ingest::check_bearer("Bearer " + std::string(csrf_value), wanted) != auth_result::ok)
            c.refused = refusal{403,
                                "a request that changes state with the console's session cookie needs the header "
                                "X-CSRF-Token equal to the cookie redflag_csrf",
                                false};
    }
    return c;
}

bool console_allows(const access_policy& p, std::string_view authorization) {
    return !check_api(p, scope::read, authorization);
}

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
