#include "app/systemd_notify.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <string>

using namespace redflag::app;

namespace {

// A unix datagram socket bound to `name` (a path, or "@name" for the abstract namespace),
// as systemd's notify socket is.
class listener {
public:
    explicit listener(const std::string& name) {
        fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        std::memcpy(address.sun_path, name.data(), name.size());
        if (name[0] == '@') address.sun_path[0] = '\0';
        bound_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&address),
                        static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size())) == 0;
        timeval timeout{2, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    }
    ~listener() { ::close(fd_); }
    bool bound() const { return bound_; }
    std::string receive() {
        char buffer[256];
        auto n = ::recv(fd_, buffer, sizeof buffer, 0);
        return n < 0 ? std::string("<nothing>") : std::string(buffer, std::size_t(n));
    }

private:
    int fd_ = -1;
    bool bound_ = false;
};

}  // namespace

TEST(SystemdNotify, sends_the_state_to_a_socket_path) {
    auto path = std::filesystem::temp_directory_path() / ("redflag-notify-" + std::to_string(::getpid()));
    std::filesystem::remove(path);
    listener l(path.string());
    ASSERT_TRUE(l.bound());
    EXPECT_FALSE(notify_socket(path.string(), "READY=1"));
    EXPECT_EQ(l.receive(), "READY=1");
    EXPECT_FALSE(notify_socket(path.string(), "STOPPING=1"));
    EXPECT_EQ(l.receive(), "STOPPING=1");
    std::filesystem::remove(path);
}

TEST(SystemdNotify, abstract_namespace_names_start_with_at) {
    const std::string name = "@redflag-notify-test-" + std::to_string(::getpid());
    listener l(name);
    ASSERT_TRUE(l.bound());
    EXPECT_FALSE(notify_socket(name, "READY=1"));
    EXPECT_EQ(l.receive(), "READY=1");
}

TEST(SystemdNotify, bad_addresses_are_reported_not_thrown) {
    EXPECT_TRUE(notify_socket("relative/path", "READY=1"));
    EXPECT_TRUE(notify_socket("", "READY=1"));
    EXPECT_TRUE(notify_socket("/nonexistent/redflag/notify", "READY=1"));
    EXPECT_TRUE(notify_socket("/" + std::string(200, 'x'), "READY=1"));
}

TEST(SystemdNotify, nothing_is_sent_without_notify_socket) {
    ::unsetenv("NOTIFY_SOCKET");
    EXPECT_FALSE(notify_systemd("READY=1"));
}
