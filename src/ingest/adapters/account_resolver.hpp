// Account resolution: which Redflag account a vendor's customer is. Adapters name the
// customer (customer_ref); the route asks an account_resolver before it submits.
//
// config_resolver answers from the config alone: an `accounts` map per vendor (the
// customer's id, or "user:<id>" for a Zendesk requester or a Segment user) and
// `vendor_ids: true` (the vendor's customer ids are the account ids). The external-ids
// index (external_id_index.hpp: account events' `external_ids`, durable with them) is
// the second; first_of asks them in order: the config first, then the index. Events the
// payload names the account of (Stripe metadata redflag_account) never ask.
//
// Thread-safe: resolve() is const; config_resolver and first_of are immutable.
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

// The first answer of `resolvers`, asked in order. Not owned: they outlive it.
class first_of final : public account_resolver {
public:
    explicit first_of(std::vector<const account_resolver*> resolvers) : resolvers_(std::move(resolvers)) {}
    std::optional<std::string> resolve(const customer_ref& customer) const override {
        for (const auto* r : resolvers_)
            if (auto a = r->resolve(customer)) return a;
        return std::nullopt;
    }

private:
    std::vector<const account_resolver*> resolvers_;
};

// Sets `account` on every mapped event of `result` that names a customer instead.
// Returns the customers that could not be resolved, each once, in order of appearance;
// the events of those keep no account.
std::vector<customer_ref> resolve_accounts(hook_result& result, const account_resolver& resolver);

}  // namespace redflag::ingest::adapters
