// Everything the engine knows about one customer account, built from its events: the
// profile with the history of each field, the contract and its MRR movements, users,
// tickets, usage series and the records of every other event type for rule windows.
//
// One account_state is owned by one shard and touched only by that shard's thread: it is
// not thread-safe. apply() accepts events in any order of `at` (out-of-order events are
// placed at their own time). The rule evaluator (rules/eval) reads the public members
// directly; codec.hpp turns a state into bytes for RocksDB and back.
#pragma once

#include "core/scalar.hpp"
#include "core/time.hpp"
#include "model/event.hpp"

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace redflag::model {

// The profile and contract fields rules read as account.FIELD and that keep a history.
// `id`, `arr` (12 × mrr) and `first_seen` are derived, not stored here.
enum class profile_field : std::uint8_t {
    name, csm, csm_email, segment, plan, industry, status, seats, employees, locations, signed_at,
    mrr, renewal_at, products, contract_status,
};
inline constexpr std::size_t profile_field_count = 15;

inline constexpr std::array<std::string_view, profile_field_count> profile_field_names{
    "name", "csm", "csm_email", "segment", "plan", "industry", "status", "seats", "employees",
    "locations", "signed_at", "mrr", "renewal_at", "products", "contract_status"};

constexpr std::string_view name_of(profile_field f) { return profile_field_names[static_cast<std::size_t>(f)]; }

constexpr std::optional<profile_field> profile_field_from(std::string_view name) {
    for (std::size_t i = 0; i < profile_field_count; ++i)
        if (profile_field_names[i] == name) return static_cast<profile_field>(i);
    return std::nullopt;
}

// One change of a profile field: the first value a field gets, and a value sent again
// unchanged, are not changes (rules-language.md, History).
struct field_change {
    timestamp at{};
    scalar before;
    scalar after;
};

struct user_state {
    std::string id;
    std::string email;
    std::string name;
    std::string role;
    bool active = true;
    timestamp first_seen{};               // the first `user` or usage event naming this user
    std::optional<timestamp> last_seen;   // the latest usage event carrying the user's id
};

struct ticket_state {
    std::string id;
    std::string status;    // the latest status by event time
    std::string priority;  // "normal" unless given
    std::string subject;
    timestamp opened_at{}; // the first event of this ticket
    timestamp updated_at{};
    std::optional<timestamp> first_response_at;  // the earliest `first_response_at` sent
    bool is_open() const { return status == "open" || status == "pending"; }
};

// Usage of one metric. Events of the same metric within the same minute are merged into
// one point (count and sum add up; `at` is the latest of them), so memory and window cost
// follow minutes with usage, not event volume. A window includes a point when its `at`
// is inside the window.
struct usage_point {
    timestamp at{};
    double sum = 0;
    std::uint32_t count = 0;
};

struct usage_series {
    std::vector<usage_point> points;  // sorted by at
};

// One event of a type other than usage, as rule streams see it: `values` has one entry
// per in_stream field of the type (schema.hpp, stream_field_index), null when not sent,
// with the schema's defaults applied (ticket priority "normal", user active true).
struct stream_record {
    timestamp at{};
    std::vector<scalar> values;
};

enum class movement_kind : std::uint8_t { new_business, expansion, contraction, churn, reactivation };
inline constexpr std::array<std::string_view, 5> movement_kind_names{"new", "expansion", "contraction", "churn",
                                                                    "reactivation"};

// A change of MRR classified per events.md: new (first MRR > 0), expansion, contraction,
// churn (MRR to 0 or status churned), reactivation (from 0 back above 0).
struct mrr_movement {
    timestamp at{};
    movement_kind kind = movement_kind::new_business;
    double before = 0;
    double after = 0;
};

struct account_state {
    std::string id;
    std::optional<timestamp> first_seen;  // the earliest `at` of any event
    timestamp latest_at{};                // the latest `at` of any event

    // Current value of each field (null until set) and the `at` of the event that set it,
    // so that an older event arriving late does not overwrite a newer value.
    std::array<scalar, profile_field_count> profile{};
    std::array<timestamp, profile_field_count> profile_at{};
    // The `at` of the earliest event that set each field (meaningful once the field is
    // set), so that a late event older than every known value is ordered correctly
    // in the history.
    std::array<timestamp, profile_field_count> profile_first_at{};
    std::array<std::vector<field_change>, profile_field_count> history{};  // sorted by at
    std::map<std::string, scalar, std::less<>> attributes;

    std::vector<user_state> users;
    std::vector<ticket_state> tickets;  // every ticket seen; open ones are is_open()
    std::map<std::string, usage_series, std::less<>> usage;  // by metric

    // Records of every type except usage (its series are in `usage`), sorted by at.
    std::array<std::vector<stream_record>, event_type_count> streams{};
    // The latest `at` of each event type (usage included), for since(stream).
    std::array<std::optional<timestamp>, event_type_count> latest_of_type{};

    std::vector<mrr_movement> movements;  // sorted by at

    const scalar& get(profile_field f) const { return profile[static_cast<std::size_t>(f)]; }
    double mrr() const;  // 0 when never set
    const user_state* find_user(std::string_view user_id) const;

    // Incorporates one validated event of this account.
    void apply(const event& e);

    // Drops records, usage points and history older than `cutoff` (the retention horizon),
    // keeping what windows and `previous()` still need: the latest record of each stream
    // and the latest change of each field.
    void expire(timestamp cutoff);
};

}  // namespace redflag::model
