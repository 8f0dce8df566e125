#include "ingest/validate.hpp"

#include "ingest/content_hash.hpp"
#include "model/codec.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

using namespace redflag;
using namespace redflag::ingest;
namespace json = boost::json;

namespace {

const timestamp received = *parse_rfc3339("2026-11-02T12:00:00Z");

validation_result run(std::string_view body, body_format format = body_format::json) {
    auto decoded = decode_body(body, format);
    EXPECT_FALSE(decoded.error) << decoded.error->message;
    return validate(std::move(decoded.items), received);
}

// Validates one event given as a JSON object and returns its problems.
std::vector<problem> problems_of(std::string_view body) { return run(body).problems; }

problem p(std::size_t index, std::string field, std::string message) { return {index, std::move(field), std::move(message)}; }

std::string with(std::string_view base, std::string_view extra) {
    std::string s(base);
    s.pop_back();
    s += ",";
    s += extra;
    s += "}";
    return s;
}

}  // namespace

namespace redflag::ingest {
void PrintTo(const problem& pr, std::ostream* os) { *os << "{" << pr.index << ", " << pr.field << ", " << pr.message << "}"; }
}  // namespace redflag::ingest

TEST(Validate, spec_example_is_accepted_with_every_field_in_place) {
    auto r = run(R"({"id": "u-981", "type": "usage", "account": "acme", "at": "2026-11-02T09:00:00Z",
                     "metric": "active_users", "value": 41, "plan_tier": "gold"})");
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r.events.size(), 1u);
    const auto& e = r.events[0];
    EXPECT_EQ(e.type, model::event_type::usage);
    EXPECT_EQ(e.account, "acme");
    EXPECT_EQ(e.id, "u-981");
    EXPECT_FALSE(e.id_derived);
    EXPECT_EQ(e.at, *parse_rfc3339("2026-11-02T09:00:00Z"));
    EXPECT_EQ(e.fields.at("metric").as_string(), "active_users");
    EXPECT_EQ(e.fields.at("value").as_int64(), 41);
    EXPECT_EQ(e.fields.at("plan_tier").as_string(), "gold");  // unknown fields are kept
    // The fields are the object as sent: the envelope members may stay in it, and every
    // reader skips them (the stored form has each once).
    EXPECT_EQ(model::encode_event_json(e),
              R"({"type":"usage","account":"acme","id":"u-981","at":"2026-11-02T09:00:00Z","metric":"active_users",)"
              R"("value":41,"plan_tier":"gold"})");
}

TEST(Validate, missing_at_is_the_receive_time_and_missing_id_is_derived) {
    auto r = run(R"({"type": "usage", "account": "acme", "metric": "logins"})");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.events[0].at, received);
    EXPECT_TRUE(r.events[0].id_derived);
    EXPECT_EQ(r.events[0].id.substr(0, 2), "h:");
    EXPECT_EQ(r.events[0].id.size(), 2u + 64u);
}

TEST(Validate, common_fields) {
    EXPECT_EQ(problems_of(R"({"account": "a"})"), (std::vector{p(0, "type", "is required")}));
    const std::string types = "must be one of account, contract, usage, user, ticket, nps, csat, activity, milestone, goal, spend";
    EXPECT_EQ(problems_of(R"({"type": "invoice", "account": "a"})"), (std::vector{p(0, "type", types)}));
    EXPECT_EQ(problems_of(R"({"type": 3, "account": "a"})"), (std::vector{p(0, "type", types)}));
    EXPECT_EQ(problems_of(R"({"type": "milestone", "name": "x"})"), (std::vector{p(0, "account", "is required")}));
    EXPECT_EQ(problems_of(R"({"type": "milestone", "name": "x", "account": ""})"),
              (std::vector{p(0, "account", "must be a string of 1 to 200 characters")}));
    EXPECT_EQ(problems_of(R"({"type": "milestone", "name": "x", "account": 12})"),
              (std::vector{p(0, "account", "must be a string of 1 to 200 characters")}));
    EXPECT_EQ(problems_of(R"({"type": "milestone", "name": "x", "account": "a", "id": ""})"),
              (std::vector{p(0, "id", "must be a string of 1 to 200 characters")}));
    EXPECT_EQ(problems_of(R"({"type": "milestone", "name": "x", "account": "a", "at": "yesterday"})"),
              (std::vector{p(0, "at", "must be an RFC 3339 timestamp, e.g. 2026-11-02T09:00:00Z")}));
    EXPECT_EQ(problems_of(R"({"type": "milestone", "name": "x", "account": "a", "at": 1700000000})"),
              (std::vector{p(0, "at", "must be an RFC 3339 timestamp, e.g. 2026-11-02T09:00:00Z")}));
}

TEST(Validate, account_and_id_length_counts_characters_not_bytes) {
    std::string two_hundred_e_acute;
    for (int i = 0; i < 200; ++i) two_hundred_e_acute += "\xC3\xA9";  // 400 bytes, 200 characters
    auto body = R"({"type": "milestone", "name": "x", "account": ")" + two_hundred_e_acute + R"(", "id": ")" +
                std::string(200, 'i') + R"("})";
    EXPECT_TRUE(problems_of(body).empty());
    auto too_long = R"({"type": "milestone", "name": "x", "account": ")" + std::string(201, 'a') + R"(", "id": ")" +
                    std::string(201, 'i') + R"("})";
    EXPECT_EQ(problems_of(too_long), (std::vector{p(0, "account", "must be a string of 1 to 200 characters"),
                                                  p(0, "id", "must be a string of 1 to 200 characters")}));
}

TEST(Validate, null_counts_as_absent) {
    auto r = run(R"({"type": "nps", "account": "a", "id": null, "at": null, "score": 5, "comment": null})");
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(r.events[0].id_derived);
    EXPECT_EQ(r.events[0].at, received);
    EXPECT_FALSE(r.events[0].fields.contains("comment"));
    EXPECT_EQ(problems_of(R"({"type": "nps", "account": "a", "score": null})"), (std::vector{p(0, "score", "is required")}));
}

TEST(Validate, account_type) {
    const std::string base = R"({"type": "account", "account": "a"})";
    EXPECT_TRUE(problems_of(base).empty());
    EXPECT_TRUE(problems_of(with(base, R"("name": "Acme", "csm": "Dana", "csm_email": "d@x.io", "segment": "smb",
        "plan": "pro", "industry": "retail", "status": "onboarding", "seats": 0, "employees": 10, "locations": 2,
        "signed_at": "2026-01-01T00:00:00Z", "attributes": {"tier": "gold", "nps_opt_in": true, "arr_rank": 3.5})"))
                    .empty());
    EXPECT_EQ(problems_of(with(base, R"("status": "paused")")),
              (std::vector{p(0, "status", "must be one of onboarding, active, churned")}));
    EXPECT_EQ(problems_of(with(base, R"("seats": -1)")), (std::vector{p(0, "seats", "must be an integer from 0 to 1000000")}));
    EXPECT_EQ(problems_of(with(base, R"("employees": 2.5)")), (std::vector{p(0, "employees", "must be an integer from 0 to 10000000")}));
    EXPECT_EQ(problems_of(with(base, R"("locations": "3")")), (std::vector{p(0, "locations", "must be an integer from 0 to 1000000")}));
    EXPECT_EQ(problems_of(with(base, R"("name": "")")), (std::vector{p(0, "name", "must be a string of 1 to 10000 characters")}));
    EXPECT_EQ(problems_of(with(base, R"("csm": 7)")), (std::vector{p(0, "csm", "must be a string of 1 to 10000 characters")}));
    EXPECT_EQ(problems_of(with(base, R"("signed_at": "2026-13-01")")),
              (std::vector{p(0, "signed_at", "must be an RFC 3339 timestamp, e.g. 2026-11-02T09:00:00Z")}));
    EXPECT_EQ(problems_of(with(base, R"("attributes": [1])")),
              (std::vector{p(0, "attributes", "must be an object of string, number or boolean values")}));
    EXPECT_EQ(problems_of(with(base, R"("attributes": {"ok": 1, "nested": {"x": 1}, "list": []})")),
              (std::vector{p(0, "attributes.nested", "must be a string (at most 10000 characters), number or boolean"),
                           p(0, "attributes.list", "must be a string (at most 10000 characters), number or boolean")}));
}

TEST(Validate, integral_doubles_become_integers) {
    auto r = run(R"({"type": "account", "account": "a", "seats": 5.0})");
    ASSERT_TRUE(r.ok());
    ASSERT_TRUE(r.events[0].fields.at("seats").is_int64());
    EXPECT_EQ(r.events[0].fields.at("seats").as_int64(), 5);
}

TEST(Validate, contract_type) {
    const std::string base = R"({"type": "contract", "account": "a", "mrr": 1200.5})";
    EXPECT_TRUE(problems_of(base).empty());
    EXPECT_TRUE(problems_of(with(base, R"("seats": 10, "products": ["backup", "email_security"],
        "renewal_at": "2027-01-01T00:00:00+02:00", "status": "cancel_requested")"))
                    .empty());
    EXPECT_EQ(problems_of(R"({"type": "contract", "account": "a"})"), (std::vector{p(0, "mrr", "is required")}));
    EXPECT_EQ(problems_of(R"({"type": "contract", "account": "a", "mrr": -1})"),
              (std::vector{p(0, "mrr", "must be a number from 0 to 10000000")}));
    EXPECT_EQ(problems_of(R"({"type": "contract", "account": "a", "mrr": "100"})"),
              (std::vector{p(0, "mrr", "must be a number from 0 to 10000000")}));
    EXPECT_EQ(problems_of(with(base, R"("products": "backup")")), (std::vector{p(0, "products", "must be an array of strings")}));
    EXPECT_EQ(problems_of(with(base, R"("products": ["backup", 3, ""])")),
              (std::vector{p(0, "products[1]", "must be a string of 1 to 200 characters"),
                           p(0, "products[2]", "must be a string of 1 to 200 characters")}));
    EXPECT_EQ(problems_of(with(base, R"("status": "paused")")),
              (std::vector{p(0, "status", "must be one of active, cancel_requested, churned")}));
    EXPECT_EQ(problems_of(with(base, R"("renewal_at": "soon")")),
              (std::vector{p(0, "renewal_at", "must be an RFC 3339 timestamp, e.g. 2026-11-02T09:00:00Z")}));
}

TEST(Validate, usage_type) {
    EXPECT_TRUE(problems_of(R"({"type": "usage", "account": "a", "metric": "logins", "value": 2.5, "user_id": "u1"})").empty());
    EXPECT_TRUE(problems_of(R"({"type": "usage", "account": "a", "metric": "delta", "value": -3})").empty());
    EXPECT_EQ(problems_of(R"({"type": "usage", "account": "a"})"), (std::vector{p(0, "metric", "is required")}));
    EXPECT_EQ(problems_of(R"({"type": "usage", "account": "a", "metric": "x", "value": "1"})"),
              (std::vector{p(0, "value", "must be a number from -1000000000000 to 1000000000000")}));
    EXPECT_EQ(problems_of(R"({"type": "usage", "account": "a", "metric": "x", "user_id": true})"),
              (std::vector{p(0, "user_id", "must be a string of 1 to 200 characters")}));
}

TEST(Validate, user_type) {
    EXPECT_TRUE(problems_of(R"({"type": "user", "account": "a", "user_id": "u", "email": "e@x", "name": "N",
        "role": "champion", "active": false})").empty());
    EXPECT_EQ(problems_of(R"({"type": "user", "account": "a"})"), (std::vector{p(0, "user_id", "is required")}));
    EXPECT_EQ(problems_of(R"({"type": "user", "account": "a", "user_id": "u", "active": "yes"})"),
              (std::vector{p(0, "active", "must be true or false")}));
}

TEST(Validate, ticket_type) {
    EXPECT_TRUE(problems_of(R"({"type": "ticket", "account": "a", "ticket_id": "t", "status": "open",
        "priority": "urgent", "subject": "Down"})").empty());
    EXPECT_EQ(problems_of(R"({"type": "ticket", "account": "a"})"),
              (std::vector{p(0, "ticket_id", "is required"), p(0, "status", "is required")}));
    EXPECT_EQ(problems_of(R"({"type": "ticket", "account": "a", "ticket_id": "t", "status": "reopened"})"),
              (std::vector{p(0, "status", "must be one of open, pending, solved, closed")}));
    EXPECT_EQ(problems_of(R"({"type": "ticket", "account": "a", "ticket_id": "t", "status": "open", "priority": "p1"})"),
              (std::vector{p(0, "priority", "must be one of low, normal, high, urgent")}));
}

TEST(Validate, nps_type) {
    for (int score : {0, 6, 10})
        EXPECT_TRUE(problems_of(R"({"type": "nps", "account": "a", "score": )" + std::to_string(score) + "}").empty()) << score;
    const auto message = "must be an integer from 0 to 10";
    for (std::string bad : {"11", "-1", "7.5", "\"9\"", "true"})
        EXPECT_EQ(problems_of(R"({"type": "nps", "account": "a", "score": )" + bad + "}"), (std::vector{p(0, "score", message)}))
            << bad;
    EXPECT_EQ(problems_of(R"({"type": "nps", "account": "a"})"), (std::vector{p(0, "score", "is required")}));
    EXPECT_TRUE(problems_of(R"({"type": "nps", "account": "a", "score": 9, "respondent": "r@x", "comment": "great"})").empty());
}

TEST(Validate, csat_type) {
    EXPECT_TRUE(problems_of(R"({"type": "csat", "account": "a", "score": 1, "ticket_id": "t", "comment": "ok"})").empty());
    EXPECT_TRUE(problems_of(R"({"type": "csat", "account": "a", "score": 5})").empty());
    EXPECT_EQ(problems_of(R"({"type": "csat", "account": "a", "score": 0})"),
              (std::vector{p(0, "score", "must be an integer from 1 to 5")}));
    EXPECT_EQ(problems_of(R"({"type": "csat", "account": "a", "score": 6})"),
              (std::vector{p(0, "score", "must be an integer from 1 to 5")}));
}

TEST(Validate, activity_type) {
    for (std::string kind : {"meeting", "call", "email", "qbr", "training", "note"})
        EXPECT_TRUE(problems_of(R"({"type": "activity", "account": "a", "kind": ")" + kind + R"(", "by": "dana", "note": "n"})").empty());
    EXPECT_EQ(problems_of(R"({"type": "activity", "account": "a", "kind": "lunch"})"),
              (std::vector{p(0, "kind", "must be one of meeting, call, email, qbr, training, note")}));
    EXPECT_EQ(problems_of(R"({"type": "activity", "account": "a"})"), (std::vector{p(0, "kind", "is required")}));
}

TEST(Validate, ticket_handle_minutes_and_first_response_at) {
    EXPECT_TRUE(problems_of(R"({"type": "ticket", "account": "a", "ticket_id": "t", "status": "solved",
        "handle_minutes": 12.5, "first_response_at": "2026-11-02T09:00:00Z"})").empty());
    EXPECT_TRUE(problems_of(R"({"type": "ticket", "account": "a", "ticket_id": "t", "status": "open", "handle_minutes": 0})").empty());
    EXPECT_EQ(problems_of(R"({"type": "ticket", "account": "a", "ticket_id": "t", "status": "open", "handle_minutes": -1})"),
              (std::vector{p(0, "handle_minutes", "must be a number from 0 to 525600")}));
    EXPECT_EQ(problems_of(R"({"type": "ticket", "account": "a", "ticket_id": "t", "status": "open", "handle_minutes": "5"})"),
              (std::vector{p(0, "handle_minutes", "must be a number from 0 to 525600")}));
    EXPECT_EQ(problems_of(R"({"type": "ticket", "account": "a", "ticket_id": "t", "status": "open", "first_response_at": "soon"})"),
              (std::vector{p(0, "first_response_at", "must be an RFC 3339 timestamp, e.g. 2026-11-02T09:00:00Z")}));
}

TEST(Validate, activity_minutes) {
    EXPECT_TRUE(problems_of(R"({"type": "activity", "account": "a", "kind": "call", "minutes": 45})").empty());
    EXPECT_EQ(problems_of(R"({"type": "activity", "account": "a", "kind": "call", "minutes": -0.5})"),
              (std::vector{p(0, "minutes", "must be a number from 0 to 525600")}));
    EXPECT_EQ(problems_of(R"({"type": "activity", "account": "a", "kind": "call", "minutes": 525601})"),
              (std::vector{p(0, "minutes", "must be a number from 0 to 525600")}));
}

TEST(Validate, goal_type) {
    auto r = run(R"({"type": "goal", "account": "a", "at": "2026-11-01T00:00:00Z", "goal_id": "g-1",
        "title": "Roll out to EMEA", "due_at": "2026-12-31T00:00:00Z", "status": "open"})");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.events[0].type, model::event_type::goal);
    for (std::string status : {"open", "achieved", "missed", "dropped"})
        EXPECT_TRUE(problems_of(R"({"type": "goal", "account": "a", "goal_id": "g", "status": ")" + status + R"("})").empty())
            << status;
    EXPECT_EQ(problems_of(R"({"type": "goal", "account": "a"})"),
              (std::vector{p(0, "goal_id", "is required"), p(0, "status", "is required")}));
    EXPECT_EQ(problems_of(R"({"type": "goal", "account": "a", "goal_id": "g", "status": "done"})"),
              (std::vector{p(0, "status", "must be one of open, achieved, missed, dropped")}));
    EXPECT_EQ(problems_of(R"({"type": "goal", "account": "a", "goal_id": "g", "status": "open", "due_at": "Friday"})"),
              (std::vector{p(0, "due_at", "must be an RFC 3339 timestamp, e.g. 2026-11-02T09:00:00Z")}));
    EXPECT_EQ(problems_of(R"({"type": "goal", "account": "a", "goal_id": "g\u0000", "status": "open"})"),
              (std::vector{p(0, "goal_id", "must not contain control characters (U+0000 at character 2)")}));
}

TEST(Validate, spend_is_company_level) {
    auto r = run(R"({"type": "spend", "id": "s-1", "at": "2026-11-01T00:00:00Z", "amount": 12000.5,
        "category": "marketing", "segment": "smb"})");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.events[0].type, model::event_type::spend);
    EXPECT_EQ(r.events[0].account, model::company_account);
    EXPECT_TRUE(model::is_company(r.events[0].account));
    EXPECT_TRUE(problems_of(R"({"type": "spend", "amount": 0, "category": "events"})").empty());
    EXPECT_EQ(problems_of(R"({"type": "spend", "account": "acme", "amount": 5, "category": "sales"})"),
              (std::vector{p(0, "account", "must be absent: spend is company-level, not per account")}));
    EXPECT_EQ(problems_of(R"({"type": "spend"})"),
              (std::vector{p(0, "amount", "is required"), p(0, "category", "is required")}));
    EXPECT_EQ(problems_of(R"({"type": "spend", "amount": -1, "category": "sales"})"),
              (std::vector{p(0, "amount", "must be a number from 0 to 1000000000")}));
    EXPECT_EQ(problems_of(R"({"type": "spend", "amount": 1e10, "category": "sales"})"),
              (std::vector{p(0, "amount", "must be a number from 0 to 1000000000")}));
    // Without `id`, spend gets a content id like any event, so a redelivery is a duplicate.
    auto a = run(R"({"type": "spend", "at": "2026-11-01T00:00:00Z", "amount": 5, "category": "sales"})");
    auto b = run(R"({"type": "spend", "at": "2026-11-01T00:00:00Z", "amount": 5, "category": "sales"})");
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(a.events[0].id, b.events[0].id);
    EXPECT_EQ(a.events[0].id.substr(0, 2), "h:");
}

TEST(Validate, milestone_type) {
    EXPECT_TRUE(problems_of(R"({"type": "milestone", "account": "a", "name": "first_value", "note": "n"})").empty());
    EXPECT_EQ(problems_of(R"({"type": "milestone", "account": "a"})"), (std::vector{p(0, "name", "is required")}));
}

TEST(Validate, free_text_limit_is_10000_characters) {
    auto ok = R"({"type": "nps", "account": "a", "score": 3, "comment": ")" + std::string(10'000, 'c') + R"("})";
    EXPECT_TRUE(problems_of(ok).empty());
    auto too_long = R"({"type": "nps", "account": "a", "score": 3, "comment": ")" + std::string(10'001, 'c') + R"("})";
    EXPECT_EQ(problems_of(too_long), (std::vector{p(0, "comment", "must be a string of 1 to 10000 characters")}));
}

TEST(Validate, every_problem_of_a_batch_is_reported_with_its_index_and_nothing_is_accepted) {
    auto r = run(R"([
        {"type": "nps", "account": "a", "score": 5},
        {"type": "nps", "account": "a", "score": 12},
        "not an event",
        {"type": "ticket", "account": "", "ticket_id": "t", "status": "gone"}
    ])");
    EXPECT_FALSE(r.ok());
    EXPECT_TRUE(r.events.empty());
    EXPECT_EQ(r.problems, (std::vector{p(1, "score", "must be an integer from 0 to 10"), p(2, "", "must be a JSON object"),
                                       p(3, "account", "must be a string of 1 to 200 characters"),
                                       p(3, "status", "must be one of open, pending, solved, closed")}));
    ASSERT_EQ(r.types.size(), 4u);
    EXPECT_EQ(r.types[0], model::event_type::nps);
    EXPECT_EQ(r.types[2], std::nullopt);
    EXPECT_EQ(r.types[3], model::event_type::ticket);
}

TEST(Validate, ndjson_problem_index_is_line_number_minus_one) {
    auto r = run("{\"type\": \"nps\", \"account\": \"a\", \"score\": 5}\n\n{\"type\": \"nps\", \"account\": \"a\", \"score\": 50}\n",
                 body_format::ndjson);
    EXPECT_EQ(r.problems, (std::vector{p(2, "score", "must be an integer from 0 to 10")}));
}

TEST(Validate, batch_of_valid_events_keeps_order) {
    auto r = run(R"([{"type": "nps", "account": "a", "score": 1, "id": "1"}, {"type": "csat", "account": "b", "score": 2, "id": "2"}])");
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r.events.size(), 2u);
    EXPECT_EQ(r.events[0].id, "1");
    EXPECT_EQ(r.events[1].id, "2");
    EXPECT_EQ(r.events[1].type, model::event_type::csat);
}

TEST(Validate, ten_thousand_events_are_one_batch) {
    std::string ndjson;
    for (int i = 0; i < 10'000; ++i) ndjson += R"({"type": "usage", "account": "a", "metric": "logins", "value": )" + std::to_string(i) + "}\n";
    auto r = run(ndjson, body_format::ndjson);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.events.size(), 10'000u);
    EXPECT_NE(r.events[0].id, r.events[1].id);
}

// Issue 11, defect 2: a NUL in an account id passed validation, then failed every write
// round of its shard and every snapshot.
TEST(Validate, ids_hold_no_control_characters) {
    const std::string base = R"({"type": "usage", "metric": "logins", )";
    EXPECT_EQ(problems_of(base + R"("account": "ev\u0000il"})"),
              (std::vector{p(0, "account", "must not contain control characters (U+0000 at character 3)")}));
    EXPECT_EQ(problems_of(base + R"("account": "a", "id": "x\ty"})"),
              (std::vector{p(0, "id", "must not contain control characters (U+0009 at character 2)")}));
    EXPECT_EQ(problems_of(base + R"("account": "a", "user_id": "u\n"})"),
              (std::vector{p(0, "user_id", "must not contain control characters (U+000A at character 2)")}));
    EXPECT_EQ(problems_of(R"({"type": "ticket", "account": "a", "ticket_id": "\u007f", "status": "open"})"),
              (std::vector{p(0, "ticket_id", "must not contain control characters (U+007F at character 1)")}));
    EXPECT_EQ(problems_of(R"({"type": "usage", "account": "a", "metric": "m\u0085"})"),  // C1: NEXT LINE
              (std::vector{p(0, "metric", "must not contain control characters (U+0085 at character 2)")}));
    EXPECT_EQ(problems_of(R"({"type": "contract", "account": "a", "mrr": 1, "products": ["ok", "b\rad"]})"),
              (std::vector{p(0, "products[1]", "must not contain control characters (U+000D at character 2)")}));
    EXPECT_EQ(problems_of(R"({"type": "account", "account": "a", "attributes": {"ti\u0000er": "gold"}})"),
              (std::vector{p(0, std::string("attributes.ti\0er", 16),
                             "must be named by 1 to 200 characters without control characters")}));
    // Beyond ASCII is fine: letters, CJK, emoji.
    EXPECT_TRUE(problems_of(base + R"("account": "Zoë-東京-🚀", "user_id": "ü"})").empty());
}

// The scan takes eight printable ASCII bytes at a time: a control character at any
// position of a long id, after ASCII or multi-byte characters, is still found and named
// by its character position.
TEST(Validate, a_control_character_is_found_at_every_position_of_a_long_id) {
    const std::string base = R"({"type": "usage", "metric": "logins", "account": ")";
    for (std::string bad : {std::string("\\u0000"), std::string("\\u001f"), std::string("\\u007f"), std::string("\\u0085")}) {
        for (std::size_t at = 0; at < 20; ++at) {
            for (std::string before : {std::string("a"), std::string("\u00e9")}) {  // 1 or 2 bytes a character
                std::string id;
                for (std::size_t i = 0; i < at; ++i) id += before;
                id += bad;
                id += "tail-of-the-id";
                const std::string code = bad == "\\u001f" ? "001F" : bad == "\\u007f" ? "007F" : bad == "\\u0085" ? "0085" : "0000";
                EXPECT_EQ(problems_of(base + id + "\"}"),
                          (std::vector{p(0, "account", "must not contain control characters (U+" + code + " at character " +
                                                           std::to_string(at + 1) + ")")}))
                    << "at " << at << " after " << before;
            }
        }
    }
    EXPECT_TRUE(problems_of(base + "an-id-of-printable-ascii-0123456789~ !#$%&'()*+,-./:;<=>?@[]^_`{|}\"}").empty());
}

TEST(Validate, text_may_hold_tabs_and_line_breaks_but_no_other_control_characters) {
    EXPECT_TRUE(problems_of(R"({"type": "nps", "account": "a", "score": 3, "comment": "one\ntwo\r\n\tthree"})").empty());
    EXPECT_EQ(problems_of(R"({"type": "nps", "account": "a", "score": 3, "comment": "bell\u0007"})"),
              (std::vector{p(0, "comment", "must not contain control characters other than tab, line feed and "
                                           "carriage return (U+0007 at character 5)")}));
    EXPECT_EQ(problems_of(R"({"type": "account", "account": "a", "attributes": {"note": "x\u001b[31m"}})"),
              (std::vector{p(0, "attributes.note", "must not contain control characters other than tab, line feed "
                                                   "and carriage return (U+001B at character 2)")}));
}

// Boost.JSON rejects invalid UTF-8 in a body; an object built elsewhere (a YAML test
// file expanded by `redflag test`) is checked by the decoder itself.
TEST(Validate, strings_are_valid_utf8) {
    for (std::string bad : {"\xC3", "\xC0\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80", "a\xFF"}) {
        json::value v = json::object{{"type", "user"}, {"account", "a"}, {"user_id", "u"}, {"name", bad}};
        std::vector<problem> problems;
        std::optional<model::event> out;
        decode_options options;
        options.received_at = received;
        EXPECT_FALSE(decode_event(v, 0, options, out, problems).ok);
        EXPECT_EQ(problems, (std::vector{p(0, "name", "must be valid UTF-8")}));
    }
}

// Issue 11, defect 3: 1e400 was stored as Infinity (the account view then printed
// invalid JSON, and Boost.JSON writes the stored event as unreadable "Infinity").
TEST(Validate, numbers_are_finite_everywhere) {
    EXPECT_EQ(problems_of(R"({"type": "contract", "account": "a", "mrr": 1e400})"),
              (std::vector{p(0, "mrr", "must be a number from 0 to 10000000")}));
    EXPECT_EQ(problems_of(R"({"type": "usage", "account": "a", "metric": "m", "value": -1e400})"),
              (std::vector{p(0, "value", "must be a number from -1000000000000 to 1000000000000")}));
    EXPECT_EQ(problems_of(R"({"type": "account", "account": "a", "attributes": {"rank": 1e999}})"),
              (std::vector{p(0, "attributes.rank", "must be a finite number")}));
    EXPECT_EQ(problems_of(R"({"type": "milestone", "account": "a", "name": "x", "extra": 1e400,
                              "deep": {"list": [1, {"x": -1e400}]}})"),
              (std::vector{p(0, "extra", "must be a finite number"), p(0, "deep.list[1].x", "must be a finite number")}));
    EXPECT_TRUE(problems_of(R"({"type": "milestone", "account": "a", "name": "x", "extra": [1e300, -2.5, {"y": 0}]})")
                    .empty());
}

// Issue 11, defect 3: an MRR near 9.2e15 overflowed the KPI money sums (int64
// thousandths); model/schema.hpp has the arithmetic behind each bound.
TEST(Validate, money_and_counts_are_bounded) {
    EXPECT_TRUE(problems_of(R"({"type": "contract", "account": "a", "mrr": 10000000, "seats": 1000000})").empty());
    EXPECT_EQ(problems_of(R"({"type": "contract", "account": "a", "mrr": 9.2e15})"),
              (std::vector{p(0, "mrr", "must be a number from 0 to 10000000")}));
    EXPECT_EQ(problems_of(R"({"type": "contract", "account": "a", "mrr": 10000000.01})"),
              (std::vector{p(0, "mrr", "must be a number from 0 to 10000000")}));
    EXPECT_EQ(problems_of(R"({"type": "contract", "account": "a", "mrr": 1, "seats": 1000001})"),
              (std::vector{p(0, "seats", "must be an integer from 0 to 1000000")}));
    EXPECT_EQ(problems_of(R"({"type": "account", "account": "a", "seats": 18446744073709551615})"),
              (std::vector{p(0, "seats", "must be an integer from 0 to 1000000")}));
    EXPECT_TRUE(problems_of(R"({"type": "account", "account": "a", "employees": 10000000, "locations": 1000000})").empty());
    EXPECT_EQ(problems_of(R"({"type": "account", "account": "a", "employees": 10000001})"),
              (std::vector{p(0, "employees", "must be an integer from 0 to 10000000")}));
    EXPECT_TRUE(problems_of(R"({"type": "usage", "account": "a", "metric": "m", "value": -1e12})").empty());
    EXPECT_EQ(problems_of(R"({"type": "usage", "account": "a", "metric": "m", "value": 1.5e12})"),
              (std::vector{p(0, "value", "must be a number from -1000000000000 to 1000000000000")}));
}

namespace {

validation_result run_live(std::string_view at) {
    validation_limits limits;
    limits.max_age = 400 * day;
    limits.max_future = day;
    auto decoded = decode_body(R"({"type": "usage", "account": "a", "metric": "m", "at": ")" + std::string(at) + R"("})",
                               body_format::json);
    return validate(std::move(decoded.items), received, limits);
}

}  // namespace

// Issue 11, defect 3: an event older than the retention has its idempotency id compacted
// away at once, so a redelivery would be applied twice; one far ahead is a sender's bug.
TEST(Validate, live_ingest_bounds_at_by_the_retention_and_max_future) {
    EXPECT_TRUE(run_live(format_rfc3339(received - 400 * day)).ok());
    EXPECT_EQ(run_live(format_rfc3339(received - 400 * day - duration{1})).problems,
              (std::vector{p(0, "at", "must not be older than 400d before it is received (storage.retention: its id "
                                      "would no longer deduplicate)")}));
    EXPECT_TRUE(run_live(format_rfc3339(received + day)).ok());
    EXPECT_EQ(run_live(format_rfc3339(received + day + duration{1})).problems,
              (std::vector{p(0, "at", "must not be more than 1d after it is received (ingest.max_future)")}));
    // Without bounds (the default limits) any instant is fine.
    EXPECT_TRUE(problems_of(R"({"type": "usage", "account": "a", "metric": "m", "at": "1970-01-01T00:00:00Z"})").empty());
    EXPECT_TRUE(problems_of(R"({"type": "usage", "account": "a", "metric": "m", "at": "9999-12-31T23:59:59Z"})").empty());
}

// Replay and test: no receive time, so `at` is required and not bounded; no ids derived.
TEST(Validate, history_needs_at_and_derives_no_id) {
    decode_options options;
    options.limits.max_age = 400 * day;  // ignored without a receive time
    options.limits.max_future = day;
    options.derive_ids = false;
    std::vector<problem> problems;
    std::optional<model::event> out;
    json::value old_event = json::parse(R"({"type": "nps", "account": "a", "score": 3, "at": "2001-01-01T00:00:00Z"})");
    ASSERT_TRUE(decode_event(old_event, 0, options, out, problems).ok);
    EXPECT_TRUE(out->id.empty());
    EXPECT_TRUE(out->id_derived);
    json::value no_at = json::parse(R"({"type": "nps", "account": "a", "score": 3})");
    EXPECT_FALSE(decode_event(no_at, 7, options, out, problems).ok);
    EXPECT_FALSE(out);
    EXPECT_EQ(problems, (std::vector{p(7, "at", "is required")}));
}

// The derived id hashes the fields without the envelope members the decoder leaves in
// them, so ids derived before (when the envelope was copied out) still deduplicate.
TEST(Validate, derived_id_does_not_hash_the_envelope_twice) {
    auto r = run(R"({"type": "usage", "account": "acme", "at": "2026-11-02T09:00:00Z", "metric": "m", "value": 2})");
    ASSERT_TRUE(r.ok());
    model::event bare = r.events[0];
    bare.fields = json::object{{"metric", "m"}, {"value", 2}};
    EXPECT_EQ(r.events[0].id, content_id(bare, true));
    EXPECT_EQ(canonical_content(r.events[0], true),
              R"({"type":"usage","account":"acme","at":"2026-11-02T09:00:00Z","metric":"m","value":2})");
}

TEST(Validate, describe_puts_the_field_first) {
    EXPECT_EQ(describe(p(3, "score", "must be an integer from 0 to 10")), "score: must be an integer from 0 to 10");
    EXPECT_EQ(describe(p(3, "", "must be a JSON object")), "must be a JSON object");
}

TEST(Validate, external_ids_are_an_object_of_ids) {
    const std::string base = R"({"type": "account", "account": "a"})";
    auto ok = run(with(base, R"("external_ids": {"stripe": "cus_PjT3", "hubspot": "8793213140"})"));
    ASSERT_TRUE(ok.ok());
    EXPECT_EQ(ok.events[0].fields.at("external_ids"), (json::object{{"stripe", "cus_PjT3"}, {"hubspot", "8793213140"}}));
    EXPECT_EQ(problems_of(with(base, R"("external_ids": "cus_1")")),
              (std::vector{p(0, "external_ids",
                             "must be an object of ids (strings of 1 to 200 characters without control characters)")}));
    EXPECT_EQ(problems_of(with(base, R"("external_ids": {"stripe": 42, "zendesk": "", "segment": "g\n1"})")),
              (std::vector{p(0, "external_ids.stripe", "must be a string of 1 to 200 characters"),
                           p(0, "external_ids.zendesk", "must be a string of 1 to 200 characters"),
                           p(0, "external_ids.segment", "must not contain control characters (U+000A at character 2)")}));
    EXPECT_EQ(problems_of(with(base, R"("external_ids": {"stripe": ")" + std::string(201, 'x') + R"("})")),
              (std::vector{p(0, "external_ids.stripe", "must be a string of 1 to 200 characters")}));
    EXPECT_EQ(problems_of(with(base, R"("external_ids": {"": "x"})")),
              (std::vector{p(0, "external_ids.", "must be named by 1 to 200 characters without control characters")}));
}
