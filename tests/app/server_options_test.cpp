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
