// POST /v1/hooks/{vendor}: a vendor's own webhook, verified and mapped by its adapter
// (ingest/adapters/), then stored like POST /v1/events: same validation, same
// all-or-nothing batch, same idempotency (ids from the vendor's event ids), answered
// only once durable. The answers are the ones vendors act on:
//   200 {"accepted","duplicates","ignored"}  stored (or nothing to store): no retry
//   401 signature missing, wrong or stale;  400 a payload we cannot read (field named)
//   404 the vendor has no adapter in the config
//   503 + Retry-After: engine overloaded, or customers no account is known for yet
//       (the vendor's retries keep those events until the mapping exists)
//   500 the store failed
// Every outcome is counted in redflag_hook_events_total{vendor,outcome}.
//
// Vendors authenticate with their signatures: ingest.tokens and ingest.hmac_secret do
// not apply here (Stripe, Segment, HubSpot and Delighted cannot send a bearer token).
#pragma once

#include "http/handlers.hpp"

#include <string>

namespace redflag::http {

void handle_hook(const handler_context& ctx, const std::string& vendor, request req, respond_fn respond);

}  // namespace redflag::http
