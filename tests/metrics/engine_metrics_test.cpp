#include "metrics/engine_metrics.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>

using namespace redflag;
using namespace redflag::metrics;

namespace {

const std::vector<std::string> engine_families{
    "redflag_events_ingested_total",      "redflag_ingest_request_duration_seconds", "redflag_rule_evaluations_total",
    "redflag_rule_eval_duration_seconds", "redflag_rule_runtime_errors_total",       "redflag_rules_loaded",
    "redflag_rule_reloads_total",         "redflag_alerts",                          "redflag_alerts_fired_total",
    "redflag_notifications_total",        "redflag_notification_delay_seconds",      "redflag_outbox_pending",
    "redflag_store_size_bytes",
    // Beyond the spec's table: the write path's and the degraded modes' counters (README).
    "redflag_store_write_failures_total", "redflag_degraded_total",
    "redflag_hook_unmatched_events",
    // issue 11: accept failures, reload time, build and process metrics
    "redflag_http_accept_errors_total", "redflag_config_last_reload_success_timestamp_seconds", "redflag_build_info",
    "process_cpu_seconds_total", "process_resident_memory_bytes", "process_virtual_memory_bytes", "process_open_fds",
    "process_max_fds", "process_start_time_seconds"};

std::map<std::string, int> family_counts(const prometheus::Registry& registry) {
    std::map<std::string, int> counts;
    for (const auto& family : registry.Collect()) ++counts[family.name];
    return counts;
}

}  // namespace

TEST(EngineMetrics, registers_every_family_of_the_engine_table_once) {
    engine_metrics m;
    // prometheus-cpp leaves families without children out of a scrape: give the families
    // whose labels come from configuration one child each.
    m.rule_evaluations("r");
    m.rule_runtime_errors("r");
    m.alerts("r", "high", "firing");
    m.alerts_fired("r", "high");
    m.notifications("c", notification_outcome::sent);
    m.notification_delay("c");
    m.outbox_pending("c");
    auto counts = family_counts(*m.registry());
    for (const auto& name : engine_families) EXPECT_EQ(counts[name], 1) << name;
    EXPECT_EQ(counts.size(), engine_families.size());
}

TEST(EngineMetrics, a_second_instance_on_the_same_registry_shares_the_families) {
    auto registry = std::make_shared<prometheus::Registry>();
    engine_metrics a(registry);
    engine_metrics b(registry);
    a.rules_loaded().Set(7);
    EXPECT_EQ(b.rules_loaded().Value(), 7);
    for (auto& [name, n] : family_counts(*registry)) EXPECT_EQ(n, 1) << name;
}

TEST(EngineMetrics, ingested_children_exist_per_type_and_outcome_before_any_event) {
    engine_metrics m;
    auto text = serialize_text(*m.registry());
    for (auto type : model::event_type_names)
        for (auto outcome : event_outcome_names)
            EXPECT_NE(text.find("redflag_events_ingested_total{outcome=\"" + std::string(outcome) + "\",type=\"" +
                                std::string(type) + "\"} 0"),
                      std::string::npos)
                << type << " " << outcome;
    EXPECT_NE(text.find(R"(redflag_events_ingested_total{outcome="rejected",type="unknown"} 0)"), std::string::npos);
}

TEST(EngineMetrics, counts_land_on_the_right_child) {
    engine_metrics m;
    m.events_ingested(model::event_type::nps, event_outcome::accepted).Increment(3);
    m.events_ingested(std::nullopt, event_outcome::rejected).Increment();
    EXPECT_EQ(m.events_ingested(model::event_type::nps, event_outcome::accepted).Value(), 3);
    EXPECT_EQ(m.events_ingested(model::event_type::csat, event_outcome::accepted).Value(), 0);
    EXPECT_EQ(m.events_ingested(model::event_type::nps, event_outcome::duplicate).Value(), 0);
    auto text = serialize_text(*m.registry());
    EXPECT_NE(text.find(R"(redflag_events_ingested_total{outcome="accepted",type="nps"} 3)"), std::string::npos);
    EXPECT_NE(text.find(R"(redflag_events_ingested_total{outcome="rejected",type="unknown"} 1)"), std::string::npos);
}

TEST(EngineMetrics, request_duration_histogram_has_buckets_per_outcome) {
    engine_metrics m;
    m.ingest_request_duration(request_outcome::accepted).Observe(0.003);
    auto text = serialize_text(*m.registry());
    EXPECT_NE(text.find("# TYPE redflag_ingest_request_duration_seconds histogram"), std::string::npos);
    EXPECT_NE(text.find(R"(redflag_ingest_request_duration_seconds_bucket{outcome="accepted",le="0.005"} 1)"), std::string::npos)
        << text;
    EXPECT_NE(text.find(R"(redflag_ingest_request_duration_seconds_bucket{outcome="accepted",le="0.0025"} 0)"), std::string::npos);
    for (auto outcome : request_outcome_names)
        EXPECT_NE(text.find("redflag_ingest_request_duration_seconds_count{outcome=\"" + std::string(outcome) + "\"}"),
                  std::string::npos)
            << outcome;
}

TEST(EngineMetrics, labelled_accessors_return_the_same_child_for_the_same_labels) {
    engine_metrics m;
    auto& a = m.rule_evaluations("usage_drop");
    auto& b = m.rule_evaluations("usage_drop");
    EXPECT_EQ(&a, &b);
    EXPECT_NE(&a, &m.rule_evaluations("nps_detractor"));
    m.notifications("slack", notification_outcome::dead).Increment();
    m.alerts("usage_drop", "high", "firing").Set(2);
    m.alerts_fired("usage_drop", "high").Increment();
    m.notification_delay("slack").Observe(1.5);
    m.outbox_pending("slack").Set(4);
    m.rule_runtime_errors("usage_drop").Increment();
    m.rule_reloads(reload_outcome::error).Increment();
    m.rule_eval_duration().Observe(0.00002);
    m.store_size_bytes().Set(1024);
    auto text = serialize_text(*m.registry());
    EXPECT_NE(text.find(R"(redflag_notifications_total{channel="slack",outcome="dead"} 1)"), std::string::npos);
    EXPECT_NE(text.find(R"(redflag_alerts{rule="usage_drop",severity="high",state="firing"} 2)"), std::string::npos);
    EXPECT_NE(text.find(R"(redflag_alerts_fired_total{rule="usage_drop",severity="high"} 1)"), std::string::npos);
    EXPECT_NE(text.find(R"(redflag_notification_delay_seconds_bucket{channel="slack",le="2.5"} 1)"), std::string::npos);
    EXPECT_NE(text.find(R"(redflag_outbox_pending{channel="slack"} 4)"), std::string::npos);
    EXPECT_NE(text.find(R"(redflag_rule_runtime_errors_total{rule="usage_drop"} 1)"), std::string::npos);
    EXPECT_NE(text.find(R"(redflag_rule_reloads_total{outcome="error"} 1)"), std::string::npos);
    EXPECT_NE(text.find(R"(redflag_rule_reloads_total{outcome="ok"} 0)"), std::string::npos);
    EXPECT_NE(text.find("redflag_rule_eval_duration_seconds_count 1"), std::string::npos);
    EXPECT_NE(text.find("redflag_store_size_bytes 1024"), std::string::npos);
}

TEST(EngineMetrics, bucket_boundaries_are_increasing) {
    for (const auto* buckets : {&engine_metrics::request_duration_buckets(), &engine_metrics::eval_duration_buckets(),
                                &engine_metrics::notification_delay_buckets()}) {
        ASSERT_FALSE(buckets->empty());
        for (std::size_t i = 1; i < buckets->size(); ++i) EXPECT_LT((*buckets)[i - 1], (*buckets)[i]);
    }
}
