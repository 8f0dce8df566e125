#include "ingest/adapters/registry.hpp"

#include "ingest/adapters/delighted.hpp"
#include "ingest/adapters/hubspot.hpp"
#include "ingest/adapters/segment.hpp"
#include "ingest/adapters/stripe.hpp"
#include "ingest/adapters/zendesk.hpp"

namespace redflag::ingest::adapters {

std::unique_ptr<adapter> make_adapter(const adapter_config& config) {
    if (config.vendor == "stripe") return std::make_unique<stripe_adapter>(config);
    if (config.vendor == "zendesk") return std::make_unique<zendesk_adapter>(config);
    if (config.vendor == "segment") return std::make_unique<segment_adapter>(config);
    if (config.vendor == "hubspot") return std::make_unique<hubspot_adapter>(config);
    if (config.vendor == "delighted") return std::make_unique<delighted_adapter>(config);
    return nullptr;
}

hook_registry::hook_registry(const std::map<std::string, adapter_config>& configs)
    : resolver_(std::make_unique<config_resolver>(configs)) {
    for (const auto& [vendor, c] : configs)
        if (auto a = make_adapter(c)) adapters_.emplace(vendor, std::move(a));
}

const adapter* hook_registry::find(std::string_view vendor) const {
    auto a = adapters_.find(vendor);
    return a == adapters_.end() ? nullptr : a->second.get();
}

}  // namespace redflag::ingest::adapters
