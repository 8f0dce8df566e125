#include "http/hooks.hpp"

#include "http/server.hpp"
#include "ingest/adapters/canonical.hpp"
#include "ingest/adapters/registry.hpp"
#include "ingest/adapters/unmatched.hpp"

#include <boost/beast/http/field.hpp>
#include <boost/json/serialize.hpp>
#include <spdlog/spdlog.h>

#include <charconv>

namespace redflag::http {
namespace {

namespace adapters = ingest::adapters;
namespace beast_http = boost::beast::http;
namespace json = boost::json;
using metrics::hook_outcome;

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

struct kept_unmatched : adapters::unmatched_events::kept {
    std::size_t vendor_events = 0;  // vendor events with an event kept
};

// Stores the batch's unresolved events and takes them out of it, leaving the ones to submit.
kept_unmatched keep_unmatched(adapters::unmatched_events& store, const std::string& vendor,
                              adapters::canonical_batch& batch, timestamp now) {
    auto& events = batch.validated.events;
    std::vector<adapters::unmatched_events::waiting_event> waiting;
    std::vector<std::string_view> vendor_events;
    for (std::size_t i = 0; i < events.size(); ++i)
        if (const auto& c = batch.unresolved[i]) {
            waiting.push_back({*c, &events[i]});
            if (vendor_events.empty() || vendor_events.back() != batch.vendor_ids[i])
                vendor_events.push_back(batch.vendor_ids[i]);
        }
    kept_unmatched out;
    static_cast<adapters::unmatched_events::kept&>(out) = store.keep(vendor, waiting, now);
    out.vendor_events = vendor_events.size();
    if (!out.status.ok()) return out;
    std::vector<model::event> rest;
    for (std::size_t i = 0; i < events.size(); ++i)
        if (!batch.unresolved[i]) rest.push_back(std::move(events[i]));
    events = std::move(rest);
    return out;
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
    std::size_t mapped_events = result.events.size() - ignored;
    auto unmatched = adapters::resolve_accounts(result, registry->resolver());
    auto* waiting_store = registry->unmatched();
    if (!unmatched.empty() && !waiting_store) {  // serve always wires one (adapters/hook_state.hpp)
        count(hook_outcome::failed, mapped_events);
        return respond(error_response(500, "no store for events of unknown customers is wired"));
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

    // Events of customers no account is known for yet are kept until their mapping
    // arrives (ingest/adapters/unmatched.hpp): stored now, so the vendor need not retry.
    // On this thread: a small RocksDB look-up and write, only for unknown customers.
    std::size_t waiting = 0;
    if (!unmatched.empty()) {
        auto kept = keep_unmatched(*waiting_store, vendor, batch, ctx.clock.now());
        if (!kept.status.ok()) {
            count(hook_outcome::failed, mapped_events);
            return respond(error_response(500, "storing the unmatched events failed: " + kept.status.message()));
        }
        for (const auto& c : unmatched)
            spdlog::info("hook {}: no account for {} {} yet: its events wait (GET /v1/hooks/unmatched)", vendor, c.kind, c.id);
        waiting = kept.stored + kept.already;
        count(hook_outcome::unmatched, kept.vendor_events);
        mapped_events -= std::min(mapped_events, kept.vendor_events);
    }
    count(hook_outcome::ignored, ignored);
    if (batch.validated.events.empty())
        return respond(json_answer(
            200, json::object{{"accepted", 0}, {"duplicates", 0}, {"ignored", ignored}, {"unmatched", waiting}}));

    // Canonical events per vendor event, to count vendor events from the sink's totals:
    // a vendor event's canonical events share its id, so they are all new or all duplicates.
    const std::size_t canonical = batch.validated.events.size();
    const std::size_t per_event = mapped_events ? canonical / mapped_events : 1;
    const bool uniform = per_event * mapped_events == canonical;
    ctx.sink.submit(std::move(batch.validated.events),
                    [count, respond = std::move(respond), retry_after = ctx.options.retry_after, ignored, mapped_events,
                     per_event, uniform, waiting](engine::ingest_outcome outcome) {
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
                                                                             {"ignored", ignored},
                                                                             {"unmatched", waiting}}));
                            }
                            case s::overloaded:
                                count(hook_outcome::overloaded, mapped_events);
                                return respond(retry_later(503, retry_after,
                                                           json::object{{"error", "overloaded: retry after " +
                                                                                      std::to_string(retry_after.count()) + " s"}}));
                            case s::invalid:  // one of the mapped events broke a bound the engine checks
                                count(hook_outcome::rejected, mapped_events);
                                return respond(error_response(400, outcome.error));
                            case s::unavailable:  // the store refuses writes for now (a full disk): the vendor retries
                                count(hook_outcome::overloaded, mapped_events);
                                return respond(retry_later(503, retry_after,
                                                           json::object{{"error", outcome.error + ": retry after " +
                                                                                      std::to_string(retry_after.count()) + " s"}}));
                            case s::failed:
                                count(hook_outcome::failed, mapped_events);
                                return respond(error_response(500, "storing the events failed: " + outcome.error));
                        }
                        count(hook_outcome::failed, mapped_events);
                        respond(error_response(500, "unknown outcome from the engine"));
                    });
}

void handle_unmatched_list(const handler_context& ctx, const std::vector<std::pair<std::string, std::string>>& query,
                           respond_fn respond) {
    const auto* registry = ctx.options.hooks.get();
    auto* store = registry ? registry->unmatched() : nullptr;
    if (!store) return respond(error_response(404, "no vendor hooks are configured (adapters:)"));
    std::string vendor;
    std::size_t limit = 100;
    for (const auto& [key, value] : query) {
        if (key == "vendor") {
            vendor = value;
        } else if (key == "limit") {
            std::size_t n = 0;
            auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
            if (ec != std::errc{} || end != value.data() + value.size() || n < 1 || n > 1000)
                return respond(error_response(400, "query parameter limit: must be an integer from 1 to 1000, not \"" +
                                                       value + "\""));
            limit = n;
        } else {
            return respond(error_response(400, "unknown query parameter \"" + key + "\": use vendor or limit"));
        }
    }
    auto listed = store->list(vendor, limit);
    if (!listed.ok()) return respond(error_response(500, "reading the unmatched events failed: " + listed.error().message()));
    json::array list;
    for (const auto& e : listed.value())
        list.push_back(json::object{{"vendor", e.vendor},
                                    {"customer", e.customer},
                                    {"type", e.type},
                                    {"at", format_rfc3339(e.at)},
                                    {"id", e.id},
                                    {"received_at", format_rfc3339(e.received_at)}});
    respond(json_answer(200, json::object{{"unmatched", std::move(list)}, {"waiting", store->waiting()}}));
}

}  // namespace redflag::http
