#include "ingest/adapters/stripe.hpp"

#include "ingest/adapters/account_resolver.hpp"
#include "ingest/adapters/canonical.hpp"
#include "support.hpp"

#include <gtest/gtest.h>

namespace redflag::ingest::adapters {
namespace {

using namespace testing;
namespace json = boost::json;

constexpr std::int64_t t_created = 1772445600;  // 2026-03-02T10:00:00Z, the sample's "created"
const std::string secret = "whsec_test_5WbX5kEWLlfzsGNjH64I8lOOqUB6e8FH";

adapter_config config() {
    adapter_config c;
    c.vendor = "stripe";
    c.secret = secret;
    c.products = {{"prod_PjT2Analytics", "analytics"}, {"price_1OtZ8kLkdIwHu7ixPlat01", "platform"}};
    c.seat_products = {"prod_PjT2Analytics"};
    return c;
}

// Signs the way Stripe documents: HMAC-SHA256 of "<t>.<body>", hex, in "t=...,v1=...".
fake_request signed_request(const std::string& body, std::int64_t t, const std::string& key = secret) {
    fake_request r;
    r.body = body;
    const std::string signed_payload = std::to_string(t) + "." + body;
    r.set("Stripe-Signature", "t=" + std::to_string(t) + ",v1=" + openssl_hex(openssl_hmac(EVP_sha256(), key, signed_payload)) +
                                  ",v0=6ffbb59b2300aae63f272406069a9788598b792a944a07aba816edb039989a39");
    return r;
}

hook_result run(const fake_request& r, std::int64_t now_s = t_created + 30, adapter_config c = config()) {
    return stripe_adapter(std::move(c)).handle(r.view(), from_millis(now_s * 1000));
}

TEST(StripeAdapter, subscription_created_becomes_a_contract_with_monthly_mrr) {
    auto r = run(signed_request(sample("stripe/customer.subscription.created.json"), t_created));
    ASSERT_EQ(r.status, hook_result::status::ok) << r.message;
    ASSERT_EQ(r.events.size(), 1u);
    EXPECT_EQ(r.events[0].id, "evt_1OtZ9wLkdIwHu7ixCreated1");
    const auto& e = only_event(r);
    EXPECT_EQ(e.at("type"), "contract");
    EXPECT_EQ(e.at("id"), "stripe:evt_1OtZ9wLkdIwHu7ixCreated1");
    EXPECT_EQ(e.at("at"), "2026-03-02T10:00:00Z");
    // 10 seats x $240.00 a year = $200 a month, plus the platform at $500 a month.
    EXPECT_DOUBLE_EQ(e.at("mrr").to_number<double>(), 700.0);
    EXPECT_EQ(e.at("status"), "active");
    EXPECT_EQ(e.at("seats"), 10);
    EXPECT_EQ(e.at("products"), (json::array{"analytics", "platform"}));
    EXPECT_EQ(e.at("renewal_at"), "2027-03-02T10:00:00Z");
    EXPECT_FALSE(e.contains("account"));
    ASSERT_TRUE(r.events[0].mapped[0].customer);
    EXPECT_EQ(*r.events[0].mapped[0].customer, (customer_ref{"stripe", "customer", "cus_PjT3Xc9hQz2kLm"}));
}

TEST(StripeAdapter, quantity_raised_then_cancel_requested_then_deleted) {
    auto up = run(signed_request(sample("stripe/customer.subscription.updated.json"), t_created + 20 * 86400),
                  t_created + 20 * 86400);
    ASSERT_EQ(up.status, hook_result::status::ok) << up.message;
    EXPECT_DOUBLE_EQ(only_event(up).at("mrr").to_number<double>(), 1000.0);  // 25 x 20 + 500
    EXPECT_EQ(only_event(up).at("seats"), 25);

    auto cancel = run(signed_request(sample("stripe/customer.subscription.updated.cancel_at_period_end.json"), t_created + 40 * 86400),
                      t_created + 40 * 86400);
    ASSERT_EQ(cancel.status, hook_result::status::ok) << cancel.message;
    EXPECT_EQ(only_event(cancel).at("status"), "cancel_requested");
    EXPECT_DOUBLE_EQ(only_event(cancel).at("mrr").to_number<double>(), 1000.0);

    auto gone = run(signed_request(sample("stripe/customer.subscription.deleted.json"), t_created + 60 * 86400),
                    t_created + 60 * 86400);
    ASSERT_EQ(gone.status, hook_result::status::ok) << gone.message;
    EXPECT_EQ(only_event(gone).at("status"), "churned");
    EXPECT_DOUBLE_EQ(only_event(gone).at("mrr").to_number<double>(), 0.0);
}

TEST(StripeAdapter, zero_decimal_currency_and_weekly_interval) {
    auto body = json::parse(sample("stripe/customer.subscription.created.json"));
    auto& sub = body.at("data").at("object").as_object();
    sub["currency"] = "jpy";
    auto& items = sub["items"].as_object()["data"].as_array();
    items.resize(1);
    auto& price = items[0].as_object()["price"].as_object();
    price["currency"] = "jpy";
    price["unit_amount"] = 1200;  // ¥1,200 a week: JPY has no minor unit
    price["recurring"].as_object()["interval"] = "week";
    items[0].as_object()["quantity"] = 1;
    auto c = config();
    c.currency = "jpy";
    auto r = run(signed_request(json::serialize(body), t_created), t_created + 30, c);
    ASSERT_EQ(r.status, hook_result::status::ok) << r.message;
    EXPECT_DOUBLE_EQ(only_event(r).at("mrr").to_number<double>(), 5200.0);  // 1200 x 52 / 12
    EXPECT_EQ(minor_units("JPY"), 1);
    EXPECT_EQ(minor_units("kwd"), 1000);
    EXPECT_EQ(minor_units("eur"), 100);
}

TEST(StripeAdapter, another_currency_needs_a_rate) {
    auto body = json::parse(sample("stripe/customer.subscription.created.json"));
    body.at("data").at("object").as_object()["currency"] = "eur";
    auto text = json::serialize(body);
    auto refused = run(signed_request(text, t_created));
    ASSERT_EQ(refused.status, hook_result::status::bad_request);
    EXPECT_EQ(refused.field, "data.object.currency");
    auto c = config();
    c.rates["eur"] = 1.5;
    auto converted = run(signed_request(text, t_created), t_created + 30, c);
    ASSERT_EQ(converted.status, hook_result::status::ok) << converted.message;
    EXPECT_DOUBLE_EQ(only_event(converted).at("mrr").to_number<double>(), 1050.0);
}

TEST(StripeAdapter, metadata_redflag_account_wins_and_customer_updates_carry_external_ids) {
    auto body = json::parse(sample("stripe/customer.subscription.created.json"));
    body.at("data").at("object").as_object()["metadata"] = json::object{{"redflag_account", "acme"}};
    auto r = run(signed_request(json::serialize(body), t_created));
    ASSERT_EQ(r.status, hook_result::status::ok) << r.message;
    EXPECT_EQ(only_event(r).at("account"), "acme");
    EXPECT_FALSE(r.events[0].mapped[0].customer);

    auto cust = run(signed_request(sample("stripe/customer.updated.json"), t_created + 60), t_created + 60);
    ASSERT_EQ(cust.status, hook_result::status::ok) << cust.message;
    EXPECT_EQ(only_event(cust).at("type"), "account");
    EXPECT_EQ(only_event(cust).at("account"), "acme");
    EXPECT_EQ(only_event(cust).at("external_ids"), (json::object{{"stripe", "cus_PjT3Xc9hQz2kLm"}}));
}

TEST(StripeAdapter, unmapped_types_are_ignored_not_errors) {
    auto r = run(signed_request(sample("stripe/invoice.paid.json"), t_created + 5), t_created + 5);
    ASSERT_EQ(r.status, hook_result::status::ok);
    ASSERT_EQ(r.events.size(), 1u);
    EXPECT_TRUE(r.events[0].mapped.empty());
    EXPECT_EQ(r.events[0].type, "invoice.paid");
}

TEST(StripeAdapter, missing_wrong_and_stale_signatures_are_unauthorized) {
    const auto body = sample("stripe/customer.subscription.created.json");
    fake_request none;
    none.body = body;
    EXPECT_EQ(run(none).status, hook_result::status::unauthorized);
    EXPECT_EQ(run(signed_request(body, t_created, "whsec_another")).status, hook_result::status::unauthorized);
    auto tampered = signed_request(body, t_created);
    tampered.body[tampered.body.size() - 3] = ' ';
    EXPECT_EQ(run(tampered).status, hook_result::status::unauthorized);
    // Signed 6 minutes before now: older than the 5-minute tolerance.
    auto stale = run(signed_request(body, t_created), t_created + 360);
    EXPECT_EQ(stale.status, hook_result::status::unauthorized);
    EXPECT_NE(stale.message.find("tolerance"), std::string::npos) << stale.message;
}

TEST(StripeAdapter, a_second_v1_signature_may_be_the_matching_one) {
    const auto body = sample("stripe/customer.subscription.created.json");
    auto r = signed_request(body, t_created);
    auto header = std::string(r.view().header("Stripe-Signature"));
    r.set("Stripe-Signature", "t=" + std::to_string(t_created) + ",v1=" + std::string(64, 'a') + "," + header.substr(header.find("v1=")));
    EXPECT_EQ(run(r).status, hook_result::status::ok);
}

TEST(StripeAdapter, a_malformed_payload_names_the_native_field) {
    auto body = json::parse(sample("stripe/customer.subscription.created.json"));
    body.at("data").at("object").at("items").at("data").as_array()[0].as_object().erase("quantity");
    auto r = run(signed_request(json::serialize(body), t_created));
    ASSERT_EQ(r.status, hook_result::status::bad_request);
    EXPECT_EQ(r.field, "data.object.items.data[0].quantity");

    auto not_json = run(signed_request("{\"id\": \"evt_1\",", t_created));
    ASSERT_EQ(not_json.status, hook_result::status::bad_request);
    EXPECT_NE(not_json.message.find("malformed JSON at byte"), std::string::npos);
}

TEST(StripeAdapter, mapped_events_pass_the_ingest_validator_once_resolved) {
    auto r = run(signed_request(sample("stripe/customer.subscription.created.json"), t_created));
    std::map<std::string, adapter_config> configs{{"stripe", config()}};
    configs["stripe"].accounts = {{"cus_PjT3Xc9hQz2kLm", "acme"}};
    config_resolver resolver(configs);
    EXPECT_TRUE(resolve_accounts(r, resolver).empty());
    auto batch = validate_mapped(r, from_millis(t_created * 1000));
    ASSERT_TRUE(batch.validated.ok()) << batch.validated.problems[0].field << ": " << batch.validated.problems[0].message;
    ASSERT_EQ(batch.validated.events.size(), 1u);
    EXPECT_EQ(batch.validated.events[0].account, "acme");
    EXPECT_EQ(batch.validated.events[0].id, "stripe:evt_1OtZ9wLkdIwHu7ixCreated1");
    EXPECT_EQ(batch.vendor_ids, (std::vector<std::string>{"evt_1OtZ9wLkdIwHu7ixCreated1"}));
}

}  // namespace
}  // namespace redflag::ingest::adapters
