// Cluster-wide requests between instances on core NATS (not JetStream): today one, "reload
// your rule files", so that POST /-/reload (or SIGHUP) on one instance reaches every
// instance. Subject `<name>.control.reload`; the payload is the sending node's name, and
// an instance ignores its own requests.
//
// Core NATS delivers at most once to the instances connected at that moment: one that is
// disconnected then misses it. That is why each instance also publishes its rule
// fingerprint in its heartbeat (serve_cluster.hpp): a missed reload shows as a mismatch in
// /readyz and redflag_cluster_rules_mismatch until it is reloaded.
//
// Thread-safety: publish_reload() from any thread; the handler runs on nats.c's delivery
// thread, one call at a time, and must return promptly (post the work elsewhere). The
// destructor waits for a handler call in progress.
#pragma once

#include "cluster/connection.hpp"
#include "cluster/options.hpp"
#include "cluster/status.hpp"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

namespace redflag::cluster {

class control_channel {
public:
    using reload_handler = std::function<void(const std::string& from_node)>;

    // Subscribes to the reload subject; `on_reload` hears the requests of the other nodes.
    static result<std::unique_ptr<control_channel>> open(connection& c, const options& o, reload_handler on_reload);
    ~control_channel();
    control_channel(const control_channel&) = delete;
    control_channel& operator=(const control_channel&) = delete;

    // Asks every other instance to reload its rule files (flushed to the server before it returns).
    status publish_reload();

    std::uint64_t received() const { return received_.load(); }

private:
    control_channel(connection& c, const options& o, reload_handler h) : connection_(c), options_(o), handler_(std::move(h)) {}
    static void on_message(natsConnection*, natsSubscription*, natsMsg* msg, void* closure);
    static void on_complete(void* closure);

    connection& connection_;
    const options options_;
    reload_handler handler_;
    natsSubscription* sub_ = nullptr;
    std::mutex mu_;  // guards stopped_ against a handler call in progress
    bool stopped_ = false;
    std::mutex complete_mu_;
    std::condition_variable complete_cv_;
    bool complete_ = false;
    std::atomic<std::uint64_t> received_{0};
};

// The subject of reload requests.
std::string reload_subject(const options& o);

}  // namespace redflag::cluster
