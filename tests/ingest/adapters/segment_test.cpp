#include "ingest/adapters/segment.hpp"

#include "ingest/adapters/native.hpp"
#include "support.hpp"

#include <gtest/gtest.h>

namespace redflag::ingest::adapters {
namespace {

using namespace testing;
namespace json = boost::json;

const std::string secret = "segment-shared-secret";
const timestamp now = *parse_rfc3339("2026-03-02T10:10:00Z");

// X-Signature: hex HMAC-SHA1 of the body under the shared secret.
fake_request signed_request(const std::string& body, const std::string& key = secret) {
    fake_request r;
    r.body = body;
    r.set("X-Signature", openssl_hex(openssl_hmac(EVP_sha1(), key, body)));
    return r;
}

hook_result run(const fake_request& r, adapter_config c = {}) {
    c.vendor = "segment";
    c.secret = secret;
    return segment_adapter(c).handle(r.view(), now);
}

TEST(SegmentAdapter, track_becomes_usage_with_a_normalised_or_mapped_metric) {
    auto r = run(signed_request(sample("segment/track.json")));
    ASSERT_EQ(r.status, hook_result::status::ok) << r.message;
    const auto& e = only_event(r);
    EXPECT_EQ(e.at("type"), "usage");
    EXPECT_EQ(e.at("metric"), "report_built");
    EXPECT_EQ(e.at("value"), 1);
    EXPECT_EQ(e.at("user_id"), "u-1001");
    EXPECT_EQ(e.at("id"), "segment:ajs-next-1772445600000-4d0c7ae0-9a3f-4bd1-8f5e-1d2c3b4a5f60");
    EXPECT_EQ(e.at("at"), "2026-03-02T10:00:00.390Z");
    EXPECT_EQ(*r.events[0].mapped[0].customer, (customer_ref{"segment", "group", "acme"}));

    adapter_config c;
    c.metrics = {{"Report Built", "reports"}};
    EXPECT_EQ(only_event(run(signed_request(sample("segment/track.json")), c)).at("metric"), "reports");
    EXPECT_EQ(snake_name("  API   Call--made! "), "api_call_made");
}

TEST(SegmentAdapter, identify_becomes_a_user_with_the_configured_role_trait) {
    auto r = run(signed_request(sample("segment/identify.json")));
    ASSERT_EQ(r.status, hook_result::status::ok) << r.message;
    const auto& e = only_event(r);
    EXPECT_EQ(e.at("type"), "user");
    EXPECT_EQ(e.at("user_id"), "u-1001");
    EXPECT_EQ(e.at("email"), "peter@acme.example");
    EXPECT_EQ(e.at("name"), "Peter Gibbons");
    EXPECT_EQ(e.at("role"), "admin");
    adapter_config c;
    c.role_trait = "title";
    EXPECT_FALSE(only_event(run(signed_request(sample("segment/identify.json")), c)).contains("role"));
}

TEST(SegmentAdapter, group_becomes_an_account_with_external_ids) {
    auto r = run(signed_request(sample("segment/group.json")));
    ASSERT_EQ(r.status, hook_result::status::ok) << r.message;
    const auto& e = only_event(r);
    EXPECT_EQ(e.at("type"), "account");
    EXPECT_EQ(e.at("name"), "Acme Corp");
    EXPECT_EQ(e.at("plan"), "Enterprise");
    EXPECT_EQ(e.at("seats"), 25);
    EXPECT_EQ(e.at("employees"), 420);
    EXPECT_EQ(e.at("external_ids"), (json::object{{"segment", "acme"}}));
    EXPECT_EQ(*r.events[0].mapped[0].customer, (customer_ref{"segment", "group", "acme"}));

    auto body = json::parse(sample("segment/group.json"));
    body.at("traits").as_object()["seats"] = "many";
    auto bad = run(signed_request(json::serialize(body)));
    ASSERT_EQ(bad.status, hook_result::status::bad_request);
    EXPECT_EQ(bad.field, "traits.seats");
}

TEST(SegmentAdapter, pages_and_batches) {
    auto page = run(signed_request(sample("segment/page.json")));
    ASSERT_EQ(page.status, hook_result::status::ok);
    EXPECT_TRUE(page.events.at(0).mapped.empty());
    auto batch = run(signed_request("[" + sample("segment/track.json") + "]"));
    EXPECT_EQ(batch.status, hook_result::status::bad_request);
}

TEST(SegmentAdapter, missing_or_wrong_signature_is_unauthorized) {
    const auto body = sample("segment/track.json");
    fake_request none;
    none.body = body;
    EXPECT_EQ(run(none).status, hook_result::status::unauthorized);
    EXPECT_EQ(run(signed_request(body, "wrong")).status, hook_result::status::unauthorized);
    // SHA-256 where Segment uses SHA-1 is wrong too.
    fake_request sha256;
    sha256.body = body;
    sha256.set("X-Signature", openssl_hex(openssl_hmac(EVP_sha256(), secret, body)));
    EXPECT_EQ(run(sha256).status, hook_result::status::unauthorized);
}

}  // namespace
}  // namespace redflag::ingest::adapters
