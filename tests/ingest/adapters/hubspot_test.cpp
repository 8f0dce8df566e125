#include "ingest/adapters/hubspot.hpp"

#include "support.hpp"

#include <gtest/gtest.h>

namespace redflag::ingest::adapters {
namespace {

using namespace testing;
namespace json = boost::json;

const std::string secret = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy";
constexpr std::int64_t sent_ms = 1772445610000;  // 2026-03-02T10:00:10Z
const timestamp now = from_millis(sent_ms + 20'000);

// base64(HMAC-SHA256(method + uri + body + timestamp)) under the app's client secret.
fake_request signed_request(const std::string& body, const std::string& uri, const std::string& key = secret,
                            std::int64_t ms = sent_ms) {
    fake_request r;
    r.body = body;
    r.target = "/v1/hooks/hubspot?portal=62515";
    r.set("Host", "cs.example.com");
    r.set("X-Forwarded-Proto", "https");
    r.set("X-HubSpot-Request-Timestamp", std::to_string(ms));
    r.set("X-HubSpot-Signature-v3",
          openssl_base64(openssl_hmac(EVP_sha256(), key, "POST" + uri + body + std::to_string(ms))));
    return r;
}

hook_result run(const fake_request& r, adapter_config c = {}, timestamp at = now) {
    c.vendor = "hubspot";
    c.secret = secret;
    c.owners = {{"482915207", owner{"Maya Lind", "maya@ourco.example"}}};
    return hubspot_adapter(c).handle(r.view(), at);
}

const std::string uri = "https://cs.example.com/v1/hooks/hubspot?portal=62515";

TEST(HubSpotAdapter, company_property_changes_become_account_fields) {
    auto r = run(signed_request(sample("hubspot/company.propertyChange.json"), uri));
    ASSERT_EQ(r.status, hook_result::status::ok) << r.message;
    ASSERT_EQ(r.events.size(), 6u);
    const auto& owner = r.events[0].mapped.at(0).body;
    EXPECT_EQ(owner.at("type"), "account");
    EXPECT_EQ(owner.at("id"), "hubspot:1861043012");
    EXPECT_EQ(owner.at("csm"), "Maya Lind");
    EXPECT_EQ(owner.at("csm_email"), "maya@ourco.example");
    EXPECT_EQ(owner.at("external_ids"), (json::object{{"hubspot", "8793213140"}}));
    EXPECT_EQ(owner.at("at"), "2026-03-02T10:00:01Z");
    EXPECT_EQ(*r.events[0].mapped[0].customer, (customer_ref{"hubspot", "company", "8793213140"}));
    EXPECT_EQ(r.events[1].mapped.at(0).body.at("attributes"), (json::object{{"renewal_date", "2027-03-02T00:00:00Z"}}));
    EXPECT_EQ(r.events[2].mapped.at(0).body.at("attributes"), (json::object{{"lifecycle_stage", "customer"}}));
    EXPECT_EQ(r.events[3].mapped.at(0).body.at("segment"), "Enterprise");
    EXPECT_TRUE(r.events[4].mapped.empty());  // hs_lastmodifieddate: not mapped
    EXPECT_TRUE(r.events[5].mapped.empty());  // a contact
}

TEST(HubSpotAdapter, configured_properties_and_creation) {
    adapter_config c;
    c.properties = {{"segment", "plan"}};
    auto r = run(signed_request(sample("hubspot/company.propertyChange.json"), uri), c);
    ASSERT_EQ(r.status, hook_result::status::ok) << r.message;
    EXPECT_EQ(r.events[3].mapped.at(0).body.at("plan"), "Enterprise");
    auto created = run(signed_request(sample("hubspot/company.creation.json"), uri));
    ASSERT_EQ(created.status, hook_result::status::ok) << created.message;
    EXPECT_EQ(only_event(created).at("external_ids"), (json::object{{"hubspot", "8793213140"}}));
}

TEST(HubSpotAdapter, the_signed_uri_is_rebuilt_from_the_proxy_headers_or_public_url) {
    const auto body = sample("hubspot/company.creation.json");
    // Signed for http://: the proxy said https, so the rebuilt URI differs.
    EXPECT_EQ(run(signed_request(body, "http://cs.example.com/v1/hooks/hubspot?portal=62515")).status,
              hook_result::status::unauthorized);
    adapter_config c;
    c.public_url = "https://hooks.ourco.example/redflag/hubspot";
    EXPECT_EQ(run(signed_request(body, "https://hooks.ourco.example/redflag/hubspot?portal=62515"), c).status,
              hook_result::status::ok);
    // HubSpot decodes %3A and the like before signing.
    fake_request encoded;
    encoded.target = "/v1/hooks/hubspot?from=a%3Ab";
    encoded.set("Host", "cs.example.com");
    EXPECT_EQ(hubspot_signed_uri(encoded.view(), ""), "http://cs.example.com/v1/hooks/hubspot?from=a:b");
}

TEST(HubSpotAdapter, missing_wrong_and_stale_signatures_are_unauthorized) {
    const auto body = sample("hubspot/company.creation.json");
    fake_request none;
    none.body = body;
    EXPECT_EQ(run(none).status, hook_result::status::unauthorized);
    EXPECT_EQ(run(signed_request(body, uri, "another-secret")).status, hook_result::status::unauthorized);
    auto stale = run(signed_request(body, uri, secret, sent_ms - 6 * 60'000));
    EXPECT_EQ(stale.status, hook_result::status::unauthorized);
}

TEST(HubSpotAdapter, a_bad_value_names_the_event_and_field) {
    auto body = json::parse(sample("hubspot/company.propertyChange.json"));
    body.as_array()[0].as_object()["propertyName"] = "numberofemployees";
    body.as_array()[0].as_object()["propertyValue"] = "a lot";
    auto r = run(signed_request(json::serialize(body), uri));
    ASSERT_EQ(r.status, hook_result::status::bad_request);
    EXPECT_EQ(r.field, "[0].propertyValue");
}

}  // namespace
}  // namespace redflag::ingest::adapters
