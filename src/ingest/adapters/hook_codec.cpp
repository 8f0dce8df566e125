#include "ingest/adapters/hook_codec.hpp"

#include "store/keys.hpp"


namespace redflag::ingest::adapters::codec {
namespace {

constexpr char sep = '\0';
constexpr std::uint64_t sign_bit = 1ull << 63;

}  // namespace

std::string customer_key(const customer_ref& customer) {
    return customer.kind == "user" ? "user:" + customer.id : customer.id;
}

std::string external_id_key(std::string_view vendor, std::string_view customer) {
    std::string k;
    k.reserve(vendor.size() + 1 + customer.size());
    k.append(vendor).push_back(sep);
    k.append(customer);
    return k;
}

bool parse_external_id_key(std::string_view key, std::string& vendor, std::string& customer) {
    auto at = key.find(sep);
    if (at == std::string_view::npos || at == 0 || at + 1 == key.size()) return false;
    vendor.assign(key.substr(0, at));
    customer.assign(key.substr(at + 1));
    return customer.find(sep) == std::string::npos;
}

std::string unmatched_prefix(std::string_view vendor) {
    std::string k(vendor);
    k.push_back(sep);
    return k;
}

std::string unmatched_prefix(std::string_view vendor, std::string_view customer) {
    std::string k = unmatched_prefix(vendor);
    k.append(customer).push_back(sep);
    return k;
}

std::string unmatched_key(std::string_view vendor, std::string_view customer, timestamp at, std::string_view id) {
    std::string k = unmatched_prefix(vendor, customer);
    store::keys::append_be64(k, static_cast<std::uint64_t>(to_millis(at)) ^ sign_bit);
    k.append(id);
    return k;
}

std::optional<unmatched_key_parts> parse_unmatched_key(std::string_view key) {
    auto first = key.find(sep);
    if (first == std::string_view::npos || first == 0) return std::nullopt;
    auto second = key.find(sep, first + 1);
    if (second == std::string_view::npos || second == first + 1) return std::nullopt;
    if (key.size() < second + 1 + store::keys::sequence_size + 1) return std::nullopt;
    unmatched_key_parts parts;
    parts.vendor.assign(key.substr(0, first));
    parts.customer.assign(key.substr(first + 1, second - first - 1));
    parts.at = from_millis(static_cast<std::int64_t>(store::keys::read_be64(key.substr(second + 1)) ^ sign_bit));
    parts.id.assign(key.substr(second + 1 + store::keys::sequence_size));
    return parts;
}

std::string unmatched_value(timestamp received_at, std::string_view event_bytes) {
    return store::keys::event_value(received_at, event_bytes);
}

bool parse_unmatched_value(std::string_view value, timestamp& received_at, std::string_view& event_bytes) {
    return store::keys::parse_event_value(value, received_at, event_bytes);
}

}  // namespace redflag::ingest::adapters::codec
