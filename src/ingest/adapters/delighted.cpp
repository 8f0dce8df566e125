#include "ingest/adapters/delighted.hpp"

#include "ingest/adapters/native.hpp"
#include "ingest/adapters/signature.hpp"

namespace redflag::ingest::adapters {

std::optional<std::string> check_delighted_signature(std::string_view signature, std::string_view body,
                                                     std::string_view secret) {
    if (signature.empty()) return "missing X-Delighted-Webhook-Signature header";
    constexpr std::string_view prefix = "sha256=";
    if (signature.substr(0, prefix.size()) != prefix) return "X-Delighted-Webhook-Signature must start with sha256=";
    auto given = from_hex(signature.substr(prefix.size()));
    if (!given) return "X-Delighted-Webhook-Signature is not sha256=<hex>";
    if (!digests_equal(*given, hmac_sha256(secret, body)))
        return "X-Delighted-Webhook-Signature does not match this body under adapters.delighted.secret";
    return std::nullopt;
}

hook_result delighted_adapter::handle(const hook_request& request, timestamp) const {
    if (!config_.insecure)
        if (auto why = check_delighted_signature(request.header("X-Delighted-Webhook-Signature"), request.body,
                                                 config_.secret))
            return hook_result::unauthorized(*why);
    hook_result result;
    auto body = parse_body(request.body, result);
    if (!body) return result;
    if (!body->is_object()) return hook_result::bad_request("", "must be a Delighted event object");

    vendor_event ev;
    auto id = id_text(member(*body, "event_id"));
    if (!id) return hook_result::bad_request("event_id", "is required");
    auto type = text(member(*body, "event_type"));
    if (!type) return hook_result::bad_request("event_type", "is required");
    ev.id = *id;
    ev.type = *type;
    const auto* data = member(*body, "event_data");
    std::optional<std::string> survey;
    if (ev.type == "survey_response.created" || ev.type == "survey_response.updated") {
        if (!data || !data->is_object()) return hook_result::bad_request("event_data", "is required: the survey response");
        survey = text(member(data, "survey_type")).value_or("nps");
    }
    if (!survey || (*survey != "nps" && *survey != "csat")) {
        ev.ignored = survey ? "survey type " + *survey + " is not mapped" : "event type " + ev.type + " is not mapped";
        result.events.push_back(std::move(ev));
        return result;
    }
    auto response_id = id_text(member(data, "id"));
    if (!response_id) return hook_result::bad_request("event_data.id", "is required: the survey response id");
    auto score = integer(member(data, "score"));
    const bool nps = *survey == "nps";
    if (!score || *score < (nps ? 0 : 1) || *score > (nps ? 10 : 5))
        return hook_result::bad_request("event_data.score", nps ? "must be an integer from 0 to 10"
                                                                : "must be an integer from 1 to 5");
    auto created = integer(member(data, "created_at"));
    if (!created) return hook_result::bad_request("event_data.created_at", "is required: Unix seconds");

    canonical_event out;
    out.body = {{"type", *survey},
                {"id", "delighted:" + *response_id},
                {"at", format_rfc3339(from_unix_seconds(*created))},
                {"score", *score}};
    if (auto comment = text(member(data, "comment"))) out.body["comment"] = *comment;
    const auto* person = member(data, "person");
    auto email = text(member(person, "email"));
    auto person_id = id_text(member(person, "id"));
    if (nps && (email || person_id)) out.body["respondent"] = email ? *email : *person_id;
    if (auto account = id_text(member(member(data, "person_properties"), config_.account_property)))
        out.body["account"] = *account;
    else if (email || person_id)
        out.customer = customer_ref{"delighted", "person", email ? *email : *person_id};
    else
        return hook_result::bad_request("event_data.person_properties." + config_.account_property,
                                        "is required when the response has no person");
    ev.mapped.push_back(std::move(out));
    result.events.push_back(std::move(ev));
    return result;
}

}  // namespace redflag::ingest::adapters
