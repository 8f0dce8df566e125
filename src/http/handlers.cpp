#include "http/handlers.hpp"

#include "http/access.hpp"
#include "http/cluster_routing.hpp"
#include "http/console.hpp"
#include "http/hooks.hpp"
#include "http/router.hpp"
#include "http/server.hpp"
#include "ingest/auth.hpp"
#include "ingest/decode.hpp"
#include "ingest/validate.hpp"

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/stream_parser.hpp>

#include <array>
#include <chrono>
#include <memory>

namespace redflag::http {
namespace {

namespace beast_http = boost::beast::http;
namespace json = boost::json;
using metrics::event_outcome;
using metrics::request_outcome;

constexpr std::string_view signature_header = "X-Redflag-Signature";

response json_response(unsigned status, const json::value& body) {
    response res{static_cast<beast_http::status>(status), 11};
    res.set(beast_http::field::content_type, "application/json");
    if (!(status == 204 && body.is_null())) res.body() = json::serialize(body);
    return res;
}

response text_response(unsigned status, std::string body, std::string_view content_type) {
    response res{static_cast<beast_http::status>(status), 11};
    res.set(beast_http::field::content_type, content_type);
    res.body() = std::move(body);
    return res;
}

// Parses an API request body: empty is null; anything else must be one JSON text.
std::optional<std::string> parse_api_body(std::string_view body, json::value& out) {
    if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) return std::nullopt;
    json::stream_parser parser;
    boost::system::error_code ec;
    std::size_t consumed = parser.write(body.data(), body.size(), ec);
    if (!ec) parser.finish(ec);
    if (ec) return "malformed JSON in the request body at byte " + std::to_string(consumed) + ": " + ec.message();
    out = parser.release();
    return std::nullopt;
}

// The refusal of a request the route's credentials do not allow (http/access.hpp), or nullopt.
std::optional<response> check_access(const handler_context& ctx, scope route_scope, const request& req) {
    // The console's session cookie stands for the bearer token of the management API
    // (http/access.hpp); ingest, /metrics and the vendors' hooks take only their own.
    const bool management = route_scope == scope::read || route_scope == scope::write;
    const bool state_changing = req.method() != beast_http::verb::get && req.method() != beast_http::verb::head;
    auto credentials = management ? credentials_of(req[beast_http::field::authorization], req[beast_http::field::cookie],
                                                   req[csrf_header], state_changing)
                                  : request_credentials{std::string(req[beast_http::field::authorization]), false, {}};
    auto refused = credentials.refused ? credentials.refused
                                       : authorize(ctx.options.access, route_scope, credentials.authorization);
    if (!refused) return std::nullopt;
    auto res = error_response(refused->status, refused->message);
    if (refused->challenge) res.set(beast_http::field::www_authenticate, "Bearer realm=\"redflag\"");
    return res;
}

class ingest_request {
public:
    ingest_request(const handler_context& ctx, respond_fn respond)
        : ctx_(ctx), respond_(std::move(respond)), start_(std::chrono::steady_clock::now()) {}

    void run(request req) {
        if (auto refusal = check_access(ctx_, scope::ingest, req))
            return finish(request_outcome::unauthorized, std::move(*refusal));
        const auto& secret = ctx_.options.access.hmac_secret;
        if (!secret.empty() && ingest::check_signature(req[signature_header], req.body(), secret) != ingest::auth_result::ok)
            return finish(request_outcome::unauthorized,
                          error_response(401, "missing or wrong X-Redflag-Signature: expected sha256=<hex HMAC-SHA256 "
                                              "of the raw body under ingest.hmac_secret>"));

        auto content_type = req[beast_http::field::content_type];
        auto format = ingest::format_of_content_type(content_type);
        if (!format)
            return finish(request_outcome::unsupported,
                          error_response(415, "unsupported Content-Type \"" + std::string(content_type) +
                                                  "\": send application/json or application/x-ndjson"));

        auto decoded = ingest::decode_body(req.body(), *format, ctx_.options.max_events);
        if (decoded.error) {
            if (decoded.error->kind == ingest::decode_error::kind::too_many_events)
                return finish(request_outcome::too_large, error_response(413, decoded.error->message));
            json::object body{{"error", decoded.error->message},
                              {"offset", decoded.error->offset},
                              {"line", decoded.error->line}};
            return finish(request_outcome::invalid, json_response(400, body));
        }

        auto validated = ingest::validate(std::move(decoded.items), ctx_.clock.now(), ctx_.options.limits);
        if (!validated.ok()) {
            for (const auto& type : validated.types) ctx_.metrics.events_ingested(type, event_outcome::rejected).Increment();
            json::array details;
            details.reserve(validated.problems.size());
            for (const auto& p : validated.problems)
                details.push_back(json::object{{"index", p.index}, {"field", p.field}, {"message", p.message}});
            return finish(request_outcome::invalid,
                          json_response(400, json::object{{"error", "invalid events"}, {"details", std::move(details)}}));
        }

        // redflag_events_ingested_total: rejected events are counted here, where validation
        // happens; accepted and duplicate ones by the sink, which alone knows which were which.
        // The sink may answer from another thread after this object is gone: the callback
        // owns what it needs.
        ctx_.sink.submit(std::move(validated.events),
                         [metrics = &ctx_.metrics, retry_after = ctx_.options.retry_after,
                          respond = std::move(respond_), start = start_](engine::ingest_outcome outcome) {
                             on_outcome(*metrics, retry_after, respond, start, std::move(outcome));
                         });
    }

private:
    void finish(request_outcome outcome, response res) { finish(ctx_.metrics, outcome, start_, respond_, std::move(res)); }

    static void finish(metrics::engine_metrics& m, request_outcome outcome, std::chrono::steady_clock::time_point start,
                       const respond_fn& respond, response res) {
        std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
        m.ingest_request_duration(outcome).Observe(elapsed.count());
        respond(std::move(res));
    }

    static void on_outcome(metrics::engine_metrics& m, std::chrono::seconds retry_after, const respond_fn& respond,
                           std::chrono::steady_clock::time_point start, engine::ingest_outcome outcome) {
        using status = decltype(outcome.status);
        switch (outcome.status) {
            case status::stored: {
                json::object body{{"accepted", outcome.accepted}, {"duplicates", outcome.duplicates}};
                return finish(m, request_outcome::accepted, start, respond, json_response(202, body));
            }
            case status::overloaded: {
                auto res = error_response(503, "overloaded: the engine cannot take more events now; retry after " +
                                                   std::to_string(retry_after.count()) + " s");
                res.set(beast_http::field::retry_after, std::to_string(retry_after.count()));
                return finish(m, request_outcome::overloaded, start, respond, std::move(res));
            }
            case status::failed:
                return finish(m, request_outcome::failed, start, respond,
                              error_response(500, outcome.error));  // says what failed: storing, the dedup lookup
            case status::invalid:
                return finish(m, request_outcome::invalid, start, respond, error_response(400, outcome.error));
            case status::unavailable: {
                // The error says why (a full disk; in cluster mode, the stream did not acknowledge).
                auto res = error_response(503, outcome.error + ": retry after " +
                                                   std::to_string(retry_after.count()) + " s");
                res.set(beast_http::field::retry_after, std::to_string(retry_after.count()));
                return finish(m, request_outcome::unavailable, start, respond, std::move(res));
            }
        }
        finish(m, request_outcome::failed, start, respond, error_response(500, "unknown outcome from the engine"));
    }

    const handler_context& ctx_;
    respond_fn respond_;
    std::chrono::steady_clock::time_point start_;
};

api_response to_api_failure(std::string_view what) { return api_response::error(500, std::string(what)); }

response from_api_response(api_response r) {
    auto res = r.content_type.empty() ? json_response(r.status, r.body)
                                      : text_response(r.status, std::move(r.text), r.content_type);
    for (auto& [name, value] : r.headers) res.set(name, value);
    return res;
}

void handle_api(const handler_context& ctx, route_match match, request req, const respond_fn& respond) {
    api_request api_req;
    api_req.route = match.route;
    api_req.id = std::move(match.id);
    api_req.query = std::move(match.query);
    api_req.method = std::string(req.method_string());
    api_req.target = std::string(req.target());
    api_req.authorization = std::string(req[beast_http::field::authorization]);
    api_req.forwarded_by = std::string(req[forwarded_header]);
    if (!req.body().empty()) {
        auto content_type = req[beast_http::field::content_type];
        if (!content_type.empty() && !ingest::format_of_content_type(content_type))
            return respond(error_response(415, "unsupported Content-Type \"" + std::string(content_type) +
                                                   "\": send application/json"));
        if (auto error = parse_api_body(req.body(), api_req.body)) return respond(error_response(400, *error));
    }
    try {
        ctx.api.handle(std::move(api_req), [respond](api_response r) { respond(from_api_response(std::move(r))); });
    } catch (const std::exception& e) {
        // The api must not throw; if it does, the client still gets an answer.
        respond(from_api_response(to_api_failure(std::string("internal error: ") + e.what())));
    }
}

// POST /v1/slack/interactions (http/slack_interactions.hpp): verified here with the raw
// body, then handed to the api as a slack_action, which acts once per click.
void handle_slack_interaction(const handler_context& ctx, request req, const respond_fn& respond) {
    // A snapshot: a reload meanwhile replaces the set, not these (verified.matched points in).
    auto secrets = ctx.options.access.slack_secrets->current();
    auto verified = verify_slack_signature(*secrets, req["X-Slack-Request-Timestamp"],
                                           req["X-Slack-Signature"], req.body(), ctx.clock.now());
    if (!verified.ok()) return respond(error_response(401, verified.error));
    auto decoded = decode_slack_interaction(req.body());
    if (!decoded.error.empty()) return respond(error_response(400, decoded.error));
    if (!decoded.action) return respond(json_response(200, json::object{{"ok", true}, {"ignored", true}}));
    const auto& a = *decoded.action;
    api_request api_req;
    api_req.route = api_route::slack_action;
    api_req.id = a.alert_id;
    // In cluster mode the alert's owner acts (management_cluster.cpp): the click goes
    // there as Slack sent it, and the owner verifies Slack's signature again.
    api_req.method = "POST";
    api_req.target = std::string(req.target());
    api_req.forwarded_by = std::string(req[forwarded_header]);
    api_req.raw_body = req.body();
    for (std::string_view name : {"Content-Type", "X-Slack-Request-Timestamp", "X-Slack-Signature", "X-Slack-Retry-Num"})
        if (auto value = req[name]; !value.empty()) api_req.raw_headers.emplace_back(name, value);
    json::object body{{"action", a.kind == slack_action_kind::ack ? "ack" : "snooze"},
                      {"key", a.key()},
                      {"user_id", a.user_id},
                      {"user_name", a.user_name},
                      {"channel", verified.matched ? verified.matched->channel : std::string()}};
    if (a.kind == slack_action_kind::snooze) body["for"] = a.snooze_for == day ? "1d" : "7d";
    if (auto retry = req["X-Slack-Retry-Num"]; !retry.empty()) body["retry"] = std::string(retry);
    api_req.body = std::move(body);
    try {
        ctx.api.handle(std::move(api_req), [respond](api_response r) { respond(from_api_response(std::move(r))); });
    } catch (const std::exception& e) {
        respond(from_api_response(to_api_failure(std::string("internal error: ") + e.what())));
    }
}

}  // namespace

response error_response(unsigned status, std::string_view message) {
    return json_response(status, json::object{{"error", message}});
}

response body_too_large(const handler_context& ctx, std::string_view target) {
    auto match = match_route(beast_http::verb::post, target);
    if (match.result == route_match::result::found && match.endpoint == endpoint::ingest)
        ctx.metrics.ingest_request_duration(request_outcome::too_large).Observe(0);
    return error_response(413, "request body larger than " + std::to_string(ctx.options.max_body) +
                                   " bytes (ingest.max_body)");
}

void handle_request(const handler_context& ctx, request req, respond_fn respond) {
    auto match = match_route(req.method(), req.target());
    switch (match.result) {
        case route_match::result::bad_target: return respond(error_response(400, match.error));
        case route_match::result::not_found:
            return respond(error_response(404, "no such endpoint: " + std::string(req.method_string()) + " " +
                                                   std::string(req.target())));
        case route_match::result::method_not_allowed: {
            auto res = error_response(405, "method " + std::string(req.method_string()) + " not allowed on " +
                                               std::string(req.target()) + ": use " + match.allow);
            res.set(beast_http::field::allow, match.allow);
            return respond(std::move(res));
        }
        case route_match::result::found: break;
    }
    // Ingest checks its own credentials: a refusal there is counted in its metrics.
    if (match.endpoint != endpoint::ingest)
        if (auto refusal = check_access(ctx, match.scope, req)) return respond(std::move(*refusal));
    switch (match.endpoint) {
        case endpoint::healthz: return respond(json_response(200, json::object{{"status", "ok"}}));
        case endpoint::readyz:
            if (ctx.api.ready()) {
                json::object body{{"status", "ready"}};
                if (auto warning = ctx.api.readiness_warning(); !warning.empty()) body["warning"] = warning;
                return respond(json_response(200, body));
            }
            if (auto why = ctx.api.not_ready_reason(); !why.empty())
                return respond(json_response(503, json::object{{"status", "not ready"}, {"reason", why}}));
            return respond(json_response(503, json::object{{"status", "not ready"}}));
        case endpoint::metrics:
            return respond(text_response(200, ctx.metrics.scrape(), metrics::text_content_type));
        case endpoint::ingest: {
            ingest_request handler(ctx, std::move(respond));
            return handler.run(std::move(req));
        }
        case endpoint::hook: return handle_hook(ctx, match.id, std::move(req), std::move(respond));
        case endpoint::hooks_unmatched: return handle_unmatched_list(ctx, match.query, std::move(respond));
        case endpoint::slack_interactions: return handle_slack_interaction(ctx, std::move(req), respond);
        case endpoint::api: return handle_api(ctx, std::move(match), std::move(req), respond);
        case endpoint::console:
            return respond(console_response(ctx.options.console, ctx.options.access, match.console_path, req));
    }
}

}  // namespace redflag::http
