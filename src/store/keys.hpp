// The key and value layout of the RocksDB column families (see store.hpp for what each
// family holds). Pure functions, thread-safe; parse_* return false on malformed input.
//
//   events    key   account '\0' seq(8, big-endian)       value  at-millis(8, BE) event bytes
//   dedup     key   account '\0' event-id                  value  at-millis(8, BE)
//   accounts  key   account                                value  seq(8, BE) state-bytes
//   dirty     key   account                                value  empty
//
// Big-endian sequences make an account's events sort in sequence order, and the account
// plus separator is a prefix that selects exactly one account's keys (an account never
// contains '\0': write_batch refuses such a key). Idempotency is scoped per account.
#pragma once

#include "core/time.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace redflag::store::keys {

inline constexpr char separator = '\0';
inline constexpr std::size_t sequence_size = 8;

inline void append_be64(std::string& out, std::uint64_t v) {
    char buf[8];
    for (int i = 7; i >= 0; --i) {
        buf[i] = static_cast<char>(v & 0xff);
        v >>= 8;
    }
    out.append(buf, 8);
}

inline std::uint64_t read_be64(std::string_view in) {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < 8; ++i) v = (v << 8) | static_cast<std::uint8_t>(in[i]);
    return v;
}

// account + '\0': the prefix of one account's keys in `events` and `dedup`.
inline std::string account_prefix(std::string_view account) {
    std::string k;
    k.reserve(account.size() + 1 + sequence_size);
    k.append(account);
    k.push_back(separator);
    return k;
}

inline std::string event_key(std::string_view account, std::uint64_t sequence) {
    std::string k = account_prefix(account);
    append_be64(k, sequence);
    return k;
}

// Splits an events key; false when it is not one.
inline bool parse_event_key(std::string_view key, std::string_view& account, std::uint64_t& sequence) {
    if (key.size() < 1 + 1 + sequence_size) return false;
    const std::size_t sep = key.size() - sequence_size - 1;
    if (key[sep] != separator) return false;
    account = key.substr(0, sep);
    sequence = read_be64(key.substr(sep + 1));
    return true;
}

inline std::string dedup_key(std::string_view account, std::string_view id) {
    std::string k = account_prefix(account);
    k.append(id);
    return k;
}

inline std::string time_value(timestamp at) {
    std::string v;
    append_be64(v, static_cast<std::uint64_t>(to_millis(at)));
    return v;
}

// The `at` prefix of an events or dedup value.
inline bool parse_time_prefix(std::string_view value, timestamp& at) {
    if (value.size() < 8) return false;
    at = from_millis(static_cast<std::int64_t>(read_be64(value)));
    return true;
}

inline std::string event_value(timestamp at, std::string_view bytes) {
    std::string v;
    v.reserve(8 + bytes.size());
    append_be64(v, static_cast<std::uint64_t>(to_millis(at)));
    v.append(bytes);
    return v;
}

inline bool parse_event_value(std::string_view value, timestamp& at, std::string_view& bytes) {
    if (!parse_time_prefix(value, at)) return false;
    bytes = value.substr(8);
    return true;
}

inline bool parse_snapshot_value(std::string_view value, std::uint64_t& sequence, std::string_view& bytes) {
    if (value.size() < sequence_size) return false;
    sequence = read_be64(value);
    bytes = value.substr(sequence_size);
    return true;
}

// The smallest key greater than every key starting with `prefix`; empty when there is
// none (the prefix is all 0xff).
inline std::string prefix_upper_bound(std::string_view prefix) {
    std::string bound(prefix);
    while (!bound.empty() && static_cast<std::uint8_t>(bound.back()) == 0xff) bound.pop_back();
    if (!bound.empty()) bound.back() = static_cast<char>(static_cast<std::uint8_t>(bound.back()) + 1);
    return bound;
}

}  // namespace redflag::store::keys
