#include "metrics/process_metrics.hpp"

#include "metrics/build_info.hpp"

#include <prometheus/family.h>
#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

namespace redflag::metrics {
namespace {

std::optional<std::string> read_text(const char* path) {
    std::ifstream in(path);
    if (!in) return std::nullopt;
    std::stringstream buffer;
    buffer << in.rdbuf();
    return buffer.str();
}

std::optional<std::uint64_t> to_number(std::string_view text) {
    std::uint64_t n = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
    return n;
}

double open_descriptors() {
    std::error_code ec;
    double n = 0;
    for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end; it.increment(ec)) ++n;
    return n > 0 ? n - 1 : 0;  // the iterator's own descriptor
}

}  // namespace

std::optional<proc_stat> parse_proc_stat(std::string_view text) {
    // "pid (comm) state ppid ...": comm may hold anything, so fields start after the last ')'.
    auto close = text.rfind(')');
    if (close == std::string_view::npos) return std::nullopt;
    std::vector<std::string_view> fields;  // fields[0] is field 3 (state)
    for (std::size_t i = close + 1; i < text.size();) {
        while (i < text.size() && (text[i] == ' ' || text[i] == '\n')) ++i;
        auto end = text.find_first_of(" \n", i);
        if (end == std::string_view::npos) end = text.size();
        if (end > i) fields.push_back(text.substr(i, end - i));
        i = end;
    }
    auto field = [&](std::size_t n) { return n - 3 < fields.size() ? to_number(fields[n - 3]) : std::nullopt; };
    auto utime = field(14), stime = field(15), start = field(22), vsize = field(23), rss = field(24);
    if (!utime || !stime || !start || !vsize || !rss) return std::nullopt;
    return proc_stat{*utime, *stime, *start, *vsize, *rss};
}

std::optional<std::uint64_t> parse_boot_time(std::string_view text) {
    for (std::size_t i = 0; i < text.size();) {
        auto end = text.find('\n', i);
        if (end == std::string_view::npos) end = text.size();
        auto line = text.substr(i, end - i);
        if (line.starts_with("btime ")) return to_number(line.substr(6));
        i = end + 1;
    }
    return std::nullopt;
}

process_metrics::process_metrics(prometheus::Registry& r) {
    const auto& build = this_build();
    prometheus::BuildGauge()
        .Name("redflag_build_info")
        .Help("A metric with a constant 1 labelled by the version and revision Redflag was built from")
        .Register(r)
        .Add({{"version", std::string(build.version)},
              {"revision", std::string(build.revision)},
              {"compiler", std::string(build.compiler)},
              {"build_type", std::string(build.build_type)}})
        .Set(1);
    auto gauge = [&](const char* name, const char* help) { return &prometheus::BuildGauge().Name(name).Help(help).Register(r).Add({}); };
    cpu_seconds_ = &prometheus::BuildCounter()
                        .Name("process_cpu_seconds_total")
                        .Help("Total user and system CPU time spent in seconds")
                        .Register(r)
                        .Add({});
    resident_bytes_ = gauge("process_resident_memory_bytes", "Resident memory size in bytes");
    virtual_bytes_ = gauge("process_virtual_memory_bytes", "Virtual memory size in bytes");
    open_fds_ = gauge("process_open_fds", "Number of open file descriptors");
    max_fds_ = gauge("process_max_fds", "Maximum number of open file descriptors");
    start_time_ = gauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds");
    refresh();
}

void process_metrics::refresh() {
    std::lock_guard lock(mutex_);
    const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
    const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
    if (auto text = read_text("/proc/self/stat"); text && ticks > 0) {
        if (auto stat = parse_proc_stat(*text)) {
            const double cpu = double(stat->utime_ticks + stat->stime_ticks) / ticks;
            if (cpu > cpu_seconds_seen_) {  // a counter: only ever advanced
                cpu_seconds_->Increment(cpu - cpu_seconds_seen_);
                cpu_seconds_seen_ = cpu;
            }
            resident_bytes_->Set(double(stat->rss_pages) * page);
            virtual_bytes_->Set(double(stat->vsize_bytes));
            if (auto text_boot = read_text("/proc/stat"))
                if (auto boot = parse_boot_time(*text_boot)) start_time_->Set(double(*boot) + double(stat->start_ticks) / ticks);
        }
    }
    open_fds_->Set(open_descriptors());
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0)
        max_fds_->Set(limit.rlim_cur == RLIM_INFINITY ? -1 : double(limit.rlim_cur));
}

}  // namespace redflag::metrics
