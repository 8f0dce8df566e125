// The request handlers behind the server's routes: what each endpoint answers. Used by
// the sessions of http/server.cpp, on the connection's strand; the answer is handed to
// `respond`, which may be called from any thread (the sink and the api answer from
// engine threads) and exactly once.
#pragma once

#include "core/time.hpp"
#include "engine/ingest_sink.hpp"
#include "http/api.hpp"
#include "metrics/engine_metrics.hpp"

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <functional>
#include <string>

namespace redflag::http {

struct server_options;

using request = boost::beast::http::request<boost::beast::http::string_body>;
using response = boost::beast::http::response<boost::beast::http::string_body>;
using respond_fn = std::function<void(response)>;

struct handler_context {
    const server_options& options;
    engine::ingest_sink& sink;
    http::api& api;
    metrics::engine_metrics& metrics;
    const redflag::clock& clock;
};

// Routes and answers `req`.
void handle_request(const handler_context& ctx, request req, respond_fn respond);

// A JSON answer {"error": message}.
response error_response(unsigned status, std::string_view message);

// The 413 for a body over options.max_body (found by the parser before the body is
// read); counts it in the ingest metrics when the target is the ingest endpoint.
response body_too_large(const handler_context& ctx, std::string_view target);

}  // namespace redflag::http
