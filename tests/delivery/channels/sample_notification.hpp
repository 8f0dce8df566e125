// A notification as the engine would make it, for the delivery tests.
#pragma once

#include "core/time.hpp"
#include "delivery/notification.hpp"

namespace redflag::delivery::channels::testing {

inline notification sample_notification(notice_kind kind = notice_kind::firing) {
    notification n;
    n.key = "0123456789abcdef0123456789abcdef-1";
    n.channel = "cs_red_flags";
    n.kind = kind;
    n.alert_id = "0123456789abcdef0123456789abcdef";
    n.rule = "usage_drop";
    n.severity = "high";
    n.title = "Usage dropped";
    n.message = "Acme: active users fell from 40 to 15 in 14 days";
    n.labels = {{"team", "cs"}, {"playbook", "adoption"}};
    n.at = *parse_rfc3339("2026-11-02T09:00:00Z");
    n.firing_since = *parse_rfc3339("2026-11-02T09:00:00Z");
    n.account = "acme";
    n.account_name = "Acme";
    n.csm = "Jane Doe";
    n.csm_email = "jane@example.com";
    n.account_url = "https://crm.example.com/accounts/acme";
    n.recipient = "jane@example.com";
    if (kind == notice_kind::resolved) {
        n.key = "0123456789abcdef0123456789abcdef-3";
        n.at = *parse_rfc3339("2026-11-05T12:00:00Z");
        n.resolved_at = n.at;
    }
    if (kind == notice_kind::acknowledged) {
        n.key = "0123456789abcdef0123456789abcdef-ack-0";
        n.ack_by = "liam";
        n.ack_comment = "calling them today";
    }
    return n;
}

}  // namespace redflag::delivery::channels::testing
