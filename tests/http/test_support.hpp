// Test doubles and a Beast client for the HTTP server tests: a fake ingest sink and a fake
// api that the tests script, and a client that speaks HTTP/1.1 over a real socket with a
// timeout on every read, so a server bug fails a test instead of hanging it.
#pragma once

#include "engine/ingest_sink.hpp"
#include "http/api.hpp"
#include "http/server.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace redflag::http::testing {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
using client_response = bhttp::response<bhttp::string_body>;
using client_request = bhttp::request<bhttp::string_body>;

// Records every batch; answers as `mode` says, at once or, with `hold`, when release() is called.
class fake_sink final : public engine::ingest_sink {
public:
    enum class mode { stored, overloaded, failed };
    std::atomic<mode> answer{mode::stored};
    std::atomic<std::size_t> duplicates{0};
    std::atomic<bool> hold{false};

    void submit(std::vector<model::event> batch, std::function<void(engine::ingest_outcome)> done) override {
        engine::ingest_outcome outcome;
        switch (answer.load()) {
            case mode::stored:
                outcome.status = engine::ingest_outcome::status::stored;
                outcome.duplicates = std::min(duplicates.load(), batch.size());
                outcome.accepted = batch.size() - outcome.duplicates;
                break;
            case mode::overloaded: outcome.status = engine::ingest_outcome::status::overloaded; break;
            case mode::failed:
                outcome.status = engine::ingest_outcome::status::failed;
                outcome.error = "disk full";
                break;
        }
        std::lock_guard lock(mutex_);
        batches_.push_back(std::move(batch));
        if (hold) {
            held_.push_back([done = std::move(done), outcome] { done(outcome); });
            return;
        }
        done(outcome);
    }

    // Answers every held batch, from a thread of its own (as the engine would).
    void release() {
        std::vector<std::function<void()>> held;
        {
            std::lock_guard lock(mutex_);
            held.swap(held_);
        }
        std::thread([held = std::move(held)] {
            for (auto& f : held) f();
        }).join();
    }

    std::size_t held_count() {
        std::lock_guard lock(mutex_);
        return held_.size();
    }

    std::vector<std::vector<model::event>> batches() {
        std::lock_guard lock(mutex_);
        return batches_;
    }

private:
    std::mutex mutex_;
    std::vector<std::vector<model::event>> batches_;
    std::vector<std::function<void()>> held_;
};

// Echoes the decoded request back as JSON, answering from another thread.
class fake_api final : public http::api {
public:
    std::atomic<bool> is_ready{false};
    unsigned status = 200;

    ~fake_api() override {
        for (auto& t : threads_) t.join();
    }

    void handle(api_request request, std::function<void(api_response)> done) override {
        std::lock_guard lock(mutex_);
        requests_.push_back(request);
        threads_.emplace_back([request = std::move(request), done = std::move(done), status = status] {
            boost::json::object query;
            for (const auto& [k, v] : request.query) query[k] = v;
            api_response r;
            r.status = status;
            r.body = boost::json::object{{"route", name_of(request.route)}, {"id", request.id}, {"query", query},
                                         {"body", request.body}};
            r.headers.emplace_back("X-Test", "yes");
            done(std::move(r));
        });
    }

    bool ready() const override { return is_ready; }

    std::vector<api_request> requests() {
        std::lock_guard lock(mutex_);
        return requests_;
    }

private:
    std::mutex mutex_;
    std::vector<api_request> requests_;
    std::vector<std::thread> threads_;
};

// One HTTP/1.1 connection to the server under test.
class client {
public:
    explicit client(std::uint16_t port) : stream_(ioc_) {
        stream_.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    }

    void write(const client_request& req) { bhttp::write(stream_.socket(), req); }
    void write_raw(std::string_view bytes) { net::write(stream_.socket(), net::buffer(bytes.data(), bytes.size())); }

    // Reads one response; a timeout or a closed connection is returned as the error.
    client_response read(beast::error_code& ec, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
        client_response res;
        bhttp::response_parser<bhttp::string_body> parser;
        parser.body_limit(64 * 1024 * 1024);
        stream_.expires_after(timeout);
        bhttp::async_read(stream_, buffer_, parser, [&](beast::error_code e, std::size_t) { ec = e; });
        ioc_.restart();
        ioc_.run();
        if (!ec) res = parser.release();
        return res;
    }

    client_response read() {
        beast::error_code ec;
        auto res = read(ec);
        if (ec) throw beast::system_error(ec);
        return res;
    }

    // Reads raw bytes until `delimiter`.
    std::string read_until(std::string_view delimiter, beast::error_code& ec) {
        std::string out;
        stream_.expires_after(std::chrono::seconds(5));
        net::async_read_until(stream_, net::dynamic_buffer(out), delimiter, [&](beast::error_code e, std::size_t) { ec = e; });
        ioc_.restart();
        ioc_.run();
        return out;
    }

    client_response send(const client_request& req) {
        write(req);
        return read();
    }

private:
    net::io_context ioc_;
    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
};

inline client_request make_request(bhttp::verb method, std::string target, std::string body = {},
                                   std::string content_type = "application/json") {
    client_request req{method, target, 11};
    req.set(bhttp::field::host, "127.0.0.1");
    if (!body.empty() || method == bhttp::verb::post) {
        if (!content_type.empty()) req.set(bhttp::field::content_type, content_type);
        req.body() = std::move(body);
    }
    req.prepare_payload();
    return req;
}

inline boost::json::value body_json(const client_response& res) { return boost::json::parse(res.body()); }

}  // namespace redflag::http::testing
