// The fields of each event type: the single source for ingest validation, for the rule
// checker (stream fields, `where` filters) and for the records account state keeps.
#pragma once

#include "model/event.hpp"

#include <optional>
#include <span>
#include <string_view>

namespace redflag::model {

enum class field_kind : std::uint8_t {
    string,       // JSON string, 1..max_length chars
    integer,      // JSON number with no fraction
    number,       // any JSON number
    boolean,
    time,         // RFC 3339 string
    string_list,  // JSON array of strings
    object,       // JSON object of string, number or bool values (account `attributes`)
};

struct field_spec {
    std::string_view name;
    field_kind kind;
    bool required = false;
    std::optional<double> min{};                  // numbers: inclusive bounds
    std::optional<double> max{};
    std::span<const std::string_view> one_of{};   // strings: the allowed values, if any
    bool in_stream = true;  // kept in the account's stream records and readable by rules
};

// The type-specific fields of `type`, in a fixed order. The common fields (type,
// account, id, at) are not listed.
std::span<const field_spec> fields_of(event_type type);

const field_spec* find_field(event_type type, std::string_view name);

// The position of `name` among the in_stream fields of `type`: the index into a
// stream_record's values (model/account_state.hpp). nullopt when not kept.
std::optional<std::size_t> stream_field_index(event_type type, std::string_view name);

// The number of in_stream fields of `type`.
std::size_t stream_field_count(event_type type);

}  // namespace redflag::model
