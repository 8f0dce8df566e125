// The service's configuration (../shared/spec/cli.md "Config file"): read from YAML with
// ${VAR} expansion from the environment, every key defaulted, unknown keys and bad values
// reported with their line and column. Config is read at start-up and on reload; errors
// are returned as a list of messages, all of them, not just the first.
#pragma once

#include "cluster/options.hpp"
#include "core/time.hpp"
#include "delivery/channel_config.hpp"
#include "ingest/adapters/adapter_config.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace redflag::app {

// Channels are delivery's (delivery/channel_config.hpp); the config reader fills them.
using smtp_config = delivery::smtp_config;
using channel_config = delivery::channel_config;

struct config {
    std::string source;  // the file it came from, or "(embedded default)"

    std::string listen_host = "127.0.0.1";
    std::uint16_t listen_port = 8080;

    struct storage_section {
        std::string path = "./data";
        bool sync = false;
        duration retention = 400 * day;
        std::uint64_t cache_bytes = 64ull << 20;
        std::uint64_t memtable_bytes = 32ull << 20;   // RocksDB memtables of every column together, charged to the cache
    } storage;

    struct rules_section {
        std::vector<std::string> paths{"./rules"};
    } rules;

    struct engine_section {
        duration tick = minute;
        int threads = 2;
        std::string timezone = "UTC";
        std::size_t queue_events = 200000;  // events waiting per shard before ingest answers 503
        duration snapshot_interval = 30 * seconds_ms;
    } engine;

    struct ingest_section {
        std::vector<std::string> tokens;
        std::string hmac_secret;
        std::uint64_t max_body = 4ull << 20;
        std::size_t max_events = 10000;
        bool insecure = false;
        duration max_future = day;  // events stamped later than receipt + this are refused
    } ingest;

    // The management API's bearer tokens (http/access.hpp): read tokens for its GETs,
    // write tokens for everything (ack, silences, reload too).
    struct api_section {
        std::vector<std::string> read_tokens;
        std::vector<std::string> write_tokens;
        bool insecure = false;  // allow a non-loopback listener whose management API has no tokens
    } api;

    struct metrics_section {
        std::vector<std::string> tokens;  // when set, GET /metrics needs one of them
    } metrics;

    struct http_section {
        int threads = 2;
        duration idle_timeout = 60 * seconds_ms;
        duration request_timeout = 30 * seconds_ms;
    } http;

    struct delivery_section {
        duration max_age = day;
    } delivery;

    struct ui_section {
        std::string account_url;
        bool enabled = true;         // the web console under /ui/ (README "Web console")
        bool secure_cookie = false;  // mark the console's cookies Secure (TLS terminated in front)
    } ui;

    std::map<std::string, channel_config> channels;

    // Vendor webhook adapters (README "Vendor webhooks"), by vendor name.
    std::map<std::string, ingest::adapters::adapter_config> adapters;

    struct kpi_section {
        std::string currency = "USD";
        double gross_margin = 0.8;
        std::map<std::string, double> stack;  // product → list price per seat and month
        bool per_account_metrics = false;
        // kpi.cost: the hourly cost of a CSM's and of support's time (cost to serve).
        double csm_hourly = 0;
        double support_hourly = 0;
        // kpi.free_plans: the plans that are free (free → paid conversion).
        std::vector<std::string> free_plans;
    } kpi;

    struct log_section {
        std::string level = "info";
        std::string format = "text";  // text | json
    } log;

    // Past one machine (issue 17): the cluster module's options (cluster/options.hpp).
    // Unset without a `cluster:` block: the single-process mode, unchanged.
    std::optional<cluster::options> cluster;
};

struct config_result {
    std::optional<app::config> value;  // set when errors is empty
    std::vector<std::string> errors;   // "redflag.yaml:3:5: unknown key ..."
};

using environment_lookup = std::function<std::optional<std::string>(const std::string&)>;

// The process environment (getenv).
environment_lookup process_environment();

// Parses YAML text; `source` names it in messages.
config_result parse_config(const std::string& text, const std::string& source,
                           const environment_lookup& env = process_environment());

// Reads and parses a file.
config_result load_config_file(const std::string& path, const environment_lookup& env = process_environment());

// The embedded default (cli.md "Defaults").
app::config default_config();

// "4MiB", "512KiB", "1GiB", "1000" (bytes), "10MB".
std::optional<std::uint64_t> parse_byte_size(const std::string& text);

}  // namespace redflag::app
