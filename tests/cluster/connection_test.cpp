#include "cluster/connection.hpp"

#include "nats_harness.hpp"

#include <gtest/gtest.h>

using namespace redflag;
using namespace redflag::cluster;
using namespace redflag::cluster::testing;

TEST(Connection, says_which_servers_did_not_answer) {
    options o;
    o.nats = {"nats://127.0.0.1:" + std::to_string(free_port())};
    o.node = "a";
    connect_options quick;
    quick.connect_timeout = std::chrono::milliseconds(200);
    auto c = connection::open(o, quick);
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.error().error_code(), status::code::unavailable);
    EXPECT_NE(c.error().message().find(o.nats[0]), std::string::npos) << c.error().message();
}

TEST(Connection, refuses_a_server_without_jetstream) {
    // A plain server (no jetstream block) accepts the connection but not JetStream.
    char pattern[] = "/tmp/redflag-nojs-XXXXXX";
    std::string folder = ::mkdtemp(pattern);
    int port = free_port();
    std::string conf = folder + "/n.conf";
    std::ofstream(conf) << "listen: \"127.0.0.1:" << port << "\"\n";
    pid_t pid = spawn({nats_server_binary(), "-c", conf});
    ASSERT_GT(pid, 0);
    options o;
    o.nats = {"nats://127.0.0.1:" + std::to_string(port)};
    o.node = "a";
    result<std::unique_ptr<connection>> c = status::error(status::code::other, "not tried");
    eventually([&] {
        connect_options quick;
        quick.connect_timeout = std::chrono::milliseconds(200);
        quick.api_timeout = std::chrono::milliseconds(500);
        c = connection::open(o, quick);
        return c.error().message().find("JetStream") != std::string::npos;
    }, std::chrono::milliseconds(5000), std::chrono::milliseconds(50));
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    std::filesystem::remove_all(folder);
    ASSERT_FALSE(c.ok());
    EXPECT_NE(c.error().message().find("JetStream is not available"), std::string::npos) << c.error().message();
}

TEST(Connection, reconnects_to_another_server_when_its_server_dies) {
    nats_cluster servers(3);
    auto o = servers.cluster_options("a");
    o.nats = {servers.url(0)};  // it learns the others from the cluster
    connect_options fast;
    fast.reconnect_wait = std::chrono::milliseconds(50);
    auto c = connection::open(o, fast);
    ASSERT_TRUE(c.ok()) << c.error().message();
    EXPECT_EQ((*c)->connected_url(), servers.url(0));
    EXPECT_GT((*c)->max_payload(), 0);
    servers.kill9(0);
    ASSERT_TRUE(eventually([&] { return (*c)->connected() && (*c)->connected_url() != servers.url(0); },
                           std::chrono::milliseconds(10000)));
    // The counters are fed by callbacks on the library's own thread, a moment later.
    EXPECT_TRUE(eventually([&] { return (*c)->disconnects() >= 1 && (*c)->reconnects() >= 1; }, std::chrono::milliseconds(2000)));
    EXPECT_TRUE((*c)->flush(std::chrono::milliseconds(2000)).ok());
}
