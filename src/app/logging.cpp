#include "app/logging.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/spdlog.h>

namespace redflag::app {
namespace {

constexpr char hex_digits[] = "0123456789abcdef";

// The length of the valid UTF-8 sequence at the start of `s` (RFC 3629: no overlong
// forms, no surrogates, nothing above U+10FFFF), or 0 when it is not one.
std::size_t utf8_sequence(std::string_view s) {
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
    const auto continuation = [&](std::size_t i) { return i < s.size() && (byte(i) & 0xC0) == 0x80; };
    const unsigned char b = byte(0);
    if (b < 0x80) return 1;
    if (b >= 0xC2 && b <= 0xDF) return continuation(1) ? 2 : 0;
    if (b >= 0xE0 && b <= 0xEF) {
        if (!continuation(1) || !continuation(2)) return 0;
        if (b == 0xE0 && byte(1) < 0xA0) return 0;  // overlong
        if (b == 0xED && byte(1) > 0x9F) return 0;  // surrogates
        return 3;
    }
    if (b >= 0xF0 && b <= 0xF4) {
        if (!continuation(1) || !continuation(2) || !continuation(3)) return 0;
        if (b == 0xF0 && byte(1) < 0x90) return 0;  // overlong
        if (b == 0xF4 && byte(1) > 0x8F) return 0;  // above U+10FFFF
        return 4;
    }
    return 0;
}

template <typename Escape>
class escaped_message final : public spdlog::custom_flag_formatter {
public:
    void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
        std::string out;
        Escape{}(out, std::string_view(msg.payload.data(), msg.payload.size()));
        dest.append(out.data(), out.data() + out.size());
    }

    std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<escaped_message>(); }
};

struct json_escape {
    void operator()(std::string& out, std::string_view text) const { append_json_escaped(out, text); }
};
struct text_escape {
    void operator()(std::string& out, std::string_view text) const { append_text_escaped(out, text); }
};

}  // namespace

void append_json_escaped(std::string& out, std::string_view text) {
    out.reserve(out.size() + text.size());
    for (std::size_t i = 0; i < text.size();) {
        const unsigned char c = static_cast<unsigned char>(text[i]);
        switch (c) {
            case '"': out += "\\\""; ++i; continue;
            case '\\': out += "\\\\"; ++i; continue;
            case '\n': out += "\\n"; ++i; continue;
            case '\r': out += "\\r"; ++i; continue;
            case '\t': out += "\\t"; ++i; continue;
            default: break;
        }
        if (c < 0x20 || c == 0x7F) {
            out += "\\u00";
            out += hex_digits[c >> 4];
            out += hex_digits[c & 0xF];
            ++i;
            continue;
        }
        const std::size_t n = utf8_sequence(text.substr(i));
        if (n == 0) {
            out += "\\ufffd";  // a byte that is not UTF-8 would make the line invalid JSON
            ++i;
            continue;
        }
        out.append(text.substr(i, n));
        i += n;
    }
}

void append_text_escaped(std::string& out, std::string_view text) {
    out.reserve(out.size() + text.size());
    for (char ch : text) {
        const unsigned char c = static_cast<unsigned char>(ch);
        if (c >= 0x20 && c != 0x7F) {
            out += ch;
            continue;
        }
        switch (c) {
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                out += "\\x";
                out += hex_digits[c >> 4];
                out += hex_digits[c & 0xF];
        }
    }
}

std::unique_ptr<spdlog::formatter> make_log_formatter(const std::string& format) {
    auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
    if (format == "json")
        formatter->add_flag<escaped_message<json_escape>>('*').set_pattern(
            R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","message":"%*"})");
    else
        formatter->add_flag<escaped_message<text_escape>>('*').set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %*");
    return formatter;
}

void configure_logging(const config& c) {
    spdlog::set_level(spdlog::level::from_str(c.log.level));
    spdlog::set_formatter(make_log_formatter(c.log.format));
}

}  // namespace redflag::app
