#include "ingest/adapters/stripe.hpp"

#include "ingest/adapters/native.hpp"
#include "ingest/adapters/signature.hpp"

#include <algorithm>
#include <array>
#include <cmath>

namespace redflag::ingest::adapters {
namespace {

namespace json = boost::json;

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// The months one billing interval lasts: a yearly price is paid once in 12 months.
std::optional<double> months_of(std::string_view interval, std::int64_t count) {
    if (count < 1) return std::nullopt;
    double one;
    if (interval == "month") one = 1;
    else if (interval == "year") one = 12;
    else if (interval == "week") one = 12.0 / 52.0;
    else if (interval == "day") one = 12.0 / 365.0;
    else return std::nullopt;
    return one * double(count);
}

class subscription_mapper {
public:
    subscription_mapper(const adapter_config& config, const json::value& sub, std::string path)
        : config_(config), sub_(sub), path_(std::move(path)) {}

    // Fills `out` (a contract body) or returns the error.
    std::optional<hook_result> map(json::object& out, bool deleted) {
        auto currency = text(member(sub_, "currency"));
        if (!currency) return fail("currency", "is required: the three-letter ISO code of the subscription");
        *currency = lower(*currency);
        double rate = 1;
        if (*currency != lower(config_.currency)) {
            auto r = config_.rates.find(*currency);
            if (r == config_.rates.end())
                return fail("currency", "is \"" + *currency + "\", not adapters.stripe.currency (\"" + config_.currency +
                                            "\"): add adapters.stripe.rates." + *currency);
            rate = r->second;
        }
        const int units = minor_units(*currency);

        const auto* items = member(member(sub_, "items"), "data");
        if (!items || !items->is_array()) return fail("items.data", "is required: the subscription's items");
        double mrr = 0;
        std::int64_t seats = 0, single_quantity = -1;
        bool seats_found = false;
        json::array products;
        std::optional<std::int64_t> period_end = integer(member(sub_, "current_period_end"));
        const auto& list = items->get_array();
        for (std::size_t i = 0; i < list.size(); ++i) {
            const std::string at = "items.data[" + std::to_string(i) + "]";
            const auto& item = list[i];
            const auto* price = member(item, "price");
            if (!price) price = member(item, "plan");  // the older Plan object has the same fields
            if (!price) return fail(at + ".price", "is required");
            auto price_id = id_text(member(price, "id"));
            std::optional<std::string> product_id;
            if (const auto* p = member(price, "product")) product_id = p->is_object() ? id_text(member(p, "id")) : id_text(p);
            // Items carry their own period in API versions from 2025-03-31 on.
            if (auto end = integer(member(item, "current_period_end"))) period_end = std::max(period_end.value_or(0), *end);

            std::string name = product_id.value_or(price_id.value_or(""));
            for (const auto* key : {&price_id, &product_id})
                if (*key)
                    if (auto m = config_.products.find(**key); m != config_.products.end()) {
                        name = m->second;
                        break;
                    }
            if (!name.empty() && std::find(products.begin(), products.end(), json::value(name)) == products.end())
                products.emplace_back(name);

            const auto* recurring = member(price, "recurring");
            std::string interval = text(member(recurring, "interval")).value_or(text(member(price, "interval")).value_or(""));
            std::int64_t count = integer(member(recurring, "interval_count"))
                                     .value_or(integer(member(price, "interval_count")).value_or(1));
            auto months = months_of(interval, count);
            if (!months)
                return fail(at + ".price.recurring", "must have an interval of day, week, month or year and an interval_count of 1 or more");
            // Metered prices bill what was used: no quantity, no recurring amount to count.
            std::string usage = text(member(recurring, "usage_type")).value_or(text(member(price, "usage_type")).value_or("licensed"));
            if (usage == "metered") continue;
            auto quantity = integer(member(item, "quantity"));
            if (!quantity || *quantity < 0) return fail(at + ".quantity", "must be an integer >= 0");
            std::optional<double> amount = number(member(price, "unit_amount"));
            if (!amount) amount = number(member(price, "unit_amount_decimal"));
            if (!amount) amount = number(member(price, "amount"));
            if (!amount || *amount < 0)
                return fail(at + ".price.unit_amount",
                            "must be an amount >= 0 in minor units (tiered prices are not supported)");
            mrr += *amount / units * double(*quantity) / *months * rate;

            bool counts = false;
            for (const auto& s : config_.seat_products) counts = counts || s == price_id || s == product_id || s == name;
            if (counts) {
                seats += *quantity;
                seats_found = true;
            }
            single_quantity = list.size() == 1 ? *quantity : -1;
        }

        std::string status = text(member(sub_, "status")).value_or("active");
        std::string contract_status = "active";
        if (deleted || status == "canceled" || status == "incomplete_expired") {
            contract_status = "churned";
            mrr = 0;
        } else if (status == "trialing" || status == "paused") {
            mrr = 0;
        }
        if (contract_status == "active") {
            const auto* cancel = member(sub_, "cancel_at_period_end");
            if ((cancel && cancel->is_bool() && cancel->get_bool()) || member(sub_, "cancel_at"))
                contract_status = "cancel_requested";
        }

        out["mrr"] = std::round(mrr * 100) / 100;
        out["status"] = contract_status;
        out["products"] = std::move(products);
        if (seats_found) out["seats"] = seats;
        else if (single_quantity >= 0) out["seats"] = single_quantity;
        if (period_end) out["renewal_at"] = format_rfc3339(from_unix_seconds(*period_end));
        if (auto id = id_text(member(sub_, "id"))) out["stripe_subscription"] = *id;
        return std::nullopt;
    }

private:
    hook_result fail(const std::string& field, std::string message) const {
        return hook_result::bad_request(path_ + "." + field, std::move(message));
    }

    const adapter_config& config_;
    const json::value& sub_;
    std::string path_;
};

// The account the payload names itself (metadata.redflag_account), if any.
std::optional<std::string> named_account(const json::value& object) {
    return text(member(member(object, "metadata"), "redflag_account"));
}

}  // namespace

int minor_units(std::string_view currency) {
    static constexpr std::array<std::string_view, 16> zero_decimal{"bif", "clp", "djf", "gnf", "jpy", "kmf",
                                                                   "krw", "mga", "pyg", "rwf", "ugx", "vnd",
                                                                   "vuv", "xaf", "xof", "xpf"};
    static constexpr std::array<std::string_view, 5> three_decimal{"bhd", "jod", "kwd", "omr", "tnd"};
    auto c = lower(currency);
    if (std::find(zero_decimal.begin(), zero_decimal.end(), c) != zero_decimal.end()) return 1;
    if (std::find(three_decimal.begin(), three_decimal.end(), c) != three_decimal.end()) return 1000;
    return 100;
}

std::optional<std::string> check_stripe_signature(std::string_view header, std::string_view body, std::string_view secret,
                                                  duration tolerance, timestamp now) {
    header = trim(header);
    if (header.empty()) return "missing Stripe-Signature header";
    std::optional<std::int64_t> t;
    std::vector<std::string> signatures;
    while (!header.empty()) {
        auto comma = header.find(',');
        auto part = trim(header.substr(0, comma));
        header = comma == std::string_view::npos ? std::string_view{} : header.substr(comma + 1);
        auto eq = part.find('=');
        if (eq == std::string_view::npos) continue;
        auto key = part.substr(0, eq), value = part.substr(eq + 1);
        if (key == "t") {
            std::int64_t n = 0;
            bool ok = !value.empty() && value.size() < 19;
            for (char c : value) ok = ok && c >= '0' && c <= '9', n = n * 10 + (c - '0');
            if (ok) t = n;
        } else if (key == "v1") {
            if (auto bytes = from_hex(value)) signatures.push_back(std::move(*bytes));
        }
    }
    if (!t) return "Stripe-Signature has no timestamp t=<unix seconds>";
    if (signatures.empty()) return "Stripe-Signature has no v1 signature";
    auto age = now - from_unix_seconds(*t);
    if (age > tolerance || age < -tolerance)
        return "Stripe-Signature timestamp is " + std::to_string(age.count() / 1000) + " s from now, more than the tolerance of " +
               std::to_string(tolerance.count() / 1000) + " s";
    std::string signed_payload = std::to_string(*t);
    signed_payload += '.';
    signed_payload += body;
    const auto expected = hmac_sha256(secret, signed_payload);
    bool match = false;
    for (const auto& s : signatures) match |= digests_equal(s, expected);  // check all: no early exit
    if (!match) return "Stripe-Signature matches no v1 signature of this body under adapters.stripe.secret";
    return std::nullopt;
}

hook_result stripe_adapter::handle(const hook_request& request, timestamp now) const {
    if (!config_.insecure)
        if (auto why = check_stripe_signature(request.header("Stripe-Signature"), request.body, config_.secret,
                                              config_.tolerance, now))
            return hook_result::unauthorized(*why);
    hook_result result;
    auto body = parse_body(request.body, result);
    if (!body) return result;
    if (!body->is_object()) return hook_result::bad_request("", "must be a Stripe event object");

    vendor_event ev;
    auto id = text(member(*body, "id"));
    if (!id) return hook_result::bad_request("id", "is required: the Stripe event id (evt_...)");
    auto type = text(member(*body, "type"));
    if (!type) return hook_result::bad_request("type", "is required: the Stripe event type");
    auto created = integer(member(*body, "created"));
    if (!created) return hook_result::bad_request("created", "is required: Unix seconds");
    ev.id = *id;
    ev.type = *type;
    const auto* object = member(member(*body, "data"), "object");

    const bool subscription = ev.type == "customer.subscription.created" || ev.type == "customer.subscription.updated" ||
                              ev.type == "customer.subscription.deleted";
    const bool customer = ev.type == "customer.created" || ev.type == "customer.updated";
    if ((subscription || customer) && (!object || !object->is_object()))
        return hook_result::bad_request("data.object", "is required: the " + std::string(subscription ? "subscription" : "customer"));

    if (subscription) {
        if (text(member(*object, "status")) == "incomplete") {
            ev.ignored = "subscription incomplete: counted once its first payment makes it active";
        } else {
            canonical_event out;
            out.body = {{"type", "contract"}, {"id", "stripe:" + ev.id}, {"at", format_rfc3339(from_unix_seconds(*created))}};
            subscription_mapper mapper(config_, *object, "data.object");
            if (auto error = mapper.map(out.body, ev.type == "customer.subscription.deleted")) return std::move(*error);
            const auto* cust = member(*object, "customer");
            auto customer_id = cust && cust->is_object() ? id_text(member(cust, "id")) : id_text(cust);
            auto account = named_account(*object);
            if (!account && cust && cust->is_object()) account = named_account(*cust);
            if (account) out.body["account"] = *account;
            else if (customer_id) out.customer = customer_ref{"stripe", "customer", *customer_id};
            else return hook_result::bad_request("data.object.customer", "is required: the customer id (cus_...)");
            ev.mapped.push_back(std::move(out));
        }
    } else if (customer) {
        auto account = named_account(*object);
        auto customer_id = id_text(member(*object, "id"));
        if (!customer_id) return hook_result::bad_request("data.object.id", "is required: the customer id (cus_...)");
        if (!account) {
            ev.ignored = "customer without metadata.redflag_account";
        } else {
            canonical_event out;
            out.body = {{"type", "account"},
                        {"id", "stripe:" + ev.id},
                        {"at", format_rfc3339(from_unix_seconds(*created))},
                        {"account", *account},
                        {"external_ids", json::object{{"stripe", *customer_id}}}};
            ev.mapped.push_back(std::move(out));
        }
    } else {
        ev.ignored = "event type " + ev.type + " is not mapped";
    }
    result.events.push_back(std::move(ev));
    return result;
}

}  // namespace redflag::ingest::adapters
