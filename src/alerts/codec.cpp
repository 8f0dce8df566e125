#include "alerts/codec.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <charconv>

namespace redflag::alerts {
namespace json = boost::json;
namespace {

json::string time_text(timestamp t) { return json::string(format_rfc3339(t)); }

void put_optional(json::object& o, std::string_view key, const std::optional<timestamp>& t) {
    if (t) o[key] = time_text(*t);
}

// A small reader that records the first problem and keeps going with defaults, so
// decoding is a flat sequence of reads followed by one check.
struct reader {
    const json::object& object;
    std::string problem;

    void fail(std::string_view key, std::string_view what) {
        if (problem.empty()) problem = std::string(key) + ": " + std::string(what);
    }
    const json::value* member(std::string_view key) const {
        auto it = object.find(key);
        return it == object.end() ? nullptr : &it->value();
    }
    std::string string(std::string_view key, bool required = true) {
        const auto* v = member(key);
        if (v == nullptr || v->is_null()) {
            if (required) fail(key, "missing");
            return {};
        }
        if (!v->is_string()) {
            fail(key, "expected a string");
            return {};
        }
        return std::string(v->get_string());
    }
    std::optional<timestamp> time(std::string_view key, bool required) {
        const auto* v = member(key);
        if (v == nullptr || v->is_null()) {
            if (required) fail(key, "missing");
            return std::nullopt;
        }
        if (!v->is_string()) {
            fail(key, "expected an RFC 3339 string");
            return std::nullopt;
        }
        auto t = parse_rfc3339(v->get_string());
        if (!t) fail(key, "expected an RFC 3339 string");
        return t;
    }
};

std::optional<timestamp> time_of(const json::object& o, std::string_view key) {
    auto it = o.find(key);
    if (it == o.end() || !it->value().is_string()) return std::nullopt;
    return parse_rfc3339(it->value().get_string());
}

}  // namespace

json::object to_json(const alert& a) {
    json::object o;
    o["id"] = a.id;
    o["rule"] = a.rule;
    o["rule_fingerprint"] = std::to_string(a.rule_fingerprint);
    o["account"] = a.account;
    o["severity"] = name_of(a.severity);
    o["state"] = name_of(a.state);
    o["started_at"] = time_text(a.started_at);
    put_optional(o, "firing_since", a.firing_since);
    put_optional(o, "cleared_since", a.cleared_since);
    put_optional(o, "resolved_at", a.resolved_at);
    json::array transitions;
    transitions.reserve(a.transitions.size());
    for (const auto& t : a.transitions)
        transitions.push_back(json::object{{"from", name_of(t.from)}, {"to", name_of(t.to)}, {"at", time_text(t.at)}});
    o["transitions"] = std::move(transitions);
    json::array acks;
    for (const auto& k : a.acks) {
        json::object ack{{"by", k.by}, {"comment", k.comment}, {"at", time_text(k.at)}};
        if (!k.key.empty()) ack["key"] = k.key;
        acks.push_back(std::move(ack));
    }
    o["acks"] = std::move(acks);
    if (!a.snoozes.empty()) {
        json::array snoozes;
        for (const auto& s : a.snoozes) {
            json::object z{{"until", time_text(s.until)}, {"by", s.by}, {"comment", s.comment}, {"at", time_text(s.at)}};
            if (!s.wake_if.empty()) z["wake_if"] = s.wake_if;
            if (!s.key.empty()) z["key"] = s.key;
            if (s.woke_at) {
                z["woke_at"] = time_text(*s.woke_at);
                z["woke_why"] = s.woke_why;
            }
            snoozes.push_back(std::move(z));
        }
        o["snoozes"] = std::move(snoozes);
    }
    put_optional(o, "next_repeat", a.next_repeat);
    put_optional(o, "last_notified", a.last_notified);
    o["notifications"] = a.notifications;
    o["inhibited"] = !a.inhibited_by.empty();
    if (!a.inhibited_by.empty()) o["inhibited_by"] = a.inhibited_by;
    if (a.held) o["held"] = true;
    put_optional(o, "escalate_at", a.escalate_at);
    if (a.escalated) o["escalated"] = true;
    return o;
}

std::string serialize(const alert& a) { return json::serialize(to_json(a)); }

std::optional<alert> alert_from_json(const json::value& v, std::string* error) {
    const auto* object = v.if_object();
    if (object == nullptr) {
        if (error) *error = "an alert record must be a JSON object";
        return std::nullopt;
    }
    reader r{*object, {}};
    alert a;
    a.id = r.string("id");
    a.rule = r.string("rule");
    a.account = r.string("account");
    auto fingerprint = r.string("rule_fingerprint", false);
    if (!fingerprint.empty()) {
        auto [end, ec] = std::from_chars(fingerprint.data(), fingerprint.data() + fingerprint.size(), a.rule_fingerprint);
        if (ec != std::errc{} || end != fingerprint.data() + fingerprint.size())
            r.fail("rule_fingerprint", "expected a decimal uint64");
    }
    auto severity = severity_from(r.string("severity"));
    if (severity) a.severity = *severity; else r.fail("severity", "unknown severity");
    auto state = alert_state_from(r.string("state"));
    if (state) a.state = *state; else r.fail("state", "unknown state");
    if (auto t = r.time("started_at", true)) a.started_at = *t;
    a.firing_since = r.time("firing_since", false);
    a.cleared_since = r.time("cleared_since", false);
    a.resolved_at = r.time("resolved_at", false);
    a.next_repeat = r.time("next_repeat", false);
    a.last_notified = r.time("last_notified", false);
    a.inhibited_by = r.string("inhibited_by", false);
    a.escalate_at = r.time("escalate_at", false);
    auto flag = [&](std::string_view key) {
        const auto* v = r.member(key);
        if (v == nullptr || v->is_null()) return false;
        if (!v->is_bool()) r.fail(key, "expected true or false");
        return v->is_bool() && v->get_bool();
    };
    a.held = flag("held");
    a.escalated = flag("escalated");
    if (const auto* n = r.member("notifications")) {
        if (n->is_uint64()) a.notifications = static_cast<std::uint32_t>(n->get_uint64());
        else if (n->is_int64() && n->get_int64() >= 0) a.notifications = static_cast<std::uint32_t>(n->get_int64());
        else r.fail("notifications", "expected a count");
    }
    if (const auto* list = r.member("transitions")) {
        if (!list->is_array()) r.fail("transitions", "expected an array");
        else
            for (const auto& item : list->get_array()) {
                const auto* t = item.if_object();
                std::optional<alert_state> from, to;
                std::optional<timestamp> at;
                if (t) {
                    if (auto it = t->find("from"); it != t->end() && it->value().is_string())
                        from = alert_state_from(it->value().get_string());
                    if (auto it = t->find("to"); it != t->end() && it->value().is_string())
                        to = alert_state_from(it->value().get_string());
                    at = time_of(*t, "at");
                }
                if (!from || !to || !at) {
                    r.fail("transitions", "expected {from, to, at}");
                    break;
                }
                a.transitions.push_back({*from, *to, *at});
            }
    }
    if (const auto* list = r.member("acks")) {
        if (!list->is_array()) r.fail("acks", "expected an array");
        else
            for (const auto& item : list->get_array()) {
                const auto* k = item.if_object();
                if (k == nullptr) {
                    r.fail("acks", "expected {by, comment, at}");
                    break;
                }
                reader ack{*k, {}};
                acknowledgement entry;
                entry.by = ack.string("by");
                entry.comment = ack.string("comment", false);
                entry.key = ack.string("key", false);
                if (auto t = ack.time("at", true)) entry.at = *t;
                if (!ack.problem.empty()) {
                    r.fail("acks", ack.problem);
                    break;
                }
                a.acks.push_back(std::move(entry));
            }
    }
    if (const auto* list = r.member("snoozes")) {
        if (!list->is_array()) r.fail("snoozes", "expected an array");
        else
            for (const auto& item : list->get_array()) {
                const auto* k = item.if_object();
                if (k == nullptr) {
                    r.fail("snoozes", "expected {until, by, comment, at}");
                    break;
                }
                reader z{*k, {}};
                snooze entry;
                if (auto t = z.time("until", true)) entry.until = *t;
                entry.by = z.string("by");
                entry.comment = z.string("comment", false);
                if (auto t = z.time("at", true)) entry.at = *t;
                entry.wake_if = z.string("wake_if", false);
                entry.key = z.string("key", false);
                entry.woke_at = z.time("woke_at", false);
                entry.woke_why = z.string("woke_why", false);
                if (!z.problem.empty()) {
                    r.fail("snoozes", z.problem);
                    break;
                }
                a.snoozes.push_back(std::move(entry));
            }
    }
    if (!r.problem.empty()) {
        if (error) *error = std::move(r.problem);
        return std::nullopt;
    }
    return a;
}

std::optional<alert> parse_alert(std::string_view text, std::string* error) {
    boost::system::error_code ec;
    auto v = json::parse(text, ec);
    if (ec) {
        if (error) *error = "malformed JSON: " + ec.message();
        return std::nullopt;
    }
    return alert_from_json(v, error);
}

json::object to_json(const alert_event& e) {
    json::object o;
    o["kind"] = event_kind_names[static_cast<std::size_t>(e.kind)];
    o["from"] = name_of(e.from);
    o["to"] = name_of(e.to);
    o["at"] = time_text(e.at);
    o["notify"] = e.notify;
    o["rule"] = e.record.rule;
    o["account"] = e.record.account;
    o["alert"] = e.record.id;
    o["severity"] = name_of(e.record.severity);
    o["message"] = e.message;
    return o;
}

delivery::firing_answer record_status::still_firing(std::string_view alert_id) const {
    using state = delivery::firing_answer::state;
    delivery::firing_answer answer;
    auto stored = store_.get(store::column::alerts, alert_id);
    if (!stored.ok()) {
        answer.error = stored.error().message();
        return answer;
    }
    if (!stored.value()) {
        answer.is = state::over;  // gone from the store (retention): over
        return answer;
    }
    std::string why;
    auto a = parse_alert(*stored.value(), &why);
    if (!a) {
        answer.error = "unreadable alert record: " + why;
        return answer;
    }
    answer.is = a->state == alert_state::firing ? state::firing : state::over;
    answer.ended_at = a->resolved_at;
    if (a->acknowledged()) {
        answer.acknowledged_by = a->acks.front().by;
        answer.ack_comment = a->acks.front().comment;
    }
    return answer;
}

timestamp last_change(const alert& a) {
    timestamp last = a.resolved_at.value_or(a.started_at);
    if (!a.transitions.empty()) last = std::max(last, a.transitions.back().at);
    return last;
}

bool alert_record_expired(std::string_view /*key*/, std::string_view value, timestamp horizon) {
    auto a = parse_alert(value);
    return a && !a->active() && last_change(*a) < horizon;
}

}  // namespace redflag::alerts
