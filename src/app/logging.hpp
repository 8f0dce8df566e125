// The service's log lines (config `log.level`, `log.format`), set up once at start by
// `serve`. Whatever a message holds (an account id, a silence's reason, a peer's error
// text: all may come from outside), it cannot forge a line:
//   - json: every line is one valid JSON object {"time", "level", "message"}; the message
//     is escaped as a JSON string (quotes, backslashes, control characters) and invalid
//     UTF-8 becomes U+FFFD;
//   - text: "TIME LEVEL message" with control characters written as \n, \r, \t, \xHH, so a
//     newline in a message never starts a line.
// The escaping is a spdlog custom flag (%*) in the pattern, so every logger made from the
// default formatter gets it.
//
// configure_logging() changes spdlog's global level and formatter: call it from one
// thread before others log. The escape functions are pure and thread-safe.
#pragma once

#include "app/config.hpp"

#include <spdlog/formatter.h>

#include <memory>
#include <string>
#include <string_view>

namespace redflag::app {

// Sets spdlog's level and line format from c.log (format "json" or "text").
void configure_logging(const config& c);

// The formatter of one log format ("json"; anything else is text). UTC times.
std::unique_ptr<spdlog::formatter> make_log_formatter(const std::string& format);

// Appends `text` as the inside of a JSON string (without the quotes).
void append_json_escaped(std::string& out, std::string_view text);

// Appends `text` with its control characters escaped, so it stays on one line.
void append_text_escaped(std::string& out, std::string_view text);

}  // namespace redflag::app
