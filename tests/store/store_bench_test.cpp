// Throughput and open-time measurements against the targets of the store (ingest of
// 100,000 events/s in batches of 1,000 with sync off; ready in under 2 s with 3 million
// events stored). Disabled by default: run an optimised build with
//   store_tests --gtest_also_run_disabled_tests --gtest_filter='StoreBench.*'
// REDFLAG_BENCH_DIR chooses where the database goes (default: the temp directory),
// REDFLAG_BENCH_EVENTS how many events the first run writes (default 3,000,000), and
// REDFLAG_BENCH_KEEP keeps the database afterwards (to read its LOG).
#include "store/store.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include <time.h>
#include <unistd.h>

using namespace redflag;
using namespace redflag::store;
namespace fs = std::filesystem;

namespace {

double cpu_seconds(clockid_t which) {
    timespec ts{};
    ::clock_gettime(which, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string bench_dir() {
    const char* base = std::getenv("REDFLAG_BENCH_DIR");
    return (fs::path(base ? base : fs::temp_directory_path().string()) / ("redflag-bench-" + std::to_string(::getpid())))
        .string();
}

// Writes `total` usage events over 100,000 accounts in batches of 1,000, as ingest does:
// a MultiGet on the dedup index, then events + dedup ids + dirty marks in one batch.
double ingest(store::store& s, std::uint64_t total, std::uint64_t first_id) {
    const timestamp t0 = *parse_rfc3339("2026-11-01T00:00:00Z");
    std::vector<std::string> accounts(1000), ids(1000);
    std::vector<dedup_probe> probes(1000);
    const auto start = std::chrono::steady_clock::now();
    const double thread_cpu = cpu_seconds(CLOCK_THREAD_CPUTIME_ID);
    const double process_cpu = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID);
    for (std::uint64_t done = 0; done < total; done += 1000) {
        for (int j = 0; j < 1000; ++j) {
            const std::uint64_t n = first_id + done + j;
            accounts[j] = "account-" + std::to_string(n * 7919 % 100000);
            ids[j] = "evt-" + std::to_string(n);
            probes[j] = {accounts[j], ids[j]};
        }
        auto seen = s.contains(std::span<const dedup_probe>(probes));
        if (!seen) return -1;
        write_batch b(s);
        for (int j = 0; j < 1000; ++j) {
            const timestamp at = t0 + duration{static_cast<std::int64_t>(done + j) * 100};
            // Bytes the size and shape of a stored usage event (model/codec.hpp).
            const std::string bytes = R"({"type":"usage","account":")" + accounts[j] + R"(","id":")" + ids[j] +
                                      R"(","at":")" + format_rfc3339(at) +
                                      R"(","metric":"active_users","value":)" + std::to_string(j % 50) +
                                      R"(,"user_id":"user-)" + std::to_string(j % 40) + R"("})";
            // The sequence is per account; uniqueness is all that matters here.
            b.put_event(accounts[j], first_id + done + j + 1, at, bytes);
            b.put_dedup(accounts[j], ids[j], at);
            b.mark_dirty(accounts[j]);
        }
        if (!s.write(b).ok()) return -1;
    }
    const double wall = seconds_since(start);
    std::printf("  cpu per event: %.1f us in the writing thread, %.1f us in the process (wall %.1f us)\n",
                (cpu_seconds(CLOCK_THREAD_CPUTIME_ID) - thread_cpu) * 1e6 / total,
                (cpu_seconds(CLOCK_PROCESS_CPUTIME_ID) - process_cpu) * 1e6 / total, wall * 1e6 / total);
    return total / wall;
}

}  // namespace

TEST(StoreBench, DISABLED_ingest_and_open_with_three_million_events) {
    const std::string dir = bench_dir();
    options opts;
    opts.path = dir;
    const std::uint64_t total = std::getenv("REDFLAG_BENCH_EVENTS") ? std::strtoull(std::getenv("REDFLAG_BENCH_EVENTS"), nullptr, 10) : 3000000;
    {
        std::string error;
        auto s = store::store::open(opts, error);
        ASSERT_TRUE(s) << error;
        const double rate = ingest(*s, total, 0);
        ASSERT_GT(rate, 0);
        std::printf("ingest: %.0f events/s over %llu events\n", rate, static_cast<unsigned long long>(total));
        std::printf("size: %.1f MB\n", s->approximate_size_bytes() / 1e6);
        const auto start = std::chrono::steady_clock::now();
        ASSERT_TRUE(s->close().ok());
        std::printf("clean close: %.2f s\n", seconds_since(start));
    }
    {
        const auto start = std::chrono::steady_clock::now();
        std::string error;
        auto s = store::store::open(opts, error);
        ASSERT_TRUE(s) << error;
        std::printf("open after clean close: %.3f s\n", seconds_since(start));
        std::size_t dirty = 0;
        const auto scan = std::chrono::steady_clock::now();
        ASSERT_TRUE(s->for_each_dirty([&](std::string_view) { return ++dirty, true; }).ok());
        std::printf("dirty accounts: %zu listed in %.3f s\n", dirty, seconds_since(scan));
        // Leave a WAL full of unflushed writes, as a crash would.
        s->opts();
        const double rate = ingest(*s, 500000, total);
        std::printf("ingest (second run): %.0f events/s\n", rate);
    }
    {
        options crash = opts;
        crash.flush_on_close = false;
        std::string error;
        auto s = store::store::open(crash, error);
        ASSERT_TRUE(s) << error;
        (void)ingest(*s, 300000, total + 500000);
        // Destroyed without flushing: the next open replays the WAL.
    }
    std::uintmax_t wal_bytes = 0;
    for (const auto& entry : fs::directory_iterator(dir))
        if (entry.path().extension() == ".log") wal_bytes += entry.file_size();
    {
        const auto start = std::chrono::steady_clock::now();
        std::string error;
        auto s = store::store::open(opts, error);
        ASSERT_TRUE(s) << error;
        std::printf("open with %.1f MB of WAL to replay: %.3f s\n", wal_bytes / 1e6, seconds_since(start));
    }
    std::error_code ec;
    if (!std::getenv("REDFLAG_BENCH_KEEP")) fs::remove_all(dir, ec);
}
