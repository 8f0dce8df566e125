#include "ingest/adapters/zendesk.hpp"

#include "ingest/adapters/native.hpp"
#include "ingest/adapters/signature.hpp"

#include <array>

namespace redflag::ingest::adapters {
namespace {

namespace json = boost::json;

constexpr std::array<std::string_view, 5> mapped_types{
    "zen:event-type:ticket.created", "zen:event-type:ticket.status_changed", "zen:event-type:ticket.priority_changed",
    "zen:event-type:ticket.subject_changed", "zen:event-type:ticket.organization_changed"};

std::optional<std::string> ticket_status(std::string_view zendesk) {
    auto s = lower(zendesk);
    if (s == "new" || s == "open") return "open";
    if (s == "pending" || s == "hold") return "pending";
    if (s == "solved") return "solved";
    if (s == "closed") return "closed";
    return std::nullopt;
}

}  // namespace

std::optional<std::string> check_zendesk_signature(std::string_view signature, std::string_view timestamp_header,
                                                   std::string_view body, std::string_view secret, duration tolerance,
                                                   timestamp now) {
    if (signature.empty()) return "missing X-Zendesk-Webhook-Signature header";
    if (timestamp_header.empty()) return "missing X-Zendesk-Webhook-Signature-Timestamp header";
    auto given = from_base64(signature);
    if (!given) return "X-Zendesk-Webhook-Signature is not base64";
    auto sent = parse_rfc3339(timestamp_header);
    if (!sent) return "X-Zendesk-Webhook-Signature-Timestamp is not an ISO 8601 time";
    auto age = now - *sent;
    if (age > tolerance || age < -tolerance)
        return "X-Zendesk-Webhook-Signature-Timestamp is " + std::to_string(age.count() / 1000) +
               " s from now, more than the tolerance of " + std::to_string(tolerance.count() / 1000) + " s";
    std::string signed_text(timestamp_header);
    signed_text += body;
    if (!digests_equal(*given, hmac_sha256(secret, signed_text)))
        return "X-Zendesk-Webhook-Signature does not match this body under adapters.zendesk.secret";
    return std::nullopt;
}

hook_result zendesk_adapter::handle(const hook_request& request, timestamp now) const {
    if (!config_.insecure)
        if (auto why = check_zendesk_signature(request.header("X-Zendesk-Webhook-Signature"),
                                               request.header("X-Zendesk-Webhook-Signature-Timestamp"), request.body,
                                               config_.secret, config_.tolerance, now))
            return hook_result::unauthorized(*why);
    hook_result result;
    auto body = parse_body(request.body, result);
    if (!body) return result;
    if (!body->is_object()) return hook_result::bad_request("", "must be a Zendesk event object");

    vendor_event ev;
    auto id = id_text(member(*body, "id"));
    if (!id) return hook_result::bad_request("id", "is required: the Zendesk event id");
    auto type = text(member(*body, "type"));
    if (!type) return hook_result::bad_request("type", "is required: the Zendesk event type (zen:event-type:...)");
    ev.id = *id;
    ev.type = *type;
    if (std::find(mapped_types.begin(), mapped_types.end(), ev.type) == mapped_types.end()) {
        ev.ignored = "event type " + ev.type + " is not mapped";
        result.events.push_back(std::move(ev));
        return result;
    }

    const auto* detail = member(*body, "detail");
    if (!detail || !detail->is_object()) return hook_result::bad_request("detail", "is required: the ticket");
    auto ticket_id = id_text(member(detail, "id"));
    if (!ticket_id) return hook_result::bad_request("detail.id", "is required: the ticket id");
    auto raw_status = text(member(detail, "status"));
    if (!raw_status) return hook_result::bad_request("detail.status", "is required");
    auto status = ticket_status(*raw_status);
    if (!status)
        return hook_result::bad_request("detail.status", "must be one of NEW, OPEN, PENDING, HOLD, SOLVED, CLOSED, not \"" +
                                                             *raw_status + "\"");
    std::string priority = "normal";
    if (auto p = text(member(detail, "priority"))) {
        priority = lower(*p);
        if (priority != "low" && priority != "normal" && priority != "high" && priority != "urgent")
            return hook_result::bad_request("detail.priority", "must be one of LOW, NORMAL, HIGH, URGENT, not \"" + *p + "\"");
    }
    std::optional<timestamp> at;
    if (auto t = text(member(*body, "time"))) at = parse_rfc3339(*t);
    if (!at)
        if (auto t = text(member(detail, "updated_at"))) at = parse_rfc3339(*t);
    if (!at) return hook_result::bad_request("time", "is required: an ISO 8601 time");

    canonical_event out;
    out.body = {{"type", "ticket"},
                {"id", "zendesk:" + ev.id},
                {"at", format_rfc3339(*at)},
                {"ticket_id", *ticket_id},
                {"status", *status},
                {"priority", priority}};
    if (auto subject = text(member(detail, "subject"))) out.body["subject"] = *subject;
    if (auto org = id_text(member(detail, "organization_id")))
        out.customer = customer_ref{"zendesk", "organization", *org};
    else if (auto requester = id_text(member(detail, "requester_id")))
        out.customer = customer_ref{"zendesk", "user", *requester};
    else
        return hook_result::bad_request("detail.organization_id", "is required when the ticket has no requester_id");
    ev.mapped.push_back(std::move(out));
    result.events.push_back(std::move(ev));
    return result;
}

}  // namespace redflag::ingest::adapters
