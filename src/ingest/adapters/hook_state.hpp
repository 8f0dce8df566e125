// The vendor hooks' durable parts as `serve` wires them: the external-ids index (the
// engine's batch observer, so built before the engine), the unmatched store over the
// engine's ingest sink, and the registry of adapters that resolves through both.
//
// Order: construct (before the engine), observer() into the engine's options; start()
// before the engine's shards start (it loads the index and counts what is waiting);
// stop() before the engine stops. registry() is immutable after start().
#pragma once

#include "engine/ingest_sink.hpp"
#include "ingest/adapters/external_id_index.hpp"
#include "ingest/adapters/registry.hpp"
#include "ingest/adapters/unmatched.hpp"

#include <map>
#include <memory>
#include <string>

namespace redflag::ingest::adapters {

class hook_state {
public:
    hook_state(std::map<std::string, adapter_config> adapters, int shards)
        : adapters_(std::move(adapters)), index_(shards) {}

    engine::batch_observer* observer() { return &index_; }

    store::status start(store::store& store, engine::ingest_sink& sink, prometheus::Gauge* waiting) {
        if (auto st = index_.load(store); !st.ok()) return st;
        unmatched_ = std::make_unique<unmatched_events>(store, sink, index_, waiting);
        index_.set_listener([u = unmatched_.get()](const std::vector<external_id_index::mapping>& mappings) {
            std::vector<std::pair<std::string, std::string>> customers;
            for (const auto& m : mappings) customers.emplace_back(m.vendor, m.customer);
            u->release(std::move(customers));
        });
        if (!adapters_.empty()) registry_ = std::make_shared<const hook_registry>(adapters_, &index_, unmatched_.get());
        return unmatched_->start();
    }
    void stop() {
        if (unmatched_) unmatched_->stop();
    }

    // Null when no adapter is configured.
    std::shared_ptr<const hook_registry> registry() const { return registry_; }

private:
    std::map<std::string, adapter_config> adapters_;
    external_id_index index_;
    std::unique_ptr<unmatched_events> unmatched_;
    std::shared_ptr<const hook_registry> registry_;
};

}  // namespace redflag::ingest::adapters
