// systemd's readiness protocol (sd_notify(3)) without libsystemd: under a unit with
// Type=notify, systemd sets NOTIFY_SOCKET to a unix datagram socket (a path, or "@name"
// for the abstract namespace) and waits for "READY=1" before it counts the service as
// started; "STOPPING=1" tells it the service is shutting down. Without NOTIFY_SOCKET
// (not under systemd) nothing is sent.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace redflag::app {

// Sends `state` (e.g. "READY=1") to $NOTIFY_SOCKET. Returns an error message when the
// variable is set but the datagram could not be sent; nullopt when sent or not asked for.
std::optional<std::string> notify_systemd(std::string_view state);

// The same to an explicit socket address (the value NOTIFY_SOCKET would hold).
std::optional<std::string> notify_socket(std::string_view socket_address, std::string_view state);

}  // namespace redflag::app
