#include "cluster/consumer.hpp"

#include "cluster/publisher.hpp"
#include "cluster/stream.hpp"
#include "nats_harness.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <map>

using namespace redflag;
using namespace redflag::cluster;
using namespace redflag::cluster::testing;

namespace {

using ms = std::chrono::milliseconds;

// What one partition's handler saw, in order.
struct seen {
    std::mutex mu;
    std::vector<std::uint64_t> sequences;
    std::vector<std::string> ids;
    std::vector<std::string> data;

    message_handler handler() {
        return [this](const consumed_message& m) {
            std::lock_guard lock(mu);
            sequences.push_back(m.sequence);
            ids.emplace_back(m.id);
            data.emplace_back(m.data);
        };
    }
    std::size_t size() {
        std::lock_guard lock(mu);
        return sequences.size();
    }
};

struct published {
    std::vector<std::string> ids, data;
    std::vector<int> partitions;
};

published make_messages(int count, int partitions, int offset = 0) {
    published p;
    for (int i = offset; i < offset + count; ++i) {
        std::string account = "acc-" + std::to_string(i % 1000);
        p.ids.push_back(message_id(account, "e" + std::to_string(i)));
        p.data.push_back("{\"account\":\"" + account + "\",\"n\":" + std::to_string(i) + "}");
        p.partitions.push_back(partition_of(account, partitions));
    }
    return p;
}

std::vector<outgoing_message> batch_of(const published& p, std::size_t from, std::size_t to) {
    std::vector<outgoing_message> out;
    for (std::size_t i = from; i < to; ++i) out.push_back({p.partitions[i], p.ids[i], p.data[i]});
    return out;
}

}  // namespace

TEST(Consumer, delivers_its_partition_in_order_from_a_sequence_and_nothing_after_stop) {
    nats_cluster servers(1);
    connected_stream a(servers, "a", 4);
    auto& o = a.o;
    auto& c = a.conn;
    publisher pub(*c, o);
    auto msgs = make_messages(200, 4);
    auto out = pub.publish(batch_of(msgs, 0, 200));
    ASSERT_TRUE(out.ok()) << out.error.message();
    std::vector<std::size_t> of_p1;  // indexes of partition 1's messages, in stream order
    for (std::size_t i = 0; i < 200; ++i)
        if (msgs.partitions[i] == 1) of_p1.push_back(i);
    std::sort(of_p1.begin(), of_p1.end(), [&](auto a, auto b) { return out.sequences[a] < out.sequences[b]; });
    ASSERT_GT(of_p1.size(), 20u);

    seen all;
    auto consumer = partition_consumer::start(*c, o, 1, 0, all.handler());
    ASSERT_TRUE(consumer.ok()) << consumer.error().message();
    ASSERT_TRUE(eventually([&] { return all.size() == of_p1.size(); }, ms(5000)));
    for (std::size_t k = 0; k < of_p1.size(); ++k) {
        EXPECT_EQ(all.sequences[k], out.sequences[of_p1[k]]);
        EXPECT_EQ(all.ids[k], msgs.ids[of_p1[k]]);
        EXPECT_EQ(all.data[k], msgs.data[of_p1[k]]);
    }
    EXPECT_EQ((*consumer)->last_delivered(), out.sequences[of_p1.back()]);

    // From the middle: the owner applied up to some sequence and resumes after it.
    const std::size_t half = of_p1.size() / 2;
    seen rest;
    auto resumed = partition_consumer::start(*c, o, 1, out.sequences[of_p1[half]] + 1, rest.handler());
    ASSERT_TRUE(resumed.ok());
    ASSERT_TRUE(eventually([&] { return rest.size() == of_p1.size() - half - 1; }, ms(5000)));
    EXPECT_EQ(rest.sequences.front(), out.sequences[of_p1[half + 1]]);

    // Stopped: later messages are not handed over, and the servers drop the consumer.
    (*consumer)->stop();
    (*resumed)->stop();
    auto more = make_messages(200, 4, 200);
    ASSERT_TRUE(pub.publish(batch_of(more, 0, 200)).ok());
    std::this_thread::sleep_for(ms(300));
    EXPECT_EQ(all.size(), of_p1.size());
    EXPECT_EQ(rest.size(), of_p1.size() - half - 1);
    EXPECT_TRUE(eventually([&] {
        jsConsumerNamesList* names = nullptr;
        if (js_ConsumerNames(&names, c->js(), "redflag_events", nullptr, nullptr) != NATS_OK) return true;  // none
        bool none = names->Count == 0;
        jsConsumerNamesList_Destroy(names);
        return none;
    }, ms(3000)));
}

TEST(Consumer, a_handler_may_stop_its_own_consumer) {
    nats_cluster servers(1);
    connected_stream a(servers, "a", 1);
    auto& o = a.o;
    auto& c = a.conn;
    publisher pub(*c, o);
    auto msgs = make_messages(50, 1);
    ASSERT_TRUE(pub.publish(batch_of(msgs, 0, 50)).ok());
    std::atomic<int> handled{0};
    std::unique_ptr<partition_consumer> consumer;
    std::mutex mu;
    std::unique_lock assigning(mu);  // the handler waits until `consumer` is set
    auto r = partition_consumer::start(*c, o, 0, 0, [&](const consumed_message&) {
        if (++handled == 10) {
            std::lock_guard lock(mu);
            consumer->stop();
        }
    });
    ASSERT_TRUE(r.ok());
    consumer = std::move(*r);
    assigning.unlock();
    ASSERT_TRUE(eventually([&] { return handled.load() >= 10; }, ms(5000)));
    std::this_thread::sleep_for(ms(200));
    EXPECT_EQ(handled.load(), 10);
    std::lock_guard lock(mu);
    consumer.reset();  // from this thread, once the handler returned
}

TEST(Consumer, refuses_a_partition_outside_the_stream) {
    nats_cluster servers(1);
    connected_stream a(servers, "a", 4);
    auto& o = a.o;
    auto& c = a.conn;
    auto r = partition_consumer::start(*c, o, 4, 0, [](const consumed_message&) {});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().error_code(), status::code::invalid);
}

// The assignment's scenario: 20,000 messages over 64 partitions into a replicas-3 stream,
// one nats-server killed -9 mid-stream, and every partition consumed whole and in order.
TEST(Consumer, twenty_thousand_messages_over_64_partitions_survive_a_killed_server_in_order) {
    nats_cluster servers(3);
    auto o = servers.cluster_options("a", 64);
    auto consume_conn = connection::open(o);
    auto publish_conn = connection::open(o);
    ASSERT_TRUE(consume_conn.ok() && publish_conn.ok());
    ASSERT_TRUE(eventually([&] { return ensure_stream(**publish_conn, o).ok(); }, ms(10000)));

    constexpr int total = 20000, batch = 500;
    auto msgs = make_messages(total, 64);
    std::vector<seen> by_partition(64);
    std::vector<std::unique_ptr<partition_consumer>> consumers;
    for (int p = 0; p < 64; ++p) {
        auto r = partition_consumer::start(**consume_conn, o, p, 0, by_partition[p].handler());
        ASSERT_TRUE(r.ok()) << r.error().message();
        consumers.push_back(std::move(*r));
    }

    std::vector<std::uint64_t> sequences(total, 0);
    publisher pub(**publish_conn, o);
    int killed = -1;
    auto t0 = std::chrono::steady_clock::now();
    for (int from = 0; from < total; from += batch) {
        if (from == total / 2) {
            // The server the consumers are connected to dies: they must reconnect and their
            // ordered consumers be recreated where they left off.
            auto url = (*consume_conn)->connected_url();
            for (int i = 0; i < servers.size(); ++i)
                if (servers.url(i) == url) killed = i;
            ASSERT_GE(killed, 0) << url;
            servers.kill9(killed);
        }
        publish_outcome out;
        // An ingest client retries a failed request; the ids make the retry safe.
        for (int attempt = 0; attempt < 5; ++attempt) {
            out = pub.publish(batch_of(msgs, from, from + batch));
            if (out.ok()) break;
        }
        ASSERT_TRUE(out.ok()) << out.error.message();
        std::copy(out.sequences.begin(), out.sequences.end(), sequences.begin() + from);
    }
    auto published_in = std::chrono::steady_clock::now() - t0;

    std::vector<std::vector<std::size_t>> expected(64);  // per partition, indexes in stream order
    for (int i = 0; i < total; ++i) expected[msgs.partitions[i]].push_back(i);
    for (auto& e : expected) std::sort(e.begin(), e.end(), [&](auto a, auto b) { return sequences[a] < sequences[b]; });
    ASSERT_TRUE(eventually([&] {
        for (int p = 0; p < 64; ++p)
            if (by_partition[p].size() < expected[p].size()) return false;
        return true;
    }, ms(30000))) << "consumers fell short";
    auto consumed_in = std::chrono::steady_clock::now() - t0;
    for (auto& cons : consumers) cons->stop();

    std::set<std::uint64_t> distinct(sequences.begin(), sequences.end());
    EXPECT_EQ(distinct.size(), static_cast<std::size_t>(total));  // each stored once
    for (int p = 0; p < 64; ++p) {
        auto& s = by_partition[p];
        ASSERT_EQ(s.sequences.size(), expected[p].size()) << "partition " << p;
        for (std::size_t k = 0; k < s.sequences.size(); ++k) {
            ASSERT_EQ(s.sequences[k], sequences[expected[p][k]]) << "partition " << p << " position " << k;
            ASSERT_EQ(s.ids[k], msgs.ids[expected[p][k]]);
            ASSERT_EQ(s.data[k], msgs.data[expected[p][k]]);
        }
    }
    std::printf("20000 messages: published in %lld ms, all consumed %lld ms after the first publish; server n%d killed\n",
                static_cast<long long>(std::chrono::duration_cast<ms>(published_in).count()),
                static_cast<long long>(std::chrono::duration_cast<ms>(consumed_in).count()), killed);
}
