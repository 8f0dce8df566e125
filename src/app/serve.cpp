#include "app/serve.hpp"

#include "app/backtest.hpp"
#include "alerts/codec.hpp"
#include "app/config.hpp"
#include "alerts/notify.hpp"
#include "app/logging.hpp"
#include "app/report_mailer.hpp"
#include "app/serve_cluster.hpp"
#include "app/server_options.hpp"
#include "app/systemd_notify.hpp"
#include "delivery/channels/make_sender.hpp"
#include "delivery/channels/slack_users.hpp"
#include "delivery/dispatcher.hpp"
#include "alerts/silences.hpp"
#include "engine/history.hpp"
#include "rules/sources.hpp"
#include "engine/service.hpp"
#include "http/api.hpp"
#include "http/management.hpp"
#include "http/server.hpp"
#include "ingest/adapters/hook_state.hpp"
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

// rules::load, plus the fingerprint of the texts it loaded (cluster mode compares them).
rules::load_result load_rules(const config& c, std::string& fingerprint) {
    rules::load_options options;
    options.channels = channel_names(c);
    rules::load_result result;
    auto sources = rules::read_sources(c.rules.paths, result.problems);
    if (!result.problems.empty()) return result;
    fingerprint = rules::source_fingerprint(sources);
    return rules::load_sources(std::move(sources), options);
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

// The email channels with `report:` (app/report_mailer.hpp); errors are messages.
std::vector<report_channel> report_channels(const config& c, std::vector<std::string>& errors) {
    std::vector<report_channel> out;
    for (const auto& [name, ch] : c.channels) {
        if (ch.type != "email" || ch.report.empty()) continue;
        std::string error;
        auto schedule = delivery::digest_schedule::parse(ch.report, c.engine.timezone, error);
        if (!schedule) {
            errors.push_back("channels." + name + ".report: " + error);
            continue;
        }
        out.push_back({name, *schedule, ch.to, delivery::channels::make_sender(ch)});
    }
    return out;
}

kpi::settings kpi_settings(const config& c) {
    kpi::settings s;
    s.currency = c.kpi.currency;
    s.gross_margin = c.kpi.gross_margin;
    s.stack.assign(c.kpi.stack.begin(), c.kpi.stack.end());
    s.per_account_metrics = c.kpi.per_account_metrics;
    s.csm_hourly = c.kpi.csm_hourly;
    s.support_hourly = c.kpi.support_hourly;
    s.free_plans = c.kpi.free_plans;
    return s;
}

// What delivery needs of the config and a rule set: the notification builder (templates
// compiled against the rules' names) and one sender per channel. Errors are messages.
struct delivery_setup {
    std::shared_ptr<const alerts::notification_builder> builder;
    std::vector<delivery::channel_setup> channels;
    std::vector<std::string> errors;
};

// A channel that cannot send yet: a Slack channel without a token (the example config's
// `token: ${SLACK_BOT_TOKEN:-}` before the variable is set). Its rules load; nothing is
// made for it (alerts/notify.hpp), so nothing leaves the machine or dies undelivered.
bool off(const delivery::channel_config& ch) { return ch.type == "slack" && ch.token.empty(); }

delivery_setup make_delivery_setup(const config& c, std::shared_ptr<const rules::rule_set> rules) {
    delivery_setup out;
    std::vector<alerts::channel_outline> outlines;
    for (const auto& [name, ch] : c.channels) {
        alerts::channel_outline outline{name, ch.type, ch.to, {}, off(ch)};
        for (const auto& text : ch.match) {
            std::string error;  // read_match checked each
            if (auto m = alerts::parse_matcher(text, error)) outline.match.push_back(std::move(*m));
            else out.errors.push_back("channels." + name + ".match: " + error);
        }
        outlines.push_back(std::move(outline));
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
    auto built = alerts::notification_builder::make(c.ui.account_url, std::move(outlines), std::move(rules));
    out.errors.insert(out.errors.end(), built.errors.begin(), built.errors.end());
    out.builder = std::move(built.builder);
    return out;
}

// Everything `serve` runs; the management API (http/management) asks it to reload and
// whether it is ready.
class application final : public http::operations {
public:
    application(config cfg, std::shared_ptr<const rules::rule_set> rules, std::string fingerprint,
                std::unique_ptr<store::store> storage)
        : config_(std::move(cfg)), store_(std::move(storage)), metrics_(), rules_count_(rules ? rules->rules().size() : 0),
          fingerprint_(std::move(fingerprint)) {
        engine::service_options options;
        options.shards = config_.engine.threads;
        options.tick = config_.engine.tick;
        options.queue_events = config_.engine.queue_events;
        options.snapshot_interval = config_.engine.snapshot_interval;
        options.retention = config_.storage.retention;
        options.pause_shards = std::getenv("REDFLAG_DEBUG_PAUSE_SHARDS") != nullptr;
        kpi_ = std::make_unique<kpi::hub>(kpi_settings(config_), *metrics_.registry(), options.shards);
        options.kpi = kpi_.get();
        metrics_.on_scrape([this] {
            kpi_->refresh_metrics();
            if (cluster_) cluster_->sample_metrics();
        });
        hooks_ = std::make_unique<ingest::adapters::hook_state>(config_.adapters, options.shards);
        options.observer = hooks_->observer();  // external_ids, durable with their account events
        service_ = std::make_unique<engine::service>(options, *store_, clock_, metrics_, rules);
        service_->set_alert_index(&alert_index_);
        metrics_.rules_loaded().Set(double(rules_count_));
        silences_ = std::make_unique<alerts::silence_registry>(*store_);
        delivery::dispatcher_options delivery_options;
        delivery_options.max_age = config_.delivery.max_age;
        alert_status_ = std::make_unique<alerts::record_status>(*store_);
        dispatcher_ = std::make_unique<delivery::dispatcher>(delivery_options, *store_, clock_, metrics_, silences_.get(),
                                                             alert_status_.get());
        management_ = std::make_unique<http::management>(*service_, *store_, *silences_, clock_, metrics_, *this, queries_);
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
        metrics_.degraded_records(metrics::degraded::silence).Increment(double(silences_->unreadable()));
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
        // A silence created or expired rewrites the Slack cards of the firing alerts it
        // covers (alerts/silences.hpp), through the outbox.
        silences_->attach_cards(&alert_index_, dispatcher_.get());
        // Cluster mode (issue 17): the partitions seam before the shards run, and NATS
        // before the server takes events (serve_cluster.hpp).
        if (config_.cluster) {
            cluster_ = std::make_unique<cluster_node>(*config_.cluster, *service_, *metrics_.registry(),
                                                      config_.engine.snapshot_interval, dispatcher_.get());
            cluster_->rules_loaded(fingerprint_);
            // Another instance reloaded: this one reloads its own files, on the query thread.
            cluster_->on_peer_reload([this] { boost::asio::post(queries_, [this] { reload_rules(false, false); }); });
            if (!cluster_->connect(error)) return false;
            management_->set_cluster(cluster_.get());  // reads and acts answered by the owner
        }
        // Events of vendor hooks go where POST /v1/events goes: in cluster mode the waiting
        // ones a mapping releases are published to their partition too (applied by its
        // owner), never submitted to this instance's engine directly.
        engine::ingest_sink& sink = cluster_ ? *cluster_->ingest() : *service_;
        if (auto st = hooks_->start(*store_, sink, &metrics_.hook_unmatched_waiting()); !st.ok()) {
            error = "reading the vendor hooks' external ids and unmatched events: " + st.message();
            return false;
        }
        std::vector<std::string> report_errors;
        auto reports = report_channels(config_, report_errors);
        if (!report_errors.empty()) {
            for (const auto& e : report_errors) error += (error.empty() ? "" : "\n") + e;
            return false;
        }
        service_->start();
        // After the shards run (it asks them for the report's facts); stopped before them.
        mailer_ = std::make_unique<report_mailer>(*service_, *store_, clock_, std::move(reports));
        mailer_->start();
        auto server_options = server_options_from(config_);
        server_options.hooks = hooks_->registry();  // resolving through the external-ids index, keeping unmatched events
        slack_secrets_ = server_options.access.slack_secrets;  // a reload replaces them
        server_ = std::make_unique<http::server>(server_options, sink, *management_, metrics_, clock_);
        if (auto problem = server_->start()) {
            error = *problem;
            return false;
        }
        if (cluster_ && !cluster_->start_engine("http://" + config_.listen_host + ":" + std::to_string(server_->port()), error))
            return false;
        ready_ = true;
        metrics_.config_loaded(clock_.now());
        spdlog::info("listening on {}:{}", config_.listen_host, server_->port());
        return true;
    }

    void stop() {
        ready_ = false;
        if (server_) server_->stop();
        queries_.join();
        if (hooks_) hooks_->stop();  // its releases submit to the engine
        if (mailer_) mailer_->stop();  // it waits on the shards for a report being built
        if (cluster_) cluster_->stop();  // releases the leases: flushes and snapshots through the running engine
        if (service_) service_->stop();
        if (dispatcher_) dispatcher_->stop();  // after the shards: their last hand-offs are taken
        if (store_) {
            if (auto st = store_->close(); !st.ok()) spdlog::error("closing the store: {}", st.message());
        }
    }

    // Loads the rule files again; the running set stays when the new one has errors, or
    // has no rule while the running one has some and `allow_empty` is false (it would
    // resolve every alert silently: issue 11, defect 9). SIGHUP never empties the set.
    json::object reload(bool allow_empty = false) override { return reload_rules(allow_empty, true); }

    // `tell_peers`: in cluster mode, a successful reload is asked of every other instance
    // too (not when this one was asked by another).
    json::object reload_rules(bool allow_empty, bool tell_peers) {
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
        std::string fingerprint;
        auto loaded = load_rules(*cfg_result.value, fingerprint);
        if (!loaded.rules) {
            metrics_.rule_reloads(metrics::reload_outcome::error).Increment();
            spdlog::error("reload: rule files have errors; the running rules stay\n{}", rules::render_text(loaded.problems));
            return json::object{{"status", "error"},
                                {"error", "rule files have errors; the running rules stay"},
                                {"diagnostics", diagnostics_json(loaded.problems)}};
        }
        if (loaded.rules->rules().empty() && rules_count_ > 0 && !allow_empty) {
            metrics_.rule_reloads(metrics::reload_outcome::error).Increment();
            const std::string why = "the rule files define no rule: loading them would resolve all alerts of the " +
                                    std::to_string(rules_count_) +
                                    " running rules silently; the running rules stay (POST /-/reload?allow_empty=1 "
                                    "empties the set on purpose)";
            spdlog::error("reload: {}", why);
            return json::object{{"status", "error"}, {"error", why}, {"diagnostics", diagnostics_json(loaded.problems)}};
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
        if (slack_secrets_) slack_secrets_->replace(slack_secrets_of(config_));
        metrics_.rule_reloads(metrics::reload_outcome::ok).Increment();
        metrics_.config_loaded(clock_.now());
        metrics_.rules_loaded().Set(double(rules_count_));
        spdlog::info("reloaded {} rules", rules_count_);
        json::object answer{{"status", "ok"}, {"rules", rules_count_}, {"diagnostics", diagnostics_json(loaded.problems)}};
        fingerprint_ = fingerprint;
        if (cluster_) {
            cluster_->rules_loaded(fingerprint_);
            answer["rules_fingerprint"] = fingerprint_;
            if (tell_peers) {
                // At most once to each instance connected now; one that misses it shows
                // the mismatch in its /readyz until it is reloaded.
                auto problem = cluster_->request_reload();
                answer["peers"] = problem.empty() ? json::value("asked to reload") : json::value("not asked: " + problem);
                if (!problem.empty()) spdlog::error("reload: asking the other instances failed: {}", problem);
            }
        }
        return answer;
    }

    // The playground's check (POST /v1/rules/check): the configured files as they are on
    // disk now, plus `text`; nothing is swapped.
    rules::load_result load_with(const std::string& file, const std::string& text) override {
        rules::load_result result;
        auto sources = rules::read_sources(config_.rules.paths, result.problems);
        if (!result.problems.empty()) return result;
        sources.push_back(rules::source_text{file, text});
        rules::load_options options;
        options.channels = channel_names(config_);
        return rules::load_sources(std::move(sources), options);
    }

    json::object backtest(const std::string& file, const std::string& text) override {
        auto checked = load_with(file, text);
        if (!checked.rules)
            return json::object{{"ok", false},
                                {"error", "the rule does not load: " + rules::render_text(checked.problems)}};
        auto result = run_backtest(*store_, config_.rules.paths, file, text);
        if (!result.ok) return json::object{{"ok", false}, {"error", result.error}};
        json::object flagged;
        for (const auto& def : checked.rules->rules()) {
            if (def.file != file) continue;
            json::array accounts;
            if (auto it = result.flagged.find(def.name); it != result.flagged.end())
                for (const auto& a : it->second) accounts.emplace_back(a);
            flagged[def.name] = std::move(accounts);
        }
        return json::object{{"ok", true}, {"events", result.events}, {"outcomes", std::move(result.report)},
                            {"flagged", std::move(flagged)}};
    }

    // Reloads on the query thread, where POST /-/reload runs too, so reloads never overlap.
    void request_reload() {
        boost::asio::post(queries_, [this] { reload(); });
    }

    void refresh_gauges() {
        metrics_.store_size_bytes().Set(double(store_->approximate_size_bytes()));
        if (cluster_) cluster_->sample_metrics();
    }

    bool ready() const override { return ready_ && service_->writable().ok(); }
    // On the query thread, like reload(), which is the only writer of config_.channels.
    std::string slack_user_email(const std::string& channel, const std::string& user_id) override {
        auto it = config_.channels.find(channel);
        if (it == config_.channels.end() || it->second.type != "slack") return {};
        return delivery::channels::slack_user_email(it->second, user_id);
    }

    // The rule's `snooze_wake_if` clause, for snoozes from Slack buttons.
    std::string rule_snooze_wake_if(const std::string& rule) override {
        auto rules = service_->rules();
        if (!rules) return {};
        return rules->default_wake_if(rule).value_or(std::string());
    }

    std::string readiness_warning() const override { return cluster_ ? cluster_->rules_warning() : std::string(); }

    std::string not_ready_reason() const override {
        if (!ready_) return "starting or stopping";
        if (auto st = service_->writable(); !st.ok()) return "the store takes no writes: " + st.message();
        return {};
    }

private:
    config config_;
    system_clock clock_;
    std::unique_ptr<store::store> store_;
    metrics::engine_metrics metrics_;
    std::unique_ptr<kpi::hub> kpi_;  // before service_: its shards report to the hub's trackers
    std::unique_ptr<ingest::adapters::hook_state> hooks_;  // before service_: the engine's batch observer
    alerts::alert_index alert_index_;  // the API's alert lists (alerts/index.hpp), fed by the service
    std::unique_ptr<engine::service> service_;
    std::unique_ptr<cluster_node> cluster_;  // cluster mode only; after service_: stopped before it
    std::unique_ptr<alerts::silence_registry> silences_;
    std::unique_ptr<alerts::record_status> alert_status_;  // the dispatcher's question: still firing?
    std::unique_ptr<delivery::dispatcher> dispatcher_;
    std::shared_ptr<const rules::rule_set> initial_rules_;  // until start() builds delivery with it
    std::unique_ptr<http::management> management_;  // the API over the service, the alerts and the silences
    std::unique_ptr<report_mailer> mailer_;         // the email channels' weekly reports
    std::unique_ptr<http::server> server_;
    std::shared_ptr<http::slack_secret_set> slack_secrets_;  // the server's, replaced by reload()
    boost::asio::thread_pool queries_{1};
    std::atomic<bool> ready_{false};
    std::size_t rules_count_ = 0;
    std::string fingerprint_;  // of the running rule texts; written on the query thread
};

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

    std::string fingerprint;
    auto rules = load_rules(cfg, fingerprint);
    if (!rules.problems.empty()) std::cerr << rules::render_text(rules.problems);
    if (!rules.rules) {
        spdlog::critical("rule files have errors; not starting");
        return 2;
    }
    spdlog::info("loaded {} rules, {} scores, {} classifications from {}", rules.rules->rules().size(),
                 rules.rules->scores().size(), rules.rules->classifications().size(), cfg.rules.paths.size());
    for (const auto& [name, ch] : cfg.channels)
        if (off(ch))
            spdlog::warn("channel {} has no token: it sends nothing until one is set (the example config reads "
                         "SLACK_BOT_TOKEN)", name);

    store::options store_options;
    store_options.path = cfg.storage.path;
    store_options.sync = cfg.storage.sync;
    store_options.event_retention = cfg.storage.retention;
    store_options.block_cache_bytes = cfg.storage.cache_bytes;
    store_options.write_buffer_bytes = cfg.storage.memtable_bytes;
    // Alert records and notification records are history: once an alert is over, or a
    // notification's delivery final, they expire with the events, after storage.retention.
    // (The Alertmanager re-post set is kept apart from the outbox, so a long-firing alert
    // stays re-posted.)
    store_options.expiry[static_cast<std::size_t>(store::column::alerts)] = alerts::alert_record_expired;
    store_options.expiry[static_cast<std::size_t>(store::column::outbox)] = delivery::outbox_record_expired;
    // The daily health points are kept as long as the events (engine/history.hpp).
    store_options.expiry[static_cast<std::size_t>(store::column::history)] = engine::history::expired;
    std::string error;
    auto storage = store::store::open(store_options, error);
    if (!storage) {
        spdlog::critical("cannot open the store at {}: {}", cfg.storage.path, error);
        return 2;
    }

    application app(cfg, rules.rules, std::move(fingerprint), std::move(storage));
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
        notify_systemd("STOPPING=1");
        io.stop();
    });
    notify_systemd("READY=1");  // Type=notify: serving, /readyz answers 200
    io.run();
    app.stop();
    spdlog::info("stopped cleanly");
    return 0;
}

}  // namespace redflag::app
