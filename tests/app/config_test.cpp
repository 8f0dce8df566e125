#include "app/config.hpp"

#include <gtest/gtest.h>

using namespace redflag;
using namespace redflag::app;

namespace {

environment_lookup fake_env(std::map<std::string, std::string> vars) {
    return [vars](const std::string& name) -> std::optional<std::string> {
        auto it = vars.find(name);
        if (it == vars.end()) return std::nullopt;
        return it->second;
    };
}

bool any_error_contains(const config_result& r, const std::string& text) {
    for (const auto& e : r.errors)
        if (e.find(text) != std::string::npos) return true;
    return false;
}

}  // namespace

TEST(Config, empty_file_gives_every_default) {
    auto r = parse_config("", "redflag.yaml", fake_env({}));
    ASSERT_TRUE(r.value) << r.errors.front();
    EXPECT_EQ(r.value->listen_host, "127.0.0.1");
    EXPECT_EQ(r.value->listen_port, 8080);
    EXPECT_EQ(r.value->storage.path, "./data");
    EXPECT_FALSE(r.value->storage.sync);
    EXPECT_EQ(r.value->rules.paths, std::vector<std::string>{"./rules"});
    EXPECT_EQ(r.value->engine.tick, minute);
    EXPECT_EQ(r.value->ingest.max_body, 4u << 20);
    EXPECT_EQ(r.value->ingest.max_future, day);
    EXPECT_EQ(r.value->delivery.max_age, day);
}

TEST(Config, reads_the_spec_example_with_environment_in_flow_sequences) {
    const std::string text = R"(listen: 127.0.0.1:9090
storage: {path: /var/lib/redflag, sync: true}
rules: {paths: [./rules, ./more]}
engine: {tick: 30s, threads: 4, timezone: UTC}
ingest: {tokens: [${REDFLAG_TOKEN}], hmac_secret: ${REDFLAG_HMAC}, max_body: 2MiB, max_future: 30d}
delivery: {max_age: 12h}
ui: {account_url: "https://crm.example.com/accounts/{account.id}"}
kpi: {currency: EUR, gross_margin: 75%, stack: {backup: 40, email_security: 25}}
)";
    auto r = parse_config(text, "redflag.yaml", fake_env({{"REDFLAG_TOKEN", "t0ken"}, {"REDFLAG_HMAC", "s3cret"}}));
    ASSERT_TRUE(r.value) << r.errors.front();
    const auto& c = *r.value;
    EXPECT_EQ(c.listen_port, 9090);
    EXPECT_EQ(c.storage.path, "/var/lib/redflag");
    EXPECT_TRUE(c.storage.sync);
    EXPECT_EQ(c.rules.paths.size(), 2u);
    EXPECT_EQ(c.engine.tick, 30 * seconds_ms);
    EXPECT_EQ(c.engine.threads, 4);
    EXPECT_EQ(c.ingest.tokens, std::vector<std::string>{"t0ken"});
    EXPECT_EQ(c.ingest.hmac_secret, "s3cret");
    EXPECT_EQ(c.ingest.max_body, 2u << 20);
    EXPECT_EQ(c.ingest.max_future, 30 * day);
    EXPECT_EQ(c.delivery.max_age, 12 * hour);
    EXPECT_EQ(c.ui.account_url, "https://crm.example.com/accounts/{account.id}");
    EXPECT_EQ(c.kpi.currency, "EUR");
    EXPECT_DOUBLE_EQ(c.kpi.gross_margin, 0.75);
    EXPECT_DOUBLE_EQ(c.kpi.stack.at("backup"), 40);
}

TEST(Config, kpi_free_plans_is_a_list_of_plans) {
    auto r = parse_config("kpi: {free_plans: [free, trial]}\n", "redflag.yaml", fake_env({}));
    ASSERT_TRUE(r.value) << r.errors.front();
    EXPECT_EQ(r.value->kpi.free_plans, (std::vector<std::string>{"free", "trial"}));
    // A mapping is no list: reported with its position.
    auto bad = parse_config("kpi:\n  free_plans: {free: 1}\n", "redflag.yaml", fake_env({}));
    ASSERT_FALSE(bad.value);
    ASSERT_FALSE(bad.errors.empty());
    EXPECT_NE(bad.errors.front().find("redflag.yaml:2:"), std::string::npos) << bad.errors.front();
    EXPECT_NE(bad.errors.front().find("kpi.free_plans must be a list of strings"), std::string::npos) << bad.errors.front();
}

TEST(Config, unknown_keys_are_reported_with_their_line) {
    auto r = parse_config("listen: 127.0.0.1:8080\nstorage:\n  path: ./d\n  synk: true\nbogus: 1\n", "c.yaml", fake_env({}));
    EXPECT_FALSE(r.value);
    ASSERT_EQ(r.errors.size(), 2u);
    EXPECT_TRUE(any_error_contains(r, "c.yaml:4:3: unknown key \"synk\" in storage")) << r.errors[0];
    EXPECT_TRUE(any_error_contains(r, "c.yaml:5:1: unknown key \"bogus\""));
}

TEST(Config, missing_environment_variable_is_an_error_naming_it) {
    auto r = parse_config("ingest:\n  hmac_secret: ${NOPE_SECRET}\n", "c.yaml", fake_env({}));
    EXPECT_FALSE(r.value);
    EXPECT_TRUE(any_error_contains(r, "c.yaml:2:16: environment variable NOPE_SECRET is not set"));
}

TEST(Config, a_commented_out_environment_reference_needs_no_variable) {
    // The shipped examples keep `tokens: [${REDFLAG_TOKEN}]` as a comment to uncomment.
    auto r = parse_config("ingest:\n  # tokens: [${REDFLAG_TOKEN}]\n  max_events: 5  # or ${MAX}\n", "c.yaml",
                          fake_env({}));
    ASSERT_TRUE(r.value) << r.errors.front();
    EXPECT_EQ(r.value->ingest.max_events, 5u);
    EXPECT_TRUE(r.value->ingest.tokens.empty());
    // In a flow sequence, the error still names the reference's own place.
    r = parse_config("ingest:\n  tokens: [a, ${NOPE_TOKEN}]\n", "c.yaml", fake_env({}));
    EXPECT_FALSE(r.value);
    EXPECT_TRUE(any_error_contains(r, "c.yaml:2:15: environment variable NOPE_TOKEN is not set"));
}

TEST(Config, environment_default_and_literal_dollar_brace) {
    auto r = parse_config("ui: {account_url: \"$${x} ${HOST:-crm.local}\"}\n", "c.yaml", fake_env({}));
    ASSERT_TRUE(r.value) << r.errors.front();
    EXPECT_EQ(r.value->ui.account_url, "${x} crm.local");
}

TEST(Config, bad_values_say_what_was_expected) {
    auto r = parse_config("engine: {tick: soon}\nstorage: {sync: maybe}\ningest: {max_body: lots}\nlisten: nohost\n",
                          "c.yaml", fake_env({}));
    EXPECT_FALSE(r.value);
    EXPECT_TRUE(any_error_contains(r, "engine.tick must be a duration"));
    EXPECT_TRUE(any_error_contains(r, "storage.sync must be true or false"));
    EXPECT_TRUE(any_error_contains(r, "ingest.max_body must be a size"));
    EXPECT_TRUE(any_error_contains(r, "listen must be HOST:PORT"));
}

TEST(Config, channels_are_checked_per_type) {
    const std::string text = R"(channels:
  cs_red_flags:
    type: slack
    token: ${SLACK_BOT_TOKEN}
    channel: "#cs-red-flags"
    mention_owner: true
  owner_email:
    type: email
    to: "{account.csm_email}"
    smtp: {host: smtp.example.com, port: 587, starttls: true, from: "Redflag <redflag@example.com>"}
  pager:
    type: webhook
    url: http://127.0.0.1:9093/api/v2/alerts
    format: alertmanager
)";
    auto r = parse_config(text, "c.yaml", fake_env({{"SLACK_BOT_TOKEN", "xoxb-1"}}));
    ASSERT_TRUE(r.value) << r.errors.front();
    EXPECT_EQ(r.value->channels.size(), 3u);
    EXPECT_EQ(r.value->channels.at("cs_red_flags").token, "xoxb-1");
    EXPECT_TRUE(r.value->channels.at("cs_red_flags").mention_owner);
    EXPECT_EQ(r.value->channels.at("owner_email").smtp.port, 587);
    EXPECT_EQ(r.value->channels.at("pager").format, "alertmanager");

    auto bad = parse_config("channels:\n  x: {type: pigeon}\n  y: {type: slack, channel: '#a', url: http://x}\n", "c.yaml",
                            fake_env({}));
    EXPECT_FALSE(bad.value);
    EXPECT_TRUE(any_error_contains(bad, "channel x type must be slack, slack_webhook, email or webhook"));
    EXPECT_TRUE(any_error_contains(bad, "unknown key \"url\" in channel y"));
}

TEST(Config, an_email_channel_may_mail_the_weekly_report_to_fixed_addresses) {
    auto r = parse_config("channels:\n  head:\n    type: email\n    to: head@example.com\n"
                          "    report: \"weekly mon 08:00\"\n    smtp: {host: smtp.example.com, from: r@example.com}\n",
                          "c.yaml", fake_env({}));
    ASSERT_TRUE(r.value) << r.errors.front();
    EXPECT_EQ(r.value->channels.at("head").report, "weekly mon 08:00");

    auto bad = parse_config("channels:\n  a: {type: email, to: a@example.com, report: \"weekly someday 08:00\", "
                            "smtp: {host: h, from: r@example.com}}\n"
                            "  b: {type: email, to: \"{account.csm_email}\", report: \"weekly mon 08:00\", "
                            "smtp: {host: h, from: r@example.com}}\n"
                            "  c: {type: email, to: c@example.com, digest: \"weekly fri 17:00\", "
                            "smtp: {host: h, from: r@example.com}}\n"
                            "  d: {type: slack, token: t, channel: '#d', report: \"weekly mon 08:00\"}\n",
                            "c.yaml", fake_env({}));
    EXPECT_FALSE(bad.value);
    EXPECT_TRUE(any_error_contains(bad, "channel a report must be \"daily HH:MM\" or \"weekly DAY HH:MM\""));
    EXPECT_TRUE(any_error_contains(bad, "channel b to must be fixed addresses for a report"));
    EXPECT_FALSE(any_error_contains(bad, "channel c")) << "a digest may be weekly too";
    EXPECT_TRUE(any_error_contains(bad, "unknown key \"report\" in channel d"));
}

TEST(Config, an_alertmanager_webhook_resends_every_minute_or_as_configured) {
    auto r = parse_config("channels:\n  am: {type: webhook, url: http://x, format: alertmanager}\n"
                          "  fast: {type: webhook, url: http://x, format: alertmanager, resend: 15s}\n",
                          "c.yaml", fake_env({}));
    ASSERT_TRUE(r.value) << r.errors.front();
    EXPECT_EQ(r.value->channels.at("am").resend, minute);
    EXPECT_EQ(r.value->channels.at("fast").resend, 15 * seconds_ms);

    auto bad = parse_config("channels:\n  a: {type: webhook, url: http://x, resend: 15s}\n"
                            "  b: {type: webhook, url: http://x, format: alertmanager, resend: 0s}\n",
                            "c.yaml", fake_env({}));
    EXPECT_FALSE(bad.value);
    EXPECT_TRUE(any_error_contains(bad, "channel a resend applies to format alertmanager only"));
    EXPECT_TRUE(any_error_contains(bad, "channel b resend must be more than 0s"));
}

TEST(Config, group_by_account_on_a_slack_channel) {
    auto ok = parse_config("channels:\n"
                           "  cs: {type: slack, token: t, channel: \"#cs\", group_by: [account]}\n",
                           "c.yaml", fake_env({}));
    ASSERT_TRUE(ok.value) << ok.errors.front();
    EXPECT_EQ(ok.value->channels.at("cs").group_by, std::vector<std::string>{"account"});

    auto bad = parse_config("channels:\n"
                            "  a: {type: slack, token: t, channel: \"#a\", group_by: [csm]}\n"
                            "  b: {type: webhook, url: http://x, group_by: [account]}\n"
                            "  c: {type: slack, token: t, channel: \"#c\", group_by: account}\n"
                            "  d: {type: slack_webhook, url: http://x, group_by: [account]}\n",
                            "c.yaml", fake_env({}));
    EXPECT_FALSE(bad.value);
    // Positioned at the offending value.
    EXPECT_TRUE(any_error_contains(bad, "c.yaml:2:56: channel a group_by can only name account for now, not \"csm\""));
    EXPECT_TRUE(any_error_contains(bad, "c.yaml:3:47: channel b group_by applies to type slack only"));
    EXPECT_TRUE(any_error_contains(bad, "channel c group_by must be a list, such as [account]"));
    EXPECT_TRUE(any_error_contains(bad, "channel d group_by applies to type slack only"));
    EXPECT_FALSE(any_error_contains(bad, "unknown key \"group_by\""));
}

TEST(Config, a_channel_may_route_alerts_by_matchers) {
    auto ok = parse_config("channels:\n"
                           "  cs: {type: slack, token: t, channel: \"#cs\", match: ['severity=~\"high|critical\"', 'team!=emea']}\n"
                           "  hook: {type: webhook, url: http://x, match: ['rule=\"churned\"']}\n",
                           "c.yaml", fake_env({}));
    ASSERT_TRUE(ok.value) << ok.errors.front();
    EXPECT_EQ(ok.value->channels.at("cs").match,
              (std::vector<std::string>{"severity=~\"high|critical\"", "team!=emea"}));
    EXPECT_EQ(ok.value->channels.at("hook").match, std::vector<std::string>{"rule=\"churned\""});

    auto bad = parse_config("channels:\n"
                            "  a: {type: slack, token: t, channel: \"#a\", match: ['severity=~\"(\"']}\n"
                            "  b: {type: webhook, url: http://x, match: 'rule=x'}\n"
                            "  c: {type: webhook, url: http://x, match: ['team~emea']}\n"
                            "  d: {type: webhook, url: http://x, match: []}\n",
                            "c.yaml", fake_env({}));
    EXPECT_FALSE(bad.value);
    EXPECT_TRUE(any_error_contains(bad, "c.yaml:2:53: channel a match \"severity=~\"(\"\": "));
    EXPECT_TRUE(any_error_contains(bad, "channel b match must be a list of matchers"));
    EXPECT_TRUE(any_error_contains(bad, "channel c match \"team~emea\": "));
    EXPECT_TRUE(any_error_contains(bad, "channel d match must hold at least one matcher"));
    EXPECT_FALSE(any_error_contains(bad, "channel a match must hold"));  // its one matcher was reported
}

// The shipped configs' Slack channels read `token: ${SLACK_BOT_TOKEN:-}`: without the
// variable the channel loads with an empty token (serve keeps it off).
TEST(Config, a_slack_channel_may_have_an_empty_token) {
    auto ok = parse_config("channels:\n  cs: {type: slack, token: \"${SLACK_BOT_TOKEN:-}\", channel: \"#cs\"}\n",
                           "c.yaml", fake_env({}));
    ASSERT_TRUE(ok.value) << ok.errors.front();
    EXPECT_EQ(ok.value->channels.at("cs").token, "");
}

TEST(Config, byte_sizes) {
    EXPECT_EQ(parse_byte_size("4MiB"), 4u << 20);
    EXPECT_EQ(parse_byte_size("512KiB"), 512u << 10);
    EXPECT_EQ(parse_byte_size("1000"), 1000u);
    EXPECT_EQ(parse_byte_size("10MB"), 10000000u);
    EXPECT_FALSE(parse_byte_size("4 parsecs"));
}

TEST(Config, api_and_metrics_tokens_with_environment) {
    const std::string text = R"(api:
  read_tokens: [${RF_READ}, literal-reader]
  write_tokens: [${RF_WRITE}]
  insecure: false
metrics: {tokens: [${RF_SCRAPE}, "${RF_UNSET:-}"]}
)";
    auto r = parse_config(text, "redflag.yaml",
                          fake_env({{"RF_READ", "r3ad"}, {"RF_WRITE", "wr1te"}, {"RF_SCRAPE", "scr4pe"}}));
    ASSERT_TRUE(r.value) << r.errors.front();
    EXPECT_EQ(r.value->api.read_tokens, (std::vector<std::string>{"r3ad", "literal-reader"}));
    EXPECT_EQ(r.value->api.write_tokens, std::vector<std::string>{"wr1te"});
    EXPECT_FALSE(r.value->api.insecure);
    // An empty token (an unset variable with an empty default) would let anyone in: dropped.
    EXPECT_EQ(r.value->metrics.tokens, std::vector<std::string>{"scr4pe"});
}

TEST(Config, api_keys_are_checked) {
    auto r = parse_config("api: {read_token: [x], insecure: maybe}\nmetrics: {tokens: {a: b}}\n", "c.yaml", fake_env({}));
    EXPECT_FALSE(r.value);
    EXPECT_TRUE(any_error_contains(r, "c.yaml:1:7: unknown key \"read_token\" in api")) << r.errors.front();
    EXPECT_TRUE(any_error_contains(r, "api.insecure must be true or false"));
    EXPECT_TRUE(any_error_contains(r, "metrics.tokens must be a list of strings"));
}

TEST(Config, adapters_are_read_per_vendor_with_secrets_from_the_environment) {
    const std::string text = R"(adapters:
  stripe:
    secret: ${STRIPE_WEBHOOK_SECRET}
    tolerance: 10m
    products: {prod_A: analytics}
    seat_products: [prod_A]
    currency: EUR
    rates: {USD: 0.92}
    accounts: {cus_1: acme}
  hubspot:
    secret: s
    public_url: https://cs.example.com/v1/hooks/hubspot
    owners: {"42": {name: Maya Lind, email: maya@ourco.example}}
    properties: {tier: attributes.tier}
  segment: {insecure: true, vendor_ids: true, metrics: {"Report Built": reports}}
)";
    auto r = parse_config(text, "redflag.yaml", fake_env({{"STRIPE_WEBHOOK_SECRET", "whsec_x"}}));
    ASSERT_TRUE(r.value) << r.errors.front();
    const auto& stripe = r.value->adapters.at("stripe");
    EXPECT_EQ(stripe.vendor, "stripe");
    EXPECT_EQ(stripe.secret, "whsec_x");
    EXPECT_EQ(stripe.tolerance, 10 * minute);
    EXPECT_EQ(stripe.products.at("prod_A"), "analytics");
    EXPECT_EQ(stripe.seat_products, std::vector<std::string>{"prod_A"});
    EXPECT_EQ(stripe.currency, "eur");
    EXPECT_DOUBLE_EQ(stripe.rates.at("usd"), 0.92);
    EXPECT_EQ(stripe.accounts.at("cus_1"), "acme");
    const auto& hubspot = r.value->adapters.at("hubspot");
    EXPECT_EQ(hubspot.owners.at("42").email, "maya@ourco.example");
    EXPECT_EQ(hubspot.properties.at("tier"), "attributes.tier");
    EXPECT_TRUE(r.value->adapters.at("segment").insecure);
    EXPECT_TRUE(r.value->adapters.at("segment").vendor_ids);
    EXPECT_EQ(r.value->adapters.at("segment").metrics.at("Report Built"), "reports");
}

TEST(Config, an_adapter_without_a_secret_is_refused_with_its_place) {
    auto r = parse_config("adapters:\n  zendesk:\n    accounts: {}\n", "redflag.yaml", fake_env({}));
    ASSERT_FALSE(r.value);
    EXPECT_TRUE(any_error_contains(r, "redflag.yaml:3:5: adapters.zendesk needs a secret")) << r.errors.front();
    // An empty secret (a variable set to "") is no secret either.
    r = parse_config("adapters:\n  zendesk: {secret: \"${ZD:-}\"}\n", "redflag.yaml", fake_env({}));
    ASSERT_FALSE(r.value);
    EXPECT_TRUE(any_error_contains(r, "adapters.zendesk needs a secret")) << r.errors.front();
}

TEST(Config, adapters_refuse_unknown_vendors_keys_and_targets) {
    auto r = parse_config(R"(adapters:
  intercom: {secret: s}
  stripe: {secret: s, owners: {}}
  hubspot: {secret: s, properties: {x: revenue}, public_url: cs.example.com}
)",
                          "redflag.yaml", fake_env({}));
    ASSERT_FALSE(r.value);
    EXPECT_TRUE(any_error_contains(r, "redflag.yaml:2:13: unknown vendor \"intercom\""));
    EXPECT_TRUE(any_error_contains(r, "redflag.yaml:3:23: unknown key \"owners\" in adapters.stripe"));
    EXPECT_TRUE(any_error_contains(r, "adapters.hubspot.properties.x must be one of"));
    EXPECT_TRUE(any_error_contains(r, "adapters.hubspot.public_url must be the full URL"));
}

TEST(Config, without_a_cluster_block_the_service_stays_single_process) {
    auto r = parse_config("listen: 127.0.0.1:9090\n", "c.yaml", fake_env({}));
    ASSERT_TRUE(r.value) << r.errors.front();
    EXPECT_FALSE(r.value->cluster.has_value());
}

TEST(Config, reads_the_cluster_block) {
    const std::string text = R"(cluster:
  nats: [nats://10.0.0.1:4222, nats://10.0.0.2:4222, tls://10.0.0.3:4222]
  partitions: 128
  replicas: 3
  node: ${HOSTNAME}
  roles: [engine]
  credentials: /etc/redflag/nats.creds
  tls: {ca: /etc/redflag/ca.pem, cert: /etc/redflag/client.pem, key: /etc/redflag/client.key}
  lease_ttl: 12s
  renew_interval: 3s
  snapshot_chunk: 256KiB
)";
    auto r = parse_config(text, "c.yaml", fake_env({{"HOSTNAME", "redflag-2"}}));
    ASSERT_TRUE(r.value) << r.errors.front();
    ASSERT_TRUE(r.value->cluster.has_value());
    const auto& c = *r.value->cluster;
    EXPECT_EQ(c.nats.size(), 3u);
    EXPECT_EQ(c.nats[2], "tls://10.0.0.3:4222");
    EXPECT_EQ(c.partitions, 128);
    EXPECT_EQ(c.replicas, 3);
    EXPECT_EQ(c.node, "redflag-2");
    EXPECT_FALSE(c.roles.ingest);
    EXPECT_TRUE(c.roles.engine);
    EXPECT_EQ(c.credentials, "/etc/redflag/nats.creds");
    EXPECT_TRUE(c.tls.enabled);
    EXPECT_EQ(c.tls.key, "/etc/redflag/client.key");
    EXPECT_EQ(c.lease_ttl, 12 * seconds_ms);
    EXPECT_EQ(c.renew_interval, 3 * seconds_ms);
    EXPECT_EQ(c.snapshot_chunk_bytes, 256u << 10);
    EXPECT_EQ(c.stream_name(), "redflag_events");

    // The minimum: a node name; the rest defaults (both roles, 64 partitions, 3 replicas).
    auto minimal = parse_config("cluster: {node: a}\n", "c.yaml", fake_env({}));
    ASSERT_TRUE(minimal.value) << minimal.errors.front();
    EXPECT_TRUE(minimal.value->cluster->roles.ingest && minimal.value->cluster->roles.engine);
    EXPECT_EQ(minimal.value->cluster->partitions, 64);
    EXPECT_EQ(minimal.value->cluster->nats, std::vector<std::string>{"nats://127.0.0.1:4222"});
}

TEST(Config, cluster_mistakes_are_reported_with_their_place) {
    auto r = parse_config(R"(cluster:
  nats: [http://10.0.0.1:4222]
  roles: [ingest, evaluator]
  lease_ttl: 4s
  renew_interval: 3s
  token: t
  user: u
  partitions: 0
  nodes: x
)",
                          "c.yaml", fake_env({}));
    EXPECT_FALSE(r.value);
    EXPECT_TRUE(any_error_contains(r, "c.yaml:2:9: cluster.nats URL \"http://10.0.0.1:4222\" must start with nats:// or tls://"));
    EXPECT_TRUE(any_error_contains(r, "c.yaml:3:10: cluster.roles may hold ingest and engine, not \"evaluator\""));
    EXPECT_TRUE(any_error_contains(r, "c.yaml:5:19: cluster.renew_interval must be more than 0s and at most half of cluster.lease_ttl (4s)"));
    EXPECT_TRUE(any_error_contains(r, "cluster: give one of credentials, user/password and token"));
    EXPECT_TRUE(any_error_contains(r, "cluster.partitions must be an integer from 1 to 4096"));
    EXPECT_TRUE(any_error_contains(r, "unknown key \"nodes\" in cluster"));
    EXPECT_TRUE(any_error_contains(r, "c.yaml:2:3: cluster.node is required"));

    auto names = parse_config("cluster: {node: \"web 1\", name: \"red.flag\"}\n", "c.yaml", fake_env({}));
    EXPECT_TRUE(any_error_contains(names, "cluster.node must be letters, digits, '_' or '-', not \"web 1\""));
    EXPECT_TRUE(any_error_contains(names, "cluster.name must be letters, digits, '_' or '-', not \"red.flag\""));

    auto window = parse_config("cluster: {node: a, publish_timeout: 30s, duplicate_window: 10s}\n", "c.yaml", fake_env({}));
    EXPECT_TRUE(any_error_contains(window, "cluster.duplicate_window must be at least cluster.publish_timeout"));
}

TEST(Config, the_engine_threads_must_divide_the_cluster_partitions) {
    auto bad = parse_config("engine: {threads: 3}\ncluster: {node: a, partitions: 64}\n", "c.yaml", fake_env({}));
    EXPECT_TRUE(any_error_contains(bad, "c.yaml:2:32: cluster.partitions (64) must be a multiple of engine.threads (3)"));
    auto good = parse_config("engine: {threads: 4}\ncluster: {node: a, partitions: 64, start_timeout: 5s}\n", "c.yaml",
                             fake_env({}));
    ASSERT_TRUE(good.value) << good.errors.front();
    EXPECT_EQ(good.value->cluster->start_timeout, std::chrono::seconds(5));
    EXPECT_TRUE(any_error_contains(parse_config("cluster: {node: a, start_timeout: 0s}\n", "c.yaml", fake_env({})),
                                   "cluster.start_timeout must be at least 1s"));
}
