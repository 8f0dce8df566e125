// The process's identity and resources, the way Prometheus' own client libraries expose
// them (client_golang's process collector), so the usual dashboards and alerts work:
//   redflag_build_info{version,revision,compiler,build_type} 1
//   process_cpu_seconds_total           user + system CPU time
//   process_resident_memory_bytes       RSS
//   process_virtual_memory_bytes        virtual memory size
//   process_open_fds, process_max_fds   open descriptors; the soft RLIMIT_NOFILE
//   process_start_time_seconds          start, in seconds since the Unix epoch
// Read from /proc/self (Linux) by refresh(), which engine_metrics::scrape() calls before
// each scrape. A file that cannot be read leaves its gauges at their last value.
//
// Thread-safe: refresh() takes a lock (scrapes may overlap). The parse functions are pure.
// One instance per registry: two would both advance process_cpu_seconds_total.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace redflag::metrics {

// The fields of /proc/PID/stat that the process metrics use (proc(5)).
struct proc_stat {
    std::uint64_t utime_ticks = 0;   // field 14
    std::uint64_t stime_ticks = 0;   // field 15
    std::uint64_t start_ticks = 0;   // field 22: clock ticks after boot
    std::uint64_t vsize_bytes = 0;   // field 23
    std::uint64_t rss_pages = 0;     // field 24
};

// Parses the text of /proc/PID/stat; the command name (field 2) may hold spaces and ')'.
std::optional<proc_stat> parse_proc_stat(std::string_view text);

// The boot time ("btime" line of /proc/stat), in seconds since the epoch.
std::optional<std::uint64_t> parse_boot_time(std::string_view text);

class process_metrics {
public:
    // Registers the families in `registry` and sets redflag_build_info.
    explicit process_metrics(prometheus::Registry& registry);

    // Reads /proc/self and sets the gauges (and advances the CPU counter).
    void refresh();

private:
    std::mutex mutex_;
    double cpu_seconds_seen_ = 0;  // what process_cpu_seconds_total has counted
    prometheus::Counter* cpu_seconds_;
    prometheus::Gauge* resident_bytes_;
    prometheus::Gauge* virtual_bytes_;
    prometheus::Gauge* open_fds_;
    prometheus::Gauge* max_fds_;
    prometheus::Gauge* start_time_;
};

}  // namespace redflag::metrics
