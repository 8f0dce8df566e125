// FNV-1a over bytes: a hash that is the same in every run and build (unlike std::hash), for
// choosing an account's shard in `serve` and its core in `replay`. Not for hash tables
// exposed to untrusted keys. Pure; thread-safe.
#pragma once

#include <cstdint>
#include <string_view>

namespace redflag {

constexpr std::uint64_t fnv1a(std::string_view bytes) {
    std::uint64_t h = 1469598103934665603ull;
    for (unsigned char c : bytes) {
        h ^= c;
        h *= 1099511628211ull;
    }
    return h;
}

}  // namespace redflag
