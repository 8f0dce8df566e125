#include "ingest/auth.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <cctype>

namespace redflag::ingest {
namespace {

using digest = std::array<unsigned char, 32>;

digest sha256(std::string_view data) {
    digest out{};
    unsigned int size = 0;
    EVP_Digest(data.data(), data.size(), out.data(), &size, EVP_sha256(), nullptr);
    return out;
}

digest hmac_sha256(std::string_view key, std::string_view data) {
    digest out{};
    unsigned int size = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
         data.size(), out.data(), &size);
    return out;
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
    return true;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

}  // namespace

auth_result check_bearer(std::string_view authorization, std::span<const std::string> tokens) {
    authorization = trim(authorization);
    constexpr std::string_view scheme = "bearer ";
    if (authorization.size() <= scheme.size() || !iequals(authorization.substr(0, scheme.size()), scheme))
        return auth_result::missing;
    auto token = trim(authorization.substr(scheme.size()));
    if (token.empty()) return auth_result::missing;
    // Compare digests, so every comparison has the same length whatever the token's, and
    // check every configured token without stopping at the first match.
    const digest given = sha256(token);
    int matches = 0;
    for (const auto& t : tokens) matches |= CRYPTO_memcmp(given.data(), sha256(t).data(), given.size()) == 0;
    return matches ? auth_result::ok : auth_result::forbidden;
}

auth_result check_signature(std::string_view signature, std::string_view body, std::string_view secret) {
    signature = trim(signature);
    constexpr std::string_view prefix = "sha256=";
    if (signature.size() != prefix.size() + 64 || !iequals(signature.substr(0, prefix.size()), prefix))
        return auth_result::missing;
    digest given{};
    for (std::size_t i = 0; i < given.size(); ++i) {
        int hi = hex_value(signature[prefix.size() + 2 * i]);
        int lo = hex_value(signature[prefix.size() + 2 * i + 1]);
        if (hi < 0 || lo < 0) return auth_result::missing;
        given[i] = static_cast<unsigned char>(hi << 4 | lo);
    }
    const digest expected = hmac_sha256(secret, body);
    return CRYPTO_memcmp(given.data(), expected.data(), given.size()) == 0 ? auth_result::ok : auth_result::missing;
}

std::string hmac_sha256_hex(std::string_view key, std::string_view data) {
    static constexpr char digits[] = "0123456789abcdef";
    const digest d = hmac_sha256(key, data);
    std::string out;
    out.reserve(64);
    for (unsigned char b : d) {
        out += digits[b >> 4];
        out += digits[b & 0xf];
    }
    return out;
}

}  // namespace redflag::ingest
