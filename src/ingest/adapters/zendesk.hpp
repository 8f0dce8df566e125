// Zendesk webhooks -> canonical events.
//
// Signature (https://developer.zendesk.com/documentation/webhooks/verifying/):
// X-Zendesk-Webhook-Signature is base64(HMAC-SHA256(timestamp + body)) under the
// webhook's signing secret, where timestamp is the X-Zendesk-Webhook-Signature-Timestamp
// header exactly as sent (an ISO 8601 time such as 2025-01-08T10:12:07Z), concatenated
// with the raw body with no separator. A timestamp further than the tolerance from now
// is refused (replays).
//
// Events: webhooks subscribed to Zendesk events
// (https://developer.zendesk.com/api-reference/webhooks/event-types/ticket-events/):
// {"type": "zen:event-type:ticket.created", "id": <event id>, "time": ..., "detail":
// {ticket: id, status, priority, subject, organization_id, requester_id, ...}}.
// ticket.created, status_changed, priority_changed, subject_changed and
// organization_changed -> `ticket` with the ticket's current state: status NEW/OPEN ->
// open, PENDING/HOLD -> pending, SOLVED -> solved, CLOSED -> closed; priority
// LOW/NORMAL/HIGH/URGENT lower-cased (none: normal). Other events are ignored.
// The account is the ticket's organization, or its requester when it has none, resolved
// by the route. Each event's id is "zendesk:" + the Zendesk event id.
#pragma once

#include "ingest/adapters/adapter_config.hpp"
#include "ingest/adapters/hook.hpp"

#include <optional>
#include <string>

namespace redflag::ingest::adapters {

// nullopt when `signature` is the base64 HMAC-SHA256 of timestamp + body under `secret`
// and `timestamp` is within `tolerance` of `now`; else why not.
std::optional<std::string> check_zendesk_signature(std::string_view signature, std::string_view timestamp_header,
                                                   std::string_view body, std::string_view secret, duration tolerance,
                                                   timestamp now);

class zendesk_adapter final : public adapter {
public:
    explicit zendesk_adapter(adapter_config config) : config_(std::move(config)) {}
    std::string_view vendor() const override { return "zendesk"; }
    hook_result handle(const hook_request& request, timestamp now) const override;

private:
    adapter_config config_;
};

}  // namespace redflag::ingest::adapters
