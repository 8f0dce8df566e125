#include "alerts/silences.hpp"

#include "alerts/index.hpp"
#include "delivery/cards.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <spdlog/spdlog.h>

#include <re2/re2.h>

#include <cctype>
#include <random>

namespace redflag::alerts {
namespace json = boost::json;
namespace {

std::optional<std::string> text_member(const json::object& o, std::string_view key, std::string& error, bool required) {
    auto* v = o.if_contains(key);
    if (!v || v->is_null()) {
        if (required) error = "body field \"" + std::string(key) + "\" is required";
        return std::string{};
    }
    if (!v->is_string()) {
        error = "body field \"" + std::string(key) + "\" must be a string";
        return std::nullopt;
    }
    return std::string(v->get_string());
}

std::string random_id() {
    // Ids need to be unique and unguessable enough not to collide across restarts; they
    // are not secrets.
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    static constexpr char hex[] = "0123456789abcdef";
    std::string id;
    for (int i = 0; i < 2; ++i) {
        auto v = rng();
        for (int j = 0; j < 16; ++j, v >>= 4) id.push_back(hex[v & 0xf]);
    }
    return id;
}

}  // namespace

namespace matching {
class compiled_regex {
public:
    explicit compiled_regex(const std::string& pattern) : re_(anchored(pattern), options()) {}
    bool ok() const { return re_.ok(); }
    const std::string& error() const { return re_.error(); }
    bool full_match(const std::string& text) const { return RE2::FullMatch(text, re_); }

private:
    static std::string anchored(const std::string& p) { return "^(?:" + p + ")$"; }
    static RE2::Options options() {
        RE2::Options o;
        o.set_log_errors(false);
        o.set_max_mem(1 << 20);  // a pathological pattern fails to compile, not to run
        return o;
    }
    RE2 re_;
};
}  // namespace matching

namespace {

// The notification's value for a matcher name (see silences.hpp).
const std::string& matched_value(const notification& n, const std::string& name) {
    static const std::string empty;
    if (name == "rule") return n.rule;
    if (name == "account") return n.account;
    if (name == "account_name") return n.account_name;
    if (name == "severity") return n.severity;
    if (name == "csm") return n.csm_email.empty() ? n.csm : n.csm_email;
    if (name == "segment") return n.segment;
    for (const auto& [k, v] : n.labels)
        if (k == name) return v;
    return empty;
}

constexpr std::size_t max_matcher_length = 1024;

}  // namespace

bool matcher::matches(const notification& n) const {
    const std::string& v = matched_value(n, name);
    switch (op) {
        case match_op::equal: return v == value;
        case match_op::not_equal: return v != value;
        case match_op::regex: return regex && regex->full_match(v);
        case match_op::not_regex: return regex && !regex->full_match(v);
    }
    return false;
}

std::string matcher::text() const {
    std::string out = name;
    out += match_op_names[static_cast<std::size_t>(op)];
    out += '"';
    for (char c : value) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    out += '"';
    return out;
}

std::optional<matcher> parse_matcher(std::string_view text, std::string& error) {
    auto quoted = [&](std::string_view what) { return "matcher " + json::serialize(json::string(text)) + ": " + std::string(what); };
    if (text.size() > max_matcher_length) {
        error = "matcher longer than " + std::to_string(max_matcher_length) + " characters";
        return std::nullopt;
    }
    std::size_t i = 0;
    while (i < text.size() && (std::isalnum(static_cast<unsigned char>(text[i])) || text[i] == '_')) ++i;
    if (i == 0) {
        error = quoted("expected a name (rule, account, csm, segment, severity, account_name or a label) first");
        return std::nullopt;
    }
    matcher m;
    m.name = std::string(text.substr(0, i));
    auto rest = text.substr(i);
    if (rest.starts_with("=~")) m.op = match_op::regex;
    else if (rest.starts_with("!~")) m.op = match_op::not_regex;
    else if (rest.starts_with("!=")) m.op = match_op::not_equal;
    else if (rest.starts_with("=")) m.op = match_op::equal;
    else {
        error = quoted("expected =, !=, =~ or !~ after " + m.name);
        return std::nullopt;
    }
    rest.remove_prefix(m.op == match_op::equal ? 1 : 2);
    if (rest.starts_with('"')) {
        std::string value;
        std::size_t j = 1;
        bool closed = false;
        for (; j < rest.size(); ++j) {
            if (rest[j] == '\\' && j + 1 < rest.size()) {
                value += rest[++j];
            } else if (rest[j] == '"') {
                closed = true;
                break;
            } else {
                value += rest[j];
            }
        }
        if (!closed || j + 1 != rest.size()) {
            error = quoted(closed ? "unexpected text after the closing quote" : "the value's closing quote is missing");
            return std::nullopt;
        }
        m.value = std::move(value);
    } else {
        if (rest.find_first_of("\" \t") != std::string_view::npos) {
            error = quoted("a value with spaces or quotes must be in double quotes");
            return std::nullopt;
        }
        m.value = std::string(rest);
    }
    if (m.op == match_op::regex || m.op == match_op::not_regex) {
        auto re = std::make_shared<matching::compiled_regex>(m.value);
        if (!re->ok()) {
            error = quoted("invalid regular expression: " + re->error());
            return std::nullopt;
        }
        m.regex = std::move(re);
    }
    return m;
}

namespace {

// "matchers": an array of matcher strings; nullopt with the error naming the bad one.
std::optional<std::vector<matcher>> matchers_member(const json::object& o, std::string& error) {
    std::vector<matcher> out;
    auto* v = o.if_contains("matchers");
    if (!v || v->is_null()) return out;
    if (!v->is_array()) {
        error = "body field \"matchers\" must be an array of strings such as \"csm=~\\\".*@acme.com\\\"\"";
        return std::nullopt;
    }
    if (v->get_array().size() > 32) {
        error = "body field \"matchers\" holds more than 32 matchers";
        return std::nullopt;
    }
    std::size_t index = 0;
    for (const auto& item : v->get_array()) {
        if (!item.is_string()) {
            error = "body field \"matchers\"[" + std::to_string(index) + "] must be a string";
            return std::nullopt;
        }
        std::string why;
        auto m = parse_matcher(item.get_string(), why);
        if (!m) {
            error = "body field \"matchers\"[" + std::to_string(index) + "]: " + why;
            return std::nullopt;
        }
        out.push_back(std::move(*m));
        ++index;
    }
    return out;
}

}  // namespace

json::object to_json(const silence& s, timestamp now) {
    json::object o;
    o["id"] = s.id;
    if (!s.rule.empty()) o["rule"] = s.rule;
    if (!s.account.empty()) o["account"] = s.account;
    if (!s.matchers.empty()) {
        json::array matchers;
        for (const auto& m : s.matchers) matchers.push_back(json::string(m.text()));
        o["matchers"] = std::move(matchers);
    }
    o["until"] = format_rfc3339(s.until);
    o["reason"] = s.reason;
    o["by"] = s.by;
    o["created_at"] = format_rfc3339(s.created_at);
    o["state"] = s.active(now) ? "active" : (now < s.created_at ? "pending" : "expired");
    return o;
}

std::optional<silence> silence_from_json(const json::value& v, std::string* error) {
    std::string why;
    auto fail = [&](std::string what) -> std::optional<silence> {
        if (error) *error = std::move(what);
        return std::nullopt;
    };
    if (!v.is_object()) return fail("a silence must be an object");
    const auto& o = v.get_object();
    silence s;
    auto id = text_member(o, "id", why, true);
    auto rule = text_member(o, "rule", why, false);
    auto account = text_member(o, "account", why, false);
    auto reason = text_member(o, "reason", why, false);
    auto by = text_member(o, "by", why, false);
    auto until = text_member(o, "until", why, true);
    auto created = text_member(o, "created_at", why, true);
    std::optional<std::vector<matcher>> matchers;
    if (why.empty()) matchers = matchers_member(o, why);
    if (!why.empty()) return fail(why);
    auto until_t = parse_rfc3339(*until);
    auto created_t = parse_rfc3339(*created);
    if (!until_t || !created_t) return fail("until and created_at must be RFC 3339 times");
    s.id = *id;
    s.rule = *rule;
    s.account = *account;
    s.matchers = std::move(*matchers);
    s.reason = *reason;
    s.by = *by;
    s.until = *until_t;
    s.created_at = *created_t;
    return s;
}

std::optional<silence> silence_from_request(const json::value& body, timestamp now, std::string& error) {
    if (!body.is_object()) {
        error = "the body must be a JSON object: {\"rule\"?, \"account\"?, \"matchers\"?, \"until\", \"reason\", \"by\"}";
        return std::nullopt;
    }
    const auto& o = body.get_object();
    for (const auto& member : o) {
        auto k = member.key();
        if (k != "rule" && k != "account" && k != "matchers" && k != "until" && k != "reason" && k != "by") {
            error = "unknown body field \"" + std::string(k) + "\"";
            return std::nullopt;
        }
    }
    silence s;
    auto rule = text_member(o, "rule", error, false);
    auto account = text_member(o, "account", error, false);
    auto until = text_member(o, "until", error, true);
    auto reason = text_member(o, "reason", error, false);
    auto by = text_member(o, "by", error, true);
    if (!error.empty()) return std::nullopt;
    auto matchers = matchers_member(o, error);
    if (!matchers) return std::nullopt;
    if (rule->empty() && account->empty() && matchers->empty()) {
        error = "a silence needs a \"rule\", an \"account\" or \"matchers\"";
        return std::nullopt;
    }
    if (by->empty()) {
        error = "body field \"by\" is required: who silences";
        return std::nullopt;
    }
    auto until_t = parse_rfc3339(*until);
    if (!until_t) {
        error = "body field \"until\" must be an RFC 3339 time such as 2026-11-02T18:00:00Z, not \"" + *until + "\"";
        return std::nullopt;
    }
    if (*until_t <= now) {
        error = "body field \"until\" is not in the future";
        return std::nullopt;
    }
    s.rule = std::move(*rule);
    s.account = std::move(*account);
    s.matchers = std::move(*matchers);
    s.until = *until_t;
    s.reason = std::move(*reason);
    s.by = std::move(*by);
    s.created_at = now;
    return s;
}

store::status silence_registry::load() {
    std::vector<silence> loaded;
    unreadable_ = 0;
    auto st = store_.for_each_prefix(store::column::silences, "", [&](std::string_view, std::string_view value) {
        boost::system::error_code ec;
        auto parsed = json::parse(value, ec);
        std::string why = ec ? ec.message() : std::string{};
        std::optional<silence> s;
        if (!ec) s = silence_from_json(parsed, &why);
        if (!s) {
            spdlog::warn("skipping an unreadable silence: {}", why);
            ++unreadable_;
        } else {
            loaded.push_back(std::move(*s));
        }
        return true;
    });
    if (!st.ok()) return st;
    std::lock_guard lock(mutex_);
    silences_ = std::move(loaded);
    return {};
}

store::status silence_registry::put_card_rewrites(const silence& s, bool began, std::string_view suffix,
                                                  store::write_batch& batch,
                                                  std::vector<delivery::outbox_ref>& refs) const {
    if (!index_ || !sink_) return {};
    for (const auto& id : index_->firing_ids()) {
        auto cards = delivery::posted_cards(store_, id);
        if (!cards.ok()) return cards.error();
        for (const auto& card : cards.value()) {
            if (!s.matches(card.shown)) continue;
            delivery::outbox_entry e;
            if (began) {
                e = delivery::card_rewrite(card, delivery::notice_kind::silence_began, id + "-silence-" + s.id,
                                           s.created_at, s.created_at);
                e.n.ack_by = s.by;
                e.n.ack_comment = s.reason;
            } else {
                // Made now but due at `until` (its max_age counts from then).
                e = delivery::card_rewrite(card, delivery::notice_kind::silence_ended,
                                           id + "-unsilence-" + s.id + std::string(suffix), s.until, s.until);
                e.next_attempt = s.until;
            }
            e.n.snoozed_until = s.until;
            e.silence = s.id;
            batch.put(store::column::outbox, e.storage_key, delivery::serialize(e));
            refs.push_back(delivery::ref_of(e));
        }
    }
    return {};
}

store::result<silence> silence_registry::create(silence s) {
    s.id = random_id();
    store::write_batch batch(store_);
    batch.put(store::column::silences, s.id, json::serialize(to_json(s, s.created_at)));
    std::vector<delivery::outbox_ref> refs;
    if (auto st = put_card_rewrites(s, true, {}, batch, refs); !st.ok()) return st;
    if (auto st = put_card_rewrites(s, false, {}, batch, refs); !st.ok()) return st;
    if (auto st = store_.write(batch); !st.ok()) return st;
    {
        std::lock_guard lock(mutex_);
        silences_.push_back(s);
    }
    // After the silence takes effect, so no rewrite is due before it.
    if (!refs.empty()) sink_->enqueue(std::move(refs));
    return s;
}

store::result<std::optional<silence>> silence_registry::expire(const std::string& id, timestamp now) {
    std::lock_guard lock(mutex_);
    for (auto& s : silences_) {
        if (s.id != id) continue;
        silence expired = s;
        store::write_batch batch(store_);
        std::vector<delivery::outbox_ref> refs;
        if (expired.until > now) {
            expired.until = now;
            // The cards it covers read firing again now, not at the old `until`.
            auto suffix = "-" + std::to_string(to_millis(now));
            if (auto st = put_card_rewrites(expired, false, suffix, batch, refs); !st.ok()) return st;
        }
        batch.put(store::column::silences, expired.id, json::serialize(to_json(expired, now)));
        if (auto st = store_.write(batch); !st.ok()) return st;
        s = expired;
        if (!refs.empty()) sink_->enqueue(std::move(refs));
        return std::optional<silence>(std::move(expired));
    }
    return std::optional<silence>{};
}

std::vector<silence> silence_registry::list() const {
    std::lock_guard lock(mutex_);
    return silences_;
}

std::optional<timestamp> silence_registry::until_of(std::string_view id) const {
    std::lock_guard lock(mutex_);
    for (const auto& s : silences_)
        if (s.id == id) return s.until;
    return std::nullopt;
}

std::optional<std::string> silence_registry::silenced_by(const notification& n, timestamp now) const {
    std::lock_guard lock(mutex_);
    for (const auto& s : silences_)
        if (s.active(now) && s.matches(n)) return s.id;
    return std::nullopt;
}

}  // namespace redflag::alerts
