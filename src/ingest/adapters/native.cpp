#include "ingest/adapters/native.hpp"

#include <boost/json/stream_parser.hpp>

#include <cmath>

namespace redflag::ingest::adapters {

namespace json = boost::json;

std::optional<json::value> parse_body(std::string_view body, hook_result& error) {
    json::stream_parser parser;
    boost::system::error_code ec;
    std::size_t consumed = parser.write(body.data(), body.size(), ec);
    if (!ec) parser.finish(ec);
    if (ec) {
        error = hook_result::bad_request("", "malformed JSON at byte " + std::to_string(consumed) + ": " + ec.message());
        return std::nullopt;
    }
    return parser.release();
}

const json::value* member(const json::value* v, std::string_view key) {
    if (!v || !v->is_object()) return nullptr;
    const auto* m = v->get_object().if_contains(key);
    return m && !m->is_null() ? m : nullptr;
}

const json::value* member(const json::value& v, std::string_view key) { return member(&v, key); }

std::optional<std::string> id_text(const json::value* v) {
    if (!v) return std::nullopt;
    if (v->is_string() && !v->get_string().empty()) return std::string(v->get_string());
    if (v->is_int64()) return std::to_string(v->get_int64());
    if (v->is_uint64()) return std::to_string(v->get_uint64());
    return std::nullopt;
}

std::optional<std::string> text(const json::value* v) {
    if (!v || !v->is_string() || v->get_string().empty()) return std::nullopt;
    return std::string(v->get_string());
}

std::optional<std::int64_t> integer(const json::value* v) {
    if (!v) return std::nullopt;
    if (v->is_int64()) return v->get_int64();
    if (v->is_uint64() && v->get_uint64() <= std::uint64_t(std::numeric_limits<std::int64_t>::max()))
        return static_cast<std::int64_t>(v->get_uint64());
    if (v->is_double() && std::trunc(v->get_double()) == v->get_double() && std::abs(v->get_double()) < 9e18)
        return static_cast<std::int64_t>(v->get_double());
    return std::nullopt;
}

std::optional<double> number(const json::value* v) {
    if (!v) return std::nullopt;
    if (v->is_number()) return v->to_number<double>();
    if (v->is_string()) {
        std::string s(v->get_string());
        if (s.empty()) return std::nullopt;
        try {
            std::size_t used = 0;
            double d = std::stod(s, &used);
            if (used == s.size() && std::isfinite(d)) return d;
        } catch (const std::exception&) {
        }
    }
    return std::nullopt;
}

timestamp from_unix_seconds(std::int64_t s) { return from_millis(s * 1000); }

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::string snake_name(std::string_view s) {
    std::string out;
    bool gap = false;
    for (unsigned char c : s) {
        if (std::isalnum(c)) {
            if (gap && !out.empty()) out += '_';
            out += static_cast<char>(std::tolower(c));
            gap = false;
        } else {
            gap = true;
        }
    }
    return out;
}

}  // namespace redflag::ingest::adapters
