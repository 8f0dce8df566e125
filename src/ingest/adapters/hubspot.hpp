// HubSpot webhooks -> canonical events.
//
// Signature v3 (https://developers.hubspot.com/docs/apps/legacy-apps/authentication/validating-requests):
// X-HubSpot-Signature-v3 is base64(HMAC-SHA256(method + URI + body + timestamp)) under the
// app's client secret, where timestamp is X-HubSpot-Request-Timestamp (Unix
// milliseconds) and URI the full URL HubSpot called, with %3A %2F %3F %40 %21 %24 %27 %28
// %29 %2A %2C %3B decoded. A request older than the tolerance (HubSpot says 5 minutes) is
// refused. Behind a TLS proxy the URL is rebuilt from Host and X-Forwarded-Proto, unless
// `public_url` gives it (the request's query string is appended when public_url has none).
//
// Events (https://developers.hubspot.com/docs/api/webhooks): a JSON array of up to 100
// {eventId, subscriptionType, objectId, occurredAt (ms), propertyName, propertyValue, ...}.
//  - company.propertyChange (and object.propertyChange of objectTypeId 0-2) -> `account`
//    with the one field the property maps to: name -> name, hubspot_owner_id -> csm and
//    csm_email through `owners`, industry -> industry, numberofemployees -> employees,
//    segment -> segment, lifecyclestage -> attributes.lifecycle_stage, renewal_date ->
//    attributes.renewal_date (HubSpot dates are midnight UTC in ms); `properties` adds or
//    overrides (targets: name, csm, segment, plan, industry, employees, seats,
//    attributes.<key>). Other properties are ignored.
//  - company.creation -> `account` with external_ids {hubspot: objectId}.
//  - anything else (contacts, deals, deletions) is ignored.
// Every company event carries external_ids {hubspot: objectId}; the account is the company,
// resolved by the route. Each event's id is "hubspot:" + its eventId.
#pragma once

#include "ingest/adapters/adapter_config.hpp"
#include "ingest/adapters/hook.hpp"

#include <optional>
#include <string>

namespace redflag::ingest::adapters {

// The URI HubSpot signed for a request to `target` (origin form), per the rules above.
std::string hubspot_signed_uri(const hook_request& request, std::string_view public_url);

// nullopt when `signature` is the v3 signature of the request under `secret` and the
// timestamp is within `tolerance` of `now`; else why not.
std::optional<std::string> check_hubspot_signature(const hook_request& request, std::string_view public_url,
                                                   std::string_view secret, duration tolerance, timestamp now);

class hubspot_adapter final : public adapter {
public:
    explicit hubspot_adapter(adapter_config config);
    std::string_view vendor() const override { return "hubspot"; }
    hook_result handle(const hook_request& request, timestamp now) const override;

private:
    adapter_config config_;
};

}  // namespace redflag::ingest::adapters
