#include "cluster/publisher.hpp"

#include "cluster/stream.hpp"
#include "nats_harness.hpp"

#include <gtest/gtest.h>

using namespace redflag;
using namespace redflag::cluster;
using namespace redflag::cluster::testing;

namespace {

std::string read_header(natsMsg* m, const char* name) {
    const char* v = nullptr;
    if (natsMsgHeader_Get(m, name, &v) != NATS_OK || v == nullptr) return {};
    return v;
}

}  // namespace

TEST(Publisher, message_id_is_the_hash_of_account_and_event_id) {
    EXPECT_EQ(message_id("acme", "u-1").size(), 64u);
    EXPECT_EQ(message_id("acme", "u-1"), message_id("acme", "u-1"));
    EXPECT_NE(message_id("acme", "u-1"), message_id("acme2", "u-1"));
    // The separator keeps ("ab", "c") and ("a", "bc") apart.
    EXPECT_NE(message_id("ab", "c"), message_id("a", "bc"));
}

TEST(Publisher, stores_a_batch_on_its_partition_subjects_with_message_ids_and_acknowledged_sequences) {
    nats_cluster servers(1);
    connected_stream a(servers, "a", 4);
    auto& o = a.o;
    auto& c = a.conn;
    publisher pub(*c, o);

    std::vector<std::string> ids{message_id("acme", "e1"), message_id("acme", "e2"), message_id("globex", "e1")};
    std::vector<outgoing_message> batch{{1, ids[0], "one"}, {1, ids[1], "two"}, {3, ids[2], "three"}};
    auto out = pub.publish(batch);
    ASSERT_TRUE(out.ok()) << out.error.message();
    EXPECT_EQ(out.stored, 3u);
    EXPECT_EQ(out.duplicates, 0u);
    EXPECT_EQ(out.attempts, 1u);
    ASSERT_EQ(out.sequences.size(), 3u);

    // Each acknowledged sequence holds that message, on its partition's subject, with its id.
    for (std::size_t i = 0; i < batch.size(); ++i) {
        natsMsg* m = nullptr;
        ASSERT_EQ(js_GetMsg(&m, c->js(), "redflag_events", out.sequences[i], nullptr, nullptr), NATS_OK);
        EXPECT_EQ(std::string(natsMsg_GetSubject(m)), subject_of(o, batch[i].partition));
        EXPECT_EQ(std::string(natsMsg_GetData(m), natsMsg_GetDataLength(m)), batch[i].data);
        EXPECT_EQ(read_header(m, "Nats-Msg-Id"), ids[i]);
        natsMsg_Destroy(m);
    }
}

TEST(Publisher, a_resent_batch_is_stored_once_and_reported_as_duplicates) {
    nats_cluster servers(1);
    connected_stream a(servers, "a", 4);
    auto& o = a.o;
    auto& c = a.conn;
    publisher pub(*c, o);
    std::vector<outgoing_message> batch{{0, "id-1", "x"}, {2, "id-2", "y"}};
    auto first = pub.publish(batch);
    ASSERT_TRUE(first.ok()) << first.error.message();
    auto again = pub.publish(batch);
    ASSERT_TRUE(again.ok()) << again.error.message();
    EXPECT_EQ(again.stored, 0u);
    EXPECT_EQ(again.duplicates, 2u);
    EXPECT_EQ(again.sequences, first.sequences);
    auto last = last_sequence(*c, o);
    ASSERT_TRUE(last.ok());
    EXPECT_EQ(*last, 2u);
}

TEST(Publisher, rejects_a_partition_outside_the_stream_and_an_empty_id_before_sending) {
    nats_cluster servers(1);
    connected_stream a(servers, "a", 4);
    auto& o = a.o;
    auto& c = a.conn;
    publisher pub(*c, o);
    std::vector<outgoing_message> bad_partition{{0, "a", "x"}, {4, "b", "y"}};
    auto out = pub.publish(bad_partition);
    EXPECT_EQ(out.error.error_code(), status::code::invalid);
    EXPECT_NE(out.error.message().find("message 1: partition 4 is not in [0, 4)"), std::string::npos) << out.error.message();
    std::vector<outgoing_message> no_id{{0, "", "x"}};
    EXPECT_EQ(pub.publish(no_id).error.error_code(), status::code::invalid);
    auto last = last_sequence(*c, o);
    ASSERT_TRUE(last.ok());
    EXPECT_EQ(*last, 0u);  // nothing of either batch was sent
}

TEST(Publisher, reports_failure_when_no_stream_stores_the_messages) {
    nats_cluster servers(1);
    auto o = servers.cluster_options("a", 4);
    o.publish_timeout = std::chrono::milliseconds(1500);
    auto c = connection::open(o);
    ASSERT_TRUE(c.ok()) << c.error().message();
    publisher pub(**c, o);  // no ensure_stream: nothing listens on the subjects
    std::vector<outgoing_message> batch{{0, "a", "x"}};
    auto t0 = std::chrono::steady_clock::now();
    auto out = pub.publish(batch);
    EXPECT_FALSE(out.ok());
    EXPECT_EQ(out.error.error_code(), status::code::timeout);
    EXPECT_NE(out.error.message().find("message 0 (id a) not stored"), std::string::npos) << out.error.message();
    EXPECT_EQ(out.sequences[0], 0u);
    EXPECT_GE(out.attempts, 2u);  // it tried again while the deadline allowed
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(4000));
}
