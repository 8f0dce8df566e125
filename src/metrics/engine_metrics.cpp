#include "metrics/engine_metrics.hpp"

#include <prometheus/text_serializer.h>

namespace redflag::metrics {
namespace {

constexpr std::string_view notification_outcome_names[] = {"sent", "retry", "dead"};
constexpr std::string_view reload_outcome_names[] = {"ok", "error"};

std::string type_label(std::size_t index) {
    return index < model::event_type_count ? std::string(model::event_type_names[index]) : std::string(unknown_type);
}

}  // namespace

const prometheus::Histogram::BucketBoundaries& engine_metrics::request_duration_buckets() {
    // An ingest request waits for the WAL (and an fsync with storage.sync): 0.5 ms to 10 s.
    static const prometheus::Histogram::BucketBoundaries b{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                           0.1,    0.25,  0.5,    1,     2.5,  5,     10};
    return b;
}

const prometheus::Histogram::BucketBoundaries& engine_metrics::eval_duration_buckets() {
    // One compiled rule over one account: microseconds normally, milliseconds when slow.
    static const prometheus::Histogram::BucketBoundaries b{0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025,
                                                           0.0005,   0.001,   0.0025,   0.005,   0.01,   0.05};
    return b;
}

const prometheus::Histogram::BucketBoundaries& engine_metrics::notification_delay_buckets() {
    // Transition to delivery: sub-second normally, up to the 24 h delivery.max_age on retries.
    static const prometheus::Histogram::BucketBoundaries b{0.1, 0.25, 0.5,  1,    2.5,  5,     10,   30,
                                                           60,  300,  900,  1800, 3600, 10800, 21600, 86400};
    return b;
}

engine_metrics::engine_metrics(std::shared_ptr<prometheus::Registry> registry) : registry_(std::move(registry)) {
    auto& r = *registry_;
    events_ingested_family_ = &prometheus::BuildCounter()
                                   .Name("redflag_events_ingested_total")
                                   .Help("Events received on the ingest API, by type and outcome")
                                   .Register(r);
    for (std::size_t t = 0; t < events_ingested_.size(); ++t)
        for (std::size_t o = 0; o < event_outcome_names.size(); ++o)
            events_ingested_[t][o] = &events_ingested_family_->Add(
                {{"type", type_label(t)}, {"outcome", std::string(event_outcome_names[o])}});

    ingest_request_duration_family_ = &prometheus::BuildHistogram()
                                           .Name("redflag_ingest_request_duration_seconds")
                                           .Help("Time from a complete ingest request to its answer, by outcome")
                                           .Register(r);
    for (std::size_t o = 0; o < request_outcome_names.size(); ++o)
        ingest_request_duration_[o] = &ingest_request_duration_family_->Add(
            {{"outcome", std::string(request_outcome_names[o])}}, request_duration_buckets());

    hook_events_family_ = &prometheus::BuildCounter()
                               .Name("redflag_hook_events_total")
                               .Help("Events of vendor webhooks (POST /v1/hooks/{vendor}), by vendor and outcome")
                               .Register(r);

    rule_evaluations_family_ =
        &prometheus::BuildCounter().Name("redflag_rule_evaluations_total").Help("Rule evaluations, by rule").Register(r);
    rule_eval_duration_family_ = &prometheus::BuildHistogram()
                                      .Name("redflag_rule_eval_duration_seconds")
                                      .Help("Time to evaluate one rule for one account")
                                      .Register(r);
    rule_eval_duration_ = &rule_eval_duration_family_->Add({}, eval_duration_buckets());
    rule_runtime_errors_family_ = &prometheus::BuildCounter()
                                       .Name("redflag_rule_runtime_errors_total")
                                       .Help("Rule evaluations that failed at run time, by rule")
                                       .Register(r);
    rules_loaded_family_ = &prometheus::BuildGauge().Name("redflag_rules_loaded").Help("Rules in the loaded rule set").Register(r);
    rules_loaded_ = &rules_loaded_family_->Add({});
    rule_reloads_family_ =
        &prometheus::BuildCounter().Name("redflag_rule_reloads_total").Help("Rule reloads, by outcome").Register(r);
    for (std::size_t o = 0; o < rule_reloads_.size(); ++o)
        rule_reloads_[o] = &rule_reloads_family_->Add({{"outcome", std::string(reload_outcome_names[o])}});

    alerts_family_ =
        &prometheus::BuildGauge().Name("redflag_alerts").Help("Alerts, by rule, severity and state").Register(r);
    alerts_fired_family_ = &prometheus::BuildCounter()
                                .Name("redflag_alerts_fired_total")
                                .Help("Alerts that started firing, by rule and severity")
                                .Register(r);
    notifications_family_ = &prometheus::BuildCounter()
                                 .Name("redflag_notifications_total")
                                 .Help("Notification delivery attempts, by channel and outcome")
                                 .Register(r);
    notification_delay_family_ = &prometheus::BuildHistogram()
                                      .Name("redflag_notification_delay_seconds")
                                      .Help("Time from an alert transition to the delivery of its notification")
                                      .Register(r);
    outbox_pending_family_ = &prometheus::BuildGauge()
                                  .Name("redflag_outbox_pending")
                                  .Help("Notifications waiting in the outbox, by channel")
                                  .Register(r);
    store_size_bytes_family_ =
        &prometheus::BuildGauge().Name("redflag_store_size_bytes").Help("Size of the RocksDB store on disk").Register(r);
    store_size_bytes_ = &store_size_bytes_family_->Add({});
}

prometheus::Counter& engine_metrics::events_ingested(std::optional<model::event_type> type, event_outcome outcome) {
    const std::size_t t = type ? static_cast<std::size_t>(*type) : model::event_type_count;
    return *events_ingested_[t][static_cast<std::size_t>(outcome)];
}

prometheus::Histogram& engine_metrics::ingest_request_duration(request_outcome outcome) {
    return *ingest_request_duration_[static_cast<std::size_t>(outcome)];
}

prometheus::Counter& engine_metrics::hook_events(const std::string& vendor, hook_outcome outcome) {
    return hook_events_family_->Add(
        {{"vendor", vendor}, {"outcome", std::string(hook_outcome_names[static_cast<std::size_t>(outcome)])}});
}

prometheus::Counter& engine_metrics::rule_evaluations(const std::string& rule) {
    return rule_evaluations_family_->Add({{"rule", rule}});
}

prometheus::Counter& engine_metrics::rule_runtime_errors(const std::string& rule) {
    return rule_runtime_errors_family_->Add({{"rule", rule}});
}

prometheus::Gauge& engine_metrics::alerts(const std::string& rule, const std::string& severity, const std::string& state) {
    return alerts_family_->Add({{"rule", rule}, {"severity", severity}, {"state", state}});
}

prometheus::Counter& engine_metrics::alerts_fired(const std::string& rule, const std::string& severity) {
    return alerts_fired_family_->Add({{"rule", rule}, {"severity", severity}});
}

prometheus::Counter& engine_metrics::notifications(const std::string& channel, notification_outcome outcome) {
    return notifications_family_->Add(
        {{"channel", channel}, {"outcome", std::string(notification_outcome_names[static_cast<std::size_t>(outcome)])}});
}

prometheus::Histogram& engine_metrics::notification_delay(const std::string& channel) {
    return notification_delay_family_->Add({{"channel", channel}}, notification_delay_buckets());
}

prometheus::Gauge& engine_metrics::outbox_pending(const std::string& channel) {
    return outbox_pending_family_->Add({{"channel", channel}});
}

std::string engine_metrics::scrape() const {
    if (scrape_refresh_) scrape_refresh_();
    return serialize_text(*registry_);
}

std::string serialize_text(const prometheus::Registry& registry) {
    return prometheus::TextSerializer().Serialize(registry.Collect());
}

}  // namespace redflag::metrics
