#include "ingest/adapters/external_id_index.hpp"

#include "ingest/adapters/hook_codec.hpp"
#include "store_fixture.hpp"

#include <gtest/gtest.h>

using namespace redflag;
using namespace redflag::ingest::adapters;
namespace json = boost::json;

namespace {

model::event account_event(std::string account, json::object external_ids) {
    model::event e;
    e.type = model::event_type::account;
    e.account = std::move(account);
    e.id = "e-" + e.account;
    e.fields = json::object{{"name", "Acme"}, {"external_ids", std::move(external_ids)}};
    return e;
}

class ExternalIdIndex : public redflag::ingest::adapters::testing::StoreFixture {};

}  // namespace

TEST_F(ExternalIdIndex, a_mapping_is_known_once_its_batch_is_committed_and_survives_a_restart) {
    external_id_index index(2);
    std::vector<external_id_index::mapping> heard;
    index.set_listener([&](const auto& m) { heard.insert(heard.end(), m.begin(), m.end()); });
    store::write_batch batch(*store_);
    index.staged(1, account_event("acme", {{"stripe", "cus_1"}, {"hubspot", "877"}}), batch);
    EXPECT_EQ(batch.count(), 2u);  // the mappings go with the event's batch
    const customer_ref stripe{"stripe", "customer", "cus_1"};
    EXPECT_FALSE(index.resolve(stripe)) << "not durable yet";
    ASSERT_TRUE(store_->write(batch).ok());
    index.committed(1);
    EXPECT_EQ(index.resolve(stripe), "acme");
    EXPECT_EQ(index.resolve({"hubspot", "company", "877"}), "acme");
    EXPECT_FALSE(index.resolve({"zendesk", "organization", "cus_1"}));
    ASSERT_EQ(heard.size(), 2u);
    EXPECT_EQ(heard[0].vendor, "stripe");
    EXPECT_EQ(heard[0].customer, "cus_1");
    EXPECT_EQ(heard[0].account, "acme");

    reopen();
    external_id_index loaded(2);
    ASSERT_TRUE(loaded.load(*store_).ok());
    EXPECT_EQ(loaded.size(), 2u);
    EXPECT_EQ(loaded.resolve(stripe), "acme");
}

TEST_F(ExternalIdIndex, a_discarded_round_teaches_nothing_and_other_shards_keep_their_staging) {
    external_id_index index(2);
    store::write_batch a(*store_), b(*store_);
    index.staged(0, account_event("acme", {{"stripe", "cus_1"}}), a);
    index.staged(1, account_event("beta", {{"stripe", "cus_2"}}), b);
    index.discarded(0);
    index.committed(0);
    EXPECT_FALSE(index.resolve({"stripe", "customer", "cus_1"}));
    index.committed(1);
    EXPECT_EQ(index.resolve({"stripe", "customer", "cus_2"}), "beta");
}

TEST_F(ExternalIdIndex, other_events_and_accounts_without_external_ids_add_nothing) {
    external_id_index index(1);
    store::write_batch batch(*store_);
    auto contract = account_event("acme", {{"stripe", "cus_1"}});
    contract.type = model::event_type::contract;
    index.staged(0, contract, batch);
    model::event plain;
    plain.account = "acme";
    index.staged(0, plain, batch);
    EXPECT_TRUE(batch.empty());
}

TEST_F(ExternalIdIndex, the_latest_mapping_of_a_customer_wins_and_people_are_found_by_their_user_key) {
    external_id_index index(1);
    store::write_batch batch(*store_);
    index.staged(0, account_event("acme", {{"stripe", "cus_1"}}), batch);
    index.committed(0);
    index.staged(0, account_event("acme-eu", {{"stripe", "cus_1"}, {"segment", "user:u7"}}), batch);
    index.committed(0);
    EXPECT_EQ(index.resolve({"stripe", "customer", "cus_1"}), "acme-eu");
    EXPECT_EQ(index.resolve({"segment", "user", "u7"}), "acme-eu");
    EXPECT_FALSE(index.resolve({"segment", "group", "u7"}));
}

TEST_F(ExternalIdIndex, resolution_asks_the_config_first_then_the_index) {
    adapter_config stripe;
    stripe.vendor = "stripe";
    stripe.accounts = {{"cus_1", "from-config"}};
    config_resolver config({{"stripe", stripe}});
    external_id_index index(1);
    store::write_batch batch(*store_);
    index.staged(0, account_event("from-index", {{"stripe", "cus_1"}}), batch);
    index.staged(0, account_event("other", {{"stripe", "cus_2"}}), batch);
    index.committed(0);
    first_of resolver({&config, &index});
    EXPECT_EQ(resolver.resolve({"stripe", "customer", "cus_1"}), "from-config");
    EXPECT_EQ(resolver.resolve({"stripe", "customer", "cus_2"}), "other");
    EXPECT_FALSE(resolver.resolve({"stripe", "customer", "cus_3"}));

    // An event the payload names the account of keeps it (Stripe metadata redflag_account).
    hook_result r;
    r.events.push_back({"evt_1", "customer.subscription.updated", {}, ""});
    r.events[0].mapped.push_back({json::object{{"account", "named"}}, customer_ref{"stripe", "customer", "cus_2"}});
    r.events[0].mapped.push_back({json::object{}, customer_ref{"stripe", "customer", "cus_2"}});
    r.events[0].mapped.push_back({json::object{}, customer_ref{"stripe", "customer", "cus_3"}});
    auto unresolved = resolve_accounts(r, resolver);
    EXPECT_EQ(r.events[0].mapped[0].body.at("account"), "named");
    EXPECT_EQ(r.events[0].mapped[1].body.at("account"), "other");
    ASSERT_EQ(unresolved.size(), 1u);
    EXPECT_EQ(unresolved[0].id, "cus_3");
}
