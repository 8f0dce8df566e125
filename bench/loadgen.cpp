// redflag_loadgen: drives POST /v1/events of a running service over keep-alive
// connections and reports events/s, requests/s and latency percentiles.
//
//   redflag_loadgen --port 8080 --mode batch  --batch 1000 --connections 2 --events 1000000
//   redflag_loadgen --port 8080 --mode single --connections 32 --events 200000
//
// Events are usage events spread over --accounts accounts (default 100000) with distinct
// ids (prefix --run, so reruns are not duplicates), --per-account events each, timed
// one day apart from 60 days before now. One thread per core runs an io_context; each
// connection sends its next request when the previous answer arrives (closed loop).
#include <boost/asio.hpp>
#include <ctime>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;

struct options {
    std::string host = "127.0.0.1";
    unsigned short port = 8080;
    std::string mode = "batch";
    std::size_t batch = 1000;
    std::size_t connections = 2;
    std::size_t events = 100000;
    std::size_t accounts = 100000;
    std::size_t per_account = 30;
    std::string run = "r";
    std::string token;
    int threads = 2;
    // The first day of events: 60 days before now, so that events stay within the
    // service's storage.retention (400d by default) and are not after ingest.max_future.
    std::int64_t start_epoch = static_cast<std::int64_t>(std::time(nullptr)) - 60 * 86400;
};

// Event number n → one NDJSON line. Account n % accounts, day n / accounts.
std::string make_event(const options& o, std::size_t n) {
    std::size_t account = n % o.accounts;
    std::size_t index = (n / o.accounts) % std::max<std::size_t>(o.per_account, 1);
    std::time_t t = static_cast<std::time_t>(o.start_epoch + static_cast<std::int64_t>(index) * 86400 +
                                             static_cast<std::int64_t>(account % 86400));
    std::tm tm{};
    gmtime_r(&t, &tm);
    char at[32];
    std::strftime(at, sizeof at, "%Y-%m-%dT%H:%M:%SZ", &tm);
    char line[256];
    int len = std::snprintf(line, sizeof line,
                            "{\"id\":\"%s-%zu\",\"type\":\"usage\",\"account\":\"acct-%06zu\",\"at\":\"%s\","
                            "\"metric\":\"active_users\",\"value\":%zu}\n",
                            o.run.c_str(), n, account, at, 10 + (n * 7919) % 90);
    return std::string(line, static_cast<std::size_t>(len));
}

struct stats {
    std::mutex mutex;
    std::vector<double> latencies_ms;
    std::atomic<std::size_t> events_done{0}, requests_done{0}, errors{0}, status_503{0};
};

class connection : public std::enable_shared_from_this<connection> {
public:
    connection(asio::io_context& io, const options& o, stats& s, std::atomic<std::size_t>& next)
        : socket_(io), resolver_(io), options_(o), stats_(s), next_(next) {}

    void start() {
        resolver_.async_resolve(options_.host, std::to_string(options_.port),
                                [self = shared_from_this()](beast::error_code ec, tcp::resolver::results_type results) {
                                    if (ec) return self->fail("resolve", ec);
                                    asio::async_connect(self->socket_, results,
                                                        [self](beast::error_code ec, const tcp::endpoint&) {
                                                            if (ec) return self->fail("connect", ec);
                                                            self->socket_.set_option(tcp::no_delay(true));
                                                            self->send_next();
                                                        });
                                });
    }

private:
    void send_next() {
        std::size_t per_request = options_.mode == "batch" ? options_.batch : 1;
        std::size_t first = next_.fetch_add(per_request);
        if (first >= options_.events) return close();
        std::size_t last = std::min(first + per_request, options_.events);
        std::string body;
        body.reserve((last - first) * 160);
        for (std::size_t n = first; n < last; ++n) body += make_event(options_, n);
        count_ = last - first;
        request_ = {};
        request_.method(http::verb::post);
        request_.target("/v1/events");
        request_.version(11);
        request_.set(http::field::host, options_.host);
        request_.set(http::field::content_type, "application/x-ndjson");
        if (!options_.token.empty()) request_.set(http::field::authorization, "Bearer " + options_.token);
        request_.keep_alive(true);
        request_.body() = std::move(body);
        request_.prepare_payload();
        sent_at_ = clock_type::now();
        http::async_write(socket_, request_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
            if (ec) return self->fail("write", ec);
            self->read();
        });
    }

    void read() {
        response_ = {};
        http::async_read(socket_, buffer_, response_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
            if (ec) return self->fail("read", ec);
            self->on_response();
        });
    }

    void on_response() {
        double ms = std::chrono::duration<double, std::milli>(clock_type::now() - sent_at_).count();
        {
            std::lock_guard lock(stats_.mutex);
            stats_.latencies_ms.push_back(ms);
        }
        stats_.requests_done++;
        if (response_.result() == http::status::accepted) {
            stats_.events_done += count_;
        } else if (response_.result() == http::status::service_unavailable) {
            stats_.status_503++;  // refused events are not counted as done
        } else {
            if (stats_.errors++ < 3)
                std::cerr << "unexpected " << response_.result_int() << ": " << response_.body() << "\n";
        }
        send_next();
    }

    void close() {
        beast::error_code ignored;
        socket_.shutdown(tcp::socket::shutdown_both, ignored);
    }

    void fail(const char* what, beast::error_code ec) {
        if (stats_.errors++ < 3) std::cerr << what << ": " << ec.message() << "\n";
    }

    tcp::socket socket_;
    tcp::resolver resolver_;
    const options& options_;
    stats& stats_;
    std::atomic<std::size_t>& next_;
    beast::flat_buffer buffer_;
    http::request<http::string_body> request_;
    http::response<http::string_body> response_;
    std::size_t count_ = 0;
    clock_type::time_point sent_at_;
};

int main(int argc, char** argv) {
    options o;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string k = argv[i], v = argv[i + 1];
        if (k == "--host") o.host = v;
        else if (k == "--port") o.port = static_cast<unsigned short>(std::stoi(v));
        else if (k == "--mode") o.mode = v;
        else if (k == "--batch") o.batch = std::stoul(v);
        else if (k == "--connections") o.connections = std::stoul(v);
        else if (k == "--events") o.events = std::stoul(v);
        else if (k == "--accounts") o.accounts = std::stoul(v);
        else if (k == "--per-account") o.per_account = std::stoul(v);
        else if (k == "--run") o.run = v;
        else if (k == "--token") o.token = v;
        else if (k == "--threads") o.threads = std::stoi(v);
        else {
            std::cerr << "unknown option " << k << "\n";
            return 2;
        }
    }
    if (o.mode != "batch" && o.mode != "single") {
        std::cerr << "--mode must be batch or single\n";
        return 2;
    }
    stats s;
    std::atomic<std::size_t> next{0};
    asio::io_context io(o.threads);
    for (std::size_t c = 0; c < o.connections; ++c) std::make_shared<connection>(io, o, s, next)->start();
    auto started = clock_type::now();
    std::vector<std::thread> threads;
    for (int t = 0; t < o.threads; ++t) threads.emplace_back([&io] { io.run(); });
    for (auto& t : threads) t.join();
    double seconds = std::chrono::duration<double>(clock_type::now() - started).count();

    auto& l = s.latencies_ms;
    std::sort(l.begin(), l.end());
    auto pct = [&](double p) { return l.empty() ? 0.0 : l[std::min(l.size() - 1, static_cast<std::size_t>(p * l.size()))]; };
    std::printf("mode=%s connections=%zu batch=%zu\n", o.mode.c_str(), o.connections, o.mode == "batch" ? o.batch : 1);
    std::printf("events=%zu requests=%zu errors=%zu 503s=%zu seconds=%.3f\n", s.events_done.load(),
                s.requests_done.load(), s.errors.load(), s.status_503.load(), seconds);
    std::printf("events/s=%.0f requests/s=%.0f\n", s.events_done / seconds, s.requests_done / seconds);
    std::printf("latency ms: p50=%.3f p90=%.3f p99=%.3f max=%.3f\n", pct(0.5), pct(0.9), pct(0.99),
                l.empty() ? 0.0 : l.back());
    return s.errors.load() == 0 ? 0 : 1;
}
