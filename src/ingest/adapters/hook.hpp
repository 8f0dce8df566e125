// What every vendor adapter shares: the request it is handed, what it answers, and the
// adapter interface. An adapter is a pure function of (headers, raw body, config, now):
// it verifies the vendor's signature over the raw bytes, then maps the native payload
// onto canonical events (../shared/spec/events.md), each with an id derived from the
// vendor's own event id so that a redelivery is a duplicate. It stores nothing and
// resolves no accounts: the route resolves each event's customer reference
// (adapters/account_resolver.hpp) and submits the batch like POST /v1/events.
//
// Thread-safe: handle() is const and keeps no state between calls. Failures are values.
#pragma once

#include "core/time.hpp"

#include <boost/json/object.hpp>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace redflag::ingest::adapters {

// One webhook request as the route sees it. `header` returns a header's value, or ""
// when absent (names case-insensitive, as HTTP has them).
struct hook_request {
    std::string_view method = "POST";
    std::string_view target;  // origin-form request target: "/v1/hooks/hubspot?x=1"
    std::function<std::string_view(std::string_view)> header;
    std::string_view body;
};

// A vendor's customer that names a Redflag account once resolved: Stripe customer,
// Zendesk organization (kind "organization") or requester ("user"), Segment group or
// user, HubSpot company, Delighted person.
struct customer_ref {
    std::string vendor;
    std::string kind;
    std::string id;

    friend bool operator==(const customer_ref&, const customer_ref&) = default;
};

// One canonical event: the JSON object POST /v1/events takes. Either `account` is in the
// body already (the payload named it: Stripe metadata redflag_account, a Delighted person
// property), or `customer` says whom to resolve it from.
struct canonical_event {
    boost::json::object body;
    std::optional<customer_ref> customer;
};

// One event of the vendor's delivery (HubSpot sends up to 100 in a request; the others one).
struct vendor_event {
    std::string id;    // the vendor's event id: "evt_1Nx..."
    std::string type;  // the vendor's event type: "customer.subscription.updated"
    std::vector<canonical_event> mapped;  // empty: a type we do not map (acknowledged, counted as ignored)
    std::string ignored;                  // why, when `mapped` is empty
};

struct hook_result {
    enum class status {
        ok,            // verified and mapped (some events may be ignored)
        unauthorized,  // 401: signature missing, wrong or stale
        bad_request,   // 400: body not JSON, or a native field we need is missing or wrong
    };
    hook_result::status status = status::ok;
    std::string message;  // unauthorized, bad_request: what was wrong
    std::string field;    // bad_request: the native field ("data.object.items.data[0].quantity"), or "" for the body
    std::vector<vendor_event> events;

    static hook_result unauthorized(std::string message) {
        hook_result r;
        r.status = status::unauthorized;
        r.message = std::move(message);
        return r;
    }
    static hook_result bad_request(std::string field, std::string message) {
        hook_result r;
        r.status = status::bad_request;
        r.field = std::move(field);
        r.message = std::move(message);
        return r;
    }
};

class adapter {
public:
    virtual ~adapter() = default;
    virtual std::string_view vendor() const = 0;
    // Verifies and maps one request. `now` is for the signature's age.
    virtual hook_result handle(const hook_request& request, timestamp now) const = 0;
};

}  // namespace redflag::ingest::adapters
