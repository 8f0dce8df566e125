#include "http/management.hpp"

#include "alerts/codec.hpp"
#include "alerts/queries.hpp"
#include "engine/history.hpp"
#include "http/access.hpp"
#include "http/account_order.hpp"
#include "http/account_view.hpp"
#include "report/account.hpp"
#include "report/gather.hpp"
#include "report/render.hpp"
#include "rules/expression.hpp"
#include "model/account_state.hpp"
#include "rules/diagnostic.hpp"

#include <boost/asio/post.hpp>
#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <limits>
#include <mutex>
#include <charconv>
#include <cstdint>
#include <memory>
#include <optional>

namespace redflag::http {
namespace json = boost::json;

// The playground's file name in diagnostics and backtests.
constexpr std::string_view playground_file = "playground.rules";

void management::handle(api_request request, std::function<void(api_response)> done) {
    if (cluster_ && route_in_cluster(request, done)) return;
    handle_here(std::move(request), std::move(done));
}

void management::handle_here(api_request request, std::function<void(api_response)> done) {
    using route = api_route;
    switch (request.route) {
        case route::get_account: return get_account(std::move(request), std::move(done));
        case route::list_accounts: return list_accounts(std::move(request), std::move(done));
        case route::backtest_rules:
            return boost::asio::post(queries_, [this, request = std::move(request), done = std::move(done)] {
                const auto* body = request.body.if_object();
                const auto* text = body ? body->if_contains("text") : nullptr;
                if (!text || !text->is_string())
                    return done(api_response::error(400, "body field \"text\" is required: the rule text to backtest"));
                api_response r;
                r.body = app_.backtest(std::string(playground_file), std::string(text->get_string()));
                if (!r.body.as_object()["ok"].as_bool()) r.status = 400;
                done(std::move(r));
            });
        case route::check_rules:
            return boost::asio::post(queries_, [this, request = std::move(request), done = std::move(done)]() mutable {
                check_rules(std::move(request), std::move(done));
            });
        case route::account_history:
            return boost::asio::post(queries_, [this, request = std::move(request), done = std::move(done)] {
                done(account_history(request));
            });
        case route::weekly_report: return weekly_report(std::move(request), std::move(done));
        case route::account_report: return account_report(std::move(request), std::move(done));
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

namespace {

// A whole number in [1, max] from query parameter `key`, `fallback` when absent; nullopt
// and `error` set when it is not one.
std::optional<std::size_t> limit_param(const api_request& request, std::size_t fallback, std::size_t max,
                                       std::string& error) {
    const auto* text = request.param("limit");
    if (!text) return fallback;
    std::size_t n = 0;
    auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), n);
    if (ec != std::errc{} || end != text->data() + text->size() || n == 0 || n > max) {
        error = "query parameter limit must be a whole number from 1 to " + std::to_string(max) + ", not \"" + *text + "\"";
        return std::nullopt;
    }
    return n;
}

// A day given as YYYY-MM-DD or an RFC 3339 instant.
std::optional<timestamp> day_param(const std::string& text) {
    if (auto t = parse_rfc3339(text)) return t;
    return parse_rfc3339(text + "T00:00:00Z");
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

}  // namespace

void management::list_accounts(api_request request, std::function<void(api_response)> done) {
    std::string sort = "arr";
    if (const auto* s = request.param("sort")) sort = *s;
    if (sort != "arr" && sort != "health" && sort != "renewal")
        return done(api_response::error(400, "query parameter sort must be arr, health or renewal, not \"" + sort + "\""));
    std::string error;
    auto limit = limit_param(request, default_account_page, max_account_page, error);
    if (!limit) return done(api_response::error(400, error));
    std::optional<std::pair<double, std::string>> after;
    if (const auto* cursor = request.param("cursor"); cursor && !cursor->empty()) {
        auto text = from_hex(*cursor);
        auto first = text ? text->find(':') : std::string::npos;
        auto second = first == std::string::npos ? std::string::npos : text->find(':', first + 1);
        std::uint64_t bits = 0;
        if (second == std::string::npos || text->substr(0, first) != sort ||
            std::from_chars(text->data() + first + 1, text->data() + second, bits).ec != std::errc{})
            return done(api_response::error(400, "query parameter cursor is not a next_cursor of this listing (the "
                                                 "sort must stay the same between pages)"));
        double key = 0;
        std::memcpy(&key, &bits, sizeof bits);
        after.emplace(key, text->substr(second + 1));
    }
    const std::string query = lower(request.param("q") ? *request.param("q") : std::string());
    // Each shard, on its own thread, orders its accounts that match and come after the
    // cursor by their sort key alone, and builds whole rows for its first `limit`; the last
    // shard to finish merges those pages and answers.
    struct gathered {
        std::mutex mutex;
        std::vector<std::pair<double, json::object>> rows;
        std::size_t after_cursor = 0;  // every shard's matching accounts after the cursor
    };
    auto all = std::make_shared<gathered>();
    auto id_of = [](const json::object& a) { return std::string_view(a.at("id").get_string()); };
    service_.post_all(
        [all, query, sort, after, limit = *limit, routing = cluster_](engine::core& core) {
            std::vector<std::pair<double, const engine::account_record*>> keyed;
            const auto* rules = core.rules().get();
            core.for_each_account([&](const engine::account_record& record) {
                const auto& s = record.state;
                // Cluster mode: the accounts this instance owns (the core still holds
                // those of partitions it gave up; management_cluster.cpp merges the members).
                if (routing && !routing->owns(s.id)) return;
                if (!query.empty()) {
                    const auto* name = std::get_if<std::string>(&s.get(model::profile_field::name));
                    if (lower(s.id).find(query) == std::string::npos &&
                        (!name || lower(*name).find(query) == std::string::npos))
                        return;
                }
                const double key = account_key(account_sort_fields(record, rules, sort), sort);
                if (after && (key < after->first || (key == after->first && s.id <= after->second))) return;
                keyed.emplace_back(key, &record);
            });
            const std::size_t n = std::min(limit, keyed.size());
            std::partial_sort(keyed.begin(), keyed.begin() + static_cast<std::ptrdiff_t>(n), keyed.end(),
                              [](const auto& x, const auto& y) {
                                  if (x.first != y.first) return x.first < y.first;
                                  return x.second->state.id < y.second->state.id;
                              });
            std::vector<std::pair<double, json::object>> mine;
            for (std::size_t i = 0; i < n; ++i) mine.emplace_back(keyed[i].first, account_summary(*keyed[i].second, rules));
            std::lock_guard lock(all->mutex);
            all->after_cursor += keyed.size();
            for (auto& r : mine) all->rows.push_back(std::move(r));
        },
        [all, limit = *limit, sort, id_of, done = std::move(done)] {
            auto& rows = all->rows;
            const std::size_t n = std::min(limit, rows.size());
            std::partial_sort(rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(n), rows.end(),
                              [&](const auto& x, const auto& y) {
                                  if (x.first != y.first) return x.first < y.first;
                                  return id_of(x.second) < id_of(y.second);
                              });
            json::array list;
            for (std::size_t i = 0; i < n; ++i) list.push_back(std::move(rows[i].second));
            json::object body{{"accounts", std::move(list)}, {"total_after_cursor", all->after_cursor}};
            body["next_cursor"] = all->after_cursor > n ? json::value(account_cursor(sort, rows[n - 1].first,
                                                                                     id_of(body["accounts"].as_array().back().as_object())))
                                                        : json::value(nullptr);
            api_response r;
            r.body = std::move(body);
            done(std::move(r));
        });
}

api_response management::account_history(const api_request& request) {
    std::optional<timestamp> from, to;
    for (auto [key, out] : {std::pair{"from", &from}, std::pair{"to", &to}}) {
        if (const auto* text = request.param(key)) {
            *out = day_param(*text);
            if (!*out)
                return api_response::error(400, std::string("query parameter ") + key +
                                                    " must be a day (YYYY-MM-DD) or an RFC 3339 instant, not \"" +
                                                    *text + "\"");
        }
    }
    const std::string score = request.param("score") ? *request.param("score") : std::string();
    json::array points;
    std::size_t unreadable = 0;
    auto st = store_.for_each_prefix(store::column::history, engine::history::prefix(request.id),
                                     [&](std::string_view key, std::string_view value) {
                                         auto p = engine::history::decode(key, value);
                                         if (!p) {
                                             ++unreadable;
                                             return true;
                                         }
                                         if (from && p->day < engine::history::day_of(*from)) return true;
                                         if (to && p->day > engine::history::day_of(*to)) return true;
                                         points.push_back(engine::history::to_json(*p, score));
                                         return true;
                                     });
    if (!st.ok()) return api_response::error(500, "reading the history failed: " + st.message());
    if (unreadable) spdlog::warn("account {}: {} unreadable history points skipped", request.id, unreadable);
    api_response r;
    r.body = json::object{{"account", request.id}, {"points", std::move(points)}};
    return r;
}

void management::weekly_report(api_request request, std::function<void(api_response)> done) {
    auto format = report::format::json;
    if (const auto* name = request.param("format")) {
        auto parsed = report::format_from(*name);
        if (!parsed) return done(api_response::error(400, "query parameter format must be text, html or json, not \"" + *name + "\""));
        format = *parsed;
    }
    std::string csm = request.param("csm") ? *request.param("csm") : std::string();
    const timestamp now = clock_.now();
    report::collect_accounts(service_, now, csm, [this, format, csm, now, done](std::vector<report::account_facts> accounts,
                                                                          std::vector<std::string> bands) {
        boost::asio::post(queries_, [this, format, csm, now, done, accounts = std::move(accounts),
                                     bands = std::move(bands)]() mutable {
            report::weekly_input in{now, csm, std::move(bands), std::move(accounts), {}};
            if (auto st = report::complete(store_, in); !st.ok())
                return done(api_response::error(500, "reading the report's data failed: " + st.message()));
            auto built = report::build_weekly(in);
            api_response r;
            switch (format) {
                case report::format::json: r.body = report::to_json(built); break;
                case report::format::text:
                    r.content_type = "text/plain; charset=utf-8";
                    r.text = report::render_text(built);
                    break;
                case report::format::html:
                    r.content_type = "text/html; charset=utf-8";
                    r.text = report::render_html(built);
                    break;
            }
            done(std::move(r));
        });
    });
}

void management::account_report(api_request request, std::function<void(api_response)> done) {
    const auto* format = request.param("format");
    const bool text = format && *format == "text";
    if (format && !text && *format != "json")
        return done(api_response::error(400, "query parameter format must be text or json, not \"" + *format + "\""));
    std::size_t days = 30;
    if (const auto* given = request.param("days")) {
        auto [end, ec] = std::from_chars(given->data(), given->data() + given->size(), days);
        if (ec != std::errc{} || end != given->data() + given->size() || days == 0 || days > 400)
            return done(api_response::error(400, "query parameter days must be a whole number from 1 to 400, not \"" +
                                                     *given + "\""));
    }
    const timestamp to = clock_.now(), from = to - static_cast<std::int64_t>(days) * day;
    auto id = request.id;
    service_.post(id, [this, id, from, to, text, done](engine::core& core) {
        const auto* record = core.find(id);
        if (!record) return done(api_response::error(404, "no account \"" + id + "\""));
        std::string name;
        if (const auto* s = std::get_if<std::string>(&record->state.get(model::profile_field::name))) name = *s;
        boost::asio::post(queries_, [this, id, name, from, to, text, done,
                                     activities = report::activities_of(record->state, from, to)] {
            std::vector<engine::history::point> history;
            std::vector<alerts::alert_record> records;
            alerts::alert_filter filter;
            filter.account = id;
            auto st = report::read_history(store_, id, history);
            if (st.ok()) st = alerts::list_alerts(store_, filter, records);
            if (!st.ok()) return done(api_response::error(500, "reading the report's data failed: " + st.message()));
            auto built = report::build_account(id, name, from, to, history, activities, records);
            api_response r;
            if (text) {
                r.content_type = "text/plain; charset=utf-8";
                r.text = report::render_text(built);
            } else {
                r.body = report::to_json(built);
            }
            done(std::move(r));
        });
    });
}

void management::check_rules(api_request request, std::function<void(api_response)> done) {
    const auto* body = request.body.if_object();
    const auto* text = body ? body->if_contains("text") : nullptr;
    if (!text || !text->is_string())
        return done(api_response::error(400, "body field \"text\" is required: the rule text to check"));
    const auto* want = body->if_contains("matches");
    const bool matches = want && want->is_bool() && want->get_bool();
    auto loaded = app_.load_with(std::string(playground_file), std::string(text->get_string()));
    // Only the playground's own problems: the running files were checked when they loaded.
    rules::diagnostics mine;
    for (const auto& d : loaded.problems)
        if (d.file == playground_file) mine.push_back(d);
    json::object out = json::parse(rules::render_json(mine)).as_object();
    out["ok"] = loaded.rules != nullptr;
    if (!loaded.rules && mine.empty())
        out["error"] = "the configured rule files do not load together with this text: " + rules::render_text(loaded.problems);
    std::vector<std::size_t> candidates;
    json::array names;
    if (loaded.rules) {
        auto defs = loaded.rules->rules();
        for (std::size_t i = 0; i < defs.size(); ++i)
            if (defs[i].file == playground_file) {
                candidates.push_back(i);
                names.emplace_back(defs[i].name);
            }
    }
    out["rules"] = std::move(names);
    if (!matches || candidates.empty()) {
        api_response r;
        r.body = std::move(out);
        return done(std::move(r));
    }
    // "Matches now": each shard evaluates the candidate set on its accounts' states as they
    // are, into its own scratch evaluation; no account, alert or notification changes.
    struct gathered {
        std::mutex mutex;
        json::array matched;
    };
    auto all = std::make_shared<gathered>();
    std::shared_ptr<const rules::rule_set> set = loaded.rules;
    const timestamp now = clock_.now();
    service_.post_all(
        [all, set, candidates, now](engine::core& core) {
            auto scratch = set->make_evaluation();
            auto defs = set->rules();
            json::array mine;
            core.for_each_account([&](const engine::account_record& record) {
                set->evaluate(record.state, std::max(now, core.now()), core.options().tick, scratch);
                for (auto i : candidates)
                    if (i < scratch.conditions.size() && scratch.conditions[i]) {
                        const auto* name = std::get_if<std::string>(&record.state.get(model::profile_field::name));
                        mine.push_back(json::object{{"rule", defs[i].name},
                                                    {"account", record.state.id},
                                                    {"name", name ? *name : std::string()},
                                                    {"arr", number_to_json(12 * record.state.mrr())}});
                    }
            });
            std::lock_guard lock(all->mutex);
            for (auto& m : mine) all->matched.push_back(std::move(m));
        },
        [all, out = std::move(out), done = std::move(done)]() mutable {
            auto& list = all->matched;
            std::sort(list.begin(), list.end(), [](const json::value& x, const json::value& y) {
                return std::pair(x.at("rule").get_string(), x.at("account").get_string()) <
                       std::pair(y.at("rule").get_string(), y.at("account").get_string());
            });
            out["matches"] = std::move(list);
            api_response r;
            r.body = std::move(out);
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
        // One state or several, comma-separated (state=pending,firing).
        std::string_view rest = *state;
        while (true) {
            auto comma = rest.find(',');
            auto name = rest.substr(0, comma);
            auto parsed = alerts::alert_state_from(name);
            if (!parsed || *parsed == alerts::alert_state::inactive)
                return api_response::error(400, "query parameter state must be pending, firing or resolved (or several, "
                                                "comma-separated), not \"" + *state + "\"");
            filter.states.push_back(*parsed);
            if (comma == std::string_view::npos) break;
            rest = rest.substr(comma + 1);
        }
    }
    auto text = [&](std::string_view key) -> std::optional<std::string> {
        if (const auto* v = request.param(key)) return *v;
        return std::nullopt;
    };
    filter.rule = text("rule");
    filter.account = text("account");
    filter.csm = text("csm");
    filter.segment = text("segment");
    // Cluster mode: the accounts this instance owns (management_cluster.cpp merges the members' lists).
    if (cluster_) filter.account_owned = [routing = cluster_](std::string_view account) { return routing->owns(account); };
    if (const auto* severity = request.param("severity")) {
        filter.severity = alerts::severity_from(*severity);
        if (!filter.severity)
            return api_response::error(400, "query parameter severity must be one of the rule severities "
                                            "(info, low, medium, high, critical), not \"" + *severity + "\"");
    }
    auto order = alerts::alert_order::newest;
    if (const auto* sort = request.param("sort")) {
        if (*sort == "arr") order = alerts::alert_order::arr;
        else if (*sort != "newest")
            return api_response::error(400, "query parameter sort must be newest or arr, not \"" + *sort + "\"");
    }
    // Without limit, every matching alert (as before pagination); with it, 1..max_alert_page.
    std::size_t limit = SIZE_MAX;
    if (const auto* text_limit = request.param("limit")) {
        std::size_t n = 0;
        auto [end, ec] = std::from_chars(text_limit->data(), text_limit->data() + text_limit->size(), n);
        if (ec != std::errc{} || end != text_limit->data() + text_limit->size() || n == 0 || n > max_alert_page)
            return api_response::error(400, "query parameter limit must be a whole number from 1 to " +
                                                std::to_string(max_alert_page) + ", not \"" + *text_limit + "\"");
        limit = n;
    }
    std::optional<alerts::alert_position> after;
    if (const auto* cursor = request.param("cursor"); cursor && !cursor->empty()) {
        after = alerts::decode_cursor(*cursor, order);
        if (!after)
            return api_response::error(400, "query parameter cursor is not a next_cursor of this listing (the sort "
                                            "must stay the same between pages)");
    }
    alerts::alert_page page;
    auto st = alerts::list_alert_page(store_, filter, order, after, limit, page, service_.alert_index());
    if (!st.ok()) return api_response::error(500, "reading alerts failed: " + st.message());
    json::array list;
    for (const auto& a : page.alerts) list.push_back(alerts::to_json(a));
    json::object body{{"alerts", std::move(list)}};
    if (page.next) body["next_cursor"] = alerts::encode_cursor(*page.next);
    else if (limit != SIZE_MAX) body["next_cursor"] = nullptr;
    api_response r;
    r.body = std::move(body);
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
