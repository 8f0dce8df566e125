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

// New types are appended (the state codec and stored states index streams by type).
enum class event_type : std::uint8_t { account, contract, usage, user, ticket, nps, csat, activity, milestone, goal, spend };
inline constexpr std::size_t event_type_count = 11;

inline constexpr std::array<std::string_view, event_type_count> event_type_names{
    "account", "contract", "usage", "user", "ticket", "nps", "csat", "activity", "milestone", "goal", "spend"};

constexpr std::string_view name_of(event_type t) { return event_type_names[static_cast<std::size_t>(t)]; }

constexpr std::optional<event_type> event_type_from(std::string_view name) {
    for (std::size_t i = 0; i < event_type_count; ++i)
        if (event_type_names[i] == name) return static_cast<event_type>(i);
    return std::nullopt;
}

// Company-level events (`spend`: acquisition spend) belong to no customer account. The
// decoder gives them this internal account, so that they are stored, deduplicated (ids
// are scoped per account), recovered and replayed exactly like account events, in one
// shard. A control character keeps it apart from every valid account id (ids hold none,
// ingest/validate.hpp); the store keys it (only NUL is refused). The engine evaluates
// no rules on it and the KPIs count it as no account (engine/core, kpi/contribution).
inline constexpr std::string_view company_account = "\x1f" "company";
constexpr bool is_company_level(event_type t) { return t == event_type::spend; }
inline bool is_company(std::string_view account) { return account == company_account; }

// The members of an event object that are not fields: they are the event's own members
// (type, account, id, at).
constexpr bool is_envelope_key(std::string_view key) {
    return key == "type" || key == "account" || key == "id" || key == "at";
}

// One validated event. `fields` is the event's JSON object as it was decoded, taken over
// whole so that a decoder need not copy it: every member except the envelope's (which
// may or may not be in it, and which every reader skips: is_envelope_key), unknown
// members included (kept, not interpreted). Every field named in model/schema.hpp is
// present only if it was sent (a field sent as null is removed), and then has the
// schema's type (validation guarantees it), except for defaults the schema documents,
// which readers apply (usage `value` 1, ticket `priority` "normal", user `active` true).
struct event {
    event_type type = event_type::account;
    std::string account;
    std::string id;         // as sent, or "h:" + hex SHA-256 of the canonical content, or
                            // empty where nothing deduplicates (replay)
    timestamp at{};         // as sent, or when it was received
    bool id_derived = false;
    boost::json::object fields;
};

// The envelope members of an event object, found in one pass over it (a parsed object
// has no duplicate keys; four look-ups would scan it four times). nullptr when absent.
struct envelope {
    const boost::json::value* type = nullptr;
    const boost::json::value* account = nullptr;
    const boost::json::value* id = nullptr;
    const boost::json::value* at = nullptr;
};

inline envelope find_envelope(const boost::json::object& object) {
    envelope e;
    for (const auto& member : object) {
        const std::string_view key = member.key();
        if (key.size() > 7 || key.size() < 2) continue;
        if (key == "type") e.type = &member.value();
        else if (key == "account") e.account = &member.value();
        else if (key == "at") e.at = &member.value();
        else if (key == "id") e.id = &member.value();
    }
    return e;
}

}  // namespace redflag::model
