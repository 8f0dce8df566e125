// What the config's `adapters:` block says about one vendor (README "Vendor webhooks").
// The config reader (app/config.cpp) fills it; adapters read it. One struct for every
// vendor: each reads the keys that apply to it, and the reader refuses the others.
#pragma once

#include "core/time.hpp"

#include <map>
#include <string>
#include <vector>

namespace redflag::ingest::adapters {

struct owner {
    std::string name;
    std::string email;
};

struct adapter_config {
    std::string vendor;            // "stripe", "zendesk", "segment", "hubspot", "delighted"
    std::string secret;            // the signing secret; empty only with insecure
    bool insecure = false;         // accept unsigned requests (tests, local trials)
    duration tolerance = 5 * minute;  // how old a signed timestamp may be (Stripe, Zendesk, HubSpot)

    // Account resolution without the external-id index: the vendor's customer id
    // (Stripe customer, Zendesk organization, Segment group, HubSpot company) -> account.
    std::map<std::string, std::string> accounts;
    bool vendor_ids = false;  // the vendor's customer ids are Redflag account ids as they are

    // Stripe: price or product id -> product name; products whose quantity counts as
    // seats; the currency MRR is in and rates from other currencies (1 unit = rate units).
    std::map<std::string, std::string> products;
    std::vector<std::string> seat_products;
    std::string currency = "usd";
    std::map<std::string, double> rates;

    // Segment: track event name -> usage metric; the traits read for role, name, plan, seats.
    std::map<std::string, std::string> metrics;
    std::string role_trait = "role";
    std::string plan_trait = "plan";
    std::string seats_trait = "seats";

    // HubSpot: the URL HubSpot calls (else rebuilt from Host and X-Forwarded-Proto);
    // owner id -> CSM; company property -> account field (added to the defaults).
    std::string public_url;
    std::map<std::string, owner> owners;
    std::map<std::string, std::string> properties;

    // Delighted: the person property that names the account.
    std::string account_property = "account";
};

// The vendors there is an adapter for, in the order of their metric labels.
inline constexpr std::string_view vendor_names[] = {"stripe", "zendesk", "segment", "hubspot", "delighted"};
inline constexpr std::size_t vendor_count = std::size(vendor_names);

}  // namespace redflag::ingest::adapters
