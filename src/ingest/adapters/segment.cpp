#include "ingest/adapters/segment.hpp"

#include "ingest/adapters/native.hpp"
#include "ingest/adapters/signature.hpp"

#include <cmath>

namespace redflag::ingest::adapters {
namespace {

namespace json = boost::json;

}  // namespace

std::optional<std::string> check_segment_signature(std::string_view signature, std::string_view body,
                                                   std::string_view secret) {
    if (signature.empty()) return "missing X-Signature header";
    auto given = from_hex(signature);
    if (!given) return "X-Signature is not hex";
    if (!digests_equal(*given, hmac_sha1(secret, body)))
        return "X-Signature does not match this body under adapters.segment.secret";
    return std::nullopt;
}

hook_result segment_adapter::handle(const hook_request& request, timestamp now) const {
    if (!config_.insecure)
        if (auto why = check_segment_signature(request.header("X-Signature"), request.body, config_.secret))
            return hook_result::unauthorized(*why);
    hook_result result;
    auto body = parse_body(request.body, result);
    if (!body) return result;
    if (body->is_array())
        return hook_result::bad_request("", "a batch (JSON array) cannot be verified, Segment signs only its first "
                                            "event: turn batching off in the Webhooks destination");
    if (!body->is_object()) return hook_result::bad_request("", "must be a Segment event object");

    vendor_event ev;
    auto id = text(member(*body, "messageId"));
    if (!id) return hook_result::bad_request("messageId", "is required");
    auto type = text(member(*body, "type"));
    if (!type) return hook_result::bad_request("type", "is required: track, identify, group, ...");
    ev.id = *id;
    ev.type = *type;
    auto push = [&](hook_result r) {
        r.events.push_back(std::move(ev));
        return r;
    };
    if (ev.type != "track" && ev.type != "identify" && ev.type != "group") {
        ev.ignored = "call type " + ev.type + " is not mapped";
        return push(std::move(result));
    }
    timestamp at = now;
    if (const auto* t = member(*body, "timestamp")) {
        auto parsed = t->is_string() ? parse_rfc3339(t->get_string()) : std::nullopt;
        if (!parsed) return hook_result::bad_request("timestamp", "must be an ISO 8601 time");
        at = *parsed;
    }
    auto user_id = id_text(member(*body, "userId"));
    const auto* traits = member(*body, "traits");
    if (!traits) traits = member(member(*body, "context"), "traits");

    canonical_event out;
    out.body = {{"id", "segment:" + ev.id}, {"at", format_rfc3339(at)}};
    auto group = id_text(member(member(*body, "context"), "groupId"));

    if (ev.type == "group") {
        auto group_id = id_text(member(*body, "groupId"));
        if (!group_id) return hook_result::bad_request("groupId", "is required in a group call");
        out.body["type"] = "account";
        out.body["external_ids"] = json::object{{"segment", *group_id}};
        if (auto v = text(member(traits, "name"))) out.body["name"] = *v;
        if (auto v = text(member(traits, "industry"))) out.body["industry"] = *v;
        if (auto v = text(member(traits, config_.plan_trait))) out.body["plan"] = *v;
        if (const auto* v = member(traits, "employees")) {
            auto n = number(v);
            if (!n || *n < 0 || std::trunc(*n) != *n) return hook_result::bad_request("traits.employees", "must be an integer >= 0");
            out.body["employees"] = static_cast<std::int64_t>(*n);
        }
        if (const auto* v = member(traits, config_.seats_trait)) {
            auto n = number(v);
            if (!n || *n < 0 || std::trunc(*n) != *n)
                return hook_result::bad_request("traits." + config_.seats_trait, "must be an integer >= 0");
            out.body["seats"] = static_cast<std::int64_t>(*n);
        }
        out.customer = customer_ref{"segment", "group", *group_id};
    } else {
        if (!user_id) {
            ev.ignored = "anonymous " + ev.type + ": no userId";
            return push(std::move(result));
        }
        if (ev.type == "track") {
            auto name = text(member(*body, "event"));
            if (!name) return hook_result::bad_request("event", "is required in a track call");
            auto mapped = config_.metrics.find(*name);
            std::string metric = mapped != config_.metrics.end() ? mapped->second : snake_name(*name);
            if (metric.empty()) return hook_result::bad_request("event", "has no letter or digit to name a metric");
            out.body["type"] = "usage";
            out.body["metric"] = metric;
            out.body["value"] = 1;
            out.body["user_id"] = *user_id;
        } else {
            out.body["type"] = "user";
            out.body["user_id"] = *user_id;
            if (auto v = text(member(traits, "email"))) out.body["email"] = *v;
            if (auto v = text(member(traits, "name"))) {
                out.body["name"] = *v;
            } else {
                auto first = text(member(traits, "firstName")), last = text(member(traits, "lastName"));
                if (first || last) out.body["name"] = first.value_or("") + (first && last ? " " : "") + last.value_or("");
            }
            if (auto v = text(member(traits, config_.role_trait))) out.body["role"] = *v;
        }
        out.customer = group ? customer_ref{"segment", "group", *group} : customer_ref{"segment", "user", *user_id};
    }
    ev.mapped.push_back(std::move(out));
    return push(std::move(result));
}

}  // namespace redflag::ingest::adapters
