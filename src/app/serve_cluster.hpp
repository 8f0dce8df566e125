// `redflag serve` in cluster mode (issue 17; src/cluster/README.md): what an instance runs
// beside the single-process pieces when the config has a `cluster:` block.
//
//   role ingest   POST /v1/events goes to publishing_sink instead of the engine: each
//                 event published to its partition's subject, 202 once JetStream acked
//                 every one (a quorum of replicas), 503 with the error otherwise.
//   role engine   engine::partitions over the service, a partition_runner and a
//                 lease_manager: the instance owns its share of the partitions and
//                 consumes them into its engine.
//
// Start (connect(), then start_engine() once the HTTP server listens, so the heartbeat
// carries its URL): connection, stream, snapshot bucket, runner, lease manager, each
// retried until cluster.start_timeout while the NATS cluster elects its leaders. Stop:
// the lease manager releases every partition (flush, last snapshot, lease deleted), then
// the runner stops; the engine service is stopped after that by serve.
//
// Reads from any instance (http/cluster_routing.hpp): the node implements the routing
// seam from the lease manager's view (partition -> node, node -> heartbeat info) and
// forwards requests with a libcurl client on a pool of its own.
//
// Rules the same everywhere: the heartbeat info is JSON {"url": base URL, "rules": the
// rule fingerprint (rules/sources.hpp)}; rules_warning() names the live members whose
// fingerprint differs (GET /readyz's "warning", redflag_cluster_rules_mismatch). A reload
// that succeeded here is asked of every other instance on NATS (cluster/control.hpp);
// each reloads its own files from its own disk.
//
// Thread-safety: connect/start_engine/stop from serve's thread; the sink, the routing
// calls, rules_* and request_reload from any.
#pragma once

#include "cluster/connection.hpp"
#include "cluster/control.hpp"
#include "cluster/lease_manager.hpp"
#include "cluster/options.hpp"
#include "cluster/partition_runner.hpp"
#include "cluster/publisher.hpp"
#include "cluster/snapshot_store.hpp"
#include "engine/ingest_sink.hpp"
#include "engine/partitions.hpp"
#include "engine/service.hpp"
#include "http/cluster_routing.hpp"
#include "metrics/cluster_metrics.hpp"

#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace redflag::app {

// Ingest in cluster mode: publishes a validated batch and answers once JetStream acked
// it. Publishing blocks for the acks, so it runs on a pool of its own (one publisher per
// pool thread, as publish() takes one batch at a time), not on the HTTP threads.
class publishing_sink final : public engine::ingest_sink {
public:
    publishing_sink(cluster::connection& c, const cluster::options& o, metrics::cluster_metrics& metrics, int threads);
    ~publishing_sink() override;
    void submit(std::vector<model::event> batch, std::function<void(engine::ingest_outcome)> done) override;

private:
    void publish(std::vector<model::event>& batch, engine::ingest_outcome& out);

    cluster::connection& connection_;
    const cluster::options options_;
    metrics::cluster_metrics& metrics_;
    std::mutex mu_;
    std::vector<std::unique_ptr<cluster::publisher>> idle_;  // guarded by mu_
    boost::asio::thread_pool pool_;
};

// POST /v1/events on an instance without the ingest role: 503, saying where to send them
// (the local engine takes only its partitions' events, from the stream).
class refusing_sink final : public engine::ingest_sink {
public:
    void submit(std::vector<model::event> batch, std::function<void(engine::ingest_outcome)> done) override;
};

class cluster_node final : public http::cluster_routing {
public:
    // `outbox`: where restored partitions' undelivered notifications go (the dispatcher).
    cluster_node(cluster::options o, engine::service& service, prometheus::Registry& registry,
                 duration snapshot_interval, delivery::outbox_sink* outbox);
    ~cluster_node() override;

    // Before connect(): what to do when another instance asks for a rule reload (post it
    // to the thread that reloads; called on a NATS thread), and the running rules' fingerprint.
    void on_peer_reload(std::function<void()> reload) { peer_reload_ = std::move(reload); }
    // The rules now running (at start and after each successful reload).
    void rules_loaded(const std::string& fingerprint);
    // Asks every other instance to reload its rule files; "" or what went wrong.
    std::string request_reload();
    // "" when every live member runs the same rule texts; else which do not.
    std::string rules_warning() const;

    // http::cluster_routing
    const std::string& node() const override { return options_.node; }
    bool owns(std::string_view account) const override;
    std::optional<http::cluster_member> owner_of(std::string_view account) const override;
    std::vector<http::cluster_member> peers() const override;
    void forward(const http::cluster_member& to, const http::api_request& request,
                 std::function<void(http::api_response)> done) override;

    // Before the engine starts: the partitions seam (it decides which accounts notify).
    // Then connects and opens the stream, retrying until start_timeout. False with `error`.
    bool connect(std::string& error);
    // Where POST /v1/events goes: the publishing sink (role ingest), else a refusal. After connect().
    engine::ingest_sink* ingest() { return sink_ ? static_cast<engine::ingest_sink*>(sink_.get()) : &refusing_; }
    // Role engine: the runner and the lease manager, heartbeating `base_url`.
    bool start_engine(const std::string& base_url, std::string& error);
    // Releases every lease (flushing and snapshotting), then stops consuming. Idempotent.
    void stop();

    void sample_metrics();
    const cluster::options& options() const { return options_; }

private:
    std::string heartbeat_info() const;
    cluster::cluster_view view() const;
    std::size_t rules_mismatch(std::string* which) const;

    // Runs `step` until it succeeds or start_timeout has passed since `since`.
    cluster::status retry(const char* what, std::chrono::steady_clock::time_point since,
                          const std::function<cluster::status()>& step);

    const cluster::options options_;
    engine::service& service_;
    const duration snapshot_interval_;
    metrics::cluster_metrics metrics_;
    std::unique_ptr<engine::partitions> partitions_;  // role engine
    std::unique_ptr<cluster::connection> connection_;
    std::unique_ptr<cluster::snapshot_store> snapshots_;
    mutable std::mutex mu_;  // guards runner_, leases_ and control_ against sample_metrics() on a scrape
    std::unique_ptr<cluster::partition_runner> runner_;
    std::unique_ptr<cluster::lease_manager> leases_;
    std::unique_ptr<publishing_sink> sink_;
    refusing_sink refusing_;
    bool engine_started_ = false;
    std::string base_url_;  // set by start_engine
    std::unique_ptr<cluster::control_channel> control_;
    std::function<void()> peer_reload_;
    mutable std::mutex rules_mu_;
    std::string fingerprint_;  // guarded by rules_mu_
    std::atomic<std::uint64_t> reloads_sent_{0};
    boost::asio::thread_pool forwarding_{4};  // forward(): blocking HTTP calls to peers
};

}  // namespace redflag::app
