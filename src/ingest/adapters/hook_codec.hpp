// The bytes of the vendor hooks' two store columns (store/store.hpp), in one place:
//
//   external_ids  key   vendor '\0' customer                 value  account
//   unmatched     key   vendor '\0' customer '\0' at(8) id   value  received-millis(8, BE) event bytes
//
// `customer` is a customer's key: the vendor's id as it is, or "user:" + id for a person
// (a Zendesk requester, a Segment user), as in the config's `accounts` maps. `at` is the
// event's time in milliseconds, big-endian with the sign bit flipped, so that a customer's
// waiting events sort in time order (then by id). The event bytes are the canonical event
// as model/codec.hpp stores events (exact doubles), its `account` the customer key until
// the customer's account is known. Vendor names and ids hold no '\0' (validation:
// ids have no control characters), so a prefix selects exactly one vendor or customer.
//
// Pure functions, thread-safe; parse_* return false (or nullopt) on malformed input.
#pragma once

#include "core/time.hpp"
#include "ingest/adapters/hook.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace redflag::ingest::adapters::codec {

// "cus_1", or "user:42" for a person.
std::string customer_key(const customer_ref& customer);

std::string external_id_key(std::string_view vendor, std::string_view customer);
bool parse_external_id_key(std::string_view key, std::string& vendor, std::string& customer);

// vendor '\0': every waiting event of one vendor; with a customer: of that customer.
std::string unmatched_prefix(std::string_view vendor);
std::string unmatched_prefix(std::string_view vendor, std::string_view customer);
std::string unmatched_key(std::string_view vendor, std::string_view customer, timestamp at, std::string_view id);

struct unmatched_key_parts {
    std::string vendor;
    std::string customer;
    timestamp at{};
    std::string id;
};
std::optional<unmatched_key_parts> parse_unmatched_key(std::string_view key);

std::string unmatched_value(timestamp received_at, std::string_view event_bytes);
bool parse_unmatched_value(std::string_view value, timestamp& received_at, std::string_view& event_bytes);

}  // namespace redflag::ingest::adapters::codec
