#include "app/serve_cluster.hpp"

#include "cluster/stream.hpp"
#include "delivery/channels/http_client.hpp"
#include "model/codec.hpp"
#include "store/store.hpp"

#include <boost/asio/post.hpp>
#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <thread>

namespace redflag::app {

publishing_sink::publishing_sink(cluster::connection& c, const cluster::options& o, metrics::cluster_metrics& metrics,
                                 int threads)
    : connection_(c), options_(o), metrics_(metrics), pool_(static_cast<std::size_t>(std::max(1, threads))) {}

publishing_sink::~publishing_sink() { pool_.join(); }

void publishing_sink::submit(std::vector<model::event> batch, std::function<void(engine::ingest_outcome)> done) {
    if (batch.empty()) {
        done(engine::ingest_outcome{});
        return;
    }
    boost::asio::post(pool_, [this, batch = std::move(batch), done = std::move(done)]() mutable {
        engine::ingest_outcome out;
        publish(batch, out);
        done(std::move(out));
    });
}

void publishing_sink::publish(std::vector<model::event>& batch, engine::ingest_outcome& out) {
    // As the engine would: an account the store cannot key is refused before anything is sent.
    for (const auto& e : batch) {
        if (!store::store::valid_account(e.account)) {
            out.status = engine::ingest_outcome::status::invalid;
            out.error = "an event's \"account\" cannot be stored: it is empty or contains a NUL character";
            return;
        }
    }
    std::vector<std::string> ids, data;
    ids.reserve(batch.size());
    data.reserve(batch.size());
    std::vector<cluster::outgoing_message> messages;
    messages.reserve(batch.size());
    for (const auto& e : batch) {
        ids.push_back(cluster::message_id(e.account, e.id));
        data.push_back(model::encode_event_json(e));
    }
    for (std::size_t i = 0; i < batch.size(); ++i)
        messages.push_back({cluster::partition_of(batch[i].account, options_.partitions), ids[i], data[i]});

    std::unique_ptr<cluster::publisher> pub;
    {
        std::lock_guard lock(mu_);
        if (!idle_.empty()) {
            pub = std::move(idle_.back());
            idle_.pop_back();
        }
    }
    if (!pub) pub = std::make_unique<cluster::publisher>(connection_, options_);
    auto outcome = pub->publish(messages);
    {
        std::lock_guard lock(mu_);
        idle_.push_back(std::move(pub));
    }
    metrics_.publish_attempts().Increment(double(outcome.attempts));
    metrics_.published_stored().Increment(double(outcome.stored));
    metrics_.published_duplicate().Increment(double(outcome.duplicates));
    if (!outcome.ok()) {
        std::size_t unacked = 0;
        for (auto s : outcome.sequences) unacked += s == 0 ? 1 : 0;
        metrics_.published_failed().Increment(double(unacked));
        out.status = engine::ingest_outcome::status::unavailable;
        out.error = "the cluster's event stream did not acknowledge every event (" + outcome.error.message() +
                    "); some may be stored, and sending the batch again is safe";
        return;
    }
    // Stream-level duplicates only: an id seen before the duplicate window is found by the
    // partition's owner, which applies it once.
    out.accepted = outcome.stored;
    out.duplicates = outcome.duplicates;
}

cluster_node::cluster_node(cluster::options o, engine::service& service, prometheus::Registry& registry,
                           duration snapshot_interval, delivery::outbox_sink* outbox)
    : options_(std::move(o)), service_(service), snapshot_interval_(snapshot_interval), metrics_(registry) {
    if (options_.roles.engine) {
        partitions_ = std::make_unique<engine::partitions>(service_, options_.partitions);
        partitions_->set_outbox_sink(outbox);
    }
}

cluster_node::~cluster_node() { stop(); }

cluster::status cluster_node::retry(const char* what, std::chrono::steady_clock::time_point since,
                                    const std::function<cluster::status()>& step) {
    for (int attempt = 1;; ++attempt) {
        auto st = step();
        if (st.ok()) return st;
        if (std::chrono::steady_clock::now() - since >= options_.start_timeout) {
            return cluster::status::error(st.error_code(), std::string(what) + " failed for " +
                                                               format_duration(options_.start_timeout) + " (" +
                                                               std::to_string(attempt) + " attempts): " + st.message());
        }
        spdlog::warn("cluster: {} failed ({}); retrying while NATS elects its leaders", what, st.message());
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
}

bool cluster_node::connect(std::string& error) {
    const auto since = std::chrono::steady_clock::now();
    auto st = retry("connecting to NATS", since, [&]() -> cluster::status {
        auto c = cluster::connection::open(options_);
        if (!c) return c.error();
        connection_ = std::move(c.value());
        return {};
    });
    if (st.ok()) st = retry("opening the event stream", since, [&] { return cluster::ensure_stream(*connection_, options_); });
    if (st.ok() && options_.roles.engine)
        st = retry("opening the snapshot bucket", since, [&]() -> cluster::status {
            auto s = cluster::snapshot_store::open(*connection_, options_);
            if (!s) return s.error();
            snapshots_ = std::move(s.value());
            return {};
        });
    if (st.ok())
        st = retry("subscribing to reload requests", since, [&]() -> cluster::status {
            auto c = cluster::control_channel::open(*connection_, options_, [this](const std::string& from) {
                spdlog::info("cluster: instance {} asks for a rule reload", from);
                if (peer_reload_) peer_reload_();
            });
            if (!c) return c.error();
            std::lock_guard lock(mu_);
            control_ = std::move(c.value());
            return {};
        });
    if (!st.ok()) {
        error = "cluster: " + st.message();
        return false;
    }
    if (options_.roles.ingest)
        sink_ = std::make_unique<publishing_sink>(*connection_, options_, metrics_,
                                                  std::max(2, static_cast<int>(std::thread::hardware_concurrency())));
    spdlog::info("cluster: node {} connected; roles{}{}", options_.node, options_.roles.ingest ? " ingest" : "",
                 options_.roles.engine ? " engine" : "");
    return true;
}

bool cluster_node::start_engine(const std::string& base_url, std::string& error) {
    if (!options_.roles.engine) return true;
    runner_ = std::make_unique<cluster::partition_runner>(*connection_, options_, *snapshots_, *partitions_,
                                                          snapshot_interval_);
    runner_->start();
    base_url_ = base_url;
    auto leases = std::make_unique<cluster::lease_manager>(*connection_, options_, *runner_, heartbeat_info());
    auto st = retry("opening the lease buckets", std::chrono::steady_clock::now(), [&] { return leases->start(); });
    {
        std::lock_guard lock(mu_);
        leases_ = std::move(leases);
    }
    if (!st.ok()) {
        error = "cluster: " + st.message();
        return false;
    }
    engine_started_ = true;
    return true;
}

void cluster_node::stop() {
    std::unique_ptr<cluster::lease_manager> leases;
    std::unique_ptr<cluster::partition_runner> runner;
    std::unique_ptr<cluster::control_channel> control;
    {
        std::lock_guard lock(mu_);  // sample_metrics() sees them or not at all
        leases = std::move(leases_);
        runner = std::move(runner_);
        control = std::move(control_);
    }
    control.reset();  // no reload request from now on
    if (leases) leases->stop(true);  // releases: flush, last snapshot, lease deleted
    if (runner) runner->stop();
    sink_.reset();
}

// Heartbeat info: {"url": base URL, "rules": fingerprint}.
std::string cluster_node::heartbeat_info() const {
    std::lock_guard lock(rules_mu_);
    return boost::json::serialize(boost::json::object{{"url", base_url_}, {"rules", fingerprint_}});
}

namespace {

struct member_info {
    std::string url, rules;
};

// A member's heartbeat info; an info that is not our JSON is taken as a bare URL.
member_info parse_info(const std::string& info) {
    boost::system::error_code ec;
    auto v = boost::json::parse(info, ec);
    const auto* o = ec ? nullptr : v.if_object();
    if (!o) return {info, {}};
    member_info m;
    if (const auto* url = o->if_contains("url"); url && url->is_string()) m.url = std::string(url->get_string());
    if (const auto* rules = o->if_contains("rules"); rules && rules->is_string()) m.rules = std::string(rules->get_string());
    return m;
}

}  // namespace

cluster::cluster_view cluster_node::view() const {
    std::lock_guard lock(mu_);
    return leases_ ? leases_->view() : cluster::cluster_view{};
}

void cluster_node::rules_loaded(const std::string& fingerprint) {
    {
        std::lock_guard lock(rules_mu_);
        fingerprint_ = fingerprint;
    }
    std::lock_guard lock(mu_);
    if (leases_) leases_->set_info(heartbeat_info());
}

std::string cluster_node::request_reload() {
    std::lock_guard lock(mu_);
    if (!control_) return "not connected to NATS";
    if (auto st = control_->publish_reload(); !st.ok()) return st.message();
    ++reloads_sent_;
    return {};
}

std::size_t cluster_node::rules_mismatch(std::string* which) const {
    std::string mine;
    {
        std::lock_guard lock(rules_mu_);
        mine = fingerprint_;
    }
    std::size_t n = 0;
    for (const auto& [node, info] : view().members) {
        if (node == options_.node) continue;
        auto m = parse_info(info);
        if (m.rules == mine) continue;
        ++n;
        if (which) {
            *which += (which->empty() ? "" : ", ") + node + " (" +
                      (m.rules.empty() ? std::string("unknown") : m.rules.substr(0, 12)) + ")";
        }
    }
    return n;
}

std::string cluster_node::rules_warning() const {
    std::string which;
    if (rules_mismatch(&which) == 0) return {};
    std::string mine;
    {
        std::lock_guard lock(rules_mu_);
        mine = fingerprint_.substr(0, 12);
    }
    return "the rule files differ between instances: this one (" + options_.node + ") runs " + mine + ", " + which +
           " another; make the files the same everywhere and POST /-/reload";
}

bool cluster_node::owns(std::string_view account) const {
    std::lock_guard lock(mu_);
    return leases_ && leases_->owns(cluster::partition_of(account, options_.partitions));
}

std::optional<http::cluster_member> cluster_node::owner_of(std::string_view account) const {
    auto seen = view();
    auto holder = seen.holders.find(cluster::partition_of(account, options_.partitions));
    if (holder == seen.holders.end()) return std::nullopt;
    auto member = seen.members.find(holder->second);
    if (member == seen.members.end()) return std::nullopt;
    auto info = parse_info(member->second);
    if (info.url.empty()) return std::nullopt;
    return http::cluster_member{holder->second, info.url};
}

std::vector<http::cluster_member> cluster_node::peers() const {
    std::vector<http::cluster_member> out;
    for (const auto& [node, info] : view().members) {
        if (node == options_.node) continue;
        auto m = parse_info(info);
        if (!m.url.empty()) out.push_back({node, m.url});
    }
    return out;
}

void cluster_node::forward(const http::cluster_member& to, const http::api_request& request,
                           std::function<void(http::api_response)> done) {
    boost::asio::post(forwarding_, [this, to, method = request.method, target = request.target,
                                    body = request.body.is_null() ? std::string() : boost::json::serialize(request.body),
                                    authorization = request.authorization, raw_body = request.raw_body,
                                    raw_headers = request.raw_headers, done = std::move(done)] {
        delivery::channels::http_options o;
        o.connect_timeout = 2 * seconds_ms;
        o.timeout = 10 * seconds_ms;
        o.max_response_bytes = 64u << 20;  // a page of alerts
        delivery::channels::http_client client(o);
        delivery::channels::header_list headers{{std::string(http::forwarded_header), options_.node}};
        if (!authorization.empty()) headers.emplace_back("Authorization", authorization);
        // A raw request (a Slack click) goes as it came: its body and its own headers.
        headers.insert(headers.end(), raw_headers.begin(), raw_headers.end());
        const std::string url = to.base_url + target;
        auto res = method == "POST" ? client.post_json(url, raw_body.empty() ? body : raw_body, headers)
                                    : client.get(url, {}, headers);
        if (res.status == 0)
            return done(http::api_response::error(
                res.error.find("imeout") != std::string::npos ? 504 : 502,
                "instance " + to.node + " (" + to.base_url + "), which owns this, did not answer: " + res.error));
        boost::system::error_code ec;
        auto parsed = res.body.empty() ? boost::json::value() : boost::json::parse(res.body, ec);
        if (ec || res.truncated)
            return done(http::api_response::error(502, "instance " + to.node + " answered " + std::to_string(res.status) +
                                                           " with a body that is not JSON"));
        http::api_response r;
        r.status = static_cast<unsigned>(res.status);
        r.body = std::move(parsed);
        if (auto retry = res.header("retry-after")) r.headers.emplace_back("Retry-After", *retry);
        done(std::move(r));
    });
}

void refusing_sink::submit(std::vector<model::event>, std::function<void(engine::ingest_outcome)> done) {
    engine::ingest_outcome out;
    out.status = engine::ingest_outcome::status::unavailable;
    out.error = "this instance does not take events (its cluster.roles has no ingest): send them to an ingest instance";
    done(std::move(out));
}

void cluster_node::sample_metrics() {
    std::unique_lock lock(mu_);
    metrics::cluster_sample s;
    if (leases_) {
        auto owned = leases_->owned();
        s.owned.insert(owned.begin(), owned.end());
        s.claims = leases_->claims();
        s.releases = leases_->releases();
        s.losses = leases_->losses();
        s.live_members = leases_->live_members();
    }
    if (runner_) {
        for (int p : runner_->running()) s.lag[p] = runner_->pending(p);
        s.snapshots_written = runner_->snapshots_written();
        s.snapshot_failures = runner_->snapshot_failures();
        s.restores = runner_->restores();
    }
    s.reloads_sent = reloads_sent_.load();
    s.reloads_received = control_ ? control_->received() : 0;
    if (connection_) {
        s.disconnects = connection_->disconnects();
        s.reconnects = connection_->reconnects();
    }
    lock.unlock();
    s.rules_mismatch = rules_mismatch(nullptr);
    metrics_.sample(s);
}

}  // namespace redflag::app
