#include "http/server.hpp"

#include "ingest/auth.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

using namespace redflag;
using namespace redflag::http;
using namespace redflag::http::testing;
using verb = bhttp::verb;

namespace {

const timestamp t0 = *parse_rfc3339("2026-11-02T12:00:00Z");

const std::string two_events = R"([
    {"type": "usage", "account": "acme", "metric": "logins", "id": "e1", "at": "2026-11-01T00:00:00Z"},
    {"type": "nps", "account": "acme", "score": 9}
])";

class Server : public ::testing::Test {
protected:
    void start(server_options options = {}) {
        options.port = 0;
        server_ = std::make_unique<server>(std::move(options), sink_, api_, metrics_, clock_);
        auto error = server_->start();
        ASSERT_FALSE(error) << *error;
        ASSERT_NE(server_->port(), 0);
    }

    void TearDown() override {
        if (server_) server_->stop();
    }

    client connect() { return client(server_->port()); }

    double ingested(std::optional<model::event_type> type, metrics::event_outcome outcome) {
        return metrics_.events_ingested(type, outcome).Value();
    }

    std::uint64_t requests_with(metrics::request_outcome outcome) {
        return metrics_.ingest_request_duration(outcome).Collect().histogram.sample_count;
    }

    fake_sink sink_;
    fake_api api_;
    metrics::engine_metrics metrics_;
    manual_clock clock_{t0};
    std::unique_ptr<server> server_;
};

}  // namespace

TEST_F(Server, healthz_answers_200) {
    start();
    auto c = connect();
    auto res = c.send(make_request(verb::get, "/healthz"));
    EXPECT_EQ(res.result_int(), 200);
    EXPECT_EQ(body_json(res).at("status"), "ok");
    EXPECT_EQ(res[bhttp::field::content_type], "application/json");
}

TEST_F(Server, ingest_answers_202_from_the_sink_with_its_counts) {
    start();
    sink_.duplicates = 0;
    auto c = connect();
    auto res = c.send(make_request(verb::post, "/v1/events", two_events));
    ASSERT_EQ(res.result_int(), 202) << res.body();
    EXPECT_EQ(body_json(res), (boost::json::value{{"accepted", 2}, {"duplicates", 0}}));

    auto batches = sink_.batches();
    ASSERT_EQ(batches.size(), 1u);
    ASSERT_EQ(batches[0].size(), 2u);
    EXPECT_EQ(batches[0][0].id, "e1");
    EXPECT_EQ(batches[0][0].at, *parse_rfc3339("2026-11-01T00:00:00Z"));
    EXPECT_EQ(batches[0][1].type, model::event_type::nps);
    EXPECT_EQ(batches[0][1].at, t0);  // no `at`: the injected clock's time
    EXPECT_TRUE(batches[0][1].id_derived);

    // Accepted and duplicate events are the sink's to count (it knows which were which):
    // the HTTP layer must not count them a second time.
    EXPECT_EQ(ingested(model::event_type::usage, metrics::event_outcome::accepted), 0);
    EXPECT_EQ(ingested(model::event_type::nps, metrics::event_outcome::accepted), 0);
    EXPECT_EQ(requests_with(metrics::request_outcome::accepted), 1u);
}

TEST_F(Server, duplicates_reported_by_the_sink_are_in_the_answer) {
    start();
    sink_.duplicates = 1;
    auto c = connect();
    auto res = c.send(make_request(verb::post, "/v1/events", two_events));
    ASSERT_EQ(res.result_int(), 202);
    EXPECT_EQ(body_json(res), (boost::json::value{{"accepted", 1}, {"duplicates", 1}}));
}

TEST_F(Server, invalid_events_get_400_with_every_problem_and_nothing_is_submitted) {
    start();
    auto c = connect();
    auto res = c.send(make_request(verb::post, "/v1/events",
                                   R"([{"type": "nps", "account": "a", "score": 3},
                                       {"type": "nps", "account": "a", "score": 11},
                                       {"type": "bogus", "account": "a"}])"));
    ASSERT_EQ(res.result_int(), 400);
    auto expected = boost::json::parse(R"({"error": "invalid events", "details": [
        {"index": 1, "field": "score", "message": "must be an integer from 0 to 10"},
        {"index": 2, "field": "type", "message": "must be one of account, contract, usage, user, ticket, nps, csat, activity, milestone, goal, spend"}]})");
    EXPECT_EQ(body_json(res), expected);
    EXPECT_TRUE(sink_.batches().empty());
    EXPECT_EQ(ingested(model::event_type::nps, metrics::event_outcome::rejected), 2);
    EXPECT_EQ(ingested(std::nullopt, metrics::event_outcome::rejected), 1);
    EXPECT_EQ(requests_with(metrics::request_outcome::invalid), 1u);
}

TEST_F(Server, ndjson_problems_are_indexed_by_line) {
    start();
    auto c = connect();
    auto res = c.send(make_request(verb::post, "/v1/events",
                                   "{\"type\": \"nps\", \"account\": \"a\", \"score\": 3}\n\n{\"type\": \"csat\", \"account\": \"a\", \"score\": 9}\n",
                                   "application/x-ndjson"));
    ASSERT_EQ(res.result_int(), 400);
    auto details = body_json(res).at("details").as_array();
    ASSERT_EQ(details.size(), 1u);
    EXPECT_EQ(details[0].at("index"), 2);
    EXPECT_EQ(details[0].at("field"), "score");
}

TEST_F(Server, ndjson_batch_is_accepted) {
    start();
    auto c = connect();
    auto res = c.send(make_request(verb::post, "/v1/events",
                                   "{\"type\": \"nps\", \"account\": \"a\", \"score\": 3}\n{\"type\": \"csat\", \"account\": \"a\", \"score\": 4}\n",
                                   "application/x-ndjson; charset=utf-8"));
    ASSERT_EQ(res.result_int(), 202) << res.body();
    EXPECT_EQ(body_json(res).at("accepted"), 2);
}

TEST_F(Server, malformed_json_gets_400_with_offset_and_line) {
    start();
    auto c = connect();
    const std::string body = "{\"type\": \"nps\",\n \"account\": oops}";
    auto res = c.send(make_request(verb::post, "/v1/events", body));
    ASSERT_EQ(res.result_int(), 400);
    auto json = body_json(res);
    EXPECT_EQ(json.at("offset"), body.find("oops"));
    EXPECT_EQ(json.at("line"), 2);
    EXPECT_NE(std::string(json.at("error").as_string()).find("malformed JSON at byte"), std::string::npos);
}

TEST_F(Server, wrong_or_missing_content_type_gets_415) {
    start();
    auto c = connect();
    auto res = c.send(make_request(verb::post, "/v1/events", two_events, "text/plain"));
    EXPECT_EQ(res.result_int(), 415);
    EXPECT_NE(std::string(body_json(res).at("error").as_string()).find("text/plain"), std::string::npos);
    res = c.send(make_request(verb::post, "/v1/events", two_events, ""));
    EXPECT_EQ(res.result_int(), 415);
    EXPECT_TRUE(sink_.batches().empty());
    EXPECT_EQ(requests_with(metrics::request_outcome::unsupported), 2u);
}

TEST_F(Server, body_over_max_body_gets_413_and_the_connection_closes) {
    server_options o;
    o.max_body = 1024;
    start(o);
    auto c = connect();
    std::string big = "[" + std::string(2000, ' ') + "{}]";
    auto res = c.send(make_request(verb::post, "/v1/events", big));
    EXPECT_EQ(res.result_int(), 413);
    EXPECT_NE(std::string(body_json(res).at("error").as_string()).find("1024"), std::string::npos);
    EXPECT_FALSE(res.keep_alive());
    EXPECT_TRUE(sink_.batches().empty());
    EXPECT_EQ(requests_with(metrics::request_outcome::too_large), 1u);
}

TEST_F(Server, client_still_sending_a_huge_body_reads_its_413) {
    server_options o;
    o.max_body = 1024;
    start(o);
    auto c = connect();
    const std::string body(8 * 1024 * 1024, ' ');
    // The whole request is written before reading: the server must keep reading (and
    // discarding) after its answer, or the client's write fails with a reset.
    c.write_raw("POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
                std::to_string(body.size()) + "\r\n\r\n" + body);
    auto res = c.read();
    EXPECT_EQ(res.result_int(), 413);
}

TEST_F(Server, more_events_than_the_limit_gets_413) {
    server_options o;
    o.max_events = 1;
    start(o);
    auto c = connect();
    auto res = c.send(make_request(verb::post, "/v1/events", two_events));
    EXPECT_EQ(res.result_int(), 413);
    EXPECT_TRUE(sink_.batches().empty());
}

TEST_F(Server, bearer_tokens_401_without_403_wrong_202_right) {
    server_options o;
    o.access.ingest_tokens = {"t0ken", "other"};
    start(o);
    auto c = connect();
    auto req = make_request(verb::post, "/v1/events", two_events);
    auto res = c.send(req);
    EXPECT_EQ(res.result_int(), 401);
    EXPECT_EQ(res[bhttp::field::www_authenticate], "Bearer realm=\"redflag\"");
    req.set(bhttp::field::authorization, "Bearer wrong");
    EXPECT_EQ(c.send(req).result_int(), 403);
    req.set(bhttp::field::authorization, "Bearer other");
    EXPECT_EQ(c.send(req).result_int(), 202);
    EXPECT_EQ(sink_.batches().size(), 1u);
    EXPECT_EQ(requests_with(metrics::request_outcome::unauthorized), 2u);
}

TEST_F(Server, ingest_credentials_close_the_management_api_but_do_not_open_it) {
    // Defect 7 of issue 11: with only ingest credentials the management API was open.
    for (int variant = 0; variant < 2; ++variant) {
        server_options o;
        if (variant == 0) o.access.hmac_secret = "shh";
        else o.access.ingest_tokens = {"t0ken"};
        start(o);
        api_.is_ready = true;
        auto c = connect();
        auto res = c.send(make_request(verb::get, "/v1/accounts/x"));
        EXPECT_EQ(res.result_int(), 401) << variant;
        EXPECT_EQ(res[bhttp::field::www_authenticate], "Bearer realm=\"redflag\"");
        EXPECT_NE(res.body().find("api.read_tokens"), std::string::npos) << res.body();
        EXPECT_EQ(c.send(make_request(verb::post, "/-/reload")).result_int(), 401) << variant;
        auto with_ingest_token = make_request(verb::get, "/v1/alerts");
        with_ingest_token.set(bhttp::field::authorization, "Bearer t0ken");
        EXPECT_EQ(c.send(with_ingest_token).result_int(), 401) << variant;
        EXPECT_EQ(c.send(make_request(verb::get, "/healthz")).result_int(), 200);
        EXPECT_EQ(c.send(make_request(verb::get, "/readyz")).result_int(), 200);
        EXPECT_EQ(c.send(make_request(verb::get, "/metrics")).result_int(), 200);
        server_->stop();
    }
    EXPECT_TRUE(api_.requests().empty());
}

TEST_F(Server, read_tokens_read_write_tokens_also_write) {
    server_options o;
    o.access.ingest_tokens = {"ingest"};
    o.access.read_tokens = {"reader"};
    o.access.write_tokens = {"writer"};
    start(o);
    auto c = connect();
    auto send = [&](verb method, const std::string& target, const std::string& token) {
        auto req = make_request(method, target, method == verb::get ? "" : "{}");
        if (!token.empty()) req.set(bhttp::field::authorization, "Bearer " + token);
        return c.send(req).result_int();
    };
    EXPECT_EQ(send(verb::get, "/v1/accounts/x", ""), 401);
    EXPECT_EQ(send(verb::get, "/v1/accounts/x", "ingest"), 403);
    EXPECT_EQ(send(verb::get, "/v1/accounts/x", "reader"), 200);
    EXPECT_EQ(send(verb::get, "/v1/silences", "reader"), 200);
    EXPECT_EQ(send(verb::post, "/v1/alerts/a1/ack", "reader"), 403);
    EXPECT_EQ(send(verb::post, "/v1/silences", "reader"), 403);
    EXPECT_EQ(send(verb::delete_, "/v1/silences/s1", "reader"), 403);
    EXPECT_EQ(send(verb::post, "/-/reload", "reader"), 403);
    EXPECT_EQ(send(verb::post, "/-/reload", "ingest"), 403);
    EXPECT_EQ(send(verb::get, "/v1/alerts", "writer"), 200);
    EXPECT_EQ(send(verb::post, "/v1/alerts/a1/ack", "writer"), 200);
    EXPECT_EQ(send(verb::post, "/v1/silences", "writer"), 200);
    EXPECT_EQ(send(verb::delete_, "/v1/silences/s1", "writer"), 200);
    EXPECT_EQ(send(verb::post, "/-/reload", "writer"), 200);
    // API tokens do not open ingest.
    auto events = make_request(verb::post, "/v1/events", two_events);
    events.set(bhttp::field::authorization, "Bearer writer");
    EXPECT_EQ(c.send(events).result_int(), 403);
    // The seven allowed reads and writes reached the api; no refused one did.
    EXPECT_EQ(api_.requests().size(), 7u);
    auto refused = make_request(verb::post, "/-/reload", "{}");
    refused.set(bhttp::field::authorization, "Bearer reader");
    auto res = c.send(refused);
    EXPECT_NE(res.body().find("api.write_tokens"), std::string::npos) << res.body();
}

TEST_F(Server, metrics_tokens_guard_metrics_only) {
    server_options o;
    o.access.metrics_tokens = {"scrape"};
    o.access.read_tokens = {"reader"};
    start(o);
    api_.is_ready = true;
    auto c = connect();
    auto res = c.send(make_request(verb::get, "/metrics"));
    EXPECT_EQ(res.result_int(), 401);
    EXPECT_EQ(res[bhttp::field::www_authenticate], "Bearer realm=\"redflag\"");
    auto req = make_request(verb::get, "/metrics");
    req.set(bhttp::field::authorization, "Bearer reader");
    EXPECT_EQ(c.send(req).result_int(), 403);
    req.set(bhttp::field::authorization, "Bearer scrape");
    res = c.send(req);
    EXPECT_EQ(res.result_int(), 200);
    EXPECT_NE(res.body().find("redflag_events_ingested_total"), std::string::npos);
    auto api_req = make_request(verb::get, "/v1/alerts");
    api_req.set(bhttp::field::authorization, "Bearer scrape");
    EXPECT_EQ(c.send(api_req).result_int(), 403);
    EXPECT_EQ(c.send(make_request(verb::get, "/readyz")).result_int(), 200);
}

TEST_F(Server, without_any_credentials_the_local_trial_is_open) {
    start();
    auto c = connect();
    EXPECT_EQ(c.send(make_request(verb::post, "/-/reload", "{}")).result_int(), 200);
    EXPECT_EQ(c.send(make_request(verb::get, "/metrics")).result_int(), 200);
}

TEST_F(Server, hmac_signature_good_bad_and_missing) {
    server_options o;
    o.access.hmac_secret = "shh";
    start(o);
    auto c = connect();
    auto req = make_request(verb::post, "/v1/events", two_events);
    EXPECT_EQ(c.send(req).result_int(), 401);
    req.set("X-Redflag-Signature", "sha256=" + ingest::hmac_sha256_hex("wrong", two_events));
    EXPECT_EQ(c.send(req).result_int(), 401);
    req.set("X-Redflag-Signature", "sha256=" + ingest::hmac_sha256_hex("shh", two_events));
    EXPECT_EQ(c.send(req).result_int(), 202);
    EXPECT_EQ(sink_.batches().size(), 1u);
}

TEST_F(Server, unknown_path_404_and_wrong_method_405_with_allow) {
    start();
    auto c = connect();
    auto res = c.send(make_request(verb::get, "/v2/nothing"));
    EXPECT_EQ(res.result_int(), 404);
    EXPECT_NE(std::string(body_json(res).at("error").as_string()).find("/v2/nothing"), std::string::npos);
    res = c.send(make_request(verb::get, "/v1/events"));
    EXPECT_EQ(res.result_int(), 405);
    EXPECT_EQ(res[bhttp::field::allow], "POST");
    res = c.send(make_request(verb::put, "/v1/silences", "{}"));
    EXPECT_EQ(res.result_int(), 405);
    EXPECT_EQ(res[bhttp::field::allow], "GET, POST");
    res = c.send(make_request(verb::post, "/v1/alerts/a1"));
    EXPECT_EQ(res.result_int(), 405);
    EXPECT_EQ(res[bhttp::field::allow], "GET");
}

TEST_F(Server, overloaded_sink_gets_503_with_retry_after) {
    server_options o;
    o.retry_after = std::chrono::seconds(7);
    start(o);
    sink_.answer = fake_sink::mode::overloaded;
    auto c = connect();
    auto res = c.send(make_request(verb::post, "/v1/events", two_events));
    EXPECT_EQ(res.result_int(), 503);
    EXPECT_EQ(res[bhttp::field::retry_after], "7");
    EXPECT_EQ(requests_with(metrics::request_outcome::overloaded), 1u);
}

TEST_F(Server, failed_sink_gets_500_with_the_error) {
    start();
    sink_.answer = fake_sink::mode::failed;
    auto c = connect();
    auto res = c.send(make_request(verb::post, "/v1/events", two_events));
    EXPECT_EQ(res.result_int(), 500);
    EXPECT_NE(std::string(body_json(res).at("error").as_string()).find("disk full"), std::string::npos);
}

TEST_F(Server, keep_alive_serves_several_requests_on_one_connection) {
    start();
    auto c = connect();
    for (int i = 0; i < 5; ++i) {
        auto res = c.send(make_request(verb::post, "/v1/events", two_events));
        EXPECT_EQ(res.result_int(), 202);
        EXPECT_TRUE(res.keep_alive());
        EXPECT_EQ(c.send(make_request(verb::get, "/healthz")).result_int(), 200);
    }
    EXPECT_EQ(sink_.batches().size(), 5u);
}

TEST_F(Server, connection_close_is_honoured) {
    start();
    auto c = connect();
    auto req = make_request(verb::get, "/healthz");
    req.keep_alive(false);
    auto res = c.send(req);
    EXPECT_EQ(res.result_int(), 200);
    EXPECT_FALSE(res.keep_alive());
    beast::error_code ec;
    c.read(ec, std::chrono::seconds(2));
    EXPECT_EQ(ec, bhttp::error::end_of_stream);
}

TEST_F(Server, pipelined_answers_keep_request_order_when_the_engine_answers_late) {
    start();
    sink_.hold = true;
    auto c = connect();
    c.write(make_request(verb::post, "/v1/events", two_events));
    c.write(make_request(verb::get, "/healthz"));
    // The health check is answered at once but must wait behind the held ingest answer.
    for (int i = 0; i < 200 && sink_.held_count() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    ASSERT_EQ(sink_.held_count(), 1u);
    beast::error_code ec;
    c.read(ec, std::chrono::milliseconds(200));
    EXPECT_EQ(ec, beast::error::timeout);
    sink_.release();
}

TEST_F(Server, pipelined_answers_come_in_request_order) {
    start();
    sink_.hold = true;
    auto c = connect();
    c.write_raw("POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
                std::to_string(two_events.size()) + "\r\n\r\n" + two_events +
                "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n\r\n");
    for (int i = 0; i < 200 && sink_.held_count() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    ASSERT_EQ(sink_.held_count(), 1u);
    sink_.release();
    EXPECT_EQ(c.read().result_int(), 202);
    EXPECT_EQ(c.read().result_int(), 200);
    EXPECT_EQ(c.read().result_int(), 404);
}

TEST_F(Server, metrics_serves_the_prometheus_text_format) {
    start();
    auto c = connect();
    ASSERT_EQ(c.send(make_request(verb::post, "/v1/events", two_events)).result_int(), 202);
    ASSERT_EQ(c.send(make_request(verb::post, "/v1/events", R"({"type": "csat", "account": "a", "score": 0})")).result_int(), 400);
    auto res = c.send(make_request(verb::get, "/metrics"));
    EXPECT_EQ(res.result_int(), 200);
    EXPECT_EQ(res[bhttp::field::content_type].substr(0, 25), "text/plain; version=0.0.4");
    EXPECT_NE(res.body().find("# TYPE redflag_events_ingested_total counter"), std::string::npos);
    EXPECT_NE(res.body().find(R"(redflag_events_ingested_total{outcome="rejected",type="csat"} 1)"), std::string::npos);
    EXPECT_NE(res.body().find(R"(redflag_ingest_request_duration_seconds_count{outcome="invalid"} 1)"), std::string::npos);
    EXPECT_NE(res.body().find(R"(redflag_ingest_request_duration_seconds_count{outcome="accepted"} 1)"), std::string::npos);
}

TEST_F(Server, readyz_follows_the_api) {
    start();
    auto c = connect();
    EXPECT_EQ(c.send(make_request(verb::get, "/readyz")).result_int(), 503);
    api_.is_ready = true;
    EXPECT_EQ(c.send(make_request(verb::get, "/readyz")).result_int(), 200);
    api_.is_ready = false;
    EXPECT_EQ(c.send(make_request(verb::get, "/readyz")).result_int(), 503);
}

TEST_F(Server, api_routes_get_decoded_ids_query_and_body) {
    start();
    auto c = connect();
    auto res = c.send(make_request(verb::get, "/v1/accounts/acme%2Fwest%20coast"));
    ASSERT_EQ(res.result_int(), 200);
    EXPECT_EQ(res["X-Test"], "yes");
    EXPECT_EQ(body_json(res).at("route"), "get_account");
    EXPECT_EQ(body_json(res).at("id"), "acme/west coast");

    res = c.send(make_request(verb::get, "/v1/alerts?state=firing&csm=dana%40example.com&rule=usage+drop"));
    auto query = body_json(res).at("query");
    EXPECT_EQ(body_json(res).at("route"), "list_alerts");
    EXPECT_EQ(query.at("state"), "firing");
    EXPECT_EQ(query.at("csm"), "dana@example.com");
    EXPECT_EQ(query.at("rule"), "usage drop");

    res = c.send(make_request(verb::post, "/v1/alerts/a-1/ack", R"({"by": "dana", "comment": "on it"})"));
    EXPECT_EQ(body_json(res).at("route"), "ack_alert");
    EXPECT_EQ(body_json(res).at("id"), "a-1");
    EXPECT_EQ(body_json(res).at("body").at("by"), "dana");

    EXPECT_EQ(body_json(c.send(make_request(verb::get, "/v1/alerts/a-1"))).at("route"), "get_alert");
    EXPECT_EQ(body_json(c.send(make_request(verb::get, "/v1/silences"))).at("route"), "list_silences");
    EXPECT_EQ(body_json(c.send(make_request(verb::post, "/v1/silences", R"({"until": "2026-12-01T00:00:00Z"})"))).at("route"),
              "create_silence");
    res = c.send(make_request(verb::delete_, "/v1/silences/s%201"));
    EXPECT_EQ(body_json(res).at("route"), "delete_silence");
    EXPECT_EQ(body_json(res).at("id"), "s 1");
    res = c.send(make_request(verb::post, "/-/reload"));
    EXPECT_EQ(body_json(res).at("route"), "reload");
    EXPECT_TRUE(body_json(res).at("body").is_null());
    EXPECT_EQ(api_.requests().size(), 8u);
}

TEST_F(Server, api_status_passes_through) {
    start();
    api_.status = 404;
    auto c = connect();
    EXPECT_EQ(c.send(make_request(verb::get, "/v1/alerts/missing")).result_int(), 404);
}

TEST_F(Server, api_body_that_is_not_json_gets_400_and_never_reaches_the_api) {
    start();
    auto c = connect();
    auto res = c.send(make_request(verb::post, "/v1/silences", R"({"until": )"));
    EXPECT_EQ(res.result_int(), 400);
    EXPECT_NE(std::string(body_json(res).at("error").as_string()).find("malformed JSON"), std::string::npos);
    EXPECT_TRUE(api_.requests().empty());
}

TEST_F(Server, idle_connection_is_closed_after_the_timeout) {
    server_options o;
    o.idle_timeout = std::chrono::milliseconds(150);
    start(o);
    auto c = connect();
    EXPECT_EQ(c.send(make_request(verb::get, "/healthz")).result_int(), 200);
    beast::error_code ec;
    auto start_time = std::chrono::steady_clock::now();
    c.read(ec, std::chrono::seconds(3));
    EXPECT_EQ(ec, bhttp::error::end_of_stream);
    EXPECT_LT(std::chrono::steady_clock::now() - start_time, std::chrono::seconds(2));
}

TEST_F(Server, waiting_for_the_engine_is_not_idleness) {
    server_options o;
    o.idle_timeout = std::chrono::milliseconds(100);
    start(o);
    sink_.hold = true;
    auto c = connect();
    c.write(make_request(verb::post, "/v1/events", two_events));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    sink_.release();
    EXPECT_EQ(c.read().result_int(), 202);
}

TEST_F(Server, expect_100_continue_is_answered) {
    start();
    auto c = connect();
    c.write_raw("POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nExpect: 100-continue\r\n"
                "Content-Length: " + std::to_string(two_events.size()) + "\r\n\r\n");
    beast::error_code ec;
    auto interim = c.read_until("\r\n\r\n", ec);
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(interim, "HTTP/1.1 100 Continue\r\n\r\n");
    c.write_raw(two_events);
    EXPECT_EQ(c.read().result_int(), 202);
}

TEST_F(Server, garbage_request_gets_400) {
    start();
    auto c = connect();
    c.write_raw("THIS IS NOT HTTP\r\n\r\n");
    beast::error_code ec;
    auto res = c.read(ec);
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(res.result_int(), 400);
}

TEST_F(Server, stop_lets_a_request_in_flight_finish_and_closes) {
    start();
    sink_.hold = true;
    auto c = connect();
    c.write(make_request(verb::post, "/v1/events", two_events));
    for (int i = 0; i < 200 && sink_.held_count() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    ASSERT_EQ(sink_.held_count(), 1u);
    std::thread stopper([&] { server_->stop(); });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    sink_.release();
    auto res = c.read();
    stopper.join();
    EXPECT_EQ(res.result_int(), 202);
    EXPECT_FALSE(res.keep_alive());
    // No new connections once stopped.
    EXPECT_THROW(client{server_->port()}, beast::system_error);
}

TEST_F(Server, stop_is_bounded_when_the_engine_never_answers_and_a_late_answer_is_harmless) {
    server_options o;
    o.shutdown_timeout = std::chrono::milliseconds(200);
    start(o);
    sink_.hold = true;
    auto c = connect();
    c.write(make_request(verb::post, "/v1/events", two_events));
    for (int i = 0; i < 200 && sink_.held_count() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    ASSERT_EQ(sink_.held_count(), 1u);
    auto begin = std::chrono::steady_clock::now();
    server_->stop();
    EXPECT_LT(std::chrono::steady_clock::now() - begin, std::chrono::seconds(2));
    beast::error_code ec;
    c.read(ec, std::chrono::seconds(2));
    EXPECT_TRUE(ec);  // closed without an answer
    server_.reset();
    sink_.release();  // the engine answers after the server is gone
}

TEST_F(Server, stop_closes_idle_connections_promptly) {
    start();
    auto c = connect();
    EXPECT_EQ(c.send(make_request(verb::get, "/healthz")).result_int(), 200);
    auto begin = std::chrono::steady_clock::now();
    server_->stop();
    EXPECT_LT(std::chrono::steady_clock::now() - begin, std::chrono::seconds(2));
    beast::error_code ec;
    c.read(ec, std::chrono::seconds(2));
    EXPECT_EQ(ec, bhttp::error::end_of_stream);
}

TEST(ServerStart, refuses_a_public_address_without_auth_unless_insecure) {
    fake_sink sink;
    fake_api api;
    metrics::engine_metrics m;
    manual_clock clock{t0};
    server_options o;
    o.address = "0.0.0.0";
    o.port = 0;
    {
        server s(o, sink, api, m, clock);
        auto error = s.start();
        ASSERT_TRUE(error);
        EXPECT_NE(error->find("ingest.insecure"), std::string::npos) << *error;
        EXPECT_NE(error->find("0.0.0.0"), std::string::npos) << *error;
    }
    // Ingest credentials alone leave the management API without any: refused too.
    for (int variant = 0; variant < 3; ++variant) {
        auto ingest_only = o;
        if (variant == 0) ingest_only.access.ingest_insecure = true;
        if (variant == 1) ingest_only.access.ingest_tokens = {"t"};
        if (variant == 2) ingest_only.access.hmac_secret = "s";
        server s(ingest_only, sink, api, m, clock);
        auto error = s.start();
        ASSERT_TRUE(error) << variant;
        EXPECT_NE(error->find("api.write_tokens"), std::string::npos) << *error;
        EXPECT_NE(error->find("api.insecure"), std::string::npos) << *error;
    }
    for (int variant = 0; variant < 4; ++variant) {
        auto allowed = o;
        allowed.access.hmac_secret = "s";
        if (variant == 0) allowed.access.api_insecure = true;
        if (variant == 1) allowed.access.read_tokens = {"r"};
        if (variant == 2) allowed.access.write_tokens = {"w"};
        if (variant == 3) {
            allowed.access = access_policy{};
            allowed.access.ingest_insecure = true;
            allowed.access.api_insecure = true;
        }
        server s(allowed, sink, api, m, clock);
        auto error = s.start();
        EXPECT_FALSE(error) << variant << ": " << *error;
        s.stop();
    }
    // Loopback needs nothing.
    o.address = "localhost";
    server s(o, sink, api, m, clock);
    EXPECT_FALSE(s.start());
}

TEST(ServerStart, a_port_in_use_is_an_error_value) {
    fake_sink sink;
    fake_api api;
    metrics::engine_metrics m;
    manual_clock clock{t0};
    server_options o;
    o.port = 0;
    server first(o, sink, api, m, clock);
    ASSERT_FALSE(first.start());
    o.port = first.port();
    server second(o, sink, api, m, clock);
    auto error = second.start();
    ASSERT_TRUE(error);
    EXPECT_NE(error->find(std::to_string(first.port())), std::string::npos) << *error;
    o.address = "no-such-host.invalid";
    server third(o, sink, api, m, clock);
    EXPECT_TRUE(third.start());
}
