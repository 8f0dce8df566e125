// Segment webhook destination -> canonical events.
//
// Signature (Segment's Webhooks destinations,
// https://www.twilio.com/docs/segment/connections/destinations/catalog/actions-webhook):
// with a shared secret set, Segment sends X-Signature, the hex HMAC-SHA1 of the raw
// request body under that secret. There is no timestamp: a replay is caught by the
// event's messageId (its id here). A batched delivery (a JSON array) is refused with 400:
// Segment signs only the first event of a batch, so the others could not be verified.
//
// Events (the Segment Spec, https://segment.com/docs/connections/spec/):
//  - track -> `usage`: metric from `metrics` (event name -> metric), else the event name
//    in snake_case ("Report Built" -> report_built); value 1; user_id from userId.
//  - identify -> `user`: user_id, email and name from traits, role from the `role_trait`.
//  - group -> `account`: name, industry, employees from traits, plan and seats from the
//    `plan_trait` and `seats_trait`; external_ids {segment: groupId}.
//  - page, screen, alias and events without a userId are ignored.
// The account is the group (groupId of a group call, context.groupId of the others),
// else the user, resolved by the route. Each event's id is "segment:" + its messageId.
#pragma once

#include "ingest/adapters/adapter_config.hpp"
#include "ingest/adapters/hook.hpp"

#include <optional>
#include <string>

namespace redflag::ingest::adapters {

// nullopt when `signature` is the hex HMAC-SHA1 of `body` under `secret`; else why not.
std::optional<std::string> check_segment_signature(std::string_view signature, std::string_view body,
                                                   std::string_view secret);

class segment_adapter final : public adapter {
public:
    explicit segment_adapter(adapter_config config) : config_(std::move(config)) {}
    std::string_view vendor() const override { return "segment"; }
    hook_result handle(const hook_request& request, timestamp now) const override;

private:
    adapter_config config_;
};

}  // namespace redflag::ingest::adapters
