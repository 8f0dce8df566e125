#include "http/hooks.hpp"

#include "http/server.hpp"
#include "ingest/adapters/canonical.hpp"
#include "ingest/adapters/registry.hpp"

#include <boost/beast/http/field.hpp>
#include <boost/json/serialize.hpp>
#include <spdlog/spdlog.h>

namespace redflag::http {
namespace {

namespace adapters = ingest::adapters;
namespace beast_http = boost::beast::http;
namespace json = boost::json;
using metrics::hook_outcome;

// Unmatched customers get a longer wait than overload: a mapping takes a person to add.
constexpr std::chrono::seconds unmatched_retry_after{60};

response json_answer(unsigned status, const json::value& body) {
    response res{static_cast<beast_http::status>(status), 11};
    res.set(beast_http::field::content_type, "application/json");
    res.body() = json::serialize(body);
    return res;
}

response retry_later(unsigned status, std::chrono::seconds after, json::object body) {
    auto res = json_answer(status, body);
    res.set(beast_http::field::retry_after, std::to_string(after.count()));
    return res;
}

std::size_t count_ignored(const adapters::hook_result& r) {
    std::size_t n = 0;
    for (const auto& ev : r.events) n += ev.mapped.empty();
    return n;
}

}  // namespace

void handle_hook(const handler_context& ctx, const std::string& vendor, request req, respond_fn respond) {
    const auto* registry = ctx.options.hooks.get();
    const adapters::adapter* adapter = registry ? registry->find(vendor) : nullptr;
    if (!adapter)
        return respond(error_response(404, "no adapter for vendor \"" + vendor + "\": configure adapters." + vendor));
    // Copied into the sink's callback, which may run after this frame is gone.
    auto count = [m = &ctx.metrics, vendor](hook_outcome outcome, std::size_t n = 1) {
        if (n) m->hook_events(vendor, outcome).Increment(double(n));
    };

    adapters::hook_request hook;
    hook.method = req.method_string();
    hook.target = req.target();
    hook.body = req.body();
    hook.header = [&req](std::string_view name) -> std::string_view { return req[name]; };
    auto result = adapter->handle(hook, ctx.clock.now());

    if (result.status == adapters::hook_result::status::unauthorized) {
        spdlog::warn("hook {}: refused: {}", vendor, result.message);
        count(hook_outcome::unauthorized);
        return respond(error_response(401, result.message));
    }
    if (result.status == adapters::hook_result::status::bad_request) {
        count(hook_outcome::rejected);
        std::string where = result.field.empty() ? "body" : result.field;
        return respond(json_answer(400, json::object{{"error", "invalid " + vendor + " payload: " + where + " " + result.message},
                                                     {"field", result.field},
                                                     {"message", result.message}}));
    }

    const std::size_t ignored = count_ignored(result);
    const std::size_t mapped_events = result.events.size() - ignored;
    auto unmatched = adapters::resolve_accounts(result, registry->resolver());
    if (!unmatched.empty()) {
        json::array list;
        for (const auto& c : unmatched) {
            spdlog::warn("hook {}: no account for {} {} yet: add it to adapters.{}.accounts", vendor, c.kind, c.id, vendor);
            list.push_back(json::object{{"vendor", c.vendor}, {"kind", c.kind}, {"id", c.id}});
        }
        count(hook_outcome::unmatched, mapped_events);
        return respond(retry_later(503, unmatched_retry_after,
                                   json::object{{"error", "no account is known for some customers yet; retry later"},
                                                {"unmatched", std::move(list)}}));
    }

    auto batch = adapters::validate_mapped(result, ctx.clock.now(), ctx.options.limits);
    if (!batch.validated.ok()) {
        for (const auto& type : batch.validated.types)
            ctx.metrics.events_ingested(type, metrics::event_outcome::rejected).Increment();
        json::array details;
        for (const auto& p : batch.validated.problems)
            details.push_back(json::object{
                {"index", p.index}, {"event", batch.vendor_ids[p.index]}, {"field", p.field}, {"message", p.message}});
        count(hook_outcome::rejected, mapped_events);
        count(hook_outcome::ignored, ignored);
        return respond(json_answer(400, json::object{{"error", "the mapped events are invalid"}, {"details", std::move(details)}}));
    }
    count(hook_outcome::ignored, ignored);
    if (batch.validated.events.empty())
        return respond(json_answer(200, json::object{{"accepted", 0}, {"duplicates", 0}, {"ignored", ignored}}));

    // Canonical events per vendor event, to count vendor events from the sink's totals:
    // a vendor event's canonical events share its id, so they are all new or all duplicates.
    const std::size_t canonical = batch.validated.events.size();
    const std::size_t per_event = mapped_events ? canonical / mapped_events : 1;
    const bool uniform = per_event * mapped_events == canonical;
    ctx.sink.submit(std::move(batch.validated.events),
                    [count, respond = std::move(respond), retry_after = ctx.options.retry_after, ignored, mapped_events,
                     per_event, uniform](engine::ingest_outcome outcome) {
                        using s = decltype(outcome.status);
                        switch (outcome.status) {
                            case s::stored: {
                                std::size_t dup = outcome.accepted == 0 ? mapped_events
                                                  : uniform        ? outcome.duplicates / per_event
                                                                   : 0;
                                count(hook_outcome::duplicate, dup);
                                count(hook_outcome::accepted, mapped_events - dup);
                                return respond(json_answer(200, json::object{{"accepted", outcome.accepted},
                                                                             {"duplicates", outcome.duplicates},
                                                                             {"ignored", ignored}}));
                            }
                            case s::overloaded:
                                count(hook_outcome::overloaded, mapped_events);
                                return respond(retry_later(503, retry_after,
                                                           json::object{{"error", "overloaded: retry after " +
                                                                                      std::to_string(retry_after.count()) + " s"}}));
                            case s::failed:
                                count(hook_outcome::failed, mapped_events);
                                return respond(error_response(500, "storing the events failed: " + outcome.error));
                        }
                        count(hook_outcome::failed, mapped_events);
                        respond(error_response(500, "unknown outcome from the engine"));
                    });
}

}  // namespace redflag::http
