#include "delivery/outbox.hpp"

#include "store/keys.hpp"
#include "store/store.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <cstring>

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

std::string channel_meta_key(std::string_view kind, std::string_view channel, std::string_view id) {
    std::string k(kind);
    k.push_back('\0');
    k.append(channel);
    k.push_back('\0');
    k.append(id);
    return k;
}

std::string thread_key(std::string_view channel, std::string_view alert_id) {
    return channel_meta_key("slack_thread", channel, alert_id);
}

std::string repost_prefix(std::string_view channel) { return channel_meta_key("repost", channel, {}); }

std::string repost_key(std::string_view channel, std::string_view alert_id) {
    return channel_meta_key("repost", channel, alert_id);
}

// The outbox key's length (4 bytes, little-endian), the key, then the record as stored.
std::string serialize_repost(const outbox_entry& e) {
    std::string v;
    auto size = static_cast<std::uint32_t>(e.storage_key.size());
    for (int i = 0; i < 4; ++i) v.push_back(static_cast<char>((size >> (8 * i)) & 0xff));
    v.append(e.storage_key);
    v.append(serialize(e));
    return v;
}

std::optional<outbox_entry> parse_repost(std::string_view value, std::string* error) {
    if (value.size() < 4) {
        if (error) *error = "re-post record shorter than its header";
        return std::nullopt;
    }
    std::uint32_t size = 0;
    for (int i = 0; i < 4; ++i) size |= std::uint32_t(static_cast<std::uint8_t>(value[i])) << (8 * i);
    if (value.size() - 4 < size) {
        if (error) *error = "re-post record shorter than its key";
        return std::nullopt;
    }
    return parse_entry(value.substr(4, size), value.substr(4 + size), error);
}

bool outbox_record_expired(std::string_view key, std::string_view value, timestamp horizon) {
    auto parts = split_outbox_key(key);
    if (!parts || parts->at >= horizon) return false;
    if (auto head = peek_record(value)) return is_final(head->outcome);
    auto e = parse_entry(key, value);  // a first-version (JSON) record
    return e && is_final(e->outcome);
}

std::optional<outbox_key_parts> split_outbox_key(std::string_view k) {
    outbox_key_parts p;
    auto first = k.find('\0');
    if (first == std::string_view::npos || k.size() < first + 1 + 8) return std::nullopt;
    p.alert_id = k.substr(0, first);
    p.at = from_millis(static_cast<std::int64_t>(store::keys::read_be64(k.substr(first + 1, 8))));
    auto rest = k.substr(first + 1 + 8);
    auto second = rest.find('\0');
    if (second == std::string_view::npos) return std::nullopt;
    p.notification_key = rest.substr(0, second);
    p.channel = rest.substr(second + 1);
    return p;
}

std::string_view outbox_ref::channel() const {
    auto parts = split_outbox_key(storage_key);
    return parts ? parts->channel : std::string_view{};
}

outbox_ref ref_of(const outbox_entry& e) { return {e.storage_key, e.n.created_at, e.next_attempt, e.n.kind}; }

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
    if (!n.segment.empty()) o["segment"] = n.segment;
    o["account_url"] = n.account_url;
    if (!n.ack_by.empty()) o["ack_by"] = n.ack_by;
    if (!n.ack_comment.empty()) o["ack_comment"] = n.ack_comment;
    if (n.snoozed_until) o["snoozed_until"] = time_text(*n.snoozed_until);
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
    n.segment = r.text("segment");
    n.account_url = r.text("account_url");
    n.ack_by = r.text("ack_by");
    n.ack_comment = r.text("ack_comment");
    n.snoozed_until = r.time("snoozed_until");
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

std::string serialize_json(const outbox_entry& e) { return json::serialize(stored_json(e)); }

// ------------------------------------------------------------------ binary records

namespace {

constexpr std::uint8_t record_version = 1;
constexpr std::uint8_t has_next_attempt = 1;
constexpr std::uint8_t has_sent_at = 2;

void put_varint(std::string& out, std::uint64_t v) {
    while (v >= 0x80) {
        out.push_back(static_cast<char>((v & 0x7f) | 0x80));
        v >>= 7;
    }
    out.push_back(static_cast<char>(v));
}

void put_i64(std::string& out, std::int64_t v) {
    char buf[8];
    auto u = static_cast<std::uint64_t>(v);
    for (int i = 0; i < 8; ++i) buf[i] = static_cast<char>((u >> (8 * i)) & 0xff);
    out.append(buf, 8);
}

void put_string(std::string& out, std::string_view s) {
    put_varint(out, s.size());
    out.append(s);
}

// The state part: everything the dispatcher changes, and the per-channel recipient.
void put_head(std::string& out, delivery_outcome outcome, notice_kind kind, std::uint32_t attempts,
              const std::optional<timestamp>& next_attempt, const std::optional<timestamp>& sent_at,
              std::string_view last_error, std::string_view silence, std::string_view recipient) {
    out.push_back(static_cast<char>(record_version));
    out.push_back(static_cast<char>(outcome));
    out.push_back(static_cast<char>(kind));
    out.push_back(static_cast<char>((next_attempt ? has_next_attempt : 0) | (sent_at ? has_sent_at : 0)));
    put_varint(out, attempts);
    if (next_attempt) put_i64(out, to_millis(*next_attempt));
    if (sent_at) put_i64(out, to_millis(*sent_at));
    put_string(out, last_error);
    put_string(out, silence);
    put_string(out, recipient);
}

// The content part: the same for every channel of one notification.
void put_content(std::string& out, const notification& n) {
    put_i64(out, to_millis(n.created_at));
    put_i64(out, to_millis(n.firing_since));
    out.push_back(n.resolved_at ? 1 : 0);
    if (n.resolved_at) put_i64(out, to_millis(*n.resolved_at));
    put_string(out, n.rule);
    put_string(out, n.severity);
    put_string(out, n.title);
    put_string(out, n.message);
    put_varint(out, n.labels.size());
    for (const auto& [k, v] : n.labels) {
        put_string(out, k);
        put_string(out, v);
    }
    put_string(out, n.account);
    put_string(out, n.account_name);
    put_string(out, n.csm);
    put_string(out, n.csm_email);
    put_string(out, n.account_url);
    put_string(out, n.ack_by);
    put_string(out, n.ack_comment);
    // Optional tails, appended last: records written before they existed end earlier. The
    // segment is written whenever a later tail follows, so the tails stay in order.
    if (!n.segment.empty() || n.snoozed_until) put_string(out, n.segment);
    if (n.snoozed_until) {
        out.push_back(1);
        put_i64(out, to_millis(*n.snoozed_until));
    }
}

// Reads the binary form; any overrun sets `bad` and yields zeros, checked once at the end.
struct cursor {
    std::string_view in;
    bool bad = false;

    std::uint8_t byte() {
        if (in.empty()) return fail(), 0;
        auto b = static_cast<std::uint8_t>(in[0]);
        in.remove_prefix(1);
        return b;
    }
    std::uint64_t varint() {
        std::uint64_t v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            auto b = byte();
            if (bad) return 0;
            v |= std::uint64_t(b & 0x7f) << shift;
            if (!(b & 0x80)) return v;
        }
        return fail(), 0;
    }
    std::int64_t i64() {
        if (in.size() < 8) return fail(), 0;
        std::uint64_t u = 0;
        for (int i = 7; i >= 0; --i) u = (u << 8) | static_cast<std::uint8_t>(in[i]);
        in.remove_prefix(8);
        return static_cast<std::int64_t>(u);
    }
    timestamp time() { return from_millis(i64()); }
    std::string text() {
        auto size = varint();
        if (bad || size > in.size()) return fail(), std::string();
        std::string s(in.substr(0, size));
        in.remove_prefix(size);
        return s;
    }
    void fail() { bad = true; }
};

std::optional<outbox_entry> parse_binary(std::string_view key, std::string_view value, std::string* error) {
    auto failed = [&](std::string why) -> std::optional<outbox_entry> {
        if (error) *error = std::move(why);
        return std::nullopt;
    };
    auto parts = split_outbox_key(key);
    if (!parts) return failed("malformed outbox key");
    cursor c{value};
    if (c.byte() != record_version) return failed("unknown record version");
    outbox_entry e;
    e.storage_key = std::string(key);
    auto outcome = c.byte();
    auto kind = c.byte();
    if (outcome >= std::size(delivery_outcome_names)) return failed("outcome: unknown outcome");
    if (kind >= std::size(notice_kind_names)) return failed("kind: unknown kind");
    e.outcome = static_cast<delivery_outcome>(outcome);
    auto flags = c.byte();
    e.attempts = static_cast<std::uint32_t>(c.varint());
    if (flags & has_next_attempt) e.next_attempt = c.time();
    if (flags & has_sent_at) e.sent_at = c.time();
    e.last_error = c.text();
    e.silence = c.text();
    auto& n = e.n;
    n.recipient = c.text();
    n.kind = static_cast<notice_kind>(kind);
    n.alert_id = std::string(parts->alert_id);
    n.at = parts->at;
    n.key = std::string(parts->notification_key);
    n.channel = std::string(parts->channel);
    n.created_at = c.time();
    n.firing_since = c.time();
    if (c.byte()) n.resolved_at = c.time();
    n.rule = c.text();
    n.severity = c.text();
    n.title = c.text();
    n.message = c.text();
    auto labels = c.varint();
    if (labels > c.in.size()) c.fail();  // each label takes at least two bytes
    for (std::uint64_t i = 0; i < labels && !c.bad; ++i) {
        auto name = c.text();
        n.labels.emplace_back(std::move(name), c.text());
    }
    n.account = c.text();
    n.account_name = c.text();
    n.csm = c.text();
    n.csm_email = c.text();
    n.account_url = c.text();
    n.ack_by = c.text();
    n.ack_comment = c.text();
    if (!c.in.empty()) n.segment = c.text();
    if (!c.bad && !c.in.empty()) {
        if (c.byte() != 1) return failed("trailing bytes after the record");
        n.snoozed_until = c.time();
    }
    if (c.bad) return failed("truncated record");
    if (!c.in.empty()) return failed("trailing bytes after the record");
    return e;
}

}  // namespace

std::string serialize(const outbox_entry& e) {
    std::string out;
    out.reserve(256 + e.n.message.size());
    put_head(out, e.outcome, e.n.kind, e.attempts, e.next_attempt, e.sent_at, e.last_error, e.silence, e.n.recipient);
    put_content(out, e.n);
    return out;
}

std::optional<record_head> peek_record(std::string_view value) {
    if (value.size() < 3 || static_cast<std::uint8_t>(value[0]) != record_version) return std::nullopt;
    auto outcome = static_cast<std::uint8_t>(value[1]);
    auto kind = static_cast<std::uint8_t>(value[2]);
    if (outcome >= std::size(delivery_outcome_names) || kind >= std::size(notice_kind_names)) return std::nullopt;
    return record_head{static_cast<delivery_outcome>(outcome), static_cast<notice_kind>(kind)};
}

void put_records(const notification& n, std::span<const delivery_target> targets, store::write_batch& batch,
                 std::vector<outbox_ref>& refs, std::string& scratch) {
    if (targets.empty()) return;
    // scratch = the content once; each record is its head + that content.
    scratch.clear();
    put_content(scratch, n);
    std::string value;
    for (const auto& t : targets) {
        value.clear();
        value.reserve(32 + t.recipient.size() + scratch.size());
        put_head(value, delivery_outcome::pending, n.kind, 0, std::nullopt, std::nullopt, {}, {}, t.recipient);
        value.append(scratch);
        auto& ref = refs.emplace_back();
        ref.storage_key = outbox_key(n.alert_id, n.at, n.key, t.channel);
        ref.created_at = n.created_at;
        ref.kind = n.kind;
        batch.put(store::column::outbox, ref.storage_key, value);
    }
}

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
    if (!value.empty() && value[0] != '{') return parse_binary(key, value, error);
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
