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
    object,       // JSON object of string, number or bool values (account `attributes`);
                  // with text_kind::id, of id strings only (account `external_ids`)
};

// Which characters a string field may hold (ingest/validate.hpp checks them):
//  - text: 1..10,000 characters of valid UTF-8; tab, line feed and carriage return are
//    allowed, every other control character (U+0000-U+001F, U+007F-U+009F) is not;
//  - id: a name of something (account, user, ticket, metric, product): 1..200
//    characters, no control character at all. Ids become storage keys, label values and
//    log fields, where a NUL or a line break would alias or forge another.
enum class text_kind : std::uint8_t { text, id };

struct field_spec {
    std::string_view name;
    field_kind kind;
    bool required = false;
    std::optional<double> min{};                  // numbers: inclusive bounds
    std::optional<double> max{};
    std::span<const std::string_view> one_of{};   // strings: the allowed values, if any
    bool in_stream = true;  // kept in the account's stream records and readable by rules
    text_kind text = text_kind::text;             // strings and string lists: their characters
};

// Bounds of money and counts, chosen so that the KPI sums (kpi/contribution.hpp, money in
// int64 thousandths of the currency unit) cannot overflow over a book of 10 million
// accounts:
//   int64 max = 9.22e18 thousandths = 9.22e15 currency units; / 1e7 accounts = 9.22e8
//   units an account may add to one sum.
//   ARR = 12 x MRR is the largest per-account money term: 12 x max_money = 1.2e8 units
//   (1.2e11 thousandths); x 1e7 accounts = 1.2e18 < 9.22e18 (7.7 times headroom).
//   A movement moves at most max_money (1e10 thousandths): the 30-day movement sums hold
//   while accounts average at most 92 MRR changes in the span (9.22e18 / (1e7 x 1e10)).
//   Opportunity = list price x seats: 1e7 accounts x max_seats (1e6) x price x 1000 stays
//   below int64 for list prices up to 922 per seat and month.
inline constexpr double max_money = 10'000'000;     // mrr: per month, in the currency unit
inline constexpr double max_seats = 1'000'000;      // seats (account and contract)
inline constexpr double max_headcount = 10'000'000; // employees
inline constexpr double max_locations = 1'000'000;  // locations
inline constexpr double max_usage = 1e12;           // |value| of one usage event (not summed as money)
// Minutes of one activity or ticket event (activity `minutes`, ticket `handle_minutes`):
// at most a year (525,600). Summed as doubles over 90 days per account and priced by the
// hourly cost (cost to serve), so no overflow bound applies beyond staying finite.
inline constexpr double max_minutes = 525'600;
// One spend event's amount (currency units). Summed over 90 days in int64 thousandths:
// 9.22e18 / (1e9 x 1e3) = 9.2 million events at the bound before a sum could overflow.
inline constexpr double max_spend = 1'000'000'000;

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
