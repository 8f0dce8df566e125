#include "delivery/outbox.hpp"

#include "store/keys.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace redflag::delivery {
namespace json = boost::json;
namespace {

json::string time_text(timestamp t) { return json::string(format_rfc3339(t)); }

// Reads members, remembering the first problem and going on with defaults, so decoding
// is a flat list of reads and one check at the end.
struct reader {
    const json::object& object;
    std::string problem;

    void fail(std::string_view key, std::string_view what) {
        if (problem.empty()) problem = std::string(key) + ": " + std::string(what);
    }
    std::string text(std::string_view key, bool required = false) {
        auto* v = object.if_contains(key);
        if (!v || v->is_null()) {
            if (required) fail(key, "missing");
            return {};
        }
        if (!v->is_string()) {
            fail(key, "expected a string");
            return {};
        }
        return std::string(v->get_string());
    }
    std::optional<timestamp> time(std::string_view key, bool required = false) {
        auto* v = object.if_contains(key);
        if (!v || v->is_null()) {
            if (required) fail(key, "missing");
            return std::nullopt;
        }
        std::optional<timestamp> t;
        if (v->is_string()) t = parse_rfc3339(v->get_string());
        if (!t) fail(key, "expected an RFC 3339 string");
        return t;
    }
    std::uint32_t count(std::string_view key) {
        auto* v = object.if_contains(key);
        if (!v || v->is_null()) return 0;
        if (v->is_int64() && v->get_int64() >= 0) return static_cast<std::uint32_t>(v->get_int64());
        if (v->is_uint64()) return static_cast<std::uint32_t>(v->get_uint64());
        fail(key, "expected a count");
        return 0;
    }
};

}  // namespace

std::optional<delivery_outcome> delivery_outcome_from(std::string_view name) {
    for (std::size_t i = 0; i < std::size(delivery_outcome_names); ++i)
        if (delivery_outcome_names[i] == name) return static_cast<delivery_outcome>(i);
    return std::nullopt;
}

std::string outbox_key(std::string_view alert_id, timestamp at, std::string_view notification_key,
                       std::string_view channel) {
    std::string k = alert_prefix(alert_id);
    store::keys::append_be64(k, static_cast<std::uint64_t>(to_millis(at)));
    k.append(notification_key);
    k.push_back('\0');
    k.append(channel);
    return k;
}

std::string outbox_key(const notification& n) { return outbox_key(n.alert_id, n.at, n.key, n.channel); }

std::string alert_prefix(std::string_view alert_id) {
    std::string k(alert_id);
    k.push_back('\0');
    return k;
}

std::string thread_key(std::string_view channel, std::string_view alert_id) {
    std::string k = "slack_thread";
    k.push_back('\0');
    k.append(channel);
    k.push_back('\0');
    k.append(alert_id);
    return k;
}

outbox_entry make_entry(notification n) {
    outbox_entry e;
    e.storage_key = outbox_key(n);
    e.n = std::move(n);
    return e;
}

json::object to_json(const notification& n) {
    json::object o;
    o["key"] = n.key;
    o["channel"] = n.channel;
    o["kind"] = name_of(n.kind);
    o["alert_id"] = n.alert_id;
    o["rule"] = n.rule;
    o["severity"] = n.severity;
    o["title"] = n.title;
    o["message"] = n.message;
    json::array labels;
    for (const auto& [k, v] : n.labels) labels.push_back(json::array{json::string(k), json::string(v)});
    o["labels"] = std::move(labels);
    o["at"] = time_text(n.at);
    o["firing_since"] = time_text(n.firing_since);
    if (n.resolved_at) o["resolved_at"] = time_text(*n.resolved_at);
    o["account"] = n.account;
    o["account_name"] = n.account_name;
    o["csm"] = n.csm;
    o["csm_email"] = n.csm_email;
    o["account_url"] = n.account_url;
    if (!n.ack_by.empty()) o["ack_by"] = n.ack_by;
    if (!n.ack_comment.empty()) o["ack_comment"] = n.ack_comment;
    if (!n.recipient.empty()) o["recipient"] = n.recipient;
    o["created_at"] = time_text(n.created_at);
    return o;
}

std::optional<notification> notification_from_json(const json::value& v, std::string* error) {
    if (!v.is_object()) {
        if (error) *error = "a notification must be an object";
        return std::nullopt;
    }
    reader r{v.get_object(), {}};
    notification n;
    n.key = r.text("key", true);
    n.channel = r.text("channel", true);
    auto kind = r.text("kind", true);
    bool known = false;
    for (std::size_t i = 0; i < std::size(notice_kind_names); ++i)
        if (notice_kind_names[i] == kind) {
            n.kind = static_cast<notice_kind>(i);
            known = true;
        }
    if (!known) r.fail("kind", "unknown kind \"" + kind + "\"");
    n.alert_id = r.text("alert_id", true);
    n.rule = r.text("rule", true);
    n.severity = r.text("severity");
    n.title = r.text("title");
    n.message = r.text("message");
    if (auto* labels = r.object.if_contains("labels"); labels && labels->is_array()) {
        for (const auto& pair : labels->get_array()) {
            if (!pair.is_array() || pair.get_array().size() != 2 || !pair.get_array()[0].is_string() ||
                !pair.get_array()[1].is_string()) {
                r.fail("labels", "expected [name, value] pairs");
                break;
            }
            n.labels.emplace_back(std::string(pair.get_array()[0].get_string()),
                                  std::string(pair.get_array()[1].get_string()));
        }
    }
    n.at = r.time("at", true).value_or(timestamp{});
    n.firing_since = r.time("firing_since").value_or(n.at);
    n.resolved_at = r.time("resolved_at");
    n.account = r.text("account", true);
    n.account_name = r.text("account_name");
    n.csm = r.text("csm");
    n.csm_email = r.text("csm_email");
    n.account_url = r.text("account_url");
    n.ack_by = r.text("ack_by");
    n.ack_comment = r.text("ack_comment");
    n.recipient = r.text("recipient");
    n.created_at = r.time("created_at").value_or(n.at);
    if (!r.problem.empty()) {
        if (error) *error = r.problem;
        return std::nullopt;
    }
    return n;
}

namespace {

json::object stored_json(const outbox_entry& e) {
    json::object o;
    o["notification"] = to_json(e.n);
    o["outcome"] = name_of(e.outcome);
    o["attempts"] = e.attempts;
    if (e.next_attempt) o["next_attempt"] = time_text(*e.next_attempt);
    if (!e.last_error.empty()) o["last_error"] = e.last_error;
    if (e.sent_at) o["sent_at"] = time_text(*e.sent_at);
    if (!e.silence.empty()) o["silence"] = e.silence;
    return o;
}

}  // namespace

std::string serialize(const outbox_entry& e) { return json::serialize(stored_json(e)); }

json::object history_json(const outbox_entry& e) {
    json::object o;
    o["key"] = e.n.key;
    o["channel"] = e.n.channel;
    o["kind"] = name_of(e.n.kind);
    o["at"] = time_text(e.n.at);
    o["created_at"] = time_text(e.n.created_at);
    o["outcome"] = name_of(e.outcome);
    o["attempts"] = e.attempts;
    if (e.next_attempt && !is_final(e.outcome)) o["next_attempt"] = time_text(*e.next_attempt);
    o["last_error"] = e.last_error;
    if (e.sent_at) o["sent_at"] = time_text(*e.sent_at);
    else o["sent_at"] = nullptr;
    if (!e.silence.empty()) o["silence"] = e.silence;
    if (!e.n.recipient.empty()) o["recipient"] = e.n.recipient;
    return o;
}

std::optional<outbox_entry> parse_entry(std::string_view key, std::string_view value, std::string* error) {
    boost::system::error_code ec;
    auto parsed = json::parse(value, ec);
    if (ec || !parsed.is_object()) {
        if (error) *error = "not a JSON object";
        return std::nullopt;
    }
    const auto& o = parsed.get_object();
    outbox_entry e;
    e.storage_key = std::string(key);
    auto* n = o.if_contains("notification");
    if (!n) {
        if (error) *error = "notification: missing";
        return std::nullopt;
    }
    std::string why;
    auto decoded = notification_from_json(*n, &why);
    if (!decoded) {
        if (error) *error = "notification." + why;
        return std::nullopt;
    }
    e.n = std::move(*decoded);
    reader r{o, {}};
    auto outcome = delivery_outcome_from(r.text("outcome", true));
    if (!outcome) r.fail("outcome", "unknown outcome");
    e.outcome = outcome.value_or(delivery_outcome::pending);
    e.attempts = r.count("attempts");
    e.next_attempt = r.time("next_attempt");
    e.last_error = r.text("last_error");
    e.sent_at = r.time("sent_at");
    e.silence = r.text("silence");
    if (!r.problem.empty()) {
        if (error) *error = r.problem;
        return std::nullopt;
    }
    return e;
}

}  // namespace redflag::delivery
