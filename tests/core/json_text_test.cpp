#include "core/json_text.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

using namespace redflag;

TEST(JsonText, escapes_quotes_backslashes_and_control_characters) {
    std::string out;
    append_json_string(out, "a\"b\\c\nd\te\x01");
    EXPECT_EQ(out, R"("a\"b\\c\nd\te\u0001")");
}

TEST(JsonText, output_parses_back_to_the_same_text) {
    const std::string text = "Café \"Zürich\"\r\n\b\f\x1f end";
    std::string out;
    append_json_string(out, text);
    EXPECT_EQ(boost::json::parse(out).as_string(), text);
}
