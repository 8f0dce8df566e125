#include "app/account_scan.hpp"

#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace redflag::app {

std::size_t find_account_key(std::string_view line, std::size_t from) {
    if (from > line.size()) return std::string_view::npos;
    const std::size_t n = line.size();
    if (n < account_key.size()) return std::string_view::npos;
    const std::size_t last = n - account_key.size();  // where the key can start, at the latest
    const char* data = line.data();
    std::size_t i = from;
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"'), letter_a = _mm_set1_epi8('a');
    for (; i + 17 <= n; i += 16) {
        __m128i here = _mm_loadu_si128(reinterpret_cast<const __m128i*>(data + i));
        __m128i next = _mm_loadu_si128(reinterpret_cast<const __m128i*>(data + i + 1));
        auto mask = static_cast<unsigned>(
            _mm_movemask_epi8(_mm_and_si128(_mm_cmpeq_epi8(here, quote), _mm_cmpeq_epi8(next, letter_a))));
        for (; mask != 0; mask &= mask - 1) {
            std::size_t at = i + static_cast<std::size_t>(__builtin_ctz(mask));
            if (at <= last && std::memcmp(data + at, account_key.data(), account_key.size()) == 0) return at;
        }
    }
#endif
    for (; i <= last; ++i)
        if (data[i] == '"' && std::memcmp(data + i, account_key.data(), account_key.size()) == 0) return i;
    return std::string_view::npos;
}

std::optional<std::string_view> quick_account(std::string_view line) {
    static constexpr std::string_view key = account_key;
    std::size_t at = find_account_key(line, 0);
    if (at == std::string_view::npos || find_account_key(line, at + key.size()) != std::string_view::npos)
        return std::nullopt;
    std::size_t before = line.find_last_not_of(" \t", at == 0 ? 0 : at - 1);
    if (at == 0 || before == std::string_view::npos || (line[before] != '{' && line[before] != ',')) return std::nullopt;
    std::size_t colon = line.find_first_not_of(" \t", at + key.size());
    if (colon == std::string_view::npos || line[colon] != ':') return std::nullopt;
    std::size_t quote = line.find_first_not_of(" \t", colon + 1);
    if (quote == std::string_view::npos || line[quote] != '"') return std::nullopt;
    std::size_t end = line.find('"', quote + 1);
    if (end == std::string_view::npos) return std::nullopt;
    std::string_view value = line.substr(quote + 1, end - quote - 1);
    if (value.find('\\') != std::string_view::npos) return std::nullopt;
    return value;
}

}  // namespace redflag::app
