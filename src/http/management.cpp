#include "http/management.hpp"

#include "alerts/codec.hpp"
#include "alerts/queries.hpp"
#include "http/account_view.hpp"
#include "rules/expression.hpp"

#include <boost/asio/post.hpp>
#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <memory>
#include <optional>

namespace redflag::http {
namespace json = boost::json;

void management::handle(api_request request, std::function<void(api_response)> done) {
    using route = api_route;
    switch (request.route) {
        case route::get_account: return get_account(std::move(request), std::move(done));
        case route::list_alerts:
            return boost::asio::post(queries_, [this, request = std::move(request), done = std::move(done)] {
                done(list_alerts(request));
            });
        case route::get_alert:
            return boost::asio::post(queries_, [this, request = std::move(request), done = std::move(done)] {
                done(get_alert(request.id));
            });
        case route::ack_alert: return ack_alert(std::move(request), std::move(done));
        case route::snooze_alert: return snooze_alert(std::move(request), std::move(done));
        case route::slack_action: return slack_action(std::move(request), std::move(done));
        case route::reload:
            return boost::asio::post(queries_, [this, request = std::move(request), done = std::move(done)] {
                const auto* allow_empty = request.param("allow_empty");
                auto body = app_.reload(allow_empty && (*allow_empty == "1" || *allow_empty == "true"));
                api_response r;
                r.status = body["status"] == "ok" ? 200 : 400;
                r.body = std::move(body);
                done(std::move(r));
            });
        case route::list_silences:
        case route::create_silence:
        case route::delete_silence:
            // On the query thread: silences are written to the store before they act.
            return boost::asio::post(queries_, [this, request = std::move(request), done = std::move(done)] {
                done(silences(request));
            });
    }
    done(api_response::error(404, "no such route"));
}

void management::get_account(api_request request, std::function<void(api_response)> done) {
    auto id = request.id;
    service_.post(id, [this, id, done = std::move(done)](engine::core& core) {
        const auto* record = core.find(id);
        if (!record) return done(api_response::error(404, "no account \"" + id + "\""));
        api_response r;
        r.body = account_view(*record, core.rules().get(), clock_.now());
        done(std::move(r));
    });
}

api_response management::get_alert(const std::string& id) {
    auto found = alerts::find_alert(store_, id);
    if (!found.ok()) return api_response::error(500, "reading the alert failed: " + found.error().message());
    if (!found.value()) return api_response::error(404, "no alert \"" + id + "\"");
    // Its notifications and how each went, from the outbox, in transition order.
    json::array notifications;
    std::size_t unreadable = 0;
    auto st = alerts::notification_history(store_, id, notifications, unreadable);
    metrics_.degraded_records(metrics::degraded::outbox_record).Increment(double(unreadable));
    if (!st.ok()) return api_response::error(500, "reading the alert's notifications failed: " + st.message());
    auto a = alerts::to_json(*found.value());
    a["notifications"] = std::move(notifications);
    api_response r;
    r.body = std::move(a);
    return r;
}

api_response management::silences(const api_request& request) {
    using route = api_route;
    const auto now = clock_.now();
    if (request.route == route::list_silences) {
        json::array list;
        auto all = silences_.list();
        // Newest first, like the alerts.
        std::sort(all.begin(), all.end(), [](const auto& x, const auto& y) { return x.created_at > y.created_at; });
        for (const auto& s : all) list.push_back(alerts::to_json(s, now));
        api_response r;
        r.body = json::object{{"silences", std::move(list)}};
        return r;
    }
    if (request.route == route::delete_silence) {
        auto expired = silences_.expire(request.id, now);
        if (!expired.ok()) return api_response::error(500, "storing the silence failed: " + expired.error().message());
        if (!expired.value()) return api_response::error(404, "no silence \"" + request.id + "\"");
        spdlog::info("silence {} expired", request.id);
        api_response r;
        r.body = alerts::to_json(*expired.value(), now);
        return r;
    }
    std::string error;
    auto s = alerts::silence_from_request(request.body, now, error);
    if (!s) return api_response::error(400, error);
    auto created = silences_.create(std::move(*s));
    if (!created.ok()) return api_response::error(500, "storing the silence failed: " + created.error().message());
    const auto& c = created.value();
    spdlog::info("silence {} by {} until {}: rule {} account {}: {}", c.id, c.by, format_rfc3339(c.until),
                 c.rule.empty() ? "*" : c.rule, c.account.empty() ? "*" : c.account, c.reason);
    api_response r;
    r.status = 201;
    r.headers.emplace_back("Location", "/v1/silences/" + c.id);
    r.body = alerts::to_json(c, now);
    return r;
}

api_response management::list_alerts(const api_request& request) {
    alerts::alert_filter filter;
    if (const auto* state = request.param("state")) {
        filter.state = alerts::alert_state_from(*state);
        if (!filter.state)
            return api_response::error(400, "query parameter state must be pending, firing or resolved, not \"" +
                                                      *state + "\"");
    }
    auto text = [&](std::string_view key) -> std::optional<std::string> {
        if (const auto* v = request.param(key)) return *v;
        return std::nullopt;
    };
    filter.rule = text("rule");
    filter.account = text("account");
    filter.csm = text("csm");
    std::vector<alerts::alert_record> found;
    auto st = alerts::list_alerts(store_, filter, found);
    if (!st.ok()) return api_response::error(500, "reading alerts failed: " + st.message());
    json::array list;
    for (const auto& a : found) list.push_back(alerts::to_json(a));
    api_response r;
    r.body = json::object{{"alerts", std::move(list)}};
    return r;
}

void management::ack_alert(api_request request, std::function<void(api_response)> done) {
    boost::asio::post(queries_, [this, request = std::move(request), done = std::move(done)]() mutable {
        auto found = alerts::find_alert(store_, request.id);
        if (!found.ok())
            return done(api_response::error(500, "reading the alert failed: " + found.error().message()));
        if (!found.value()) return done(api_response::error(404, "no alert \"" + request.id + "\""));
        alerts::acknowledgement ack;
        if (request.body.is_object()) {
            const auto& body = request.body.as_object();
            if (auto* by = body.if_contains("by"); by && by->is_string()) ack.by = std::string(by->as_string());
            if (auto* c = body.if_contains("comment"); c && c->is_string()) ack.comment = std::string(c->as_string());
        }
        if (ack.by.empty()) return done(api_response::error(400, "body field \"by\" is required: who acknowledges"));
        ack.at = clock_.now();
        act(found.value()->a.account, request.id, std::move(ack), std::nullopt, std::move(done));
    });
}

void management::act(std::string account, std::string id, std::optional<alerts::acknowledgement> ack,
                     std::optional<alerts::snooze> snooze, std::function<void(api_response)> done) {
    // Answered once durable: the shard applies it in its next write round and answers
    // after that round's write (issue 11: acks were answered before the write, and a
    // failed write lost them).
    struct outcome {
        std::optional<json::value> alert;
        bool duplicate = false;
    };
    auto result = std::make_shared<outcome>();
    const bool snoozing = snooze.has_value();
    engine::service::write_call call;
    call.apply = [account, id, ack = std::move(ack), snooze = std::move(snooze), result](engine::core& core) {
        const auto* record = core.find(account);
        const auto* alert = record ? record->alerts.find_id(id) : nullptr;
        // The same request again (a Slack retry): acted once, answered as done.
        const std::string& key = ack ? ack->key : snooze->key;
        if (alert && alert->acted_on(key)) {
            result->duplicate = true;
            result->alert = json::value(alerts::to_json(*alert));
            return;
        }
        bool applied = ack ? core.acknowledge(account, id, *ack) : core.snooze(account, id, *snooze);
        if (!applied) return;
        record = core.find(account);
        alert = record ? record->alerts.find_id(id) : nullptr;
        result->alert = alert ? json::value(alerts::to_json(*alert)) : json::value(json::object{{"id", id}});
    };
    call.written = [id, result, snoozing, done = std::move(done)](const store::status& st) {
        if (!result->alert)
            return done(api_response::error(
                409, snoozing ? "alert \"" + id + "\" is not firing: only firing alerts can be snoozed"
                              : "alert \"" + id + "\" is not active: only pending or firing alerts can be acknowledged"));
        if (!result->duplicate && !st.ok())
            return done(api_response::error(st.error_code() == store::status::code::no_space ? 503 : 500,
                                            std::string("storing the ") + (snoozing ? "snooze" : "ack") +
                                                " failed, it is not recorded: " + st.message()));
        api_response r;
        if (result->duplicate) result->alert->as_object()["duplicate"] = true;
        r.body = std::move(*result->alert);
        done(std::move(r));
    };
    service_.post_write(account, std::move(call));
}

namespace {

// The longest snooze: a year (a longer hold is a silence, or an ack).
constexpr duration max_snooze = 365 * day;

std::string string_member(const json::object& o, std::string_view key) {
    if (auto* v = o.if_contains(key); v && v->is_string()) return std::string(v->as_string());
    return {};
}

}  // namespace

void management::snooze_alert(api_request request, std::function<void(api_response)> done) {
    boost::asio::post(queries_, [this, request = std::move(request), done = std::move(done)]() mutable {
        if (!request.body.is_object())
            return done(api_response::error(400, "body: expected a JSON object {\"for\": \"7d\", \"by\": ...}"));
        const auto& body = request.body.as_object();
        for (const auto& member : body)
            if (member.key() != "for" && member.key() != "by" && member.key() != "comment" && member.key() != "wake_if")
                return done(api_response::error(400, "body field \"" + std::string(member.key()) +
                                                         "\" is unknown: use for, by, comment, wake_if"));
        auto* length = body.if_contains("for");
        if (!length || !length->is_string())
            return done(api_response::error(400, "body field \"for\" is required: how long, such as \"7d\""));
        auto d = parse_duration(length->as_string());
        if (!d || *d <= duration::zero() || *d > max_snooze)
            return done(api_response::error(400, "body field \"for\" must be a duration from 1s to 365d, such as "
                                                 "\"7d\", not \"" + std::string(length->as_string()) + "\""));
        alerts::snooze z;
        z.by = string_member(body, "by");
        if (z.by.empty()) return done(api_response::error(400, "body field \"by\" is required: who snoozes"));
        z.comment = string_member(body, "comment");
        if (auto* wake_if = body.if_contains("wake_if"); wake_if && !wake_if->is_null()) {
            if (!wake_if->is_string())
                return done(api_response::error(400, "body field \"wake_if\" must be a condition as a string, such as "
                                                     "\"health.score < 30\""));
            z.wake_if = std::string(wake_if->as_string());
            // Type-checked like a rule's `when`, against the names of the running rules.
            auto rules = service_.rules();
            auto compiled = rules::compile_condition(z.wake_if, "wake_if", rules.get());
            if (!compiled.compiled) {
                json::array problems;
                std::string first;
                for (const auto& d : compiled.problems) {
                    if (d.level != rules::severity::error) continue;
                    std::string where = std::to_string(d.line) + ":" + std::to_string(d.column);
                    if (first.empty()) first = "body field \"wake_if\": " + where + ": " + d.message;
                    problems.push_back(json::object{{"line", d.line}, {"column", d.column}, {"message", d.message},
                                                    {"hint", d.hint}});
                }
                auto r = api_response::error(400, first.empty() ? "body field \"wake_if\" does not compile" : first);
                r.body.as_object()["problems"] = std::move(problems);
                return done(std::move(r));
            }
        }
        z.at = clock_.now();
        z.until = z.at + *d;
        auto found = alerts::find_alert(store_, request.id);
        if (!found.ok())
            return done(api_response::error(500, "reading the alert failed: " + found.error().message()));
        if (!found.value()) return done(api_response::error(404, "no alert \"" + request.id + "\""));
        act(found.value()->a.account, request.id, std::nullopt, std::move(z), std::move(done));
    });
}

void management::slack_action(api_request request, std::function<void(api_response)> done) {
    boost::asio::post(queries_, [this, request = std::move(request), done = std::move(done)]() mutable {
        const auto& body = request.body.as_object();  // built by the server, always an object
        auto found = alerts::find_alert(store_, request.id);
        if (!found.ok())
            return done(api_response::error(500, "reading the alert failed: " + found.error().message()));
        if (!found.value()) return done(api_response::error(404, "no alert \"" + request.id + "\""));
        const auto& stored = found.value()->a;
        const std::string key = string_member(body, "key");
        if (stored.acted_on(key)) {
            // A retry of a click already recorded: nothing more to do (and no users.info).
            auto a = alerts::to_json(*found.value());
            a["duplicate"] = true;
            api_response r;
            r.body = std::move(a);
            return done(std::move(r));
        }
        const std::string user_id = string_member(body, "user_id");
        std::string by = app_.slack_user_email(string_member(body, "channel"), user_id);
        if (by.empty()) by = "slack:" + user_id;
        const auto now = clock_.now();
        if (string_member(body, "action") == "ack") {
            alerts::acknowledgement ack;
            ack.by = std::move(by);
            ack.comment = "from Slack";
            ack.at = now;
            ack.key = key;
            return act(stored.account, request.id, std::move(ack), std::nullopt, std::move(done));
        }
        alerts::snooze z;
        z.by = std::move(by);
        z.comment = "from Slack";
        z.at = now;
        z.until = now + parse_duration(string_member(body, "for")).value_or(day);
        z.key = key;
        // The seam for a rule's own `snooze_wake_if` clause (none in the language yet).
        z.wake_if = app_.rule_snooze_wake_if(stored.rule);
        act(stored.account, request.id, std::nullopt, std::move(z), std::move(done));
    });
}

}  // namespace redflag::http
