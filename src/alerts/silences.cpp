#include "alerts/silences.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <spdlog/spdlog.h>

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

json::object to_json(const silence& s, timestamp now) {
    json::object o;
    o["id"] = s.id;
    if (!s.rule.empty()) o["rule"] = s.rule;
    if (!s.account.empty()) o["account"] = s.account;
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
    if (!why.empty()) return fail(why);
    auto until_t = parse_rfc3339(*until);
    auto created_t = parse_rfc3339(*created);
    if (!until_t || !created_t) return fail("until and created_at must be RFC 3339 times");
    s.id = *id;
    s.rule = *rule;
    s.account = *account;
    s.reason = *reason;
    s.by = *by;
    s.until = *until_t;
    s.created_at = *created_t;
    return s;
}

std::optional<silence> silence_from_request(const json::value& body, timestamp now, std::string& error) {
    if (!body.is_object()) {
        error = "the body must be a JSON object: {\"rule\"?, \"account\"?, \"until\", \"reason\", \"by\"}";
        return std::nullopt;
    }
    const auto& o = body.get_object();
    for (const auto& member : o) {
        auto k = member.key();
        if (k != "rule" && k != "account" && k != "until" && k != "reason" && k != "by") {
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
    if (rule->empty() && account->empty()) {
        error = "a silence needs a \"rule\", an \"account\" or both";
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

store::result<silence> silence_registry::create(silence s) {
    s.id = random_id();
    store::write_batch batch(store_);
    batch.put(store::column::silences, s.id, json::serialize(to_json(s, s.created_at)));
    if (auto st = store_.write(batch); !st.ok()) return st;
    std::lock_guard lock(mutex_);
    silences_.push_back(s);
    return s;
}

store::result<std::optional<silence>> silence_registry::expire(const std::string& id, timestamp now) {
    std::lock_guard lock(mutex_);
    for (auto& s : silences_) {
        if (s.id != id) continue;
        silence expired = s;
        if (expired.until > now) expired.until = now;
        store::write_batch batch(store_);
        batch.put(store::column::silences, expired.id, json::serialize(to_json(expired, now)));
        if (auto st = store_.write(batch); !st.ok()) return st;
        s = expired;
        return std::optional<silence>(std::move(expired));
    }
    return std::optional<silence>{};
}

std::vector<silence> silence_registry::list() const {
    std::lock_guard lock(mutex_);
    return silences_;
}

std::optional<std::string> silence_registry::silenced_by(const notification& n, timestamp now) const {
    std::lock_guard lock(mutex_);
    for (const auto& s : silences_)
        if (s.active(now) && s.matches(n)) return s.id;
    return std::nullopt;
}

}  // namespace redflag::alerts
