#include "app/serve.hpp"

#include "alerts/codec.hpp"
#include "app/account_view.hpp"
#include "app/config.hpp"
#include "delivery/builder.hpp"
#include "delivery/channels/make_sender.hpp"
#include "delivery/dispatcher.hpp"
#include "delivery/silences.hpp"
#include "engine/service.hpp"
#include "http/api.hpp"
#include "http/server.hpp"
#include "kpi/hub.hpp"
#include "metrics/engine_metrics.hpp"
#include "rules/rule_set.hpp"
#include "store/store.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>

namespace redflag::app {
namespace {

namespace json = boost::json;

std::set<std::string> channel_names(const config& c) {
    std::set<std::string> names;
    for (const auto& [name, ch] : c.channels) names.insert(name);
    return names;
}

rules::load_result load_rules(const config& c) {
    rules::load_options options;
    options.channels = channel_names(c);
    return rules::load(c.rules.paths, options);
}

json::array diagnostics_json(const rules::diagnostics& problems) {
    json::array out;
    for (const auto& d : problems)
        out.push_back(json::object{{"file", d.file},
                                   {"line", d.line},
                                   {"column", d.column},
                                   {"severity", d.level == rules::severity::error ? "error" : "warning"},
                                   {"code", d.code},
                                   {"message", d.message},
                                   {"hint", d.hint}});
    return out;
}

kpi::settings kpi_settings(const config& c) {
    kpi::settings s;
    s.currency = c.kpi.currency;
    s.gross_margin = c.kpi.gross_margin;
    s.stack.assign(c.kpi.stack.begin(), c.kpi.stack.end());
    s.per_account_metrics = c.kpi.per_account_metrics;
    return s;
}

// What delivery needs of the config and a rule set: the notification builder (templates
// compiled against the rules' names) and one sender per channel. Errors are messages.
struct delivery_setup {
    std::shared_ptr<const delivery::notification_builder> builder;
    std::vector<delivery::channel_setup> channels;
    std::vector<std::string> errors;
};

delivery_setup make_delivery_setup(const config& c, std::shared_ptr<const rules::rule_set> rules) {
    delivery_setup out;
    std::vector<delivery::channel_outline> outlines;
    for (const auto& [name, ch] : c.channels) {
        outlines.push_back({name, ch.type, ch.to});
        delivery::channel_setup setup;
        setup.name = name;
        setup.sender = delivery::channels::make_sender(ch);
        if (!ch.digest.empty()) {
            std::string error;
            setup.digest = delivery::digest_schedule::parse(ch.digest, c.engine.timezone, error);
            if (!setup.digest) out.errors.push_back("channels." + name + ".digest: " + error);
        }
        out.channels.push_back(std::move(setup));
    }
    auto built = delivery::notification_builder::make(c.ui.account_url, std::move(outlines), std::move(rules));
    out.errors.insert(out.errors.end(), built.errors.begin(), built.errors.end());
    out.builder = std::move(built.builder);
    return out;
}

// Everything `serve` runs, and the management API on top of the engine.
class application final : public http::api {
public:
    application(config cfg, std::shared_ptr<const rules::rule_set> rules, std::unique_ptr<store::store> storage)
        : config_(std::move(cfg)), store_(std::move(storage)), metrics_(), rules_count_(rules ? rules->rules().size() : 0) {
        engine::service_options options;
        options.shards = config_.engine.threads;
        options.tick = config_.engine.tick;
        options.queue_events = config_.engine.queue_events;
        options.snapshot_interval = config_.engine.snapshot_interval;
        options.retention = config_.storage.retention;
        options.pause_shards = std::getenv("REDFLAG_DEBUG_PAUSE_SHARDS") != nullptr;
        kpi_ = std::make_unique<kpi::hub>(kpi_settings(config_), *metrics_.registry(), options.shards);
        options.kpi = kpi_.get();
        metrics_.on_scrape([this] { kpi_->refresh_metrics(); });
        service_ = std::make_unique<engine::service>(options, *store_, clock_, metrics_, rules);
        metrics_.rules_loaded().Set(double(rules_count_));
        silences_ = std::make_unique<delivery::silence_registry>(*store_);
        delivery::dispatcher_options delivery_options;
        delivery_options.max_age = config_.delivery.max_age;
        dispatcher_ = std::make_unique<delivery::dispatcher>(delivery_options, *store_, clock_, metrics_, silences_.get());
        initial_rules_ = std::move(rules);
    }

    bool start(std::string& error) {
        if (!service_->recover(error)) return false;
        // Per-account series are for small books: refused when the store already holds
        // more accounts than the limit (kpi/hub.hpp switches them off if it grows past it).
        if (const auto& k = kpi_->config(); k.per_account_metrics && service_->recovered_accounts() > k.per_account_limit) {
            error = "kpi.per_account_metrics is refused above " + std::to_string(k.per_account_limit) +
                    " accounts, and the store holds " + std::to_string(service_->recovered_accounts()) +
                    ": remove the option";
            return false;
        }
        // Delivery before the shards run: the dispatcher loads the outbox's unfinished
        // notifications first, and hears of every new one after.
        if (auto st = silences_->load(); !st.ok()) {
            error = "reading silences: " + st.message();
            return false;
        }
        auto setup = make_delivery_setup(config_, std::move(initial_rules_));
        if (!setup.errors.empty()) {
            for (const auto& e : setup.errors) error += (error.empty() ? "" : "\n") + e;
            return false;
        }
        service_->set_delivery(setup.builder, dispatcher_.get());
        if (auto st = dispatcher_->start(std::move(setup.channels)); !st.ok()) {
            error = "reading the outbox: " + st.message();
            return false;
        }
        service_->start();
        http::server_options options;
        options.address = config_.listen_host;
        options.port = config_.listen_port;
        options.threads = static_cast<unsigned>(config_.http.threads);
        options.idle_timeout = config_.http.idle_timeout;
        options.max_body = config_.ingest.max_body;
        options.max_events = config_.ingest.max_events;
        options.limits.max_age = config_.storage.retention;  // older: its id would not deduplicate
        options.limits.max_future = config_.ingest.max_future;
        options.tokens = config_.ingest.tokens;
        options.hmac_secret = config_.ingest.hmac_secret;
        options.insecure = config_.ingest.insecure;
        if (!config_.adapters.empty())
            options.hooks = std::make_shared<const ingest::adapters::hook_registry>(config_.adapters);
        server_ = std::make_unique<http::server>(options, *service_, *this, metrics_, clock_);
        if (auto problem = server_->start()) {
            error = *problem;
            return false;
        }
        ready_ = true;
        spdlog::info("listening on {}:{}", config_.listen_host, server_->port());
        return true;
    }

    void stop() {
        ready_ = false;
        if (server_) server_->stop();
        queries_.join();
        if (service_) service_->stop();
        if (dispatcher_) dispatcher_->stop();  // after the shards: their last hand-offs are taken
        if (store_) {
            if (auto st = store_->close(); !st.ok()) spdlog::error("closing the store: {}", st.message());
        }
    }

    // Loads the rule files again; the running set stays when the new one has errors.
    json::object reload() {
        auto cfg_result = config_.source == "(embedded default)" ? config_result{config_, {}}
                                                                 : load_config_file(config_.source);
        if (!cfg_result.value) {
            metrics_.rule_reloads(metrics::reload_outcome::error).Increment();
            json::array errors;
            for (const auto& e : cfg_result.errors) errors.emplace_back(e);
            for (const auto& e : cfg_result.errors) spdlog::error("reload: {}", e);
            return json::object{{"status", "error"}, {"error", "the config file has errors"}, {"config_errors", errors}};
        }
        // Channels come with the config; the rest of the config (listen, storage) needs a restart.
        auto loaded = load_rules(*cfg_result.value);
        if (!loaded.rules) {
            metrics_.rule_reloads(metrics::reload_outcome::error).Increment();
            spdlog::error("reload: rule files have errors; the running rules stay\n{}", rules::render_text(loaded.problems));
            return json::object{{"status", "error"},
                                {"error", "rule files have errors; the running rules stay"},
                                {"diagnostics", diagnostics_json(loaded.problems)}};
        }
        auto setup = make_delivery_setup(*cfg_result.value, loaded.rules);
        if (!setup.errors.empty()) {
            metrics_.rule_reloads(metrics::reload_outcome::error).Increment();
            json::array errors;
            for (const auto& e : setup.errors) errors.emplace_back(e);
            for (const auto& e : setup.errors) spdlog::error("reload: {}", e);
            return json::object{{"status", "error"}, {"error", "the channels have errors; the running set stays"},
                                {"config_errors", errors}};
        }
        rules_count_ = loaded.rules->rules().size();
        config_.channels = cfg_result.value->channels;
        config_.ui = cfg_result.value->ui;
        service_->swap_rules(loaded.rules);
        service_->set_notification_builder(setup.builder);
        if (auto st = dispatcher_->reconfigure(std::move(setup.channels)); !st.ok())
            spdlog::error("reload: reading the outbox for new channels: {}", st.message());
        metrics_.rule_reloads(metrics::reload_outcome::ok).Increment();
        metrics_.rules_loaded().Set(double(rules_count_));
        spdlog::info("reloaded {} rules", rules_count_);
        return json::object{{"status", "ok"}, {"rules", rules_count_}, {"diagnostics", diagnostics_json(loaded.problems)}};
    }

    // Reloads on the query thread, where POST /-/reload runs too, so reloads never overlap.
    void request_reload() {
        boost::asio::post(queries_, [this] { reload(); });
    }

    void refresh_gauges() { metrics_.store_size_bytes().Set(double(store_->approximate_size_bytes())); }

    bool ready() const override { return ready_; }

    void handle(http::api_request request, std::function<void(http::api_response)> done) override {
        using route = http::api_route;
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
            case route::reload:
                return boost::asio::post(queries_, [this, done = std::move(done)] {
                    auto body = reload();
                    http::api_response r;
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
        done(http::api_response::error(404, "no such route"));
    }

private:
    void get_account(http::api_request request, std::function<void(http::api_response)> done) {
        auto id = request.id;
        service_->post(id, [this, id, done = std::move(done)](engine::core& core) {
            const auto* record = core.find(id);
            if (!record) return done(http::api_response::error(404, "no account \"" + id + "\""));
            http::api_response r;
            r.body = account_view(*record, core.rules().get(), clock_.now());
            done(std::move(r));
        });
    }

    std::optional<json::object> read_alert(std::string_view id) {
        auto value = store_->get(store::column::alerts, id);
        if (!value.ok() || !value.value()) return std::nullopt;
        boost::system::error_code ec;
        auto parsed = json::parse(*value.value(), ec);
        if (ec || !parsed.is_object()) return std::nullopt;
        return parsed.as_object();
    }

    http::api_response get_alert(const std::string& id) {
        auto a = read_alert(id);
        if (!a) return http::api_response::error(404, "no alert \"" + id + "\"");
        // Its notifications and how each went, from the outbox, in transition order.
        json::array notifications;
        auto st = store_->for_each_prefix(store::column::outbox, delivery::alert_prefix(id),
                                          [&](std::string_view key, std::string_view value) {
                                              std::string why;
                                              if (auto e = delivery::parse_entry(key, value, &why))
                                                  notifications.push_back(delivery::history_json(*e));
                                              else
                                                  spdlog::warn("alert {}: unreadable outbox record: {}", id, why);
                                              return true;
                                          });
        if (!st.ok()) return http::api_response::error(500, "reading the alert's notifications failed: " + st.message());
        (*a)["notifications"] = std::move(notifications);
        http::api_response r;
        r.body = std::move(*a);
        return r;
    }

    http::api_response silences(const http::api_request& request) {
        using route = http::api_route;
        const auto now = clock_.now();
        if (request.route == route::list_silences) {
            json::array list;
            auto all = silences_->list();
            // Newest first, like the alerts.
            std::sort(all.begin(), all.end(), [](const auto& x, const auto& y) { return x.created_at > y.created_at; });
            for (const auto& s : all) list.push_back(delivery::to_json(s, now));
            http::api_response r;
            r.body = json::object{{"silences", std::move(list)}};
            return r;
        }
        if (request.route == route::delete_silence) {
            auto expired = silences_->expire(request.id, now);
            if (!expired.ok()) return http::api_response::error(500, "storing the silence failed: " + expired.error().message());
            if (!expired.value()) return http::api_response::error(404, "no silence \"" + request.id + "\"");
            spdlog::info("silence {} expired", request.id);
            http::api_response r;
            r.body = delivery::to_json(*expired.value(), now);
            return r;
        }
        std::string error;
        auto s = delivery::silence_from_request(request.body, now, error);
        if (!s) return http::api_response::error(400, error);
        auto created = silences_->create(std::move(*s));
        if (!created.ok()) return http::api_response::error(500, "storing the silence failed: " + created.error().message());
        const auto& c = created.value();
        spdlog::info("silence {} by {} until {}: rule {} account {}: {}", c.id, c.by, format_rfc3339(c.until),
                     c.rule.empty() ? "*" : c.rule, c.account.empty() ? "*" : c.account, c.reason);
        http::api_response r;
        r.status = 201;
        r.headers.emplace_back("Location", "/v1/silences/" + c.id);
        r.body = delivery::to_json(c, now);
        return r;
    }

    http::api_response list_alerts(const http::api_request& request) {
        auto filter = [&](std::string_view key) -> const std::string* { return request.param(key); };
        const auto* state = filter("state");
        const auto* rule = filter("rule");
        const auto* account = filter("account");
        const auto* csm = filter("csm");
        if (state && !alerts::alert_state_from(*state))
            return http::api_response::error(400, "query parameter state must be pending, firing or resolved, not \"" +
                                                      *state + "\"");
        std::vector<json::object> found;
        auto st = store_->for_each_prefix(store::column::alerts, "", [&](std::string_view, std::string_view value) {
            boost::system::error_code ec;
            auto parsed = json::parse(value, ec);
            if (ec || !parsed.is_object()) return true;
            auto& a = parsed.as_object();
            auto text = [&](const char* key) -> std::string_view {
                auto* v = a.if_contains(key);
                return v && v->is_string() ? std::string_view(v->as_string()) : std::string_view{};
            };
            if (state && text("state") != *state) return true;
            if (rule && text("rule") != *rule) return true;
            if (account && text("account") != *account) return true;
            if (csm && text("csm_email") != *csm && text("csm") != *csm) return true;
            found.push_back(std::move(a));
            return true;
        });
        if (!st.ok()) return http::api_response::error(500, "reading alerts failed: " + st.message());
        // Newest first: by the instant the alert started (RFC 3339 in UTC sorts as text).
        auto started = [](const json::object& a) {
            auto* v = a.if_contains("started_at");
            return v && v->is_string() ? std::string(v->as_string()) : std::string{};
        };
        std::sort(found.begin(), found.end(), [&](const auto& x, const auto& y) { return started(x) > started(y); });
        json::array list;
        for (auto& a : found) list.push_back(std::move(a));
        http::api_response r;
        r.body = json::object{{"alerts", std::move(list)}};
        return r;
    }

    void ack_alert(http::api_request request, std::function<void(http::api_response)> done) {
        boost::asio::post(queries_, [this, request = std::move(request), done = std::move(done)]() mutable {
            auto a = read_alert(request.id);
            if (!a) return done(http::api_response::error(404, "no alert \"" + request.id + "\""));
            alerts::acknowledgement ack;
            if (request.body.is_object()) {
                const auto& body = request.body.as_object();
                if (auto* by = body.if_contains("by"); by && by->is_string()) ack.by = std::string(by->as_string());
                if (auto* c = body.if_contains("comment"); c && c->is_string()) ack.comment = std::string(c->as_string());
            }
            if (ack.by.empty()) return done(http::api_response::error(400, "body field \"by\" is required: who acknowledges"));
            ack.at = clock_.now();
            std::string account(a->at("account").as_string());
            std::string id = request.id;
            service_->post(account, [this, account, id, ack, done = std::move(done)](engine::core& core) {
                if (!core.acknowledge(account, id, ack))
                    return done(http::api_response::error(409, "alert \"" + id + "\" is not active: only pending or "
                                                                                 "firing alerts can be acknowledged"));
                http::api_response r;
                const auto* record = core.find(account);
                const auto* alert = record ? record->alerts.find_id(id) : nullptr;
                r.body = alert ? json::value(alerts::to_json(*alert)) : json::value(json::object{{"id", id}});
                done(std::move(r));
            });
        });
    }

    config config_;
    system_clock clock_;
    std::unique_ptr<store::store> store_;
    metrics::engine_metrics metrics_;
    std::unique_ptr<kpi::hub> kpi_;  // before service_: its shards report to the hub's trackers
    std::unique_ptr<engine::service> service_;
    std::unique_ptr<delivery::silence_registry> silences_;
    std::unique_ptr<delivery::dispatcher> dispatcher_;
    std::shared_ptr<const rules::rule_set> initial_rules_;  // until start() builds delivery with it
    std::unique_ptr<http::server> server_;
    boost::asio::thread_pool queries_{1};
    std::atomic<bool> ready_{false};
    std::size_t rules_count_ = 0;
};

void configure_logging(const config& c) {
    spdlog::set_level(spdlog::level::from_str(c.log.level));
    if (c.log.format == "json")
        spdlog::set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","message":"%v"})", spdlog::pattern_time_type::utc);
    else
        spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v", spdlog::pattern_time_type::utc);
}

}  // namespace

int run_serve(const std::optional<std::string>& config_path) {
    config_result loaded;
    if (config_path) loaded = load_config_file(*config_path);
    else if (std::filesystem::exists("redflag.yaml")) loaded = load_config_file("redflag.yaml");
    else loaded = config_result{default_config(), {}};
    if (!loaded.value) {
        for (const auto& e : loaded.errors) std::cerr << e << "\n";
        return 2;
    }
    config cfg = std::move(*loaded.value);
    configure_logging(cfg);
    spdlog::info("redflag starting with config {}", cfg.source);

    auto rules = load_rules(cfg);
    if (!rules.problems.empty()) std::cerr << rules::render_text(rules.problems);
    if (!rules.rules) {
        spdlog::critical("rule files have errors; not starting");
        return 2;
    }
    spdlog::info("loaded {} rules, {} scores, {} classifications from {}", rules.rules->rules().size(),
                 rules.rules->scores().size(), rules.rules->classifications().size(), cfg.rules.paths.size());

    store::options store_options;
    store_options.path = cfg.storage.path;
    store_options.sync = cfg.storage.sync;
    store_options.event_retention = cfg.storage.retention;
    store_options.block_cache_bytes = cfg.storage.cache_bytes;
    store_options.write_buffer_bytes = cfg.storage.memtable_bytes;
    // Alert records are history: once an alert is over it expires with the events, after
    // storage.retention. (Outbox records do not yet: the dispatcher rebuilds its
    // Alertmanager re-post set at start from each alert's latest firing record, which a
    // long-firing alert must keep.)
    store_options.expiry[static_cast<std::size_t>(store::column::alerts)] = alerts::alert_record_expired;
    std::string error;
    auto storage = store::store::open(store_options, error);
    if (!storage) {
        spdlog::critical("cannot open the store at {}: {}", cfg.storage.path, error);
        return 2;
    }

    application app(cfg, rules.rules, std::move(storage));
    if (!app.start(error)) {
        spdlog::critical("{}", error);
        app.stop();
        return 2;
    }

    boost::asio::io_context io;
    boost::asio::signal_set stop_signals(io, SIGINT, SIGTERM);
    boost::asio::signal_set reload_signal(io, SIGHUP);
    boost::asio::steady_timer gauges(io);
    std::function<void()> refresh = [&] {
        app.refresh_gauges();
        gauges.expires_after(std::chrono::seconds(5));
        gauges.async_wait([&](boost::system::error_code ec) {
            if (!ec) refresh();
        });
    };
    refresh();
    std::function<void()> await_hup = [&] {
        reload_signal.async_wait([&](boost::system::error_code ec, int) {
            if (ec) return;
            spdlog::info("SIGHUP: reloading rules");
            app.request_reload();
            await_hup();
        });
    };
    await_hup();
    stop_signals.async_wait([&](boost::system::error_code, int sig) {
        spdlog::info("signal {}: stopping", sig);
        gauges.cancel();
        reload_signal.cancel();
        io.stop();
    });
    io.run();
    app.stop();
    spdlog::info("stopped cleanly");
    return 0;
}

}  // namespace redflag::app
