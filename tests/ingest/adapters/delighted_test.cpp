#include "ingest/adapters/delighted.hpp"

#include "support.hpp"

#include <gtest/gtest.h>

namespace redflag::ingest::adapters {
namespace {

using namespace testing;
namespace json = boost::json;

const std::string api_key = "delighted-project-api-key";
const timestamp now = *parse_rfc3339("2026-03-02T12:00:00Z");

// X-Delighted-Webhook-Signature: "sha256=" + hex HMAC-SHA256 of the body under the API key.
fake_request signed_request(const std::string& body, const std::string& key = api_key) {
    fake_request r;
    r.body = body;
    r.set("X-Delighted-Webhook-Signature", "sha256=" + openssl_hex(openssl_hmac(EVP_sha256(), key, body)));
    return r;
}

hook_result run(const fake_request& r) {
    adapter_config c;
    c.vendor = "delighted";
    c.secret = api_key;
    return delighted_adapter(c).handle(r.view(), now);
}

TEST(DelightedAdapter, an_nps_answer_becomes_nps_keyed_by_the_response) {
    auto r = run(signed_request(sample("delighted/survey_response.created.json")));
    ASSERT_EQ(r.status, hook_result::status::ok) << r.message;
    const auto& e = only_event(r);
    EXPECT_EQ(e.at("type"), "nps");
    EXPECT_EQ(e.at("score"), 3);
    EXPECT_EQ(e.at("account"), "acme");  // person_properties.account
    EXPECT_EQ(e.at("respondent"), "peter@acme.example");
    EXPECT_EQ(e.at("id"), "delighted:5435");
    EXPECT_FALSE(e.contains("comment"));
    // The update that adds the comment has the same id: the answer counts once.
    auto updated = run(signed_request(sample("delighted/survey_response.updated.json")));
    ASSERT_EQ(updated.status, hook_result::status::ok);
    EXPECT_EQ(only_event(updated).at("id"), "delighted:5435");
    EXPECT_EQ(only_event(updated).at("comment"), "Exports keep timing out");
}

TEST(DelightedAdapter, csat_and_unsubscribes) {
    auto csat = run(signed_request(sample("delighted/survey_response.created.csat.json")));
    ASSERT_EQ(csat.status, hook_result::status::ok) << csat.message;
    EXPECT_EQ(only_event(csat).at("type"), "csat");
    EXPECT_EQ(only_event(csat).at("score"), 2);
    auto unsubscribe = run(signed_request(sample("delighted/unsubscribe.created.json")));
    ASSERT_EQ(unsubscribe.status, hook_result::status::ok);
    EXPECT_TRUE(unsubscribe.events.at(0).mapped.empty());

    auto body = json::parse(sample("delighted/survey_response.created.csat.json"));
    body.at("event_data").as_object()["score"] = 9;  // CSAT is 1..5
    auto bad = run(signed_request(json::serialize(body)));
    ASSERT_EQ(bad.status, hook_result::status::bad_request);
    EXPECT_EQ(bad.field, "event_data.score");
}

TEST(DelightedAdapter, missing_or_wrong_signature_is_unauthorized) {
    const auto body = sample("delighted/survey_response.created.json");
    fake_request none;
    none.body = body;
    EXPECT_EQ(run(none).status, hook_result::status::unauthorized);
    EXPECT_EQ(run(signed_request(body, "another key")).status, hook_result::status::unauthorized);
    auto bare = signed_request(body);
    bare.set("X-Delighted-Webhook-Signature", std::string(bare.view().header("X-Delighted-Webhook-Signature")).substr(7));
    EXPECT_EQ(run(bare).status, hook_result::status::unauthorized);
}

}  // namespace
}  // namespace redflag::ingest::adapters
