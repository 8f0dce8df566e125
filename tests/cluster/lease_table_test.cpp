#include "cluster/lease_table.hpp"

#include "nats_harness.hpp"

#include <gtest/gtest.h>

using namespace redflag;
using namespace redflag::cluster;
using namespace redflag::cluster::testing;

namespace {

struct single_server : ::testing::Test {
    nats_cluster servers{1};
    options o = servers.cluster_options("a", 8);
    std::unique_ptr<connection> conn;
    std::unique_ptr<lease_table> table;

    void SetUp() override {
        o.lease_ttl = std::chrono::milliseconds(1000);
        auto c = connection::open(o);
        ASSERT_TRUE(c.ok()) << c.error().message();
        conn = std::move(*c);
        auto t = lease_table::open(*conn, o);
        ASSERT_TRUE(t.ok()) << t.error().message();
        table = std::move(*t);
    }
};

using LeaseTable = single_server;

}  // namespace

TEST_F(LeaseTable, a_lease_is_claimed_once_and_renewed_only_against_its_last_revision) {
    auto rev = table->claim(3, "a");
    ASSERT_TRUE(rev.ok()) << rev.error().message();
    auto other = table->claim(3, "b");
    ASSERT_FALSE(other.ok());
    EXPECT_EQ(other.error().error_code(), status::code::conflict) << other.error().message();

    auto renewed = table->renew(3, "a", *rev);
    ASSERT_TRUE(renewed.ok()) << renewed.error().message();
    EXPECT_GT(*renewed, *rev);
    auto stale = table->renew(3, "a", *rev);
    ASSERT_FALSE(stale.ok());
    EXPECT_EQ(stale.error().error_code(), status::code::conflict) << stale.error().message();

    auto held = table->holders();
    ASSERT_TRUE(held.ok()) << held.error().message();
    ASSERT_EQ(held->size(), 1u);
    EXPECT_EQ(held->at(3).node, "a");
    EXPECT_EQ(held->at(3).revision, *renewed);
}

TEST_F(LeaseTable, release_needs_the_current_revision_and_frees_the_partition) {
    auto rev = table->claim(5, "a");
    ASSERT_TRUE(rev.ok()) << rev.error().message();
    auto renewed = table->renew(5, "a", *rev);
    ASSERT_TRUE(renewed.ok());
    // An instance that missed a renewal cannot delete what is now someone else's state.
    auto stale = table->release(5, *rev);
    EXPECT_EQ(stale.error_code(), status::code::conflict) << stale.message();
    ASSERT_EQ(table->holders()->count(5), 1u);

    ASSERT_TRUE(table->release(5, *renewed).ok());
    EXPECT_EQ(table->holders()->count(5), 0u);
    auto again = table->claim(5, "b");  // over the delete marker
    ASSERT_TRUE(again.ok()) << again.error().message();
    EXPECT_EQ(table->holders()->at(5).node, "b");
}

TEST_F(LeaseTable, a_lease_not_renewed_lapses_after_the_ttl_and_can_be_claimed_by_another) {
    auto rev = table->claim(1, "a");
    ASSERT_TRUE(rev.ok());
    auto t0 = std::chrono::steady_clock::now();
    ASSERT_TRUE(eventually([&] { return table->holders()->count(1) == 0; }, std::chrono::milliseconds(5000)));
    auto lapsed_after = std::chrono::steady_clock::now() - t0;
    EXPECT_GE(lapsed_after, std::chrono::milliseconds(900));  // not before the TTL
    auto other = table->claim(1, "b");
    ASSERT_TRUE(other.ok()) << other.error().message();
    auto late = table->renew(1, "a", *rev);
    EXPECT_EQ(late.error().error_code(), status::code::conflict);
}

TEST_F(LeaseTable, heartbeats_list_live_members_until_they_leave_or_lapse) {
    ASSERT_TRUE(table->heartbeat("a", "http://127.0.0.1:8081").ok());
    ASSERT_TRUE(table->heartbeat("b", "http://127.0.0.1:8082").ok());
    auto m = table->members();
    ASSERT_TRUE(m.ok()) << m.error().message();
    ASSERT_EQ(m->size(), 2u);
    EXPECT_EQ(m->at("a"), "http://127.0.0.1:8081");
    ASSERT_TRUE(table->leave("b").ok());
    EXPECT_EQ(table->members()->count("b"), 0u);
    EXPECT_TRUE(eventually([&] { return table->members()->empty(); }, std::chrono::milliseconds(5000)));
}
