#include "app/server_options.hpp"

#include <gtest/gtest.h>

using namespace redflag;
using namespace redflag::app;

TEST(ServerOptions, every_credential_reaches_the_server) {
    auto r = parse_config(R"(listen: 0.0.0.0:9000
ingest: {tokens: [i], hmac_secret: h, insecure: true, max_body: 1MiB, max_events: 50}
api: {read_tokens: [r], write_tokens: [w], insecure: true}
metrics: {tokens: [m]}
http: {threads: 3}
)",
                          "c.yaml", [](const std::string&) { return std::nullopt; });
    ASSERT_TRUE(r.value) << r.errors.front();
    auto o = server_options_from(*r.value);
    EXPECT_EQ(o.address, "0.0.0.0");
    EXPECT_EQ(o.port, 9000);
    EXPECT_EQ(o.threads, 3u);
    EXPECT_EQ(o.max_body, 1u << 20);
    EXPECT_EQ(o.max_events, 50u);
    EXPECT_EQ(o.access.ingest_tokens, std::vector<std::string>{"i"});
    EXPECT_EQ(o.access.hmac_secret, "h");
    EXPECT_TRUE(o.access.ingest_insecure);
    EXPECT_EQ(o.access.read_tokens, std::vector<std::string>{"r"});
    EXPECT_EQ(o.access.write_tokens, std::vector<std::string>{"w"});
    EXPECT_TRUE(o.access.api_insecure);
    EXPECT_EQ(o.access.metrics_tokens, std::vector<std::string>{"m"});
}

TEST(ServerOptions, slack_signing_secrets_reach_the_server_in_a_set_a_reload_replaces) {
    auto r = parse_config(R"(channels:
  a: {type: slack, token: t, channel: "#a", signing_secret: s1}
  b: {type: slack, token: t, channel: "#b"}
  c: {type: slack_webhook, url: http://x}
)",
                          "c.yaml", [](const std::string&) { return std::nullopt; });
    ASSERT_TRUE(r.value) << r.errors.front();
    auto o = server_options_from(*r.value);
    auto before = o.access.slack_secrets->current();
    ASSERT_EQ(before->size(), 1u);
    EXPECT_EQ((*before)[0].channel, "a");
    EXPECT_EQ((*before)[0].secret, "s1");

    // What serve's reload does: a copy of the policy (the server's) sees the new set; a
    // snapshot taken before keeps the old one until it is let go.
    auto server_copy = o.access;
    r.value->channels.at("a").signing_secret = "s2";
    o.access.slack_secrets->replace(slack_secrets_of(*r.value));
    EXPECT_EQ((*server_copy.slack_secrets->current())[0].secret, "s2");
    EXPECT_EQ((*before)[0].secret, "s1");
}
