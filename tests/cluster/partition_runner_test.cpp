#include "cluster/partition_runner.hpp"

#include "cluster/publisher.hpp"
#include "cluster/stream.hpp"
#include "memory_engine.hpp"
#include "nats_harness.hpp"

#include <gtest/gtest.h>

using namespace redflag;
using namespace redflag::cluster;
using namespace redflag::cluster::testing;

namespace {

using ms = std::chrono::milliseconds;
using accounts_state = std::map<std::string, memory_engine::account>;

// Events "acc-N:VALUE" for accounts acc-0 .. acc-(accounts-1), and the state they fold to.
struct event_log {
    std::vector<std::string> ids, data;
    std::vector<int> partitions;
    accounts_state expected;

    event_log(int count, int accounts, int partitions_total, int offset = 0) {
        for (int i = offset; i < offset + count; ++i) {
            std::string account = "acc-" + std::to_string(i % accounts);
            ids.push_back(message_id(account, "e" + std::to_string(i)));
            data.push_back(account + ":" + std::to_string(i));
            partitions.push_back(partition_of(account, partitions_total));
            auto& a = expected[account];
            a.count++;
            a.sum += i;
        }
    }
    std::vector<outgoing_message> batch(std::size_t from, std::size_t to) const {
        std::vector<outgoing_message> out;
        for (std::size_t i = from; i < to; ++i) out.push_back({partitions[i], ids[i], data[i]});
        return out;
    }
    accounts_state expected_in(const std::set<int>& parts, int partitions_total) const {
        accounts_state out;
        for (const auto& [name, a] : expected)
            if (parts.count(partition_of(name, partitions_total))) out[name] = a;
        return out;
    }
};

struct single_server {
    nats_cluster servers{1};
    connected_stream a{servers, "a", 4};
    const options& o = a.o;
    connection* conn = a.conn.get();
    std::unique_ptr<snapshot_store> snapshots;

    single_server() {
        auto s = snapshot_store::open(*conn, o);
        if (!s) throw std::runtime_error(s.error().message());
        snapshots = std::move(*s);
    }
};

}  // namespace

TEST(PartitionRunner, consumes_an_acquired_partition_and_hands_it_over_through_a_snapshot_on_release) {
    single_server s;
    publisher pub(*s.conn, s.o);
    event_log log(400, 40, 4);
    ASSERT_TRUE(pub.publish(log.batch(0, 200)).ok());

    memory_engine first;
    partition_runner a(*s.conn, s.o, *s.snapshots, first, std::chrono::hours(1));
    a.start();
    a.acquired(2, 1);
    ASSERT_TRUE(eventually([&] { return a.running() == std::vector<int>{2}; }, ms(5000)));
    event_log half(200, 40, 4);
    ASSERT_TRUE(eventually([&] { return first.accounts() == half.expected_in({2}, 4); }, ms(5000)));
    EXPECT_EQ(a.restores(), 0u);  // nothing to restore from yet

    a.releasing(2);  // flush, last snapshot, drop
    EXPECT_TRUE(a.running().empty());
    EXPECT_EQ(a.snapshots_written(), 1u);
    EXPECT_TRUE(first.accounts().empty());
    auto snap = s.snapshots->get(2);
    ASSERT_TRUE(snap.ok() && snap->has_value());

    // More events while nobody owns partition 2; then another instance takes it.
    ASSERT_TRUE(pub.publish(log.batch(200, 400)).ok());
    memory_engine second;
    partition_runner b(*s.conn, s.o, *s.snapshots, second, std::chrono::hours(1));
    b.start();
    b.acquired(2, 1);
    ASSERT_TRUE(eventually([&] { return second.accounts() == log.expected_in({2}, 4); }, ms(5000)));
    EXPECT_EQ(b.restores(), 1u);
    // It replayed only what came after the snapshot.
    const auto after_snapshot = std::count_if(log.partitions.begin() + 200, log.partitions.end(), [](int p) { return p == 2; });
    EXPECT_EQ(second.applies(), static_cast<std::uint64_t>(after_snapshot));
    EXPECT_TRUE(first.violations().empty());
    EXPECT_TRUE(second.violations().empty());

    // Lost: stops at once, no snapshot.
    b.lost(2);
    EXPECT_TRUE(b.running().empty());
    EXPECT_EQ(b.snapshots_written(), 0u);
    EXPECT_TRUE(second.accounts().empty());
}

TEST(PartitionRunner, snapshots_running_partitions_on_its_interval_and_replays_all_when_a_snapshot_is_corrupt) {
    single_server s;
    publisher pub(*s.conn, s.o);
    event_log log(300, 30, 4);
    ASSERT_TRUE(pub.publish(log.batch(0, 300)).ok());
    memory_engine engine;
    partition_runner r(*s.conn, s.o, *s.snapshots, engine, ms(200));
    r.start();
    for (int p = 0; p < 4; ++p) r.acquired(p, 1);
    ASSERT_TRUE(eventually([&] { return engine.accounts() == log.expected; }, ms(5000)));
    ASSERT_TRUE(eventually([&] { return r.snapshots_written() == 4; }, ms(3000)));
    std::this_thread::sleep_for(ms(500));
    EXPECT_EQ(r.snapshots_written(), 4u);  // nothing new applied: no new snapshots
    r.stop();

    // Partition 1's snapshot is damaged: the next owner rebuilds it from the whole stream.
    kvStore* kv = nullptr;
    ASSERT_EQ(js_KeyValue(&kv, s.conn->js(), "redflag_snapshots"), NATS_OK);
    ASSERT_EQ(kvStore_PutString(nullptr, kv, "m.1", "redflag-snapshot v1 garbage"), NATS_OK);
    kvStore_Destroy(kv);
    memory_engine next;
    partition_runner r2(*s.conn, s.o, *s.snapshots, next, std::chrono::hours(1));
    r2.start();
    r2.acquired(1, 1);
    r2.acquired(3, 1);
    ASSERT_TRUE(eventually([&] { return next.accounts() == log.expected_in({1, 3}, 4); }, ms(5000)));
    EXPECT_EQ(r2.restores(), 1u);  // partition 3 only
    EXPECT_TRUE(next.violations().empty());
}

// The failover the cluster layer exists for: two instances own the partitions; events
// flow; one instance is killed -9 mid-stream; the survivor takes its partitions over from
// their snapshots and the stream, and ends with every acknowledged event applied once.
TEST(PartitionRunner, a_killed_instances_partitions_are_taken_over_with_every_acknowledged_event_applied_once) {
    nats_cluster servers(3);
    connected_stream a(servers, "a", 64);
    const auto& o = a.o;
    auto snapshots = snapshot_store::open(*a.conn, o);
    ASSERT_TRUE(snapshots.ok());

    memory_engine engine;
    partition_runner runner(*a.conn, o, **snapshots, engine, ms(300));
    runner.start();
    lease_manager manager(*a.conn, o, runner);
    ASSERT_TRUE(manager.start().ok());

    // Instance b, a process of its own.
    probe_process b(servers, servers.cluster_options("b"), "runner", {"300"});
    ASSERT_GT(b.pid, 0);
    ASSERT_TRUE(eventually([&] { return runner.running().size() == 32; }, ms(15000)));

    constexpr int total = 20000, batch = 500;
    event_log log(total, 1000, 64);
    auto conn_pub = connection::open(o);
    ASSERT_TRUE(conn_pub.ok());
    publisher pub(**conn_pub, o);
    std::chrono::steady_clock::time_point killed;
    for (int from = 0; from < total; from += batch) {
        if (from == total / 2) {
            std::this_thread::sleep_for(ms(500));  // let b apply and snapshot some
            b.kill9();
            killed = std::chrono::steady_clock::now();
        }
        auto out = pub.publish(log.batch(from, from + batch));
        ASSERT_TRUE(out.ok()) << out.error.message();
    }
    ASSERT_TRUE(eventually([&] { return runner.running().size() == 64; }, ms(15000)));
    auto all_running = std::chrono::steady_clock::now() - killed;
    ASSERT_TRUE(eventually([&] { return engine.accounts() == log.expected; }, ms(20000)))
        << engine.accounts().size() << " accounts";
    auto caught_up = std::chrono::steady_clock::now() - killed;
    EXPECT_TRUE(engine.violations().empty()) << engine.violations().front();
    EXPECT_GT(runner.restores(), 0u);  // some of b's partitions came back from its snapshots
    std::printf("failover: all 64 partitions running %lld ms after the kill, every event applied after %lld ms "
                "(lease TTL %lld ms, renew %lld ms); %llu restored from snapshots\n",
                static_cast<long long>(std::chrono::duration_cast<ms>(all_running).count()),
                static_cast<long long>(std::chrono::duration_cast<ms>(caught_up).count()),
                static_cast<long long>(o.lease_ttl.count()), static_cast<long long>(o.renew_interval.count()),
                static_cast<unsigned long long>(runner.restores()));
    manager.stop(true);
    runner.stop();
}
