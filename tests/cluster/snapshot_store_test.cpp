#include "cluster/snapshot_store.hpp"

#include "nats_harness.hpp"

#include <gtest/gtest.h>

#include <random>

using namespace redflag;
using namespace redflag::cluster;
using namespace redflag::cluster::testing;

namespace {

std::string random_bytes(std::size_t n, unsigned seed) {
    std::mt19937 rng(seed);
    std::string out(n, '\0');
    for (auto& c : out) c = static_cast<char>(rng());
    return out;
}

struct SnapshotStore : ::testing::Test {
    nats_cluster servers{1};
    options o = servers.cluster_options("a", 8);
    std::unique_ptr<connection> conn;
    std::unique_ptr<snapshot_store> store;
    kvStore* raw = nullptr;  // the bucket as anyone else sees it

    void SetUp() override {
        o.snapshot_chunk_bytes = 64 * 1024;
        auto c = connection::open(o);
        ASSERT_TRUE(c.ok()) << c.error().message();
        conn = std::move(*c);
        auto s = snapshot_store::open(*conn, o);
        ASSERT_TRUE(s.ok()) << s.error().message();
        store = std::move(*s);
        ASSERT_EQ(js_KeyValue(&raw, conn->js(), "redflag_snapshots"), NATS_OK);
    }
    void TearDown() override { kvStore_Destroy(raw); }

    std::vector<std::string> keys() {
        kvKeysList list{};
        std::vector<std::string> out;
        if (kvStore_Keys(&list, raw, nullptr) == NATS_OK)
            for (int i = 0; i < list.Count; ++i) out.push_back(list.Keys[i]);
        kvKeysList_Destroy(&list);
        std::sort(out.begin(), out.end());
        return out;
    }
    // Messages the bucket's stream still holds (purged chunks leave nothing behind).
    std::uint64_t stored_messages() {
        jsStreamInfo* si = nullptr;
        if (js_GetStreamInfo(&si, conn->js(), "KV_redflag_snapshots", nullptr, nullptr) != NATS_OK) return 0;
        auto n = si->State.Msgs;
        jsStreamInfo_Destroy(si);
        return n;
    }
};

}  // namespace

TEST_F(SnapshotStore, a_partition_without_a_snapshot_has_none) {
    auto got = store->get(3);
    ASSERT_TRUE(got.ok()) << got.error().message();
    EXPECT_FALSE(got->has_value());
}

TEST_F(SnapshotStore, a_snapshot_larger_than_a_message_is_stored_in_chunks_and_read_back_whole) {
    // 2.5 MiB: more than the servers' 1 MiB max_payload, 40 chunks of 64 KiB.
    const auto bytes = random_bytes(2'500'000, 1);
    ASSERT_TRUE(store->put(3, 12345, bytes).ok());
    auto got = store->get(3);
    ASSERT_TRUE(got.ok()) << got.error().message();
    ASSERT_TRUE(got->has_value());
    EXPECT_EQ((*got)->sequence, 12345u);
    EXPECT_TRUE((*got)->bytes == bytes);
    EXPECT_EQ(keys().size(), 1u + 39u);  // the manifest and ceil(2,500,000 / 65,536) chunks
    EXPECT_FALSE(store->get(4)->has_value());  // other partitions untouched

    // An empty snapshot is a snapshot too (a partition without accounts).
    ASSERT_TRUE(store->put(4, 7, "").ok());
    auto empty = store->get(4);
    ASSERT_TRUE(empty.ok() && empty->has_value());
    EXPECT_EQ((*empty)->sequence, 7u);
    EXPECT_TRUE((*empty)->bytes.empty());
}

TEST_F(SnapshotStore, chunks_never_exceed_the_servers_max_payload) {
    o.snapshot_chunk_bytes = 64ull << 20;  // asks for 64 MiB
    auto big = snapshot_store::open(*conn, o);
    ASSERT_TRUE(big.ok());
    EXPECT_LE(static_cast<std::int64_t>((*big)->chunk_bytes()), conn->max_payload());
    const auto bytes = random_bytes(3'000'000, 2);
    ASSERT_TRUE((*big)->put(0, 1, bytes).ok());
    auto got = (*big)->get(0);
    ASSERT_TRUE(got.ok() && got->has_value()) << got.error().message();
    EXPECT_TRUE((*got)->bytes == bytes);
}

TEST_F(SnapshotStore, a_new_snapshot_replaces_the_old_one_and_its_chunks_and_old_strays_are_purged) {
    ASSERT_TRUE(store->put(2, 100, random_bytes(300'000, 3)).ok());  // 5 chunks
    // Chunks a writer that died before its manifest left behind, in 1970: purged. A
    // generation from this very second may be a put in progress: kept.
    ASSERT_EQ(kvStore_PutString(nullptr, raw, "c.2.00000000deadbeef.0", "stray"), NATS_OK);
    auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
    char young[64];
    std::snprintf(young, sizeof(young), "c.2.%08llxdeadbeef.0", static_cast<unsigned long long>(now.count()) & 0xffffffffull);
    ASSERT_EQ(kvStore_PutString(nullptr, raw, young, "in progress"), NATS_OK);
    const auto newer = random_bytes(100'000, 4);  // 2 chunks
    ASSERT_TRUE(store->put(2, 200, newer).ok());
    auto got = store->get(2);
    ASSERT_TRUE(got.ok() && got->has_value());
    EXPECT_EQ((*got)->sequence, 200u);
    EXPECT_TRUE((*got)->bytes == newer);
    auto left = keys();
    EXPECT_EQ(left.size(), 4u);  // the manifest, 2 chunks, the young stray
    EXPECT_TRUE(std::find(left.begin(), left.end(), young) != left.end());
    EXPECT_EQ(stored_messages(), 4u);  // no purge markers either
}

TEST_F(SnapshotStore, a_damaged_or_missing_chunk_is_reported_not_returned) {
    ASSERT_TRUE(store->put(1, 9, random_bytes(200'000, 5)).ok());
    auto all = keys();
    std::string chunk;
    for (const auto& k : all)
        if (k.rfind("c.1.", 0) == 0 && k.size() > 2 && k.substr(k.size() - 2) == ".1") chunk = k;
    ASSERT_FALSE(chunk.empty());

    ASSERT_EQ(kvStore_PutString(nullptr, raw, chunk.c_str(), "not what was there"), NATS_OK);
    auto damaged = store->get(1);
    ASSERT_FALSE(damaged.ok());
    EXPECT_EQ(damaged.error().error_code(), status::code::corrupt);

    ASSERT_EQ(kvStore_Purge(raw, chunk.c_str(), nullptr), NATS_OK);
    auto missing = store->get(1);
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.error().error_code(), status::code::corrupt);
    EXPECT_NE(missing.error().message().find("chunk 1 of 4 is missing"), std::string::npos) << missing.error().message();

    ASSERT_EQ(kvStore_PutString(nullptr, raw, "m.1", "redflag-snapshot v1 sequence=nine"), NATS_OK);
    auto malformed = store->get(1);
    ASSERT_FALSE(malformed.ok());
    EXPECT_EQ(malformed.error().error_code(), status::code::corrupt);
    // A put repairs the partition.
    ASSERT_TRUE(store->put(1, 10, "fresh").ok());
    EXPECT_EQ((*store->get(1))->bytes, "fresh");
}

TEST_F(SnapshotStore, an_older_snapshot_never_replaces_a_newer_one) {
    ASSERT_TRUE(store->put(5, 500, "newer").ok());
    auto st = store->put(5, 400, "older");
    EXPECT_EQ(st.error_code(), status::code::conflict);
    EXPECT_NE(st.message().find("has a snapshot at sequence 500, newer than 400"), std::string::npos) << st.message();
    EXPECT_EQ((*store->get(5))->bytes, "newer");
    EXPECT_TRUE(store->put(5, 500, "same sequence again").ok());
    EXPECT_EQ(keys().size(), 2u);  // the manifest and one chunk: the refused put left nothing
}

TEST_F(SnapshotStore, of_racing_writers_one_wins_each_round_and_the_snapshot_stays_whole) {
    ASSERT_TRUE(store->put(6, 1, "first").ok());
    // Two owners at once (one has not yet noticed it lost the partition), from threads: a
    // put whose manifest moved meanwhile is told `conflict`, and never breaks the winner's.
    auto other = snapshot_store::open(*conn, o);
    ASSERT_TRUE(other.ok());
    std::atomic<int> conflicts{0}, successes{0};
    std::vector<std::thread> writers;
    for (int w = 0; w < 4; ++w)
        writers.emplace_back([&, w] {
            for (int i = 0; i < 10; ++i) {
                auto& s = (w % 2 == 0) ? *store : **other;
                auto st = s.put(6, 100 * w + i, random_bytes(150'000, 100 * w + i));
                if (st.ok()) ++successes;
                else if (st.error_code() == status::code::conflict) ++conflicts;
            }
        });
    for (auto& t : writers) t.join();
    EXPECT_GT(successes.load(), 0);
    EXPECT_GT(conflicts.load(), 0);
    EXPECT_EQ(successes.load() + conflicts.load(), 40);
    // Whatever won is whole.
    auto got = store->get(6);
    ASSERT_TRUE(got.ok() && got->has_value()) << got.error().message();
    const auto seq = (*got)->sequence;
    EXPECT_TRUE((*got)->bytes == random_bytes(150'000, static_cast<unsigned>(seq)));
    std::printf("racing puts: %d succeeded, %d told conflict\n", successes.load(), conflicts.load());
}
