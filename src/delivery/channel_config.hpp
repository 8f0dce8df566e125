// A notification channel as the config names it (../shared/spec/alerts.md, "Channels"):
// which peer it talks to and how. app/config.cpp reads these from YAML and checks that
// only the fields of the channel's type are given; delivery's senders take them as they
// are (channels/make_sender.hpp).
//
// Plain values: not thread-safe, no failure modes.
#pragma once

#include "core/time.hpp"

#include <map>
#include <string>
#include <vector>

namespace redflag::delivery {

struct smtp_config {
    std::string host;
    int port = 587;
    bool starttls = true;  // require STARTTLS on a plain connection (usually port 587)
    bool tls = false;      // implicit TLS (smtps, usually port 465); wins over starttls
    std::string username;  // empty: no AUTH
    std::string password;
    std::string from;      // "Redflag <redflag@example.com>" or "redflag@example.com"
};

// Only the fields of its type are accepted by the config reader.
struct channel_config {
    std::string name;
    std::string type;  // slack | slack_webhook | email | webhook
    // slack
    std::string token;
    std::string channel;
    bool mention_owner = false;
    std::string api_url = "https://slack.com/api";
    // The Slack app's signing secret: when set, clicks on the card's buttons are accepted
    // at POST /v1/slack/interactions (a reload puts a changed one in force).
    std::string signing_secret;
    // `group_by: [account]`: one card per account with all its live red flags, rewritten
    // in place as they join and leave (delivery/group.hpp). Only "account" is accepted.
    std::vector<std::string> group_by;
    // Every type: the alerts the channel receives besides those of the rules that name it
    // in `notify`, as Alertmanager matchers that must all match (alerts/silences.hpp's
    // syntax and names: rule, account, severity, csm, segment, any label), e.g.
    // `severity=~"high|critical"`. Empty: only the rules' `notify` lines.
    std::vector<std::string> match;
    // slack_webhook, webhook
    std::string url;
    std::string format = "redflag";  // webhook: redflag | alertmanager
    // webhook, format alertmanager: how often the alerts firing on the channel are
    // posted again; each post holds an alert active for 4 × resend (as Prometheus does).
    duration resend = minute;
    std::map<std::string, std::string> headers;
    // email
    std::string to;
    std::string digest;  // "daily HH:MM", or empty
    // The weekly report (app/report_mailer.hpp) to `to` on this schedule: "weekly mon
    // 08:00" (delivery/digest.hpp's forms), or empty for none.
    std::string report;
    smtp_config smtp;
};

}  // namespace redflag::delivery
