#include "ingest/decode.hpp"

#include <gtest/gtest.h>

using namespace redflag::ingest;

TEST(Decode, single_object_is_one_item_at_index_0) {
    auto r = decode_body(R"({"type":"usage","account":"acme"})", body_format::json);
    ASSERT_FALSE(r.error);
    ASSERT_EQ(r.items.size(), 1u);
    EXPECT_EQ(r.items[0].index, 0u);
    EXPECT_EQ(r.items[0].value.at("account").as_string(), "acme");
}

TEST(Decode, array_items_keep_their_positions) {
    auto r = decode_body(R"([{"a":1},{"a":2},{"a":3}])", body_format::json);
    ASSERT_FALSE(r.error);
    ASSERT_EQ(r.items.size(), 3u);
    for (std::size_t i = 0; i < 3; ++i) {
        EXPECT_EQ(r.items[i].index, i);
        EXPECT_EQ(r.items[i].value.at("a").as_int64(), static_cast<std::int64_t>(i + 1));
    }
}

TEST(Decode, array_items_that_are_not_objects_are_kept_for_the_validator) {
    auto r = decode_body(R"([{"a":1}, 5])", body_format::json);
    ASSERT_FALSE(r.error);
    ASSERT_EQ(r.items.size(), 2u);
    EXPECT_TRUE(r.items[1].value.is_int64());
}

TEST(Decode, malformed_json_names_byte_offset_and_line) {
    //                        0123456789012345
    std::string body = "[{\"a\": 1},\n {\"b\": tru}]";
    auto r = decode_body(body, body_format::json);
    ASSERT_TRUE(r.error);
    EXPECT_EQ(r.error->kind, decode_error::kind::malformed);
    EXPECT_EQ(r.error->offset, body.find("tru"));
    EXPECT_EQ(r.error->line, 2u);
    EXPECT_NE(r.error->message.find("byte " + std::to_string(body.find("tru"))), std::string::npos) << r.error->message;
    EXPECT_NE(r.error->message.find("line 2"), std::string::npos) << r.error->message;
    EXPECT_TRUE(r.items.empty());
}

TEST(Decode, truncated_json_points_at_the_end) {
    std::string body = R"([{"a": 1})";
    auto r = decode_body(body, body_format::json);
    ASSERT_TRUE(r.error);
    EXPECT_EQ(r.error->offset, body.size());
}

TEST(Decode, trailing_garbage_is_malformed) {
    auto r = decode_body(R"({"a":1} {"a":2})", body_format::json);
    ASSERT_TRUE(r.error);
    EXPECT_EQ(r.error->kind, decode_error::kind::malformed);
}

TEST(Decode, empty_bodies_and_empty_arrays_are_malformed) {
    EXPECT_TRUE(decode_body("", body_format::json).error);
    EXPECT_TRUE(decode_body("  \n", body_format::json).error);
    EXPECT_TRUE(decode_body("[]", body_format::json).error);
    EXPECT_TRUE(decode_body("\n\n", body_format::ndjson).error);
}

TEST(Decode, top_level_scalar_is_malformed) {
    auto r = decode_body("42", body_format::json);
    ASSERT_TRUE(r.error);
    EXPECT_NE(r.error->message.find("object"), std::string::npos);
}

TEST(Decode, ndjson_index_is_line_number_minus_one_and_blank_lines_are_skipped) {
    auto r = decode_body("{\"a\":1}\n\n   \n{\"a\":2}\r\n{\"a\":3}", body_format::ndjson);
    ASSERT_FALSE(r.error) << r.error->message;
    ASSERT_EQ(r.items.size(), 3u);
    EXPECT_EQ(r.items[0].index, 0u);
    EXPECT_EQ(r.items[1].index, 3u);
    EXPECT_EQ(r.items[2].index, 4u);
    EXPECT_EQ(r.items[2].value.at("a").as_int64(), 3);
}

TEST(Decode, ndjson_malformed_line_names_the_line_and_body_offset) {
    std::string body = "{\"a\":1}\n{\"a\":2}\n{\"a\":}\n";
    auto r = decode_body(body, body_format::ndjson);
    ASSERT_TRUE(r.error);
    EXPECT_EQ(r.error->line, 3u);
    EXPECT_EQ(r.error->offset, body.find("}\n", 16));  // the '}' where a value was expected
    EXPECT_NE(r.error->message.find("line 3"), std::string::npos) << r.error->message;
}

TEST(Decode, ndjson_line_with_two_values_is_malformed) {
    auto r = decode_body("{\"a\":1} {\"a\":2}\n", body_format::ndjson);
    ASSERT_TRUE(r.error);
    EXPECT_EQ(r.error->line, 1u);
}

TEST(Decode, event_limit_applies_to_arrays_and_ndjson) {
    std::string array = "[", ndjson;
    for (int i = 0; i < 5; ++i) {
        array += (i ? ",{}" : "{}");
        ndjson += "{}\n";
    }
    array += "]";
    EXPECT_FALSE(decode_body(array, body_format::json, 5).error);
    EXPECT_FALSE(decode_body(ndjson, body_format::ndjson, 5).error);
    auto a = decode_body(array, body_format::json, 4);
    ASSERT_TRUE(a.error);
    EXPECT_EQ(a.error->kind, decode_error::kind::too_many_events);
    auto n = decode_body(ndjson, body_format::ndjson, 4);
    ASSERT_TRUE(n.error);
    EXPECT_EQ(n.error->kind, decode_error::kind::too_many_events);
    EXPECT_TRUE(n.items.empty());
}

TEST(Decode, default_limit_is_10000_events) {
    std::string ndjson;
    for (int i = 0; i < 10'000; ++i) ndjson += "{}\n";
    EXPECT_FALSE(decode_body(ndjson, body_format::ndjson).error);
    ndjson += "{}\n";
    auto r = decode_body(ndjson, body_format::ndjson);
    ASSERT_TRUE(r.error);
    EXPECT_EQ(r.error->kind, decode_error::kind::too_many_events);
}

TEST(Decode, content_types) {
    EXPECT_EQ(format_of_content_type("application/json"), body_format::json);
    EXPECT_EQ(format_of_content_type("Application/JSON; charset=utf-8"), body_format::json);
    EXPECT_EQ(format_of_content_type("application/x-ndjson"), body_format::ndjson);
    EXPECT_FALSE(format_of_content_type("text/plain"));
    EXPECT_FALSE(format_of_content_type(""));
    EXPECT_FALSE(format_of_content_type("application/jsonx"));
}
