#include "http/slack_interactions.hpp"

#include "ingest/auth.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <openssl/crypto.h>

#include <cctype>
#include <charconv>
#include <cstdint>

namespace redflag::http {
namespace json = boost::json;

namespace {

constexpr std::size_t max_alert_id = 128;
constexpr std::size_t max_field = 256;

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::optional<std::string> form_decode(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c == '+') {
            out.push_back(' ');
        } else if (c == '%') {
            if (i + 2 >= text.size()) return std::nullopt;
            int hi = hex_value(text[i + 1]), lo = hex_value(text[i + 2]);
            if (hi < 0 || lo < 0) return std::nullopt;
            out.push_back(static_cast<char>(hi * 16 + lo));
            i += 2;
        } else {
            out.push_back(c);
        }
    }
    return out;
}

// A string member of `o` at most `max` bytes: nullopt when absent or not a string,
// `too_long` set when longer.
std::optional<std::string> text_of(const json::object* o, std::string_view key, std::size_t max, bool& too_long) {
    if (!o) return std::nullopt;
    const auto* v = o->if_contains(key);
    if (!v || !v->is_string()) return std::nullopt;
    if (v->get_string().size() > max) {
        too_long = true;
        return std::nullopt;
    }
    return std::string(v->get_string());
}

const json::object* object_of(const json::object* o, std::string_view key) {
    if (!o) return nullptr;
    const auto* v = o->if_contains(key);
    return v ? v->if_object() : nullptr;
}

}  // namespace

std::optional<std::string> form_field(std::string_view body, std::string_view name) {
    while (!body.empty()) {
        auto amp = body.find('&');
        auto pair = body.substr(0, amp);
        body = amp == std::string_view::npos ? std::string_view{} : body.substr(amp + 1);
        auto eq = pair.find('=');
        auto key = form_decode(pair.substr(0, eq));
        if (!key || *key != name) continue;
        return form_decode(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1));
    }
    return std::nullopt;
}

std::string slack_signature(std::string_view secret, std::string_view timestamp, std::string_view body) {
    std::string base = "v0:";
    base += timestamp;
    base += ':';
    base += body;
    return "v0=" + ingest::hmac_sha256_hex(secret, base);
}

slack_verification verify_slack_signature(std::span<const slack_secret> secrets, std::string_view timestamp_header,
                                          std::string_view signature_header, std::string_view body, timestamp now) {
    slack_verification out;
    if (secrets.empty()) {
        out.error = "Slack interactivity is not configured: set signing_secret on a channel of type slack";
        return out;
    }
    if (signature_header.empty()) {
        out.error = "missing header X-Slack-Signature: Slack signs every request with the app's signing secret";
        return out;
    }
    if (timestamp_header.empty()) {
        out.error = "missing header X-Slack-Request-Timestamp";
        return out;
    }
    std::int64_t seconds = 0;
    auto [end, ec] = std::from_chars(timestamp_header.data(), timestamp_header.data() + timestamp_header.size(), seconds);
    if (ec != std::errc{} || end != timestamp_header.data() + timestamp_header.size() || seconds < 0 ||
        seconds > std::int64_t{1} << 40) {
        out.error = "header X-Slack-Request-Timestamp must be Unix seconds, not \"" +
                    std::string(timestamp_header.substr(0, 40)) + "\"";
        return out;
    }
    const auto sent = from_millis(seconds * 1000);
    const auto skew = sent > now ? sent - now : now - sent;
    if (skew > slack_max_skew) {
        out.error = "header X-Slack-Request-Timestamp is " + std::to_string(seconds) +
                    ", more than 5 minutes off the service clock (a replayed or delayed request)";
        return out;
    }
    // Lower-case the given hex so either case compares; lengths are public (v0= + 64).
    std::string given(signature_header);
    for (auto& c : given) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    bool any = false;
    for (const auto& s : secrets) {
        const std::string expected = slack_signature(s.secret, timestamp_header, body);
        bool match = given.size() == expected.size() &&
                     CRYPTO_memcmp(given.data(), expected.data(), expected.size()) == 0;
        if (match && !any) out.matched = &s;
        any = any || match;
    }
    if (!any) out.error = "header X-Slack-Signature does not match the request: wrong signing_secret, or the body "
                          "was changed";
    return out;
}

slack_decoded decode_slack_interaction(std::string_view body) {
    slack_decoded out;
    auto payload = form_field(body, "payload");
    if (!payload) {
        out.error = "body: expected application/x-www-form-urlencoded with a field \"payload\" (Slack's interaction "
                    "payload)";
        return out;
    }
    boost::system::error_code ec;
    json::value v = json::parse(*payload, ec);
    if (ec || !v.is_object()) {
        out.error = "payload: not a JSON object" + (ec ? ": " + ec.message() : std::string());
        return out;
    }
    const auto& root = v.get_object();
    bool too_long = false;
    auto type = text_of(&root, "type", max_field, too_long);
    if (!type) {
        out.error = "payload.type: missing or not a string";
        return out;
    }
    if (*type != "block_actions") return out;  // another interaction kind: nothing of ours
    const auto* actions = root.if_contains("actions");
    if (!actions || !actions->is_array()) {
        out.error = "payload.actions: missing or not an array";
        return out;
    }
    const auto* user = object_of(&root, "user");
    auto user_id = text_of(user, "id", max_field, too_long);
    if (!user_id || user_id->empty()) {
        out.error = too_long ? "payload.user.id: longer than 256 bytes" : "payload.user.id: missing or not a string";
        return out;
    }
    std::size_t index = 0;
    for (const auto& item : actions->get_array()) {
        const auto* a = item.if_object();
        auto action_id = text_of(a, "action_id", max_field, too_long);
        if (!action_id) {
            ++index;
            continue;
        }
        slack_action act;
        if (*action_id == "redflag_ack") {
            act.kind = slack_action_kind::ack;
        } else if (*action_id == "redflag_snooze_1d") {
            act.kind = slack_action_kind::snooze;
            act.snooze_for = day;
        } else if (*action_id == "redflag_snooze_7d") {
            act.kind = slack_action_kind::snooze;
            act.snooze_for = 7 * day;
        } else {
            ++index;
            continue;
        }
        const std::string where = "payload.actions[" + std::to_string(index) + "]";
        auto value = text_of(a, "value", max_alert_id, too_long);
        if (!value || value->empty()) {
            out.error = where + ".value: " + (too_long ? "longer than 128 bytes" : "missing: the alert id");
            return out;
        }
        auto action_ts = text_of(a, "action_ts", max_field, too_long);
        if (!action_ts || action_ts->empty()) {
            out.error = where + ".action_ts: " + (too_long ? "longer than 256 bytes" : "missing or not a string");
            return out;
        }
        act.action_id = *action_id;
        act.alert_id = std::move(*value);
        act.action_ts = std::move(*action_ts);
        act.user_id = std::move(*user_id);
        bool ignored = false;
        act.user_name = text_of(user, "username", max_field, ignored).value_or(
            text_of(user, "name", max_field, ignored).value_or(""));
        act.team_id = text_of(user, "team_id", max_field, ignored).value_or("");
        const auto* container = object_of(&root, "container");
        act.channel_id = text_of(container, "channel_id", max_field, ignored)
                             .value_or(text_of(object_of(&root, "channel"), "id", max_field, ignored).value_or(""));
        act.message_ts = text_of(container, "message_ts", max_field, ignored)
                             .value_or(text_of(object_of(&root, "message"), "ts", max_field, ignored).value_or(""));
        out.action = std::move(act);
        return out;
    }
    return out;
}

}  // namespace redflag::http
