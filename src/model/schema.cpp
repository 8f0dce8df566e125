#include "model/schema.hpp"

namespace redflag::model {
namespace {

constexpr std::string_view account_statuses[] = {"onboarding", "active", "churned"};
constexpr std::string_view contract_statuses[] = {"active", "cancel_requested", "churned"};
constexpr std::string_view ticket_statuses[] = {"open", "pending", "solved", "closed"};
constexpr std::string_view ticket_priorities[] = {"low", "normal", "high", "urgent"};
constexpr std::string_view activity_kinds[] = {"meeting", "call", "email", "qbr", "training", "note"};
constexpr std::string_view goal_statuses[] = {"open", "achieved", "missed", "dropped"};

using k = field_kind;

const field_spec account_fields[] = {
    {"name", k::string},
    {"csm", k::string},
    {"csm_email", k::string},
    {"segment", k::string},
    {"plan", k::string},
    {"industry", k::string},
    {"status", k::string, false, {}, {}, account_statuses},
    {"seats", k::integer, false, 0.0, max_seats},
    {"employees", k::integer, false, 0.0, max_headcount},
    {"locations", k::integer, false, 0.0, max_locations},
    {"signed_at", k::time},
    {"attributes", k::object, false, {}, {}, {}, false},
    // The account's ids in the vendors' systems ({stripe: "cus_...", hubspot: "..."}):
    // vendor hooks resolve their customers through it (ingest/adapters/external_id_index.hpp).
    {"external_ids", k::object, false, {}, {}, {}, false, text_kind::id},
};
const field_spec contract_fields[] = {
    {"mrr", k::number, true, 0.0, max_money},
    {"seats", k::integer, false, 0.0, max_seats},
    {"products", k::string_list, false, {}, {}, {}, true, text_kind::id},
    {"renewal_at", k::time},
    {"status", k::string, false, {}, {}, contract_statuses},
};
const field_spec usage_fields[] = {
    {"metric", k::string, true, {}, {}, {}, true, text_kind::id},
    {"value", k::number, false, -max_usage, max_usage},
    {"user_id", k::string, false, {}, {}, {}, true, text_kind::id},
};
const field_spec user_fields[] = {
    {"user_id", k::string, true, {}, {}, {}, true, text_kind::id},
    {"email", k::string},
    {"name", k::string},
    {"role", k::string},
    {"active", k::boolean},
};
const field_spec ticket_fields[] = {
    {"ticket_id", k::string, true, {}, {}, {}, true, text_kind::id},
    {"status", k::string, true, {}, {}, ticket_statuses},
    {"priority", k::string, false, {}, {}, ticket_priorities},
    {"subject", k::string},
    // Minutes support spent on the ticket since its previous event (an increment, so a
    // window sums them; cost to serve).
    {"handle_minutes", k::number, false, 0.0, max_minutes},
    // When the customer first got an answer (first-response time is from the ticket's
    // first event to it).
    {"first_response_at", k::time},
};
const field_spec nps_fields[] = {
    {"score", k::integer, true, 0.0, 10.0},
    {"respondent", k::string, false, {}, {}, {}, true, text_kind::id},
    {"comment", k::string},
};
const field_spec csat_fields[] = {
    {"score", k::integer, true, 1.0, 5.0},
    {"ticket_id", k::string, false, {}, {}, {}, true, text_kind::id},
    {"comment", k::string},
};
const field_spec activity_fields[] = {
    {"kind", k::string, true, {}, {}, activity_kinds},
    {"by", k::string},
    {"note", k::string},
    {"minutes", k::number, false, 0.0, max_minutes},  // time spent by `by` (cost to serve)
};
const field_spec milestone_fields[] = {
    {"name", k::string, true},
    {"note", k::string},
};

// A success-plan goal, upserted by goal_id: its latest event (by `at`) holds its state.
const field_spec goal_fields[] = {
    {"goal_id", k::string, true, {}, {}, {}, true, text_kind::id},
    {"title", k::string},
    {"due_at", k::time},
    {"status", k::string, true, {}, {}, goal_statuses},
};

// Acquisition spend, company-level (no account): CAC.
const field_spec spend_fields[] = {
    {"amount", k::number, true, 0.0, max_spend},
    {"category", k::string, true},  // sales | marketing | any other string
    {"segment", k::string},         // the segment it was spent to win, if known
};

const std::span<const field_spec> all_fields[event_type_count] = {
    account_fields, contract_fields, usage_fields,     user_fields,      ticket_fields, nps_fields,
    csat_fields,    activity_fields, milestone_fields, goal_fields,      spend_fields,
};

}  // namespace

std::span<const field_spec> fields_of(event_type type) { return all_fields[static_cast<std::size_t>(type)]; }

const field_spec* find_field(event_type type, std::string_view name) {
    for (const auto& f : fields_of(type))
        if (f.name == name) return &f;
    return nullptr;
}

std::optional<std::size_t> stream_field_index(event_type type, std::string_view name) {
    std::size_t index = 0;
    for (const auto& f : fields_of(type)) {
        if (!f.in_stream) continue;
        if (f.name == name) return index;
        ++index;
    }
    return std::nullopt;
}

std::size_t stream_field_count(event_type type) {
    std::size_t n = 0;
    for (const auto& f : fields_of(type)) n += f.in_stream ? 1 : 0;
    return n;
}

}  // namespace redflag::model
