#include "delivery/channels/make_sender.hpp"
#include "sample_notification.hpp"

#include <gtest/gtest.h>

using namespace redflag;
using namespace redflag::delivery;
using namespace redflag::delivery::channels;
using channels::testing::sample_notification;
using outcome = send_result::outcome;

namespace {

// Port 1 on loopback: nothing listens there, so any attempt that reaches the network
// fails with `retry`; a skipped notification answers `sent` without trying.
channel_config config_of(std::string type) {
    channel_config c;
    c.name = "test";
    c.type = std::move(type);
    c.url = "http://127.0.0.1:1/hook";
    c.api_url = "http://127.0.0.1:1/api";
    c.channel = "#cs";
    c.token = "xoxb-test";
    c.smtp.host = "127.0.0.1";
    c.smtp.port = 1;
    c.smtp.from = "Redflag <redflag@example.com>";
    return c;
}

sender_options quick() {
    sender_options o;
    o.connect_timeout = duration{2000};
    o.timeout = duration{3000};
    return o;
}

}  // namespace

TEST(MakeSender, slack_channels_pace_one_message_a_second) {
    EXPECT_EQ(make_sender(config_of("slack"), quick())->min_interval(), seconds_ms);
    EXPECT_EQ(make_sender(config_of("slack_webhook"), quick())->min_interval(), seconds_ms);
    EXPECT_EQ(make_sender(config_of("webhook"), quick())->min_interval(), duration::zero());
    EXPECT_EQ(make_sender(config_of("email"), quick())->min_interval(), duration::zero());
}

TEST(MakeSender, only_alertmanager_webhooks_repost_at_their_resend) {
    auto am = config_of("webhook");
    am.format = "alertmanager";
    am.resend = 15 * seconds_ms;
    EXPECT_EQ(make_sender(am, quick())->resend_interval(), 15 * seconds_ms);
    EXPECT_EQ(make_sender(config_of("webhook"), quick())->resend_interval(), duration::zero());
    EXPECT_EQ(make_sender(config_of("slack"), quick())->resend_interval(), duration::zero());
    EXPECT_EQ(make_sender(config_of("webhook"), quick())->resend({}).result, send_result::outcome::permanent);
}

TEST(MakeSender, unknown_type_fails_permanently_naming_it) {
    auto sender = make_sender(config_of("pigeon"), quick());
    auto r = sender->send(sample_notification(), "");
    EXPECT_EQ(r.result, outcome::permanent);
    EXPECT_EQ(r.error, "unknown channel type \"pigeon\"");
}

TEST(MakeSender, unreachable_peers_give_retry) {
    for (auto type : {"slack", "slack_webhook", "webhook", "email"}) {
        auto r = make_sender(config_of(type), quick())->send(sample_notification(), "");
        EXPECT_EQ(r.result, outcome::retry) << type << ": " << r.error;
        EXPECT_FALSE(r.error.empty()) << type;
    }
}

TEST(MakeSender, channels_without_threads_skip_acknowledgements_as_sent) {
    for (auto type : {"slack_webhook", "webhook", "email"}) {
        auto r = make_sender(config_of(type), quick())->send(sample_notification(notice_kind::acknowledged), "");
        EXPECT_EQ(r.result, outcome::sent) << type << ": " << r.error;
    }
    auto alertmanager = config_of("webhook");
    alertmanager.format = "alertmanager";
    EXPECT_EQ(make_sender(alertmanager, quick())->send(sample_notification(notice_kind::acknowledged), "").result,
              outcome::sent);
    // Slack threads acks, so it does try (and here fails to reach the peer).
    EXPECT_EQ(make_sender(config_of("slack"), quick())->send(sample_notification(notice_kind::acknowledged), "").result,
              outcome::retry);
}

TEST(MakeSender, email_without_an_address_fails_permanently) {
    auto n = sample_notification();
    n.recipient = "";
    EXPECT_EQ(make_sender(config_of("email"), quick())->send(n, "").result, outcome::permanent);
    auto bad_from = config_of("email");
    bad_from.smtp.from = "Redflag";
    EXPECT_EQ(make_sender(bad_from, quick())->send(sample_notification(), "").result, outcome::permanent);
    EXPECT_EQ(make_sender(config_of("slack"), quick())->send_digest({}).result, outcome::permanent);
}
