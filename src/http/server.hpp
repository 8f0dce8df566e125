// The service's HTTP/1.1 server (Boost.Beast over Asio), shaped like Beast's advanced
// server: one listener, one session per connection. A session reads requests with a
// body limit, keeps the connection alive, lets a client pipeline a bounded number of
// requests (answers go out in request order, even when the engine answers them out of
// order), closes an idle or stalled connection after a timeout, and answers
// `Expect: 100-continue`.
//
// Endpoints (../shared/spec/events.md, alerts.md, cli.md):
//   POST /v1/events   decode + validate (ingest/), then engine::ingest_sink::submit; the
//                     answer (202, 503 + Retry-After, 500) comes from the sink's callback
//   GET  /healthz     200 while running;  GET /readyz  200 when api::ready(), else 503
//   GET  /metrics     the Prometheus text format of the engine_metrics registry
//   the management API, routed to http::api (http/api.hpp)
// Auth, by the route's scope (http/access.hpp): ingest.tokens and ingest.hmac_secret guard
// POST /v1/events (`X-Redflag-Signature: sha256=<hex>`, 401 missing or wrong); api.read_tokens
// and api.write_tokens the management API; metrics.tokens GET /metrics, when set. Bearer
// tokens: 401 without, 403 with one that is not good for the route. /healthz and /readyz
// are open, as load balancers expect.
//
// Accept failures (a full descriptor table: EMFILE, ENFILE) are counted in
// redflag_http_accept_errors_total{reason} and retried after a pause that doubles from
// 10 ms to 1 s, so the loop never spins; open connections are served meanwhile.
//
// Thread-safety: start() and stop() are called from one controlling thread; requests are
// served on `threads` I/O threads, each connection on its own strand. The sink, api,
// metrics and clock must outlive the server. Failures: start() returns an error value
// (bad address, port in use, refusing an unauthenticated public listener); on the data
// plane every failure is an HTTP answer or a closed connection, never an exception.
#pragma once

#include "core/time.hpp"
#include "engine/ingest_sink.hpp"
#include "http/access.hpp"
#include "http/api.hpp"
#include "http/console.hpp"
#include "ingest/validate.hpp"
#include "ingest/adapters/registry.hpp"
#include "metrics/engine_metrics.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace redflag::http {

struct server_options {
    std::string address = "127.0.0.1";  // an IP address or a host name resolved at start
    std::uint16_t port = 8080;           // 0: any free port, see server::port()
    unsigned threads = 2;                // I/O threads
    // A connection that sends nothing for this long while nothing is in flight, or that
    // does not take a response for this long, is closed.
    std::chrono::milliseconds idle_timeout{30'000};
    std::chrono::milliseconds shutdown_timeout{10'000};  // stop(): wait this long for in-flight requests
    std::size_t max_body = 4 * 1024 * 1024;              // ingest.max_body: larger bodies get 413
    std::size_t max_pipelined = 16;                      // requests in flight per connection
    std::size_t max_events = 10'000;                     // events per batch: more gets 413
    ingest::validation_limits limits{};
    console_options console;  // the web console under /ui/ (ui.enabled, ui.secure_cookie)
    access_policy access;  // the credentials of ingest, the management API and /metrics
    std::chrono::seconds retry_after{1};  // Retry-After of 503 when the engine is overloaded
    // The vendors' webhook adapters (config `adapters:`), for POST /v1/hooks/{vendor}; none: 404.
    std::shared_ptr<const ingest::adapters::hook_registry> hooks;
};

// Splits the config's `listen` value into address and port: "127.0.0.1:8080",
// "localhost:0", "[::1]:8080". nullopt when it is not HOST:PORT with a port 0..65535.
std::optional<std::pair<std::string, std::uint16_t>> parse_listen_address(std::string_view listen);

// What start() would refuse before binding: an address that does not resolve, or a
// non-loopback one whose ingest or management API would be open (check_listener). For
// `redflag check --config`.
std::optional<std::string> check_listen(const server_options& options);

class server {
public:
    server(server_options options, engine::ingest_sink& sink, http::api& api, metrics::engine_metrics& metrics,
           const clock& clock);
    ~server();  // stop()s

    server(const server&) = delete;
    server& operator=(const server&) = delete;

    // Binds, listens and starts the I/O threads; once per server. Returns nullopt on success, else what
    // went wrong: an address that does not resolve, a port that cannot be bound, or a
    // non-loopback address whose ingest or management API would be open (check_listener).
    [[nodiscard]] std::optional<std::string> start();

    // The bound port (the chosen one when options.port was 0); 0 before start().
    std::uint16_t port() const { return port_; }

    // Graceful stop: stops accepting, closes idle connections, lets requests in flight be
    // answered (with Connection: close) for up to shutdown_timeout, then closes what is
    // left and stops the I/O threads. Idempotent. An engine callback that arrives after
    // stop() (or after the server is destroyed) is harmless: its answer is dropped.
    void stop();

    struct context;  // shared with sessions (server.cpp)

private:
    std::shared_ptr<context> context_;
    std::vector<std::thread> threads_;
    std::uint16_t port_ = 0;
    bool started_ = false;
    bool running_ = false;
};

}  // namespace redflag::http
