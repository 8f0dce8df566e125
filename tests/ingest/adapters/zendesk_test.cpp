#include "ingest/adapters/zendesk.hpp"

#include "support.hpp"

#include <gtest/gtest.h>

namespace redflag::ingest::adapters {
namespace {

using namespace testing;
namespace json = boost::json;

const std::string secret = "dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ==";
const std::string stamp = "2026-03-02T10:00:01Z";
const timestamp now = *parse_rfc3339("2026-03-02T10:00:30Z");

// base64(HMAC-SHA256(TIMESTAMP + BODY)), as Zendesk documents it.
fake_request signed_request(const std::string& body, const std::string& ts = stamp, const std::string& key = secret) {
    fake_request r;
    r.body = body;
    r.set("X-Zendesk-Webhook-Signature-Timestamp", ts);
    r.set("X-Zendesk-Webhook-Signature", openssl_base64(openssl_hmac(EVP_sha256(), key, ts + body)));
    return r;
}

hook_result run(const fake_request& r, timestamp at = now) {
    adapter_config c;
    c.vendor = "zendesk";
    c.secret = secret;
    return zendesk_adapter(c).handle(r.view(), at);
}

TEST(ZendeskAdapter, ticket_created_maps_status_and_priority_to_the_spec_sets) {
    auto r = run(signed_request(sample("zendesk/ticket.created.json")));
    ASSERT_EQ(r.status, hook_result::status::ok) << r.message;
    const auto& e = only_event(r);
    EXPECT_EQ(e.at("type"), "ticket");
    EXPECT_EQ(e.at("id"), "zendesk:cbe4028c-7239-495d-b020-f22348516046");
    EXPECT_EQ(e.at("ticket_id"), "35436");
    EXPECT_EQ(e.at("status"), "open");  // NEW
    EXPECT_EQ(e.at("priority"), "urgent");
    EXPECT_EQ(e.at("subject"), "Exports time out");
    EXPECT_EQ(e.at("at"), "2026-03-02T10:00:00.672Z");
    EXPECT_EQ(*r.events[0].mapped[0].customer, (customer_ref{"zendesk", "organization", "10002"}));
}

TEST(ZendeskAdapter, status_and_priority_changes_carry_the_current_state) {
    auto status = run(signed_request(sample("zendesk/ticket.status_changed.json")));
    ASSERT_EQ(status.status, hook_result::status::ok) << status.message;
    EXPECT_EQ(only_event(status).at("status"), "pending");
    auto priority = run(signed_request(sample("zendesk/ticket.priority_changed.json")));
    ASSERT_EQ(priority.status, hook_result::status::ok) << priority.message;
    EXPECT_EQ(only_event(priority).at("priority"), "high");
    auto comment = run(signed_request(sample("zendesk/ticket.comment_added.json")));
    ASSERT_EQ(comment.status, hook_result::status::ok);
    EXPECT_TRUE(comment.events.at(0).mapped.empty());
}

TEST(ZendeskAdapter, hold_is_pending_and_a_ticket_without_organization_names_its_requester) {
    auto body = json::parse(sample("zendesk/ticket.created.json"));
    auto& detail = body.at("detail").as_object();
    detail["status"] = "HOLD";
    detail["priority"] = nullptr;
    detail["organization_id"] = nullptr;
    auto r = run(signed_request(json::serialize(body)));
    ASSERT_EQ(r.status, hook_result::status::ok) << r.message;
    EXPECT_EQ(only_event(r).at("status"), "pending");
    EXPECT_EQ(only_event(r).at("priority"), "normal");
    EXPECT_EQ(*r.events[0].mapped[0].customer, (customer_ref{"zendesk", "user", "8447388090494"}));
}

TEST(ZendeskAdapter, missing_wrong_and_stale_signatures_are_unauthorized) {
    const auto body = sample("zendesk/ticket.created.json");
    fake_request none;
    none.body = body;
    EXPECT_EQ(run(none).status, hook_result::status::unauthorized);
    EXPECT_EQ(run(signed_request(body, stamp, "another secret")).status, hook_result::status::unauthorized);
    auto moved = signed_request(body);
    moved.set("X-Zendesk-Webhook-Signature-Timestamp", "2026-03-02T10:00:02Z");  // timestamp is signed too
    EXPECT_EQ(run(moved).status, hook_result::status::unauthorized);
    EXPECT_EQ(run(signed_request(body), now + 6 * minute).status, hook_result::status::unauthorized);
}

TEST(ZendeskAdapter, a_bad_status_names_the_field) {
    auto body = json::parse(sample("zendesk/ticket.created.json"));
    body.at("detail").as_object()["status"] = "ARCHIVED";
    auto r = run(signed_request(json::serialize(body)));
    ASSERT_EQ(r.status, hook_result::status::bad_request);
    EXPECT_EQ(r.field, "detail.status");
}

}  // namespace
}  // namespace redflag::ingest::adapters
