// Stripe webhooks -> canonical events.
//
// Signature (https://docs.stripe.com/webhooks#verify-manually): the Stripe-Signature
// header is "t=<unix seconds>,v1=<hex>[,v1=<hex>...][,v0=...]"; each v1 is the hex
// HMAC-SHA256 of "<t>.<raw body>" under the endpoint's signing secret (whsec_...). One
// matching v1 is enough (several are sent while a secret is rolled); other schemes are
// ignored; a t older or newer than the tolerance (5 minutes by default, as Stripe's
// libraries) is refused, which stops replays.
//
// Events (https://docs.stripe.com/api/events/types, the subscription object of
// https://docs.stripe.com/api/subscriptions/object):
//  - customer.subscription.created|updated|deleted -> `contract`: MRR is the sum over
//    the items of price.unit_amount x quantity, in the currency's major unit (amounts are
//    in minor units: cents, but yen for zero-decimal currencies such as JPY and
//    thousandths for BHD, JOD, KWD, OMR, TND: https://docs.stripe.com/currencies),
//    normalised to a month (interval day/week/month/year over interval_count), converted
//    to the configured currency with `rates`. Products come from the price or product id
//    through `products` (else the product id); seats from the quantities of
//    `seat_products` (else the quantity of a single item); renewal_at from the period end.
//    Status: deleted, canceled, incomplete_expired -> churned with MRR 0;
//    cancel_at_period_end or cancel_at -> cancel_requested; trialing and paused count
//    MRR 0; incomplete (first payment pending) is ignored until it becomes active.
//  - customer.created|updated with metadata.redflag_account -> `account` with
//    external_ids {stripe: cus_...}, which maps the customer once the index exists.
//  - anything else (invoice.paid included: it does not change MRR) is ignored.
// The account is the subscription's (or an expanded customer's) metadata.redflag_account
// when present, else the customer id, resolved by the route.
// Each event's id is "stripe:" + the Stripe event id.
#pragma once

#include "ingest/adapters/adapter_config.hpp"
#include "ingest/adapters/hook.hpp"

#include <optional>
#include <string>

namespace redflag::ingest::adapters {

// nullopt when `header` carries a v1 signature of `body` under `secret` made within
// `tolerance` of `now`; else why not.
std::optional<std::string> check_stripe_signature(std::string_view header, std::string_view body,
                                                  std::string_view secret, duration tolerance, timestamp now);

// The number of minor units in one major unit of a Stripe currency code (lower case):
// 1 for zero-decimal currencies, 1000 for three-decimal ones, else 100.
int minor_units(std::string_view currency);

class stripe_adapter final : public adapter {
public:
    explicit stripe_adapter(adapter_config config) : config_(std::move(config)) {}
    std::string_view vendor() const override { return "stripe"; }
    hook_result handle(const hook_request& request, timestamp now) const override;

private:
    adapter_config config_;
};

}  // namespace redflag::ingest::adapters
