#include "metrics/process_metrics.hpp"

#include "metrics/build_info.hpp"
#include "metrics/engine_metrics.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fcntl.h>
#include <vector>

using namespace redflag;
using namespace redflag::metrics;

namespace {

// The value of the one sample of a family without labels in a scrape of `m`.
std::optional<double> sample(const std::string& text, const std::string& name) {
    auto at = text.find("\n" + name + " ");
    if (at == std::string::npos) return std::nullopt;
    return std::stod(text.substr(at + name.size() + 2));
}

}  // namespace

TEST(ProcStat, parses_the_fields_after_the_command_name) {
    // A command name with spaces and parentheses, as proc(5) allows.
    const std::string text =
        "4242 (red flag) (x)) S 1 4242 4242 0 -1 4194560 5000 0 12 0 250 75 0 0 20 0 9 0 123456 987654321 3000 "
        "18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0\n";
    auto stat = parse_proc_stat(text);
    ASSERT_TRUE(stat);
    EXPECT_EQ(stat->utime_ticks, 250u);
    EXPECT_EQ(stat->stime_ticks, 75u);
    EXPECT_EQ(stat->start_ticks, 123456u);
    EXPECT_EQ(stat->vsize_bytes, 987654321u);
    EXPECT_EQ(stat->rss_pages, 3000u);
    EXPECT_FALSE(parse_proc_stat("4242 (cut) S 1 2 3"));
    EXPECT_FALSE(parse_proc_stat("no parenthesis"));
}

TEST(ProcStat, boot_time) {
    EXPECT_EQ(parse_boot_time("cpu  1 2 3\nintr 5\nbtime 1764900000\nprocesses 9\n"), 1764900000u);
    EXPECT_FALSE(parse_boot_time("cpu 1 2 3\n"));
    EXPECT_FALSE(parse_boot_time("btime soon\n"));
}

TEST(ProcessMetrics, scrape_has_the_process_and_build_families_from_proc_self) {
    engine_metrics m;
    auto text = m.scrape();
    auto rss = sample(text, "process_resident_memory_bytes");
    ASSERT_TRUE(rss) << text;
    EXPECT_GT(*rss, 1 << 20);  // a gtest binary holds more than a MiB
    EXPECT_GT(*sample(text, "process_virtual_memory_bytes"), *rss);
    EXPECT_GT(*sample(text, "process_max_fds"), 0);
    EXPECT_GE(*sample(text, "process_cpu_seconds_total"), 0);
    const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    auto start = sample(text, "process_start_time_seconds");
    ASSERT_TRUE(start);
    EXPECT_LE(*start, now + 1);
    EXPECT_GT(*start, now - 3600);  // this test process started within the hour

    // Open descriptors follow what the process opens.
    const double before = *sample(text, "process_open_fds");
    std::vector<int> fds;
    for (int i = 0; i < 5; ++i) fds.push_back(open("/dev/null", O_RDONLY));
    const double during = *sample(m.scrape(), "process_open_fds");
    for (int fd : fds) close(fd);
    EXPECT_EQ(during, before + 5);

    const auto& build = this_build();
    EXPECT_FALSE(build.version.empty());
    EXPECT_FALSE(build.revision.empty());
    EXPECT_NE(text.find("redflag_build_info{"), std::string::npos);
    EXPECT_NE(text.find("version=\"" + std::string(build.version) + "\""), std::string::npos) << text;
    EXPECT_NE(text.find("revision=\"" + std::string(build.revision) + "\""), std::string::npos);
}

TEST(ProcessMetrics, cpu_seconds_only_grow) {
    engine_metrics m;
    const double first = *sample(m.scrape(), "process_cpu_seconds_total");
    // Burn some CPU so that the clock ticks at least once.
    volatile double x = 0;
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(120);
    while (std::chrono::steady_clock::now() < until) x = x + 1;
    const double second = *sample(m.scrape(), "process_cpu_seconds_total");
    EXPECT_GT(second, first);
}

TEST(EngineMetrics, config_loaded_sets_the_last_reload_timestamp) {
    engine_metrics m;
    EXPECT_EQ(m.config_last_reload_success().Value(), 0);
    m.config_loaded(*parse_rfc3339("2026-11-02T09:00:00.500Z"));
    EXPECT_DOUBLE_EQ(m.config_last_reload_success().Value(), 1793610000.5);
    EXPECT_NE(m.scrape().find("redflag_config_last_reload_success_timestamp_seconds 1793610000.5"), std::string::npos);
}

TEST(EngineMetrics, accept_errors_have_a_child_per_reason) {
    engine_metrics m;
    m.http_accept_errors(accept_error::fd_limit).Increment();
    auto text = m.scrape();
    for (const char* reason : {"fd_limit", "memory", "aborted", "other"})
        EXPECT_NE(text.find(std::string("redflag_http_accept_errors_total{reason=\"") + reason + "\"}"), std::string::npos)
            << reason;
    EXPECT_NE(text.find("redflag_http_accept_errors_total{reason=\"fd_limit\"} 1"), std::string::npos);
}
