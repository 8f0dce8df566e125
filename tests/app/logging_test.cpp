#include "app/logging.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/ostream_sink.h>

#include <sstream>
#include <vector>

using namespace redflag::app;

namespace {

// The lines a logger with the formatter of `format` writes for `message`.
std::vector<std::string> log_lines(const std::string& format, const std::string& message) {
    std::ostringstream out;
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
    spdlog::logger logger("test", sink);
    logger.set_formatter(make_log_formatter(format));
    logger.info("account {} did it", message);
    logger.flush();
    std::vector<std::string> lines;
    std::istringstream in(out.str());
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

// An account id that would forge a critical line in the old unescaped JSON pattern.
const std::string forged = "acme\"}\n{\"time\":\"2026-01-01T00:00:00.000Z\",\"level\":\"critical\",\"message\":\"pwned";

}  // namespace

TEST(Logging, json_line_stays_one_valid_object_whatever_the_message) {
    const std::string messages[] = {
        forged,
        "back\\slash and \"quotes\"",
        std::string("nul\0and\x01\x1f\x7f controls\r\n\t", 22),
        "invalid utf-8: \xff\xfe \xc3\x28 \xed\xa0\x80 \xf4\x90\x80\x80 truncated \xe2\x82",
        "valid utf-8: caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x9a\xa9",
    };
    for (const auto& m : messages) {
        auto lines = log_lines("json", m);
        ASSERT_EQ(lines.size(), 1u) << m;
        boost::system::error_code ec;
        auto parsed = boost::json::parse(lines[0], ec);
        ASSERT_FALSE(ec) << lines[0];
        const auto& object = parsed.as_object();
        EXPECT_EQ(object.size(), 3u);
        EXPECT_EQ(object.at("level"), "info");
        auto message = std::string(object.at("message").as_string());
        if (m.find('\xff') == std::string::npos) {
            EXPECT_EQ(message, "account " + m + " did it");
        }
    }
}

TEST(Logging, json_keeps_valid_utf8_and_replaces_invalid_bytes) {
    std::string out;
    append_json_escaped(out, "caf\xc3\xa9 \xff!");
    EXPECT_EQ(out, "caf\xc3\xa9 \\ufffd!");
    out.clear();
    append_json_escaped(out, std::string("a\0b\x1b", 4));
    EXPECT_EQ(out, "a\\u0000b\\u001b");
}

TEST(Logging, text_line_never_breaks) {
    auto lines = log_lines("text", forged + "\r\x1b[31m");
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_NE(lines[0].find("acme\"}\\n{\"time\""), std::string::npos) << lines[0];
    EXPECT_NE(lines[0].find("\\r\\x1b[31m"), std::string::npos) << lines[0];
    EXPECT_NE(lines[0].find(" info "), std::string::npos) << lines[0];
}

TEST(Logging, text_escaping) {
    std::string out;
    append_text_escaped(out, std::string("a\nb\tc\0d caf\xc3\xa9", 13));
    EXPECT_EQ(out, "a\\nb\\tc\\x00d caf\xc3\xa9");
}
