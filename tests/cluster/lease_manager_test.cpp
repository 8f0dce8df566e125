#include "cluster/lease_manager.hpp"

#include "nats_harness.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

using namespace redflag;
using namespace redflag::cluster;
using namespace redflag::cluster::testing;

namespace {

using ms = std::chrono::milliseconds;

// Records what a lease manager told its owner, and checks the contract as it goes: no
// partition acquired twice, released or lost without being held.
class recording_listener final : public lease_listener {
public:
    void acquired(int p, std::uint64_t) override {
        std::lock_guard lock(mu_);
        if (!held_.insert(p).second) violations_.push_back("acquired " + std::to_string(p) + " twice");
        log_.push_back("acquired " + std::to_string(p));
    }
    void releasing(int p) override {
        std::this_thread::sleep_for(release_delay);  // stopping, flushing, snapshotting
        std::lock_guard lock(mu_);
        if (!held_.erase(p)) violations_.push_back("released " + std::to_string(p) + " without holding it");
        log_.push_back("releasing " + std::to_string(p));
    }
    void lost(int p) override {
        std::lock_guard lock(mu_);
        if (!held_.erase(p)) violations_.push_back("lost " + std::to_string(p) + " without holding it");
        log_.push_back("lost " + std::to_string(p));
    }
    std::set<int> held() const {
        std::lock_guard lock(mu_);
        return held_;
    }
    std::vector<std::string> violations() const {
        std::lock_guard lock(mu_);
        return violations_;
    }
    std::size_t count(const std::string& what) const {
        std::lock_guard lock(mu_);
        return std::count_if(log_.begin(), log_.end(), [&](const auto& l) { return l.rfind(what, 0) == 0; });
    }

    std::chrono::milliseconds release_delay{0};  // how long releasing() takes

private:
    mutable std::mutex mu_;
    std::set<int> held_;
    std::vector<std::string> log_;
    std::vector<std::string> violations_;
};

struct instance {
    options o;
    std::unique_ptr<connection> conn;
    recording_listener listener;
    std::unique_ptr<lease_manager> manager;

    instance(const nats_cluster& servers, const std::string& node) : o(servers.cluster_options(node)) {
        auto c = connection::open(o);
        if (!c) throw std::runtime_error(c.error().message());
        conn = std::move(*c);
        manager = std::make_unique<lease_manager>(*conn, o, listener);
    }
    void start() {
        auto st = manager->start();
        if (!st.ok()) throw std::runtime_error(st.message());
    }
};

// The leases as the bucket has them: partition → node.
std::map<int, std::string> bucket_owners(const nats_cluster& servers) {
    auto o = servers.cluster_options("observer");
    auto c = connection::open(o);
    if (!c) return {};
    auto t = lease_table::open(**c, o);
    if (!t) return {};
    auto h = (*t)->holders();
    std::map<int, std::string> out;
    if (h)
        for (const auto& [p, holder] : *h) out[p] = holder.node;
    return out;
}

std::map<std::string, int> counts(const std::map<int, std::string>& owners) {
    std::map<std::string, int> out;
    for (const auto& [p, node] : owners) out[node]++;
    return out;
}

}  // namespace

TEST(LeaseManager, two_instances_share_the_partitions_and_a_third_that_joins_gets_its_share) {
    nats_cluster servers(3);
    instance a(servers, "a"), b(servers, "b");
    a.start();
    b.start();
    // 32 each, every partition held once (the bucket agrees with what each was told).
    ASSERT_TRUE(eventually([&] { return counts(bucket_owners(servers)) == std::map<std::string, int>{{"a", 32}, {"b", 32}}; },
                           ms(10000)))
        << counts(bucket_owners(servers)).size();
    EXPECT_EQ(a.listener.held().size(), 32u);
    EXPECT_EQ(b.listener.held().size(), 32u);
    std::set<int> all = a.listener.held();
    all.merge(b.listener.held());
    EXPECT_EQ(all.size(), 64u);

    // Started together, they saw each other before claiming: nothing was handed back.
    const auto a_released = a.listener.count("releasing"), b_released = b.listener.count("releasing");
    EXPECT_EQ(a_released + b_released, 0u);
    instance c(servers, "c");
    c.start();
    // 22 + 21 + 21: a and b released 10 and 11 in a controlled way (releasing, then delete).
    ASSERT_TRUE(eventually([&] {
        return counts(bucket_owners(servers)) == std::map<std::string, int>{{"a", 22}, {"b", 21}, {"c", 21}};
    }, ms(10000)));
    EXPECT_EQ(a.listener.count("releasing") - a_released, 10u);
    EXPECT_EQ(b.listener.count("releasing") - b_released, 11u);
    EXPECT_EQ(c.listener.held().size(), 21u);
    EXPECT_EQ(a.listener.count("lost") + b.listener.count("lost"), 0u);
    EXPECT_EQ(c.manager->live_members(), 3u);

    // A graceful stop hands c's partitions over at the others' next round, not after a TTL.
    auto t0 = std::chrono::steady_clock::now();
    c.manager->stop(true);
    ASSERT_TRUE(eventually([&] { return counts(bucket_owners(servers)) == std::map<std::string, int>{{"a", 32}, {"b", 32}}; },
                           ms(10000)));
    EXPECT_LT(std::chrono::steady_clock::now() - t0, c.o.lease_ttl);
    for (auto* i : {&a, &b, &c}) EXPECT_TRUE(i->listener.violations().empty()) << i->listener.violations().front();
    a.manager->stop(true);
    b.manager->stop(true);
}

TEST(LeaseManager, the_partitions_of_a_killed_instance_are_claimed_within_ttl_and_renew_interval) {
    nats_cluster servers(3);
    instance a(servers, "a"), b(servers, "b");
    a.start();
    b.start();
    probe_process c(servers, servers.cluster_options("c"), "leases");
    ASSERT_GT(c.pid, 0);
    ASSERT_TRUE(eventually([&] { return counts(bucket_owners(servers))["c"] == 21; }, ms(15000)));
    ASSERT_TRUE(eventually([&] { return a.listener.held().size() + b.listener.held().size() == 43; }, ms(5000)));

    c.kill9();
    auto killed = std::chrono::steady_clock::now();
    ASSERT_TRUE(eventually([&] { return a.listener.held().size() + b.listener.held().size() == 64; }, ms(15000)));
    auto failover = std::chrono::steady_clock::now() - killed;
    const auto bound = a.o.lease_ttl + a.o.renew_interval;
    std::printf("failover: %lld ms (bound: lease TTL %lld ms + renew interval %lld ms)\n",
                static_cast<long long>(std::chrono::duration_cast<ms>(failover).count()),
                static_cast<long long>(a.o.lease_ttl.count()), static_cast<long long>(a.o.renew_interval.count()));
    // On top of the bound: one round of the claimers (a few dozen KV requests), on a
    // machine that may be busy with other tests.
    EXPECT_LE(failover, bound + ms(1000));
    EXPECT_EQ(counts(bucket_owners(servers)), (std::map<std::string, int>{{"a", 32}, {"b", 32}}));
    for (auto* i : {&a, &b}) EXPECT_TRUE(i->listener.violations().empty()) << i->listener.violations().front();
    a.manager->stop(true);
    b.manager->stop(true);
}

// Releasing a partition takes long (flush and snapshot of a large one, a busy machine):
// when a joiner makes an instance release several, the leases it keeps must not lapse
// meanwhile (they were lost, claimed by the joiner and handed back: a storm of moves).
TEST(LeaseManager, slow_releases_for_a_joiner_do_not_let_the_kept_leases_lapse) {
    nats_cluster servers(1);
    instance a(servers, "a");
    a.o.partitions = 8;
    a.listener.release_delay = ms(700);  // 4 releases: 2.8 s, more than the 2 s TTL
    a.manager = std::make_unique<lease_manager>(*a.conn, a.o, a.listener);
    a.start();
    ASSERT_TRUE(eventually([&] { return a.listener.held().size() == 8; }, ms(5000)));
    instance b(servers, "b");
    b.o.partitions = 8;
    b.manager = std::make_unique<lease_manager>(*b.conn, b.o, b.listener);
    b.start();
    ASSERT_TRUE(eventually([&] { return counts(bucket_owners(servers)) == std::map<std::string, int>{{"a", 4}, {"b", 4}}; },
                           ms(10000)));
    EXPECT_EQ(a.listener.count("releasing"), 4u);
    EXPECT_EQ(a.listener.count("lost"), 0u);
    EXPECT_EQ(a.listener.held().size(), 4u);
    EXPECT_EQ(b.listener.held().size(), 4u);
    for (auto* i : {&a, &b}) EXPECT_TRUE(i->listener.violations().empty()) << i->listener.violations().front();
    b.manager->stop(true);
    a.manager->stop(true);
}

TEST(LeaseManager, a_lease_taken_from_under_its_owner_is_reported_lost) {
    nats_cluster servers(1);
    instance a(servers, "a");
    a.o.partitions = 4;
    a.manager = std::make_unique<lease_manager>(*a.conn, a.o, a.listener);
    a.start();
    ASSERT_TRUE(eventually([&] { return a.listener.held().size() == 4; }, ms(5000)));
    // An operator (or a split brain) removes partition 2's lease and another node claims it.
    auto o = servers.cluster_options("intruder", 4);
    auto c = connection::open(o);
    ASSERT_TRUE(c.ok());
    kvStore* kv = nullptr;
    ASSERT_EQ(js_KeyValue(&kv, (*c)->js(), "redflag_leases"), NATS_OK);
    ASSERT_EQ(kvStore_Purge(kv, "2", nullptr), NATS_OK);
    ASSERT_EQ(kvStore_CreateString(nullptr, kv, "2", "intruder"), NATS_OK);
    kvStore_Destroy(kv);
    ASSERT_TRUE(eventually([&] { return a.listener.count("lost 2") == 1; }, ms(5000)));
    EXPECT_FALSE(a.manager->owns(2));
    EXPECT_TRUE(a.manager->owns(1));
    EXPECT_EQ(a.manager->losses(), 1u);
    a.manager->stop(false);
}

TEST(LeaseManager, refuses_a_node_name_that_is_not_a_key_and_timings_that_cannot_renew_in_time) {
    nats_cluster servers(1);
    recording_listener l;
    auto o = servers.cluster_options("bad name");
    auto c = connection::open(o);
    ASSERT_TRUE(c.ok());
    lease_manager bad_name(**c, o, l);
    EXPECT_EQ(bad_name.start().error_code(), status::code::invalid);
    o.node = "fine";
    o.renew_interval = o.lease_ttl;
    lease_manager bad_timing(**c, o, l);
    auto st = bad_timing.start();
    EXPECT_EQ(st.error_code(), status::code::invalid);
    EXPECT_NE(st.message().find("renew_interval"), std::string::npos);
}

TEST(LeaseManager, cut_off_from_nats_it_gives_its_leases_up_by_the_ttl) {
    nats_cluster servers(1);
    instance a(servers, "a");
    a.o.partitions = 8;
    a.manager = std::make_unique<lease_manager>(*a.conn, a.o, a.listener);
    a.start();
    ASSERT_TRUE(eventually([&] { return a.listener.held().size() == 8; }, ms(5000)));
    // Its last renewal was at most a renew interval ago; the servers would free the leases
    // a TTL after it, so by then the instance must have stopped using them.
    servers.kill9(0);
    auto cut = std::chrono::steady_clock::now();
    ASSERT_TRUE(eventually([&] { return a.listener.held().empty(); }, ms(20000)));
    auto gave_up = std::chrono::steady_clock::now() - cut;
    EXPECT_LE(gave_up, a.o.lease_ttl + ms(100)) << std::chrono::duration_cast<ms>(gave_up).count() << " ms";
    EXPECT_EQ(a.listener.count("lost"), 8u);
    a.manager->stop(false);
}
