#include "cluster/control.hpp"

#include "nats_harness.hpp"

#include <gtest/gtest.h>

#include <mutex>
#include <vector>

using namespace redflag;
using namespace redflag::cluster;
using namespace redflag::cluster::testing;

namespace {

struct heard {
    std::mutex mu;
    std::vector<std::string> from;
    std::size_t size() {
        std::lock_guard lock(mu);
        return from.size();
    }
};

}  // namespace

// A reload asked on one instance reaches every other one, and not the asker itself (it
// has reloaded already).
TEST(ControlChannel, a_reload_request_reaches_the_other_instances_only) {
    nats_cluster servers(1);
    heard at_a, at_b, at_c;
    std::vector<std::unique_ptr<connection>> connections;
    std::vector<std::unique_ptr<control_channel>> channels;
    for (auto [node, sink] : {std::pair{"a", &at_a}, std::pair{"b", &at_b}, std::pair{"c", &at_c}}) {
        auto c = connection::open(servers.cluster_options(node));
        ASSERT_TRUE(c.ok()) << c.error().message();
        auto ch = control_channel::open(**c, servers.cluster_options(node), [sink](const std::string& from) {
            std::lock_guard lock(sink->mu);
            sink->from.push_back(from);
        });
        ASSERT_TRUE(ch.ok()) << ch.error().message();
        connections.push_back(std::move(*c));
        channels.push_back(std::move(*ch));
    }
    ASSERT_TRUE(channels[1]->publish_reload().ok());
    ASSERT_TRUE(eventually([&] { return at_a.size() == 1 && at_c.size() == 1; }, std::chrono::milliseconds(5000)));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    EXPECT_EQ(at_b.size(), 0u);
    EXPECT_EQ(at_a.from.at(0), "b");
    EXPECT_EQ(channels[0]->received(), 1u);
    EXPECT_EQ(channels[1]->received(), 0u);
}
