#include "alerts/record.hpp"

#include "alerts/codec.hpp"
#include <boost/json/serialize.hpp>

#include <boost/json/parse.hpp>

#include <cmath>
#include <variant>

namespace redflag::alerts {
namespace json = boost::json;

alert_record make_record(const alert_event& e, const model::account_state* account) {
    alert_record r;
    r.a = e.record;
    if (account) {
        auto text = [&](model::profile_field f) -> std::string {
            const auto& v = account->get(f);
            if (const auto* s = std::get_if<std::string>(&v)) return *s;
            return {};
        };
        r.profile = account_profile{text(model::profile_field::name), text(model::profile_field::csm),
                                    text(model::profile_field::csm_email)};
        r.profile->arr = 12 * account->mrr();
        if (const auto* at = std::get_if<timestamp>(&account->get(model::profile_field::renewal_at)))
            r.profile->renewal_at = format_rfc3339(*at);
        r.profile->segment = text(model::profile_field::segment);
    }
    r.message = e.message;
    return r;
}

json::object to_json(const alert_record& r) {
    auto object = to_json(r.a);
    if (r.profile) {
        object["account_name"] = r.profile->name;
        object["csm"] = r.profile->csm;
        object["csm_email"] = r.profile->csm_email;
        // Whole amounts as integers (120000, not 1.2E5).
        const double arr = r.profile->arr;
        if (std::isfinite(arr) && arr == std::floor(arr) && std::abs(arr) < 9e15) object["arr"] = static_cast<std::int64_t>(arr);
        else object["arr"] = arr;
        if (!r.profile->renewal_at.empty()) object["renewal_at"] = r.profile->renewal_at;
        if (!r.profile->segment.empty()) object["segment"] = r.profile->segment;
    }
    if (!r.message.empty()) object["message"] = r.message;
    return object;
}

std::string encode_record(const alert_record& r) { return json::serialize(to_json(r)); }

std::optional<alert_record> decode_record(std::string_view bytes, std::string* error) {
    boost::system::error_code ec;
    auto v = json::parse(bytes, ec);
    if (ec) {
        if (error) *error = "malformed JSON: " + ec.message();
        return std::nullopt;
    }
    auto a = alert_from_json(v, error);
    if (!a) return std::nullopt;
    alert_record r;
    r.a = std::move(*a);
    const auto& o = v.get_object();  // alert_from_json checked it is an object
    auto text = [&](std::string_view key) -> std::optional<std::string> {
        auto it = o.find(key);
        if (it == o.end() || !it->value().is_string()) return std::nullopt;
        return std::string(it->value().get_string());
    };
    auto name = text("account_name"), csm = text("csm"), csm_email = text("csm_email");
    if (name || csm || csm_email) {
        r.profile = account_profile{name.value_or(""), csm.value_or(""), csm_email.value_or("")};
        if (auto it = o.find("arr"); it != o.end() && it->value().is_number()) r.profile->arr = it->value().to_number<double>();
        r.profile->renewal_at = text("renewal_at").value_or("");
        r.profile->segment = text("segment").value_or("");
    }
    r.message = text("message").value_or("");
    return r;
}

}  // namespace redflag::alerts
