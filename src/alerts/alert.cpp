#include "alerts/alert.hpp"

#include <openssl/evp.h>

#include <string>

namespace redflag::alerts {

std::optional<alert_state> alert_state_from(std::string_view name) {
    for (std::size_t i = 0; i < std::size(alert_state_names); ++i)
        if (alert_state_names[i] == name) return static_cast<alert_state>(i);
    return std::nullopt;
}

std::string_view name_of(rules::alert_severity s) { return rules::severity_names[static_cast<std::size_t>(s)]; }

std::optional<rules::alert_severity> severity_from(std::string_view name) {
    for (std::size_t i = 0; i < std::size(rules::severity_names); ++i)
        if (rules::severity_names[i] == name) return static_cast<rules::alert_severity>(i);
    return std::nullopt;
}

std::string make_alert_id(std::string_view rule, std::string_view account, timestamp started_at) {
    std::string input;
    input.reserve(rule.size() + account.size() + 24);
    input.append(rule);
    input.push_back('\0');
    input.append(account);
    input.push_back('\0');
    input.append(std::to_string(to_millis(started_at)));
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (EVP_Digest(input.data(), input.size(), digest, &length, EVP_sha256(), nullptr) != 1 || length < 16) {
        // Practically unreachable (SHA-256 is always there); fall back to a readable
        // id that is still unique per (rule, account, start).
        for (auto& c : input)
            if (c == '\0') c = '/';
        return input;
    }
    static constexpr char hex[] = "0123456789abcdef";
    std::string id(32, '0');
    for (std::size_t i = 0; i < 16; ++i) {
        id[2 * i] = hex[digest[i] >> 4];
        id[2 * i + 1] = hex[digest[i] & 0xf];
    }
    return id;
}

}  // namespace redflag::alerts
