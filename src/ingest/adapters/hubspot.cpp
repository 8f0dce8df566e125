#include "ingest/adapters/hubspot.hpp"

#include "ingest/adapters/native.hpp"
#include "ingest/adapters/signature.hpp"

#include <cmath>

namespace redflag::ingest::adapters {
namespace {

namespace json = boost::json;

// The characters HubSpot's v3 instructions decode in the URI before signing.
std::string decode_signed_characters(std::string_view uri) {
    static constexpr std::pair<std::string_view, char> table[] = {
        {"3A", ':'}, {"2F", '/'}, {"3F", '?'}, {"40", '@'}, {"21", '!'}, {"24", '$'},
        {"27", '\''}, {"28", '('}, {"29", ')'}, {"2A", '*'}, {"2C", ','}, {"3B", ';'}};
    std::string out;
    out.reserve(uri.size());
    for (std::size_t i = 0; i < uri.size(); ++i) {
        if (uri[i] == '%' && i + 2 < uri.size()) {
            std::string code{static_cast<char>(std::toupper(static_cast<unsigned char>(uri[i + 1]))),
                             static_cast<char>(std::toupper(static_cast<unsigned char>(uri[i + 2])))};
            bool done = false;
            for (auto [hex, c] : table)
                if (hex == code) {
                    out += c;
                    i += 2;
                    done = true;
                    break;
                }
            if (done) continue;
        }
        out += uri[i];
    }
    return out;
}

std::string_view first_value(std::string_view header) {
    auto comma = header.find(',');
    header = header.substr(0, comma);
    while (!header.empty() && header.front() == ' ') header.remove_prefix(1);
    while (!header.empty() && header.back() == ' ') header.remove_suffix(1);
    return header;
}

bool is_company(const json::value& e, const std::string& type) {
    if (type.rfind("company.", 0) == 0) return true;
    auto object_type = id_text(member(e, "objectTypeId"));
    return type.rfind("object.", 0) == 0 && object_type == "0-2";
}

// A HubSpot date or datetime property value: ms since the epoch, or YYYY-MM-DD.
std::optional<std::string> hubspot_date(const std::string& value) {
    if (!value.empty() && value.find_first_not_of("0123456789") == std::string::npos && value.size() < 16)
        return format_rfc3339(from_millis(std::stoll(value)));
    if (auto t = parse_rfc3339(value)) return format_rfc3339(*t);
    if (auto t = parse_rfc3339(value + "T00:00:00Z")) return format_rfc3339(*t);
    return std::nullopt;
}

}  // namespace

hubspot_adapter::hubspot_adapter(adapter_config config) : config_(std::move(config)) {
    // The defaults, under what the config adds or overrides.
    static const std::pair<const char*, const char*> defaults[] = {
        {"name", "name"},
        {"hubspot_owner_id", "csm"},
        {"industry", "industry"},
        {"numberofemployees", "employees"},
        {"segment", "segment"},
        {"lifecyclestage", "attributes.lifecycle_stage"},
        {"renewal_date", "attributes.renewal_date"}};
    for (auto [property, field] : defaults) config_.properties.emplace(property, field);
}

std::string hubspot_signed_uri(const hook_request& request, std::string_view public_url) {
    std::string uri;
    if (!public_url.empty()) {
        uri = public_url;
        if (auto q = request.target.find('?'); q != std::string_view::npos && uri.find('?') == std::string::npos)
            uri += request.target.substr(q);
    } else {
        auto proto = first_value(request.header("X-Forwarded-Proto"));
        uri = std::string(proto.empty() ? "http" : proto) + "://" + std::string(request.header("Host")) +
              std::string(request.target);
    }
    return decode_signed_characters(uri);
}

std::optional<std::string> check_hubspot_signature(const hook_request& request, std::string_view public_url,
                                                   std::string_view secret, duration tolerance, timestamp now) {
    auto signature = request.header("X-HubSpot-Signature-v3");
    auto stamp = request.header("X-HubSpot-Request-Timestamp");
    if (signature.empty()) return "missing X-HubSpot-Signature-v3 header";
    if (stamp.empty()) return "missing X-HubSpot-Request-Timestamp header";
    auto given = from_base64(signature);
    if (!given) return "X-HubSpot-Signature-v3 is not base64";
    if (stamp.size() > 15 || stamp.find_first_not_of("0123456789") != std::string_view::npos)
        return "X-HubSpot-Request-Timestamp is not Unix milliseconds";
    auto age = now - from_millis(std::stoll(std::string(stamp)));
    if (age > tolerance || age < -tolerance)
        return "X-HubSpot-Request-Timestamp is " + std::to_string(age.count() / 1000) +
               " s from now, more than the tolerance of " + std::to_string(tolerance.count() / 1000) + " s";
    std::string source(request.method);
    source += hubspot_signed_uri(request, public_url);
    source += request.body;
    source += stamp;
    if (!digests_equal(*given, hmac_sha256(secret, source)))
        return "X-HubSpot-Signature-v3 does not match this request under adapters.hubspot.secret (check public_url "
               "or X-Forwarded-Proto if a proxy is in front)";
    return std::nullopt;
}

hook_result hubspot_adapter::handle(const hook_request& request, timestamp now) const {
    if (!config_.insecure)
        if (auto why = check_hubspot_signature(request, config_.public_url, config_.secret, config_.tolerance, now))
            return hook_result::unauthorized(*why);
    hook_result result;
    auto body = parse_body(request.body, result);
    if (!body) return result;
    if (!body->is_array()) return hook_result::bad_request("", "must be a JSON array of HubSpot events");

    const auto& list = body->get_array();
    for (std::size_t i = 0; i < list.size(); ++i) {
        const std::string at_path = "[" + std::to_string(i) + "]";
        const auto& e = list[i];
        vendor_event ev;
        auto id = id_text(member(e, "eventId"));
        if (!id) return hook_result::bad_request(at_path + ".eventId", "is required");
        auto type = text(member(e, "subscriptionType"));
        if (!type) return hook_result::bad_request(at_path + ".subscriptionType", "is required");
        ev.id = *id;
        ev.type = *type;
        const bool property_change = ev.type.size() > 15 && ev.type.substr(ev.type.size() - 15) == ".propertyChange";
        const bool creation = ev.type == "company.creation";
        if (!is_company(e, ev.type) || (!property_change && !creation)) {
            ev.ignored = "subscription type " + ev.type + " is not mapped";
            result.events.push_back(std::move(ev));
            continue;
        }
        auto company = id_text(member(e, "objectId"));
        if (!company) return hook_result::bad_request(at_path + ".objectId", "is required: the company id");
        auto occurred = integer(member(e, "occurredAt"));
        if (!occurred) return hook_result::bad_request(at_path + ".occurredAt", "is required: Unix milliseconds");

        canonical_event out;
        out.body = {{"type", "account"},
                    {"id", "hubspot:" + ev.id},
                    {"at", format_rfc3339(from_millis(*occurred))},
                    {"external_ids", json::object{{"hubspot", *company}}}};
        out.customer = customer_ref{"hubspot", "company", *company};
        if (property_change) {
            auto property = text(member(e, "propertyName"));
            if (!property) return hook_result::bad_request(at_path + ".propertyName", "is required");
            auto target = config_.properties.find(*property);
            if (target == config_.properties.end()) {
                ev.ignored = "company property " + *property + " is not mapped";
                result.events.push_back(std::move(ev));
                continue;
            }
            const std::string field_path = at_path + ".propertyValue";
            // An emptied property arrives as "": nothing to set.
            auto value = id_text(member(e, "propertyValue"));
            if (!value) {
                ev.ignored = "company property " + *property + " was emptied";
                result.events.push_back(std::move(ev));
                continue;
            }
            const std::string& field = target->second;
            if (field == "csm") {
                auto o = config_.owners.find(*value);
                if (o != config_.owners.end()) {
                    out.body["csm"] = o->second.name;
                    if (!o->second.email.empty()) out.body["csm_email"] = o->second.email;
                } else {
                    out.body["csm"] = "hubspot owner " + *value;  // visible, and mapped once adapters.hubspot.owners has it
                }
            } else if (field == "employees" || field == "seats") {
                auto n = number(member(e, "propertyValue"));
                if (!n || *n < 0 || std::trunc(*n) != *n) return hook_result::bad_request(field_path, "must be an integer >= 0");
                out.body[field] = static_cast<std::int64_t>(*n);
            } else if (field.rfind("attributes.", 0) == 0) {
                std::string key = field.substr(11);
                std::string v = *value;
                if (key.find("date") != std::string::npos || key.find("_at") != std::string::npos)
                    if (auto d = hubspot_date(*value)) v = *d;
                out.body["attributes"] = json::object{{key, v}};
            } else {
                out.body[field] = *value;
            }
        }
        ev.mapped.push_back(std::move(out));
        result.events.push_back(std::move(ev));
    }
    if (result.events.empty()) return hook_result::bad_request("", "must hold at least one event");
    return result;
}

}  // namespace redflag::ingest::adapters
