// The canonical event of ../shared/spec/events.md, after decoding and validation.
#pragma once

#include "core/time.hpp"

#include <boost/json/object.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace redflag::model {

enum class event_type : std::uint8_t { account, contract, usage, user, ticket, nps, csat, activity, milestone };
inline constexpr std::size_t event_type_count = 9;

inline constexpr std::array<std::string_view, event_type_count> event_type_names{
    "account", "contract", "usage", "user", "ticket", "nps", "csat", "activity", "milestone"};

constexpr std::string_view name_of(event_type t) { return event_type_names[static_cast<std::size_t>(t)]; }

constexpr std::optional<event_type> event_type_from(std::string_view name) {
    for (std::size_t i = 0; i < event_type_count; ++i)
        if (event_type_names[i] == name) return static_cast<event_type>(i);
    return std::nullopt;
}

// One validated event. `fields` holds every member of the JSON object except `type`,
// `account`, `id` and `at` (unknown members included: they are kept, not interpreted).
// Every field named in model/schema.hpp is present only if it was sent, and then has the
// schema's type (validation guarantees it), except for defaults the schema documents,
// which readers apply (usage `value` 1, ticket `priority` "normal", user `active` true).
struct event {
    event_type type = event_type::account;
    std::string account;
    std::string id;         // as sent, or "h:" + hex SHA-256 of the canonical content
    timestamp at{};         // as sent, or when it was received
    bool id_derived = false;
    boost::json::object fields;
};

}  // namespace redflag::model
