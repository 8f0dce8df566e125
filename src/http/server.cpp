#include "http/server.hpp"

#include "http/handlers.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <unordered_map>

namespace redflag::http {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace beast_http = boost::beast::http;
using tcp = net::ip::tcp;

class session;

// What the listener and every session share. Sessions hold it by shared_ptr, so the
// io_context outlives every socket and timer, even when an engine callback arrives after
// stop() (its handler then waits, never run, in the stopped io_context).
struct server::context {
    context(server_options o, engine::ingest_sink& sink, http::api& api, metrics::engine_metrics& metrics,
            const redflag::clock& clock)
        : options(std::move(o)), handlers{options, sink, api, metrics, clock}, ioc(static_cast<int>(options.threads)) {}

    const server_options options;
    const handler_context handlers;
    std::atomic<bool> stopping{false};

    std::mutex mutex;  // guards sessions
    std::condition_variable sessions_gone;
    std::unordered_map<const session*, std::weak_ptr<session>> sessions;

    // Set once the I/O threads are gone: answers that arrive later are dropped, not posted
    // into an io_context that will never run them (their handler would keep the session,
    // and through it this context, alive for ever).
    std::mutex post_mutex;
    bool io_stopped = false;

    // Declared last: destroyed first, while the session registry is still alive for the
    // sessions its queued handlers release.
    net::io_context ioc;
    std::optional<tcp::acceptor> acceptor;
    // On the acceptor's strand: the wait before accepting again after accept() failed,
    // and the current back-off (zero while accepting works).
    std::optional<net::steady_timer> accept_timer;
    std::chrono::milliseconds accept_backoff{0};
};

namespace {

constexpr std::string_view continue_response = "HTTP/1.1 100 Continue\r\n\r\n";
constexpr std::chrono::milliseconds linger_timeout{2000};
constexpr std::size_t linger_max_bytes = 64 * 1024 * 1024;

void close_socket(tcp::socket& socket) {
    beast::error_code ec;
    socket.shutdown(tcp::socket::shutdown_both, ec);  // errors: the peer may be gone already
    socket.close(ec);
}

}  // namespace

// One connection: reads requests, hands them to handle_request, writes the answers in
// request order. Every member is touched only on the connection's strand.
class session : public std::enable_shared_from_this<session> {
public:
    session(std::shared_ptr<server::context> ctx, tcp::socket socket)
        : ctx_(std::move(ctx)), socket_(std::move(socket)), timer_(socket_.get_executor()) {}

    ~session() {
        std::lock_guard lock(ctx_->mutex);
        ctx_->sessions.erase(this);
        if (ctx_->sessions.empty()) ctx_->sessions_gone.notify_all();
    }

    void run() {
        {
            std::lock_guard lock(ctx_->mutex);
            ctx_->sessions.emplace(this, weak_from_this());
        }
        net::dispatch(socket_.get_executor(), [self = shared_from_this()] {
            if (self->ctx_->stopping) return self->close();
            self->do_read();
        });
    }

    // From server::stop(), on any thread: no more requests on this connection; what is in
    // flight is still answered.
    void post_shutdown() {
        net::post(socket_.get_executor(), [self = shared_from_this()] { self->begin_shutdown(); });
    }

    // From server::stop() once its grace period is over, on any thread: close now.
    void post_close() {
        net::post(socket_.get_executor(), [self = shared_from_this()] { self->close(); });
    }

private:
    void begin_shutdown() {
        closing_ = true;
        if (queue_.empty() && !writing_) return close();
        // Ends a pending read with end-of-stream without touching a pending write.
        beast::error_code ec;
        if (reading_) socket_.shutdown(tcp::socket::shutdown_receive, ec);
    }

    struct slot {
        bool ready = false;
        bool keep_alive = true;
        response res;
    };

    void do_read() {
        if (closing_ || closed_ || reading_ || queue_.size() >= ctx_->options.max_pipelined) return;
        parser_.emplace();
        parser_->body_limit(ctx_->options.max_body);
        reading_ = true;
        if (queue_.empty() && !writing_) arm_timer();
        beast_http::async_read_header(socket_, buffer_, *parser_,
                                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                                          self->on_header(ec);
                                      });
    }

    void on_header(beast::error_code ec) {
        if (ec) return on_read(ec);
        // A client that waits for "100 Continue" before sending the body (curl does, above
        // 1 KiB) gets it when the line is free; otherwise it sends the body after its own
        // short wait, which is only slower.
        const auto& header = parser_->get();
        if (beast::iequals(header[beast_http::field::expect], "100-continue") && !writing_ && queue_.empty()) {
            writing_ = true;
            net::async_write(socket_, net::buffer(continue_response.data(), continue_response.size()),
                             [self = shared_from_this()](beast::error_code ec, std::size_t) {
                                 self->writing_ = false;
                                 if (ec) return self->on_read(ec);
                                 self->read_body();
                             });
            return;
        }
        read_body();
    }

    void read_body() {
        beast_http::async_read(socket_, buffer_, *parser_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
            self->on_read(ec);
        });
    }

    void on_read(beast::error_code ec) {
        reading_ = false;
        if (closed_) return;
        if (ec == beast_http::error::body_limit) {
            // The rest of the body is not read: answer and close the connection.
            closing_ = true;
            enqueue(false);
            complete(next_seq_ - 1, body_too_large(ctx_->handlers, parser_->get().target()));
            return;
        }
        if (ec == beast_http::error::end_of_stream || ec == net::error::operation_aborted || ec == net::error::eof ||
            ec == net::error::connection_reset || ec == beast_http::error::partial_message) {
            closing_ = true;
            if (queue_.empty() && !writing_) close();
            return;
        }
        if (ec && ec.category() == beast_http::make_error_code(beast_http::error::bad_target).category()) {
            // A request Beast could not parse: say why, then close.
            closing_ = true;
            enqueue(false);
            const unsigned status = ec == beast_http::error::header_limit ? 431 : 400;
            complete(next_seq_ - 1, error_response(status, "bad HTTP request: " + ec.message()));
            return;
        }
        if (ec) {
            closing_ = true;
            if (queue_.empty() && !writing_) close();
            return;
        }

        request req = parser_->release();
        const bool keep_alive = req.keep_alive();
        if (!keep_alive) closing_ = true;
        const std::uint64_t seq = enqueue(keep_alive);
        handle_request(ctx_->handlers, std::move(req), [self = shared_from_this(), seq](response res) {
            // From any thread: back to the connection's strand, unless the server has stopped.
            std::lock_guard lock(self->ctx_->post_mutex);
            if (self->ctx_->io_stopped) return;
            net::post(self->socket_.get_executor(),
                      [self, seq, res = std::move(res)]() mutable { self->complete(seq, std::move(res)); });
        });
        do_read();
    }

    std::uint64_t enqueue(bool keep_alive) {
        queue_.push_back(slot{false, keep_alive, {}});
        return next_seq_++;
    }

    void complete(std::uint64_t seq, response res) {
        if (closed_ || seq < first_seq_) return;  // the connection is gone: nobody to answer
        auto& s = queue_[seq - first_seq_];
        res.keep_alive(s.keep_alive && !ctx_->stopping);
        res.set(beast_http::field::server, "redflag");
        res.prepare_payload();
        s.res = std::move(res);
        s.ready = true;
        do_write();
    }

    void do_write() {
        if (writing_ || closed_ || queue_.empty() || !queue_.front().ready) return;
        writing_ = true;
        arm_timer();
        beast_http::async_write(socket_, queue_.front().res,
                                [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_write(ec); });
    }

    void on_write(beast::error_code ec) {
        writing_ = false;
        if (closed_) return;
        if (ec) return close();
        const bool eof = queue_.front().res.need_eof();
        queue_.pop_front();
        ++first_seq_;
        if (eof || (closing_ && queue_.empty())) return linger_close();
        do_write();
        do_read();  // may have stopped at max_pipelined
        if (queue_.empty() && !writing_) arm_timer();
    }

    // One timer guards both directions: it closes the connection when it is idle (nothing
    // in flight) or a write stalls. Waiting for the engine's answer is not idleness.
    void arm_timer() { arm_timer(ctx_->options.idle_timeout); }

    void arm_timer(std::chrono::milliseconds timeout) {
        const std::uint64_t generation = ++timer_generation_;
        timer_.expires_after(timeout);
        timer_.async_wait([self = shared_from_this(), generation](beast::error_code ec) {
            if (ec || generation != self->timer_generation_ || self->closed_) return;
            if (self->writing_ || self->queue_.empty()) self->close();
        });
    }

    // Closes after the last answer. Closing a socket with unread request bytes (the rest of
    // a body over max_body) makes the kernel send a reset, which can destroy the answer
    // before the client reads it: so shut down our side, read and discard what the client
    // still sends for a short while, then close.
    void linger_close() {
        if (closed_) return;
        closing_ = true;
        if (reading_) return close();  // the pending read already consumes the input
        beast::error_code ec;
        socket_.shutdown(tcp::socket::shutdown_send, ec);
        if (ec) return close();
        arm_timer(linger_timeout);
        drain(0);
    }

    void drain(std::size_t drained) {
        if (closed_ || drained > linger_max_bytes) return close();
        socket_.async_read_some(net::buffer(drain_buffer_),
                                [self = shared_from_this(), drained](beast::error_code ec, std::size_t n) {
                                    if (ec) return self->close();
                                    self->drain(drained + n);
                                });
    }

    void close() {
        if (closed_) return;
        closed_ = true;
        timer_.cancel();
        close_socket(socket_);
    }

    std::shared_ptr<server::context> ctx_;  // first: destroyed last
    tcp::socket socket_;
    net::steady_timer timer_;
    beast::flat_buffer buffer_;
    std::optional<beast_http::request_parser<beast_http::string_body>> parser_;
    std::deque<slot> queue_;
    std::uint64_t first_seq_ = 0;  // the sequence number of queue_.front()
    std::uint64_t next_seq_ = 0;
    std::uint64_t timer_generation_ = 0;
    std::array<char, 16 * 1024> drain_buffer_;
    bool reading_ = false;
    bool writing_ = false;
    bool closing_ = false;  // read no more requests
    bool closed_ = false;
};

namespace {

// Accepting again after a failure waits this long, doubling up to the maximum, so that a
// full descriptor table (EMFILE: the pending connection stays in the listen backlog and
// every retry fails at once) does not spin a core. Open connections are served meanwhile.
constexpr std::chrono::milliseconds accept_backoff_min{10};
constexpr std::chrono::milliseconds accept_backoff_max{1000};

metrics::accept_error accept_error_reason(const beast::error_code& ec) {
    using metrics::accept_error;
    if (ec == net::error::no_descriptors || ec == boost::system::errc::too_many_files_open_in_system)
        return accept_error::fd_limit;
    if (ec == net::error::no_buffer_space || ec == net::error::no_memory) return accept_error::memory;
    if (ec == net::error::connection_aborted || ec == boost::system::errc::protocol_error) return accept_error::aborted;
    return accept_error::other;
}

void do_accept(std::shared_ptr<server::context> ctx);

// Counts a failed accept and accepts again: at once when only that connection failed,
// after a growing pause when the process is short of a resource.
void on_accept_error(const std::shared_ptr<server::context>& ctx, const beast::error_code& ec) {
    const auto reason = accept_error_reason(ec);
    ctx->handlers.metrics.http_accept_errors(reason).Increment();
    if (reason == metrics::accept_error::aborted) return do_accept(ctx);
    auto& backoff = ctx->accept_backoff;
    if (backoff == std::chrono::milliseconds::zero())
        spdlog::warn("accepting a connection failed: {}; retrying from {} ms up to every {} ms, serving open connections",
                     ec.message(), accept_backoff_min.count(), accept_backoff_max.count());
    backoff = std::clamp(backoff * 2, accept_backoff_min, accept_backoff_max);
    ctx->accept_timer->expires_after(backoff);
    ctx->accept_timer->async_wait([ctx](beast::error_code wait_ec) {
        if (ctx->stopping || wait_ec) return;
        do_accept(ctx);
    });
}

void do_accept(std::shared_ptr<server::context> ctx) {
    auto& acceptor = *ctx->acceptor;
    acceptor.async_accept(net::make_strand(ctx->ioc), [ctx](beast::error_code ec, tcp::socket socket) {
        if (ctx->stopping || ec == net::error::operation_aborted) return;
        if (ec) return on_accept_error(ctx, ec);
        if (ctx->accept_backoff != std::chrono::milliseconds::zero()) {
            spdlog::info("accepting connections again");
            ctx->accept_backoff = std::chrono::milliseconds::zero();
        }
        std::make_shared<session>(ctx, std::move(socket))->run();
        do_accept(ctx);
    });
}

std::optional<net::ip::address> resolve(const std::string& host, std::string& error) {
    beast::error_code ec;
    auto address = net::ip::make_address(host, ec);
    if (!ec) return address;
    net::io_context ioc;
    tcp::resolver resolver(ioc);
    auto results = resolver.resolve(host, "", ec);
    if (ec || results.empty()) {
        error = "cannot resolve listen address \"" + host + "\": " + (ec ? ec.message() : "no addresses");
        return std::nullopt;
    }
    return results.begin()->endpoint().address();
}

}  // namespace

std::optional<std::pair<std::string, std::uint16_t>> parse_listen_address(std::string_view listen) {
    auto colon = listen.rfind(':');
    if (colon == std::string_view::npos || colon == 0) return std::nullopt;
    std::string_view host = listen.substr(0, colon), port_text = listen.substr(colon + 1);
    if (host.front() == '[') {
        if (host.size() < 3 || host.back() != ']') return std::nullopt;
        host = host.substr(1, host.size() - 2);
    } else if (host.find(':') != std::string_view::npos) {
        return std::nullopt;  // a bare IPv6 address needs brackets
    }
    if (port_text.empty() || port_text.size() > 5) return std::nullopt;
    unsigned port = 0;
    for (char c : port_text) {
        if (c < '0' || c > '9') return std::nullopt;
        port = port * 10 + unsigned(c - '0');
    }
    if (port > 65535) return std::nullopt;
    return std::pair{std::string(host), static_cast<std::uint16_t>(port)};
}

std::optional<std::string> check_listen(const server_options& options) {
    std::string error;
    auto address = resolve(options.address, error);
    if (!address) return error;
    return check_listener(options.access, address->is_loopback(), options.address + ":" + std::to_string(options.port));
}

server::server(server_options options, engine::ingest_sink& sink, http::api& api, metrics::engine_metrics& metrics,
               const clock& clock)
    : context_(std::make_shared<context>(std::move(options), sink, api, metrics, clock)) {}

server::~server() { stop(); }

std::optional<std::string> server::start() {
    if (started_) return "the server was started already: a server starts once";
    started_ = true;
    const auto& options = context_->options;
    std::string error;
    auto address = resolve(options.address, error);
    if (!address) return error;
    const std::string where = options.address + ":" + std::to_string(options.port);
    if (auto refused = check_listener(options.access, address->is_loopback(), where)) return refused;

    tcp::endpoint endpoint(*address, options.port);
    auto& acceptor = context_->acceptor.emplace(net::make_strand(context_->ioc));
    beast::error_code ec;
    auto fail = [&](std::string_view what) {
        context_->acceptor.reset();
        return "cannot listen on " + where + ": " + std::string(what) + ": " + ec.message();
    };
    if (acceptor.open(endpoint.protocol(), ec); ec) return fail("open");
    if (acceptor.set_option(net::socket_base::reuse_address(true), ec); ec) return fail("set_option");
    if (acceptor.bind(endpoint, ec); ec) return fail("bind");
    if (acceptor.listen(net::socket_base::max_listen_connections, ec); ec) return fail("listen");
    port_ = acceptor.local_endpoint(ec).port();
    context_->accept_timer.emplace(acceptor.get_executor());

    do_accept(context_);
    const unsigned n = std::max(1u, options.threads);
    threads_.reserve(n);
    for (unsigned i = 0; i < n; ++i) threads_.emplace_back([ctx = context_] { ctx->ioc.run(); });
    running_ = true;
    return std::nullopt;
}

void server::stop() {
    if (!running_) return;
    running_ = false;
    auto& ctx = *context_;
    ctx.stopping = true;

    // Stop accepting before anything else, and wait for it: the port is free once stop()
    // goes on.
    std::promise<void> closed;
    net::post(ctx.acceptor->get_executor(), [&] {
        beast::error_code ec;
        ctx.acceptor->close(ec);
        ctx.accept_timer->cancel();
        closed.set_value();
    });
    closed.get_future().wait();

    auto live_sessions = [&] {
        std::vector<std::shared_ptr<session>> live;
        std::lock_guard lock(ctx.mutex);
        for (auto& [_, weak] : ctx.sessions)
            if (auto s = weak.lock()) live.push_back(std::move(s));
        return live;
    };
    auto wait_for_sessions = [&](std::chrono::milliseconds timeout) {
        std::unique_lock lock(ctx.mutex);
        return ctx.sessions_gone.wait_for(lock, timeout, [&] { return ctx.sessions.empty(); });
    };

    for (auto& s : live_sessions()) s->post_shutdown();
    if (!wait_for_sessions(ctx.options.shutdown_timeout)) {
        // Requests still waiting for the engine after the grace period lose their answer.
        for (auto& s : live_sessions()) s->post_close();
        wait_for_sessions(std::chrono::milliseconds(500));
    }
    ctx.ioc.stop();
    for (auto& t : threads_) t.join();
    threads_.clear();
    {
        std::lock_guard lock(ctx.post_mutex);
        ctx.io_stopped = true;
    }
    // Run the completions that became ready in the meantime (the aborted accept, closed
    // sessions), so that they release the context instead of waiting in the queue.
    ctx.ioc.restart();
    ctx.ioc.poll();
}

}  // namespace redflag::http
