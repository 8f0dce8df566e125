#include "cluster/stream.hpp"

#include "core/hash.hpp"
#include "nats_harness.hpp"

#include <gtest/gtest.h>

using namespace redflag;
using namespace redflag::cluster;
using namespace redflag::cluster::testing;

TEST(Stream, partition_of_is_the_shards_hash_modulo_partitions) {
    EXPECT_EQ(partition_of("acme", 64), static_cast<int>(fnv1a("acme") % 64));
    // With shards dividing partitions, a partition's accounts share one shard.
    for (std::string a : {"acme", "globex", "initech", "acc-0019"})
        EXPECT_EQ(partition_of(a, 64) % 4, static_cast<int>(fnv1a(a) % 4)) << a;
    options o;
    EXPECT_EQ(subject_of(o, 7), "redflag.events.7");
}

TEST(Stream, is_created_then_updated_and_refuses_another_partition_count) {
    nats_cluster servers(1);
    auto o = servers.cluster_options("a", 8);
    auto c = connection::open(o);
    ASSERT_TRUE(c.ok()) << c.error().message();
    ASSERT_TRUE(ensure_stream(**c, o).ok());

    jsStreamInfo* si = nullptr;
    ASSERT_EQ(js_GetStreamInfo(&si, (*c)->js(), "redflag_events", nullptr, nullptr), NATS_OK);
    EXPECT_EQ(si->Config->SubjectsLen, 8);
    EXPECT_STREQ(si->Config->Subjects[3], "redflag.events.3");
    EXPECT_EQ(si->Config->Storage, js_FileStorage);
    EXPECT_EQ(si->Config->Duplicates, std::chrono::nanoseconds(o.duplicate_window).count());
    jsStreamInfo_Destroy(si);

    // A second start with the same config is a no-op; a new duplicate window is applied.
    ASSERT_TRUE(ensure_stream(**c, o).ok());
    o.duplicate_window = std::chrono::minutes(5);
    ASSERT_TRUE(ensure_stream(**c, o).ok());
    si = nullptr;
    ASSERT_EQ(js_GetStreamInfo(&si, (*c)->js(), "redflag_events", nullptr, nullptr), NATS_OK);
    EXPECT_EQ(si->Config->Duplicates, std::chrono::nanoseconds(std::chrono::minutes(5)).count());
    jsStreamInfo_Destroy(si);

    o.partitions = 16;
    auto st = ensure_stream(**c, o);
    EXPECT_EQ(st.error_code(), status::code::invalid);
    EXPECT_NE(st.message().find("holds 8 partition subjects, the config says 16"), std::string::npos) << st.message();
}
