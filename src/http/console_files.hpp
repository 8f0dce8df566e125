// The web console's files (ui/), compiled into the binary by cmake/embed_ui.cmake: the
// pages (index.html, login.html, ...) and, under "assets/", the scripts, the style sheet
// and the chart library from npm ("assets/vendor/..."). Served by http/console.hpp.
#pragma once

#include <span>
#include <string_view>

namespace redflag::http {

struct console_file {
    std::string_view name;  // "index.html", "assets/inbox.js"
    std::string_view body;
    std::string_view etag;  // a strong ETag, quotes included: "\"0123456789abcdef\""
};

// Every file, defined by the generated source.
std::span<const console_file> console_files();

// The file named exactly `name`, or nullptr: names are compared whole, so no request path
// ("..", "%2e%2e", "assets//x") can reach anything but these files.
const console_file* find_console_file(std::string_view name);

// The Content-Type a file is served with, by its extension (UTF-8 for text).
std::string_view content_type_of(std::string_view name);

}  // namespace redflag::http
