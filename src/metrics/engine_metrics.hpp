// Every metric family of the "Engine" table of ../shared/spec/metrics.md, registered once
// in one prometheus::Registry that GET /metrics serves. Where a label's values are fixed
// and known (outcomes, event types) the children are built here, up front, and handed
// out by enum; where they come from configuration (rules, channels), the accessor adds
// the child on first use: call it when a rule set or channel list is loaded and keep the
// returned reference, never per event with an unbounded value (no account ids).
//
// Thread-safe: prometheus-cpp's counters, gauges, histograms and Family::Add are. The
// constructor throws (prometheus-cpp's std::invalid_argument) only if a family of the same
// name but another type is already in the registry: a start-up programming error.
#pragma once

#include "model/event.hpp"  // event type names only (header-only constants)

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace redflag::metrics {

// redflag_events_ingested_total{outcome}
enum class event_outcome : std::uint8_t { accepted, duplicate, rejected };
inline constexpr std::array<std::string_view, 3> event_outcome_names{"accepted", "duplicate", "rejected"};

// redflag_ingest_request_duration_seconds{outcome}: how a POST /v1/events ended.
enum class request_outcome : std::uint8_t {
    accepted,      // 202
    invalid,       // 400: malformed JSON or invalid events
    unauthorized,  // 401, 403
    too_large,     // 413
    unsupported,   // 415
    overloaded,    // 503
    failed,        // 500
};
inline constexpr std::array<std::string_view, 7> request_outcome_names{
    "accepted", "invalid", "unauthorized", "too_large", "unsupported", "overloaded", "failed"};

// redflag_hook_events_total{vendor,outcome}: what became of each event of a vendor's
// webhook delivery (POST /v1/hooks/{vendor}); a request refused before its events could
// be read (bad signature, malformed body) counts once.
enum class hook_outcome : std::uint8_t {
    accepted,      // stored
    duplicate,     // its id was stored already (a redelivery)
    ignored,       // a type the adapter does not map: acknowledged with 2xx
    rejected,      // 400: malformed, or a native field missing or wrong
    unauthorized,  // 401: signature missing, wrong or stale
    unmatched,     // its customer maps to no account yet: 503, the vendor retries
    overloaded,    // 503: the engine's queues are full
    failed,        // 500: the store failed
};
inline constexpr std::array<std::string_view, 8> hook_outcome_names{
    "accepted", "duplicate", "ignored", "rejected", "unauthorized", "unmatched", "overloaded", "failed"};

// redflag_rule_reloads_total{outcome}
enum class reload_outcome : std::uint8_t { ok, error };

// redflag_notifications_total{outcome}
enum class notification_outcome : std::uint8_t { sent, retry, dead };

// The type label of rejected events whose type could not be read.
inline constexpr std::string_view unknown_type = "unknown";

class engine_metrics {
public:
    // Registers the families in `registry` (a fresh one by default).
    explicit engine_metrics(std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>());

    engine_metrics(const engine_metrics&) = delete;
    engine_metrics& operator=(const engine_metrics&) = delete;

    // The registry to serve (and where the KPI families are added).
    const std::shared_ptr<prometheus::Registry>& registry() const { return registry_; }

    // A function scrape() runs before serialising, to bring derived families up to date
    // (the service merges its shards' KPI aggregates there). Set once, before serving.
    void on_scrape(std::function<void()> refresh) { scrape_refresh_ = std::move(refresh); }
    // GET /metrics: runs the on_scrape function, then the registry in text format.
    std::string scrape() const;

    // redflag_events_ingested_total{type,outcome}; nullopt type is "unknown". The HTTP
    // layer counts `rejected` (it validates); the ingest sink counts `accepted` and
    // `duplicate` (it deduplicates), so no event is counted twice.
    prometheus::Counter& events_ingested(std::optional<model::event_type> type, event_outcome outcome);
    // redflag_ingest_request_duration_seconds{outcome}
    prometheus::Histogram& ingest_request_duration(request_outcome outcome);

    // redflag_hook_events_total{vendor,outcome}; vendors come from the config's adapters.
    prometheus::Counter& hook_events(const std::string& vendor, hook_outcome outcome);

    // redflag_rule_evaluations_total{rule}, redflag_rule_runtime_errors_total{rule}
    prometheus::Counter& rule_evaluations(const std::string& rule);
    prometheus::Counter& rule_runtime_errors(const std::string& rule);
    // redflag_rule_eval_duration_seconds
    prometheus::Histogram& rule_eval_duration() { return *rule_eval_duration_; }
    // redflag_rules_loaded
    prometheus::Gauge& rules_loaded() { return *rules_loaded_; }
    // redflag_rule_reloads_total{outcome}
    prometheus::Counter& rule_reloads(reload_outcome outcome) { return *rule_reloads_[static_cast<std::size_t>(outcome)]; }

    // redflag_alerts{rule,severity,state}, redflag_alerts_fired_total{rule,severity}
    prometheus::Gauge& alerts(const std::string& rule, const std::string& severity, const std::string& state);
    prometheus::Counter& alerts_fired(const std::string& rule, const std::string& severity);

    // redflag_notifications_total{channel,outcome}, redflag_notification_delay_seconds{channel},
    // redflag_outbox_pending{channel}
    prometheus::Counter& notifications(const std::string& channel, notification_outcome outcome);
    prometheus::Histogram& notification_delay(const std::string& channel);
    prometheus::Gauge& outbox_pending(const std::string& channel);

    // redflag_store_size_bytes
    prometheus::Gauge& store_size_bytes() { return *store_size_bytes_; }

    // The families, for removing the children of rules or channels that are gone
    // (Family::Remove) and for code that needs more than the accessors.
    prometheus::Family<prometheus::Counter>& events_ingested_family() { return *events_ingested_family_; }
    prometheus::Family<prometheus::Histogram>& ingest_request_duration_family() { return *ingest_request_duration_family_; }
    prometheus::Family<prometheus::Counter>& rule_evaluations_family() { return *rule_evaluations_family_; }
    prometheus::Family<prometheus::Counter>& rule_runtime_errors_family() { return *rule_runtime_errors_family_; }
    prometheus::Family<prometheus::Gauge>& alerts_family() { return *alerts_family_; }
    prometheus::Family<prometheus::Counter>& alerts_fired_family() { return *alerts_fired_family_; }
    prometheus::Family<prometheus::Counter>& notifications_family() { return *notifications_family_; }
    prometheus::Family<prometheus::Histogram>& notification_delay_family() { return *notification_delay_family_; }
    prometheus::Family<prometheus::Gauge>& outbox_pending_family() { return *outbox_pending_family_; }

    // Bucket boundaries, in seconds.
    static const prometheus::Histogram::BucketBoundaries& request_duration_buckets();
    static const prometheus::Histogram::BucketBoundaries& eval_duration_buckets();
    static const prometheus::Histogram::BucketBoundaries& notification_delay_buckets();

private:
    std::shared_ptr<prometheus::Registry> registry_;
    std::function<void()> scrape_refresh_;

    prometheus::Family<prometheus::Counter>* events_ingested_family_;
    // [type or unknown (last)][outcome]
    std::array<std::array<prometheus::Counter*, 3>, model::event_type_count + 1> events_ingested_{};
    prometheus::Family<prometheus::Histogram>* ingest_request_duration_family_;
    std::array<prometheus::Histogram*, request_outcome_names.size()> ingest_request_duration_{};

    prometheus::Family<prometheus::Counter>* hook_events_family_;

    prometheus::Family<prometheus::Counter>* rule_evaluations_family_;
    prometheus::Family<prometheus::Histogram>* rule_eval_duration_family_;
    prometheus::Histogram* rule_eval_duration_;
    prometheus::Family<prometheus::Counter>* rule_runtime_errors_family_;
    prometheus::Family<prometheus::Gauge>* rules_loaded_family_;
    prometheus::Gauge* rules_loaded_;
    prometheus::Family<prometheus::Counter>* rule_reloads_family_;
    std::array<prometheus::Counter*, 2> rule_reloads_{};

    prometheus::Family<prometheus::Gauge>* alerts_family_;
    prometheus::Family<prometheus::Counter>* alerts_fired_family_;
    prometheus::Family<prometheus::Counter>* notifications_family_;
    prometheus::Family<prometheus::Histogram>* notification_delay_family_;
    prometheus::Family<prometheus::Gauge>* outbox_pending_family_;
    prometheus::Family<prometheus::Gauge>* store_size_bytes_family_;
    prometheus::Gauge* store_size_bytes_;
};

// The registry's families in the Prometheus text format (version 0.0.4).
std::string serialize_text(const prometheus::Registry& registry);

// The Content-Type of serialize_text's output.
inline constexpr std::string_view text_content_type = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace redflag::metrics
