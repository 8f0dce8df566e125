#include "cluster/lease_plan.hpp"

#include <gtest/gtest.h>

#include <numeric>

using namespace redflag::cluster;

TEST(LeasePlan, targets_differ_by_at_most_one_and_cover_every_partition) {
    EXPECT_EQ(lease_target(64, {"a", "b"}, "a"), 32);
    EXPECT_EQ(lease_target(64, {"a", "b"}, "b"), 32);
    // 64 = 22 + 21 + 21: the first member by name takes the remainder.
    EXPECT_EQ(lease_target(64, {"a", "b", "c"}, "a"), 22);
    EXPECT_EQ(lease_target(64, {"a", "b", "c"}, "b"), 21);
    EXPECT_EQ(lease_target(64, {"a", "b", "c"}, "c"), 21);
    for (int n = 1; n <= 10; ++n) {
        std::set<std::string> members;
        for (int i = 0; i < n; ++i) members.insert("node-" + std::to_string(i));
        int sum = 0, lo = 1000, hi = 0;
        for (const auto& m : members) {
            int t = lease_target(64, members, m);
            sum += t, lo = std::min(lo, t), hi = std::max(hi, t);
        }
        EXPECT_EQ(sum, 64) << n;
        EXPECT_LE(hi - lo, 1) << n;
    }
    // More members than partitions: some hold none.
    EXPECT_EQ(lease_target(2, {"a", "b", "c"}, "c"), 0);
}

TEST(LeasePlan, an_instance_counts_itself_when_its_heartbeat_is_not_yet_read) {
    EXPECT_EQ(lease_target(64, {"a"}, "b"), 32);
    EXPECT_EQ(lease_target(64, {}, "b"), 64);
}

TEST(LeasePlan, below_target_it_claims_free_partitions_nearest_its_home) {
    const int home = home_partition("a", 8);
    std::set<int> held{(home + 1) % 8};  // the next one is someone else's
    auto plan = plan_leases(8, {"a", "b"}, "a", {}, held);
    EXPECT_TRUE(plan.release.empty());
    std::vector<int> expected{home, (home + 2) % 8, (home + 3) % 8, (home + 4) % 8};
    EXPECT_EQ(plan.claim, expected);
}

TEST(LeasePlan, above_target_it_releases_the_partitions_furthest_from_home) {
    const int home = home_partition("a", 8);
    std::set<int> all{0, 1, 2, 3, 4, 5, 6, 7};
    auto plan = plan_leases(8, {"a", "b"}, "a", all, all);  // b joined
    EXPECT_TRUE(plan.claim.empty());
    std::vector<int> expected{(home + 7) % 8, (home + 6) % 8, (home + 5) % 8, (home + 4) % 8};
    EXPECT_EQ(plan.release, expected);
}

TEST(LeasePlan, at_target_or_with_nothing_free_it_does_nothing) {
    auto at_target = plan_leases(4, {"a", "b"}, "a", {0, 1}, {0, 1, 2, 3});
    EXPECT_TRUE(at_target.claim.empty());
    EXPECT_TRUE(at_target.release.empty());
    auto nothing_free = plan_leases(4, {"a", "b"}, "a", {0}, {0, 1, 2, 3});
    EXPECT_TRUE(nothing_free.claim.empty());
    EXPECT_TRUE(nothing_free.release.empty());
}
