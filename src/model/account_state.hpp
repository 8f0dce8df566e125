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

// A profile field that has a value (account_state keeps only those): the value, the `at`
// of the event that set it, so that an older event arriving late does not overwrite a
// newer value, and the `at` of the earliest event that set it, so that a late event older
// than every known value is ordered correctly in the history.
struct profile_value {
    timestamp at{};
    timestamp first_at{};
    scalar value;
    profile_field field = profile_field::name;
};

// The changes of one profile field that has any, sorted by at.
struct field_history {
    std::vector<field_change> changes;
    profile_field field = profile_field::name;
};

// The records of one event type that an account has seen (usage keeps its points in
// account_state::usage, so its entry only carries the latest time), sorted by at, and the
// latest `at` of that type, for since(stream).
struct type_stream {
    std::vector<stream_record> records;
    timestamp latest{};
    event_type type = event_type::account;
    bool has_latest = false;
};

// Memory: an engine holds one account_state per account (100,000s of them), most of which
// use a few fields and event types. So profile values, histories and streams are kept
// only for the fields and types an account has, in small vectors sorted by field or type
// (at most 15 and 11 entries, searched linearly), behind accessors; an account that never
// sent a profile field or a non-usage event costs nothing for them.
struct account_state {
    std::string id;
    std::optional<timestamp> first_seen;  // the earliest `at` of any event
    timestamp latest_at{};                // the latest `at` of any event

    std::map<std::string, scalar, std::less<>> attributes;
    std::vector<user_state> users;
    std::vector<ticket_state> tickets;  // every ticket seen; open ones are is_open()
    std::map<std::string, usage_series, std::less<>> usage;  // by metric
    std::vector<mrr_movement> movements;  // sorted by at

    // The current value of field `f`, null until set.
    const scalar& get(profile_field f) const;
    // The `at` of the event that set `f`, and of the earliest event that set it; the
    // epoch until set.
    timestamp set_at(profile_field f) const;
    timestamp first_set_at(profile_field f) const;
    // Sets the current value and times of `f` as they are (no history is recorded: for
    // decoders and tests building a state by hand; events go through apply()).
    void put(profile_field f, scalar value, timestamp at = {}, timestamp first_at = {});
    // The fields that have an entry, sorted by field.
    const std::vector<profile_value>& profile_values() const { return profile_; }

    // The changes of field `f`, sorted by at (empty when none).
    const std::vector<field_change>& history_of(profile_field f) const;
    // Replaces the changes of `f` (for decoders and tests).
    void put_history(profile_field f, std::vector<field_change> changes);
    const std::vector<field_history>& histories() const { return history_; }

    // The records of type `t` (never usage), sorted by at; empty when none.
    const std::vector<stream_record>& stream(event_type t) const;
    // The same, created when absent (keep it sorted by at).
    std::vector<stream_record>& stream_for(event_type t);
    // The latest `at` of type `t` (usage included), nullopt before the first.
    std::optional<timestamp> latest_of(event_type t) const;
    void set_latest_of(event_type t, std::optional<timestamp> at);
    const std::vector<type_stream>& streams() const { return streams_; }

    double mrr() const;  // 0 when never set
    const user_state* find_user(std::string_view user_id) const;

    // Incorporates one validated event of this account.
    void apply(const event& e);

    // Drops records, usage points and history older than `cutoff` (the retention horizon),
    // keeping what windows and `previous()` still need: the latest record of each stream
    // and the latest change of each field.
    void expire(timestamp cutoff);

private:
    friend class applier;
    profile_value* find_profile(profile_field f);
    const profile_value* find_profile(profile_field f) const;
    profile_value& profile_slot(profile_field f);      // created (null) when absent
    // Moves the changes of `f` out (leaving no entry) and back in (no entry when empty).
    std::vector<field_change> take_history(profile_field f);
    type_stream* find_stream(event_type t);
    const type_stream* find_stream(event_type t) const;
    type_stream& stream_entry(event_type t);           // created when absent

    std::vector<profile_value> profile_;   // sorted by field
    std::vector<field_history> history_;   // sorted by field; no empty entry
    std::vector<type_stream> streams_;     // sorted by type
};

}  // namespace redflag::model
