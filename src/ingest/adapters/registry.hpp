// The configured adapters, by vendor name, and the resolver built from the same config.
// Built once at start-up; immutable and thread-safe afterwards.
#pragma once

#include "ingest/adapters/account_resolver.hpp"
#include "ingest/adapters/adapter_config.hpp"
#include "ingest/adapters/hook.hpp"

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
    explicit hook_registry(const std::map<std::string, adapter_config>& configs);

    // The adapter of `vendor`, or nullptr when it is not configured (the route answers 404).
    const adapter* find(std::string_view vendor) const;
    const account_resolver& resolver() const { return *resolver_; }

private:
    std::map<std::string, std::unique_ptr<adapter>, std::less<>> adapters_;
    std::unique_ptr<account_resolver> resolver_;
};

}  // namespace redflag::ingest::adapters
