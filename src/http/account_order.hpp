// The order of GET /v1/accounts (?sort=arr|health|renewal) and its cursor, shared by the
// instance's own listing (management.cpp) and the merge of the members' pages in
// cluster mode (management_cluster.cpp). Pure; thread-safe.
#pragma once

#include "core/time.hpp"
#include "http/access.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>

namespace redflag::http {

// The sort key of an account summary (smaller first); missing values last.
inline double account_key(const boost::json::object& a, std::string_view sort) {
    constexpr double last = std::numeric_limits<double>::infinity();
    if (sort == "arr") return a.at("arr").is_number() ? -a.at("arr").to_number<double>() : last;
    if (sort == "renewal") {
        const auto& r = a.at("renewal_at");
        if (!r.is_string()) return last;
        auto t = parse_rfc3339(r.get_string());
        return t ? static_cast<double>(to_millis(*t)) : last;
    }
    // health (or another score): lowest first, the accounts at risk on top.
    const auto* scores = a.at("scores").if_object();
    const auto* one = scores ? scores->if_contains(sort) : nullptr;
    const auto* score = one && one->is_object() ? one->get_object().if_contains("score") : nullptr;
    return score && score->is_number() ? score->to_number<double>() : last;
}

inline std::string account_cursor(std::string_view sort, double key, std::string_view id) {
    std::uint64_t bits = 0;
    std::memcpy(&bits, &key, sizeof bits);
    return to_hex(std::string(sort) + ":" + std::to_string(bits) + ":" + std::string(id));
}

}  // namespace redflag::http
