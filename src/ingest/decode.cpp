#include "ingest/decode.hpp"

#include <boost/json/stream_parser.hpp>

#include <algorithm>

namespace redflag::ingest {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

// The 1-based line and column of byte `offset` in `body`.
std::pair<std::size_t, std::size_t> line_and_column(std::string_view body, std::size_t offset) {
    offset = std::min(offset, body.size());
    std::size_t line = 1, line_start = 0;
    for (std::size_t i = 0; i < offset; ++i)
        if (body[i] == '\n') {
            ++line;
            line_start = i + 1;
        }
    return {line, offset - line_start + 1};
}

decode_error malformed(std::string_view body, std::size_t offset, std::string_view what) {
    auto [line, column] = line_and_column(body, offset);
    decode_error e;
    e.kind = decode_error::kind::malformed;
    e.offset = offset;
    e.line = line;
    e.message = "malformed JSON at byte " + std::to_string(offset) + " (line " + std::to_string(line) + ", column " +
                std::to_string(column) + "): " + std::string(what);
    return e;
}

decode_error too_many(std::size_t max_events) {
    decode_error e;
    e.kind = decode_error::kind::too_many_events;
    e.message = "too many events: a batch holds at most " + std::to_string(max_events);
    return e;
}

// Parses one complete JSON text. On failure returns the offset (relative to `text`) of
// the token where parsing stopped, and the parser's reason.
struct parse_outcome {
    boost::json::value value;
    bool ok = false;
    std::size_t offset = 0;
    std::string reason;
};

parse_outcome parse_one(std::string_view text) {
    parse_outcome out;
    boost::json::stream_parser parser;
    boost::system::error_code ec;
    std::size_t consumed = parser.write(text.data(), text.size(), ec);
    if (!ec) parser.finish(ec);
    if (ec) {
        out.offset = consumed;
        out.reason = ec.message();
        return out;
    }
    out.value = parser.release();
    out.ok = true;
    return out;
}

decode_result decode_json(std::string_view body, std::size_t max_events) {
    decode_result result;
    if (trim(body).empty()) {
        result.error = malformed(body, body.size(), "empty body: expected a JSON object or an array of objects");
        return result;
    }
    auto parsed = parse_one(body);
    if (!parsed.ok) {
        result.error = malformed(body, parsed.offset, parsed.reason);
        return result;
    }
    if (parsed.value.is_array()) {
        auto& array = parsed.value.as_array();
        if (array.empty()) {
            result.error = malformed(body, 0, "empty array: a batch holds at least one event");
            return result;
        }
        if (array.size() > max_events) {
            result.error = too_many(max_events);
            return result;
        }
        result.items.reserve(array.size());
        for (std::size_t i = 0; i < array.size(); ++i) result.items.push_back({std::move(array[i]), i});
        return result;
    }
    if (parsed.value.is_object()) {
        result.items.push_back({std::move(parsed.value), 0});
        return result;
    }
    result.error = malformed(body, 0, "expected a JSON object or an array of objects");
    return result;
}

decode_result decode_ndjson(std::string_view body, std::size_t max_events) {
    decode_result result;
    std::size_t line_start = 0;
    std::size_t line_index = 0;  // 0-based
    while (line_start < body.size()) {
        std::size_t end = body.find('\n', line_start);
        if (end == std::string_view::npos) end = body.size();
        std::string_view line = body.substr(line_start, end - line_start);
        if (!trim(line).empty()) {
            if (result.items.size() == max_events) {
                result.items.clear();
                result.error = too_many(max_events);
                return result;
            }
            auto parsed = parse_one(line);
            if (!parsed.ok) {
                result.items.clear();
                result.error = malformed(body, line_start + parsed.offset, parsed.reason);
                return result;
            }
            result.items.push_back({std::move(parsed.value), line_index});
        }
        line_start = end + 1;
        ++line_index;
    }
    if (result.items.empty()) result.error = malformed(body, body.size(), "empty body: expected one JSON object a line");
    return result;
}

}  // namespace

std::optional<body_format> format_of_content_type(std::string_view content_type) {
    auto media = lower(trim(content_type.substr(0, content_type.find(';'))));
    if (media == "application/json") return body_format::json;
    if (media == "application/x-ndjson") return body_format::ndjson;
    return std::nullopt;
}

decode_result decode_body(std::string_view body, body_format format, std::size_t max_events) {
    return format == body_format::json ? decode_json(body, max_events) : decode_ndjson(body, max_events);
}

}  // namespace redflag::ingest
