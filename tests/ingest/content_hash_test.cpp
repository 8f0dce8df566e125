#include "ingest/content_hash.hpp"
#include "ingest/validate.hpp"

#include <gtest/gtest.h>

using namespace redflag;
using namespace redflag::ingest;

namespace {

const timestamp received = *parse_rfc3339("2026-11-02T12:00:00Z");

std::string id_of(std::string_view body, timestamp at = received) {
    auto decoded = decode_body(body, body_format::json);
    EXPECT_FALSE(decoded.error);
    auto r = validate(std::move(decoded.items), at);
    EXPECT_TRUE(r.ok());
    return r.events.empty() ? std::string() : r.events[0].id;
}

}  // namespace

TEST(ContentHash, sha256_of_abc) {
    EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(ContentHash, canonical_form_orders_common_fields_then_sorted_members) {
    model::event e;
    e.type = model::event_type::usage;
    e.account = "acme";
    e.at = *parse_rfc3339("2026-11-02T09:00:00+01:00");
    e.fields = {{"value", 2}, {"metric", "logins"}, {"extra", {{"z", 1}, {"a", "x"}}}};
    EXPECT_EQ(canonical_content(e, true),
              R"({"type":"usage","account":"acme","at":"2026-11-02T08:00:00Z","extra":{"a":"x","z":1},"metric":"logins","value":2})");
    EXPECT_EQ(canonical_content(e, false), R"({"type":"usage","account":"acme","extra":{"a":"x","z":1},"metric":"logins","value":2})");
    EXPECT_EQ(content_id(e, true), "h:" + sha256_hex(canonical_content(e, true)));
}

TEST(ContentHash, redelivery_gets_the_same_id) {
    const std::string body = R"({"type": "usage", "account": "acme", "at": "2026-11-02T09:00:00Z", "metric": "logins", "value": 3})";
    EXPECT_EQ(id_of(body), id_of(body));
    // Without `at`, the receive time is not part of the hash: a redelivery later is still recognised.
    const std::string no_at = R"({"type": "usage", "account": "acme", "metric": "logins"})";
    EXPECT_EQ(id_of(no_at, received), id_of(no_at, received + hour));
}

TEST(ContentHash, member_order_and_whitespace_do_not_matter) {
    EXPECT_EQ(id_of(R"({"type":"usage","account":"acme","metric":"logins","value":3,"x":{"b":1,"a":2}})"),
              id_of(R"({ "x": {"a": 2, "b": 1}, "value": 3, "metric": "logins", "account": "acme", "type": "usage" })"));
}

TEST(ContentHash, any_change_of_content_changes_the_id) {
    const std::string base = id_of(R"({"type": "usage", "account": "acme", "at": "2026-11-02T09:00:00Z", "metric": "logins", "value": 3})");
    EXPECT_NE(base, id_of(R"({"type": "usage", "account": "acme", "at": "2026-11-02T09:00:00Z", "metric": "logins", "value": 4})"));
    EXPECT_NE(base, id_of(R"({"type": "usage", "account": "acme2", "at": "2026-11-02T09:00:00Z", "metric": "logins", "value": 3})"));
    EXPECT_NE(base, id_of(R"({"type": "usage", "account": "acme", "at": "2026-11-02T09:00:01Z", "metric": "logins", "value": 3})"));
    EXPECT_NE(base, id_of(R"({"type": "usage", "account": "acme", "metric": "logins", "value": 3})"));
    EXPECT_NE(base, id_of(R"({"type": "usage", "account": "acme", "at": "2026-11-02T09:00:00Z", "metric": "logins", "value": 3, "note": "x"})"));
    EXPECT_NE(id_of(R"({"type": "nps", "account": "acme", "score": 3})"), id_of(R"({"type": "csat", "account": "acme", "score": 3})"));
}

TEST(ContentHash, sent_id_is_kept_verbatim) {
    EXPECT_EQ(id_of(R"({"type": "usage", "account": "acme", "metric": "logins", "id": "evt-1"})"), "evt-1");
}
