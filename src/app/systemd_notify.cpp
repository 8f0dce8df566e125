#include "app/systemd_notify.hpp"

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace redflag::app {

std::optional<std::string> notify_socket(std::string_view socket_address, std::string_view state) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (socket_address.empty() || (socket_address[0] != '/' && socket_address[0] != '@'))
        return "NOTIFY_SOCKET must be an absolute path or an abstract name (@...): " + std::string(socket_address);
    if (socket_address.size() >= sizeof(address.sun_path)) return "NOTIFY_SOCKET is too long";
    std::memcpy(address.sun_path, socket_address.data(), socket_address.size());
    if (address.sun_path[0] == '@') address.sun_path[0] = '\0';  // abstract namespace
    const auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + socket_address.size());

    const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return std::string("cannot create the notify socket: ") + std::strerror(errno);
    const auto sent = ::sendto(fd, state.data(), state.size(), MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&address), length);
    const int error = errno;
    ::close(fd);
    if (sent < 0) return "cannot notify systemd at " + std::string(socket_address) + ": " + std::strerror(error);
    return std::nullopt;
}

std::optional<std::string> notify_systemd(std::string_view state) {
    const char* socket_address = std::getenv("NOTIFY_SOCKET");
    if (socket_address == nullptr) return std::nullopt;
    auto error = notify_socket(socket_address, state);
    if (error) spdlog::warn("{}", *error);
    return error;
}

}  // namespace redflag::app
