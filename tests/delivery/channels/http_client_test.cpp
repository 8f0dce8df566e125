#include "delivery/channels/http_client.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace redflag;
using namespace redflag::delivery::channels;

namespace {

// A loopback port nothing listens on: bound (so no one else takes it) but never listened to.
struct closed_port {
    int fd = -1;
    int port = 0;
    closed_port() {
        fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
        socklen_t len = sizeof addr;
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
        port = ntohs(addr.sin_port);
    }
    ~closed_port() { ::close(fd); }
};

}  // namespace

TEST(HttpClient, url_encoding_keeps_only_unreserved_characters) {
    EXPECT_EQ(url_encode("jane.doe+cs@example.com"), "jane.doe%2Bcs%40example.com");
    EXPECT_EQ(url_encode("a b/c~d_e-f"), "a%20b%2Fc~d_e-f");
    EXPECT_EQ(url_encode("\xC3\xA9"), "%C3%A9");
}

TEST(HttpClient, refused_connection_is_an_error_value_not_an_exception) {
    closed_port port;
    ASSERT_GT(port.port, 0);
    http_options quick;
    quick.connect_timeout = duration{2000};
    quick.timeout = duration{3000};
    http_client client(quick);
    http_response r = client.post_json("http://127.0.0.1:" + std::to_string(port.port) + "/hook", "{}");
    EXPECT_EQ(r.status, 0);
    EXPECT_FALSE(r.error.empty());
}

TEST(HttpClient, refuses_other_protocols_and_header_injection) {
    http_client client;
    EXPECT_EQ(client.get("file:///etc/passwd", {}).status, 0);
    EXPECT_FALSE(client.get("file:///etc/passwd", {}).error.empty());
    auto r = client.post_json("http://127.0.0.1:1/", "{}", {{"X-Test", "a\r\nInjected: yes"}});
    EXPECT_EQ(r.status, 0);
    EXPECT_NE(r.error.find("line break"), std::string::npos);
}
