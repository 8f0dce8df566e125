#include "app/serve_cluster.hpp"

#include "cluster/stream.hpp"
#include "model/codec.hpp"
#include "store/store.hpp"

#include <boost/asio/post.hpp>
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
    auto leases = std::make_unique<cluster::lease_manager>(*connection_, options_, *runner_, base_url);
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
    {
        std::lock_guard lock(mu_);  // sample_metrics() sees them or not at all
        leases = std::move(leases_);
        runner = std::move(runner_);
    }
    if (leases) leases->stop(true);  // releases: flush, last snapshot, lease deleted
    if (runner) runner->stop();
    sink_.reset();
}

void refusing_sink::submit(std::vector<model::event>, std::function<void(engine::ingest_outcome)> done) {
    engine::ingest_outcome out;
    out.status = engine::ingest_outcome::status::unavailable;
    out.error = "this instance does not take events (its cluster.roles has no ingest): send them to an ingest instance";
    done(std::move(out));
}

void cluster_node::sample_metrics() {
    std::lock_guard lock(mu_);
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
    if (connection_) {
        s.disconnects = connection_->disconnects();
        s.reconnects = connection_->reconnects();
    }
    metrics_.sample(s);
}

}  // namespace redflag::app
