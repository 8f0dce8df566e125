#include "ingest/adapters/account_resolver.hpp"

#include <algorithm>

namespace redflag::ingest::adapters {

config_resolver::config_resolver(const std::map<std::string, adapter_config>& adapters) {
    for (const auto& [vendor, c] : adapters) vendors_[vendor] = vendor_rules{c.accounts, c.vendor_ids};
}

std::optional<std::string> config_resolver::resolve(const customer_ref& customer) const {
    auto v = vendors_.find(customer.vendor);
    if (v == vendors_.end()) return std::nullopt;
    // A user (Zendesk requester, Segment user) is a person, never an account id as it is.
    const bool person = customer.kind == "user";
    const std::string key = person ? "user:" + customer.id : customer.id;
    if (auto a = v->second.accounts.find(key); a != v->second.accounts.end()) return a->second;
    if (v->second.vendor_ids && !person) return customer.id;
    return std::nullopt;
}

std::vector<customer_ref> resolve_accounts(hook_result& result, const account_resolver& resolver) {
    std::vector<customer_ref> unresolved;
    for (auto& ev : result.events)
        for (auto& c : ev.mapped) {
            if (!c.customer || c.body.contains("account")) continue;
            if (auto account = resolver.resolve(*c.customer)) {
                c.body["account"] = *account;
            } else if (std::find(unresolved.begin(), unresolved.end(), *c.customer) == unresolved.end()) {
                unresolved.push_back(*c.customer);
            }
        }
    return unresolved;
}

}  // namespace redflag::ingest::adapters
