// Request authentication for the ingest API (../shared/spec/events.md, "Auth"): bearer
// tokens and an HMAC-SHA256 signature of the raw body. Every comparison of a secret runs
// in constant time (CRYPTO_memcmp over fixed-size digests, every token checked), so
// timing tells an attacker neither which byte nor which token nearly matched.
//
// Pure functions, thread-safe; failures are values.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace redflag::ingest {

enum class auth_result {
    ok,
    missing,    // no credentials, or not in the expected form: 401
    forbidden,  // a token that is not one of the configured ones: 403
};

// Checks an Authorization header value ("Bearer <token>", scheme case-insensitive)
// against `tokens`. An empty header or another scheme is `missing`.
auth_result check_bearer(std::string_view authorization, std::span<const std::string> tokens);

// Checks an X-Redflag-Signature header value ("sha256=<hex>", hex in either case) against
// the HMAC-SHA256 of `body` under `secret`. Returns ok or missing (missing also for a
// wrong signature: the spec answers both with 401).
auth_result check_signature(std::string_view signature, std::string_view body, std::string_view secret);

// Lower-case hex HMAC-SHA256 of `data` under `key`: what a sender puts after "sha256=".
std::string hmac_sha256_hex(std::string_view key, std::string_view data);

}  // namespace redflag::ingest
