// Account resolution: which Redflag account a vendor's customer is. Adapters name the
// customer (customer_ref); the route asks an account_resolver before it submits.
//
// The resolver here, config_resolver, answers from the config alone: an `accounts` map
// per vendor (the customer's id, or "user:<id>" for a Zendesk requester or a Segment user)
// and `vendor_ids: true` (the vendor's customer ids are the account ids). The
// external-ids index (account events' `external_ids`, kept by the engine, events of
// unknown customers kept until their mapping arrives) is a later resolver behind this
// same interface; see the README, "Vendor webhooks".
//
// Thread-safe: resolve() is const and config_resolver is immutable.
#pragma once

#include "ingest/adapters/adapter_config.hpp"
#include "ingest/adapters/hook.hpp"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace redflag::ingest::adapters {

class account_resolver {
public:
    virtual ~account_resolver() = default;
    // The account of `customer`, or nullopt when it is not known (yet).
    virtual std::optional<std::string> resolve(const customer_ref& customer) const = 0;
};

class config_resolver final : public account_resolver {
public:
    explicit config_resolver(const std::map<std::string, adapter_config>& adapters);
    std::optional<std::string> resolve(const customer_ref& customer) const override;

private:
    struct vendor_rules {
        std::map<std::string, std::string> accounts;
        bool vendor_ids = false;
    };
    std::map<std::string, vendor_rules, std::less<>> vendors_;
};

// Sets `account` on every mapped event of `result` that names a customer instead.
// Returns the customers that could not be resolved, each once, in order of appearance;
// the events of those keep no account.
std::vector<customer_ref> resolve_accounts(hook_result& result, const account_resolver& resolver);

}  // namespace redflag::ingest::adapters
