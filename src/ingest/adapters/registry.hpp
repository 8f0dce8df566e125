// The configured adapters, by vendor name, the resolver (the config first, then the
// external-ids index when there is one) and the unmatched store when there is one.
// Built once at start-up; immutable and thread-safe afterwards.
#pragma once

#include "ingest/adapters/account_resolver.hpp"
#include "ingest/adapters/adapter_config.hpp"
#include "ingest/adapters/hook.hpp"
#include "ingest/adapters/unmatched.hpp"

#include <map>
#include <memory>
#include <string>
#include <string_view>

namespace redflag::ingest::adapters {

// The adapter for `config.vendor`; nullptr for a vendor there is none for (the config
// reader refuses those first).
std::unique_ptr<adapter> make_adapter(const adapter_config& config);

class hook_registry {
public:
    // `index` and `unmatched` are not owned (they outlive the registry); null for none:
    // then a customer that does not resolve is answered 503 (retry later).
    explicit hook_registry(const std::map<std::string, adapter_config>& configs, const account_resolver* index = nullptr,
                           unmatched_events* unmatched = nullptr);

    // The adapter of `vendor`, or nullptr when it is not configured (the route answers 404).
    const adapter* find(std::string_view vendor) const;
    const account_resolver& resolver() const { return *resolver_; }
    unmatched_events* unmatched() const { return unmatched_; }

private:
    std::map<std::string, std::unique_ptr<adapter>, std::less<>> adapters_;
    std::unique_ptr<config_resolver> config_;
    std::unique_ptr<account_resolver> resolver_;
    unmatched_events* unmatched_ = nullptr;
};

}  // namespace redflag::ingest::adapters
