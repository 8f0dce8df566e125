// The cryptography vendors' webhook signatures are built from: HMAC-SHA256 and
// HMAC-SHA1 digests, their hex and base64 text forms, and a comparison that takes the
// same time whichever byte differs (CRYPTO_memcmp), so timing tells an attacker nothing
// about how close a forged signature came.
//
// Pure functions, thread-safe; failures are values (nullopt for text that is not hex or
// base64).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace redflag::ingest::adapters {

// Raw digests (32 bytes for SHA-256, 20 for SHA-1), as bytes in a string.
std::string hmac_sha256(std::string_view key, std::string_view data);
std::string hmac_sha1(std::string_view key, std::string_view data);

// Lower-case hex, and back (either case accepted; nullopt for odd length or a non-hex digit).
std::string to_hex(std::string_view bytes);
std::optional<std::string> from_hex(std::string_view text);

// Standard base64 with padding (RFC 4648 section 4), and back (padding required, no
// whitespace; nullopt for anything else).
std::string to_base64(std::string_view bytes);
std::optional<std::string> from_base64(std::string_view text);

// Whether two digests are equal, in time that depends only on their lengths. Digests of
// different lengths are never equal.
bool digests_equal(std::string_view a, std::string_view b);

}  // namespace redflag::ingest::adapters
