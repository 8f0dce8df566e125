// A connection to a NATS system with JetStream: the RAII owner of nats.c's natsConnection
// and jsCtx that every other piece of the cluster layer borrows.
//
// It connects to any of the configured servers and, once connected, reconnects for ever
// (to any server of the cluster, including ones the servers announce), so a server that
// dies costs a reconnect, not the connection. What was in flight while disconnected fails
// or times out and is retried by the layer above (publisher, lease manager, consumers).
//
// Async message callbacks (the ordered consumers) run on a small pool of the library's
// threads shared by all subscriptions, not one thread per subscription.
//
// Thread-safe: nats.c connections and JetStream contexts may be used from any thread.
// Failures at open() are returned as a status; later connection trouble is counted and
// logged (disconnects, reconnects, asynchronous errors such as a slow consumer).
#pragma once

#include "cluster/options.hpp"
#include "cluster/status.hpp"

#include <nats/nats.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace redflag::cluster {

// A natsStatus (with the JetStream error code when there is one, and the library's last
// error text of this thread) as a status. `what` says what was being done.
status from_nats(natsStatus s, std::string_view what, jsErrCode js_error = static_cast<jsErrCode>(0));

struct connect_options {
    std::string client_name;                // shown by the servers' monitoring; defaults to the node
    duration connect_timeout = 2 * seconds_ms;  // per server, at open()
    duration reconnect_wait{250};
    duration api_timeout = 5 * seconds_ms;  // JetStream API requests (stream, consumer, KV)
    int delivery_threads = 2;               // the library's pool for async subscription callbacks
};

class connection {
public:
    // Connects to one of `o.nats` with `o`'s credentials and TLS. Fails when no server
    // answers or the servers refuse the credentials or have no JetStream.
    static result<std::unique_ptr<connection>> open(const options& o, const connect_options& c = {});
    ~connection();

    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;

    natsConnection* nats() const { return nc_; }
    jsCtx* js() const { return js_; }

    bool connected() const;
    std::string connected_url() const;  // empty while disconnected
    // The largest message payload the connected server accepts (its max_payload).
    std::int64_t max_payload() const;
    // Flushes what the client buffered and waits for the server's answer (a round trip).
    status flush(duration timeout);

    std::uint64_t disconnects() const { return counters_->disconnects.load(); }
    std::uint64_t reconnects() const { return counters_->reconnects.load(); }

private:
    // The closure of nats.c's connection callbacks, which run on the library's own thread,
    // possibly after natsConnection_Close() returned: freed only once the closed callback,
    // the last one, has run.
    struct counters {
        std::atomic<std::uint64_t> disconnects{0};
        std::atomic<std::uint64_t> reconnects{0};
        std::atomic<bool> closing{false};
        std::string name;
        std::mutex mu;
        std::condition_variable cv;
        bool closed = false;
    };
    // Closes and destroys `nc` and frees `c` after the closed callback ran.
    static void close(natsConnection* nc, std::unique_ptr<counters> c);
    connection(natsConnection* nc, jsCtx* js, std::unique_ptr<counters> c) : nc_(nc), js_(js), counters_(std::move(c)) {}

    natsConnection* nc_ = nullptr;
    jsCtx* js_ = nullptr;
    // Handed to nats.c's callbacks as their closure: it must outlive the connection.
    std::unique_ptr<counters> counters_;

    static void on_disconnected(natsConnection*, void* closure);
    static void on_reconnected(natsConnection*, void* closure);
    static void on_closed(natsConnection*, void* closure);
    static void on_async_error(natsConnection*, natsSubscription*, natsStatus, void* closure);
};

}  // namespace redflag::cluster
