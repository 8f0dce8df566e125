#include "rules/diagnostic.hpp"

#include "core/json_text.hpp"

#include <cstdio>

namespace redflag::rules {

bool has_errors(const diagnostics& all) {
    for (const auto& d : all)
        if (d.level == severity::error) return true;
    return false;
}

std::string_view source_line(std::string_view text, std::uint32_t line) {
    if (line == 0) return {};
    std::size_t start = 0;
    for (std::uint32_t l = 1; l < line; ++l) {
        auto nl = text.find('\n', start);
        if (nl == std::string_view::npos) return {};
        start = nl + 1;
    }
    auto end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    auto result = text.substr(start, end - start);
    if (!result.empty() && result.back() == '\r') result.remove_suffix(1);
    return result;
}

namespace {

std::string_view level_name(severity s) {
    switch (s) {
        case severity::error: return "error";
        case severity::warning: return "warning";
        case severity::note: return "note";
    }
    return "error";
}

// The white space before the caret: one character per code point before `column`,
// keeping the snippet's tabs so that the caret lines up.
std::string caret_prefix(std::string_view snippet, std::uint32_t column) {
    std::string out;
    std::uint32_t chars = 0;
    for (std::size_t i = 0; i < snippet.size() && chars + 1 < column; ++i) {
        auto c = static_cast<unsigned char>(snippet[i]);
        if ((c & 0xC0) == 0x80) continue;  // a UTF-8 continuation byte
        out += c == '\t' ? '\t' : ' ';
        ++chars;
    }
    while (chars + 1 < column) {  // a column past the end of the line (e.g. at end of file)
        out += ' ';
        ++chars;
    }
    return out;
}

}  // namespace

std::string render_text(const diagnostic& d) {
    std::string out = d.file;
    if (d.line > 0) {
        out += ':' + std::to_string(d.line) + ':' + std::to_string(d.column);
    }
    if (!out.empty()) out += ": ";
    out += level_name(d.level);
    out += ": ";
    out += d.message;
    out += '\n';
    if (d.line > 0 && !d.snippet.empty()) {
        out += d.snippet;
        out += '\n';
        out += caret_prefix(d.snippet, d.column);
        out += "^\n";
    }
    if (!d.hint.empty()) {
        out += "hint: ";
        out += d.hint;
        out += '\n';
    }
    return out;
}

std::string render_text(const diagnostics& all) {
    std::string out;
    for (const auto& d : all) out += render_text(d);
    return out;
}

std::string render_json(const diagnostics& all) {
    std::string out = "{\"diagnostics\":[";
    bool first = true;
    for (const auto& d : all) {
        if (!first) out += ',';
        first = false;
        out += "{\"file\":";
        append_json_string(out, d.file);
        out += ",\"line\":" + std::to_string(d.line);
        out += ",\"column\":" + std::to_string(d.column);
        out += ",\"severity\":";
        append_json_string(out, level_name(d.level));
        out += ",\"code\":";
        append_json_string(out, d.code);
        out += ",\"message\":";
        append_json_string(out, d.message);
        out += ",\"hint\":";
        append_json_string(out, d.hint);
        out += '}';
    }
    out += "]}";
    return out;
}

}  // namespace redflag::rules
