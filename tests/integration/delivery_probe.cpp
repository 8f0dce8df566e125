// delivery_probe: drives one channel sender (src/delivery/channels) from a script, so the
// Python integration tests can point the real senders at real loopback peers (the Slack
// stand-in, aiosmtpd, an HTTP recorder, Alertmanager) and check what arrives.
//
// Reads JSON lines on stdin, answers one JSON line on stdout per request:
//   {"channel": {...channel_config fields..., "smtp": {...}}, "options": {"timeout_ms": N,
//    "ca_file": "..."}}                         → builds the sender: {"ok": true}
//   {"send": {...notification...}, "thread_ts": "..."}
//                                             → {"result": "sent"|"retry"|"permanent",
//                                                "error", "thread_ts", "retry_after_ms"?}
//   {"digest": [{...notification...}, ...]}   → the same
// A notification's fields are those of delivery::notification; instants are RFC 3339.
#include "delivery/channels/make_sender.hpp"

#include <boost/json.hpp>

#include <iostream>
#include <memory>
#include <string>

namespace json = boost::json;
using namespace redflag;
using namespace redflag::delivery;

namespace {

std::string text_of(const json::object& o, std::string_view key, std::string fallback = {}) {
    if (auto* v = o.if_contains(key); v && v->is_string()) return std::string(v->as_string());
    return fallback;
}

timestamp time_of(const json::object& o, std::string_view key) {
    if (auto parsed = parse_rfc3339(text_of(o, key))) return *parsed;
    return timestamp{};
}

notification notification_of(const json::object& o) {
    notification n;
    n.key = text_of(o, "key");
    n.channel = text_of(o, "channel");
    std::string kind = text_of(o, "kind", "firing");
    for (std::size_t i = 0; i < std::size(notice_kind_names); ++i)
        if (notice_kind_names[i] == kind) n.kind = static_cast<notice_kind>(i);
    n.alert_id = text_of(o, "alert_id");
    n.rule = text_of(o, "rule");
    n.severity = text_of(o, "severity", "high");
    n.title = text_of(o, "title");
    n.message = text_of(o, "message");
    if (auto* labels = o.if_contains("labels"); labels && labels->is_object())
        for (const auto& kv : labels->as_object())
            if (kv.value().is_string()) n.labels.emplace_back(kv.key(), kv.value().as_string());
    n.at = time_of(o, "at");
    n.firing_since = time_of(o, "firing_since");
    if (o.contains("resolved_at")) n.resolved_at = time_of(o, "resolved_at");
    n.account = text_of(o, "account");
    n.account_name = text_of(o, "account_name", n.account);
    n.csm = text_of(o, "csm");
    n.csm_email = text_of(o, "csm_email");
    n.account_url = text_of(o, "account_url");
    n.ack_by = text_of(o, "ack_by");
    n.ack_comment = text_of(o, "ack_comment");
    n.recipient = text_of(o, "recipient");
    return n;
}

channel_config channel_of(const json::object& o) {
    channel_config c;
    c.name = text_of(o, "name", "probe");
    c.type = text_of(o, "type");
    c.token = text_of(o, "token");
    c.channel = text_of(o, "channel");
    if (auto* m = o.if_contains("mention_owner"); m && m->is_bool()) c.mention_owner = m->as_bool();
    c.api_url = text_of(o, "api_url", c.api_url);
    c.url = text_of(o, "url");
    c.format = text_of(o, "format", c.format);
    if (auto* h = o.if_contains("headers"); h && h->is_object())
        for (const auto& kv : h->as_object())
            if (kv.value().is_string()) c.headers[kv.key()] = kv.value().as_string();
    c.to = text_of(o, "to");
    if (auto* s = o.if_contains("smtp"); s && s->is_object()) {
        const auto& smtp = s->as_object();
        c.smtp.host = text_of(smtp, "host");
        if (auto* p = smtp.if_contains("port"); p && p->is_int64()) c.smtp.port = static_cast<int>(p->as_int64());
        if (auto* b = smtp.if_contains("starttls"); b && b->is_bool()) c.smtp.starttls = b->as_bool();
        if (auto* b = smtp.if_contains("tls"); b && b->is_bool()) c.smtp.tls = b->as_bool();
        c.smtp.username = text_of(smtp, "username");
        c.smtp.password = text_of(smtp, "password");
        c.smtp.from = text_of(smtp, "from");
    }
    return c;
}

json::object result_json(const send_result& r) {
    static constexpr std::string_view names[] = {"sent", "retry", "permanent"};
    json::object out{{"result", names[static_cast<int>(r.result)]}, {"error", r.error}, {"thread_ts", r.thread_ts}};
    if (r.retry_after) out["retry_after_ms"] = r.retry_after->count();
    return out;
}

}  // namespace

int main() {
    std::unique_ptr<channel_sender> sender;
    std::string line;
    while (std::getline(std::cin, line)) {
        boost::system::error_code ec;
        json::value request = json::parse(line, ec);
        json::object answer;
        if (ec || !request.is_object()) {
            answer = {{"error", "not a JSON object: " + line}};
        } else if (auto& r = request.as_object(); r.contains("channel")) {
            channels::sender_options options;
            if (auto* o = r.if_contains("options"); o && o->is_object()) {
                if (auto* t = o->as_object().if_contains("timeout_ms"); t && t->is_int64())
                    options.timeout = options.connect_timeout = duration{t->as_int64()};
                options.ca_file = text_of(o->as_object(), "ca_file");
            }
            sender = channels::make_sender(channel_of(r.at("channel").as_object()), options);
            answer = {{"ok", true}, {"min_interval_ms", sender->min_interval().count()}};
        } else if (!sender) {
            answer = {{"error", "no channel yet"}};
        } else if (auto* n = r.if_contains("send"); n && n->is_object()) {
            answer = result_json(sender->send(notification_of(n->as_object()), text_of(r, "thread_ts")));
        } else if (auto* batch = r.if_contains("digest"); batch && batch->is_array()) {
            std::vector<notification> notifications;
            for (const auto& item : batch->as_array())
                if (item.is_object()) notifications.push_back(notification_of(item.as_object()));
            answer = result_json(sender->send_digest(notifications));
        } else {
            answer = {{"error", "unknown request"}};
        }
        std::cout << json::serialize(answer) << std::endl;
    }
    return 0;
}
