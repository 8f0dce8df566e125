#include "ingest/validate.hpp"

#include "ingest/content_hash.hpp"

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

void PrintTo(const problem& pr, std::ostream* os) { *os << "{" << pr.index << ", " << pr.field << ", " << pr.message << "}"; }

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
    EXPECT_FALSE(e.fields.contains("type"));
    EXPECT_FALSE(e.fields.contains("account"));
    EXPECT_FALSE(e.fields.contains("id"));
    EXPECT_FALSE(e.fields.contains("at"));
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
    const std::string types = "must be one of account, contract, usage, user, ticket, nps, csat, activity, milestone";
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
    EXPECT_EQ(problems_of(with(base, R"("seats": -1)")), (std::vector{p(0, "seats", "must be an integer >= 0")}));
    EXPECT_EQ(problems_of(with(base, R"("employees": 2.5)")), (std::vector{p(0, "employees", "must be an integer >= 0")}));
    EXPECT_EQ(problems_of(with(base, R"("locations": "3")")), (std::vector{p(0, "locations", "must be an integer >= 0")}));
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
              (std::vector{p(0, "mrr", "must be a number >= 0")}));
    EXPECT_EQ(problems_of(R"({"type": "contract", "account": "a", "mrr": "100"})"),
              (std::vector{p(0, "mrr", "must be a number >= 0")}));
    EXPECT_EQ(problems_of(with(base, R"("products": "backup")")), (std::vector{p(0, "products", "must be an array of strings")}));
    EXPECT_EQ(problems_of(with(base, R"("products": ["backup", 3, ""])")),
              (std::vector{p(0, "products[1]", "must be a string of 1 to 10000 characters"),
                           p(0, "products[2]", "must be a string of 1 to 10000 characters")}));
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
              (std::vector{p(0, "value", "must be a number")}));
    EXPECT_EQ(problems_of(R"({"type": "usage", "account": "a", "metric": "x", "user_id": true})"),
              (std::vector{p(0, "user_id", "must be a string of 1 to 10000 characters")}));
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
