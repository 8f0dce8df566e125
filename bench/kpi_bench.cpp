// KPI upkeep benchmarks (bench/RESULTS.md, "CS KPIs"):
//   1. GET /metrics cost with N accounts (default 100,000) split over two shards: the
//      hub's merge of the shards' published aggregates, kpi_metrics::expose and the
//      text serialisation of the KPI families, timed over --scrapes scrapes.
//   2. The KPI share of per-event CPU: the same events through engine::core::apply with
//      a KPI tracker as the core's account_observer; the observer's own thread CPU time
//      (contribution, aggregate subtract/add) against the whole apply.
// Accounts come from bench/synthetic_accounts.hpp (8 CSMs, 2 segments, contracts, NPS,
// tickets) and are evaluated with the shipped rules (scores health, effort; quadrant).
//
//      Both clock reads are inside the measured span: the timer overhead is printed, and
//      `--kpi off` runs the same events with the observer doing nothing, for an A/B of
//      core::apply with and without KPIs.
//
//   redflag_kpi_bench [--rules DIR] [--accounts N] [--sample N] [--scrapes N] [--kpi on|off]
#include "engine/core.hpp"
#include "kpi/hub.hpp"
#include "metrics/engine_metrics.hpp"
#include "rules/rule_set.hpp"
#include "synthetic_accounts.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

namespace {

using namespace redflag;

std::int64_t thread_cpu_ns() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

double wall_ms() {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// The service's adapter (engine/service.cpp), plus a CPU clock around the tracker.
class timed_observer final : public engine::account_observer {
public:
    explicit timed_observer(kpi::shard_tracker& tracker) : tracker_(tracker) {}
    timestamp evaluated(std::uint32_t index, const engine::account_record& record, const rules::rule_set* rules,
                        timestamp at) override {
        if (!enabled) return timestamp_max;
        const auto c0 = thread_cpu_ns();
        auto next = tracker_.on_evaluated(
            index, kpi::account_input{record.state, record.scores(), record.bands(), record.classes(), record.alerts.active()},
            rules, at);
        spent_ns += thread_cpu_ns() - c0;
        ++calls;
        return next;
    }
    void forgotten(std::uint32_t index) override { tracker_.on_forgotten(index); }
    std::int64_t spent_ns = 0;
    std::uint64_t calls = 0;
    bool enabled = true;  // false: the core runs as without KPIs (for the A/B of --kpi off)

private:
    kpi::shard_tracker& tracker_;
};

void print_distribution(const char* what, std::vector<double> samples, const char* unit) {
    std::sort(samples.begin(), samples.end());
    auto at = [&](double q) { return samples[static_cast<std::size_t>(q * static_cast<double>(samples.size() - 1))]; };
    std::printf("%-52s n=%-5zu median %8.3f %s  p90 %8.3f %s  max %8.3f %s\n", what, samples.size(), at(0.5), unit,
                at(0.9), unit, samples.back(), unit);
}

}  // namespace

int main(int argc, char** argv) {
    std::string rules_dir = "rules";
    std::uint32_t account_total = 100'000, sample = 2'000;
    int scrapes = 50;
    bool kpi_on = true;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!std::strcmp(argv[i], "--rules")) rules_dir = argv[i + 1];
        else if (!std::strcmp(argv[i], "--accounts")) account_total = static_cast<std::uint32_t>(std::atol(argv[i + 1]));
        else if (!std::strcmp(argv[i], "--sample")) sample = static_cast<std::uint32_t>(std::atol(argv[i + 1]));
        else if (!std::strcmp(argv[i], "--scrapes")) scrapes = std::atoi(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--kpi")) kpi_on = std::strcmp(argv[i + 1], "off") != 0;
    }
    std::vector<std::string> paths{rules_dir};
    auto loaded = rules::load(paths);
    if (!loaded.rules) {
        std::fprintf(stderr, "rules do not load:\n%s\n", rules::render_text(loaded.problems).c_str());
        return 1;
    }
    auto rules = loaded.rules;
    const int days = 90;
    const timestamp origin = *parse_rfc3339("2026-01-01T00:00:00Z");
    const timestamp end = origin + days * day;

    metrics::engine_metrics metrics;  // the service's registry: engine and KPI families
    kpi::settings settings;
    settings.stack = {{"core", 20}, {"analytics", 8}, {"backup", 9}, {"archiving", 4}};
    kpi::hub hub(settings, *metrics.registry(), 2);
    std::vector<std::unique_ptr<timed_observer>> observers;
    std::vector<std::unique_ptr<engine::core>> cores;
    for (int s = 0; s < 2; ++s) {
        observers.push_back(std::make_unique<timed_observer>(hub.tracker(s)));
        cores.push_back(std::make_unique<engine::core>(
            rules, engine::core_options{.grid_origin = origin, .tick = hour, .observer = observers.back().get(), .eval_duration_buckets = {}}));
    }

    // Build: every account's 90 days applied without evaluation, then restored into the
    // core of its shard (even / odd), then one evaluation of every account (the
    // contribution of each to its shard's aggregate), as at a service's start.
    double t0 = wall_ms();
    std::vector<model::event> events;
    for (std::uint32_t a = 0; a < account_total; ++a) {
        const auto traits = bench::traits_of(a, days);
        model::account_state state;
        for (int d = 0; d < days; ++d) {
            events.clear();
            bench::append_day_events(a, d, days, origin, traits, events);
            for (const auto& e : events) state.apply(e);
        }
        cores[a % 2]->restore(std::move(state), {});
    }
    std::printf("built %u accounts in %.1f s\n", account_total, (wall_ms() - t0) / 1e3);
    for (int s = 0; s < 2; ++s) {
        cores[s]->advance_to(end);
        auto c0 = thread_cpu_ns();
        cores[s]->reevaluate_all();
        std::printf("shard %d: first evaluation of %zu accounts: %.2f s CPU, of which KPI contribution %.2f s\n", s,
                    cores[s]->account_count(), static_cast<double>(thread_cpu_ns() - c0) / 1e9,
                    static_cast<double>(observers[s]->spent_ns) / 1e9);
        cores[s]->clear_events();
        hub.tracker(s).publish(true);
    }

    // 1. Scrapes.
    std::vector<double> refresh_ms, serialize_ms, total_ms;
    std::size_t bytes = 0;
    for (int i = 0; i < scrapes; ++i) {
        const double w0 = wall_ms();
        hub.refresh_metrics();
        const double w1 = wall_ms();
        auto text = metrics::serialize_text(*metrics.registry());
        const double w2 = wall_ms();
        bytes = text.size();
        refresh_ms.push_back(w1 - w0);
        serialize_ms.push_back(w2 - w1);
        total_ms.push_back(w2 - w0);
    }
    std::printf("scrape with %u accounts (%zu bytes of text):\n", account_total, bytes);
    print_distribution("  merge shards + expose KPI families", refresh_ms, "ms");
    print_distribution("  serialise the registry", serialize_ms, "ms");
    print_distribution("  whole scrape (GET /metrics body)", total_ms, "ms");

    // 2. Per event: the week after the history of `sample` accounts of each shard, in
    // time order through core::apply; the observer's CPU against the whole.
    events.clear();
    for (std::uint32_t a = 0; a < std::min(sample, account_total); ++a) {
        const auto traits = bench::traits_of(a, days);
        for (int d = days; d < days + 7; ++d) bench::append_day_events(a, d, days, origin, traits, events);
    }
    std::stable_sort(events.begin(), events.end(),
                     [](const model::event& x, const model::event& y) { return x.at < y.at; });
    for (auto& o : observers) o->spent_ns = 0, o->calls = 0, o->enabled = kpi_on;
    std::vector<std::int64_t> overhead;
    for (int i = 0; i < 100'000; ++i) {
        auto a = thread_cpu_ns();
        overhead.push_back(thread_cpu_ns() - a);
    }
    std::sort(overhead.begin(), overhead.end());
    std::printf("timer overhead (two clock reads): median %.3f us\n", static_cast<double>(overhead[overhead.size() / 2]) / 1e3);
    std::int64_t apply_ns = 0;
    for (const auto& e : events) {
        auto& core = *cores[std::strtoul(e.account.c_str() + 5, nullptr, 10) % 2];  // "acct-NNNNNNN"
        const auto c0 = thread_cpu_ns();
        core.apply(e);
        apply_ns += thread_cpu_ns() - c0;
        core.clear_events();
    }
    std::int64_t kpi_ns = 0;
    std::uint64_t calls = 0;
    for (auto& o : observers) kpi_ns += o->spent_ns, calls += o->calls;
    std::printf("KPIs %s; per event (%zu events, %llu KPI calls): core::apply %.2f us, of which KPI upkeep %.2f us "
                "(%.1f%%), both including the timer overhead\n",
                kpi_on ? "on" : "off", events.size(), static_cast<unsigned long long>(calls),
                static_cast<double>(apply_ns) / 1e3 / static_cast<double>(events.size()),
                static_cast<double>(kpi_ns) / 1e3 / static_cast<double>(events.size()),
                100.0 * static_cast<double>(kpi_ns) / static_cast<double>(apply_ns));
    // Everything merged, as a sanity check of the sums.
    auto total = hub.merged().total();
    std::printf("merged: %lld accounts, %lld active, MRR %.0f, NRR %.4f, health cells %zu\n",
                static_cast<long long>(total.accounts), static_cast<long long>(total.active), kpi::from_money(total.mrr),
                kpi::nrr(total), hub.merged().cells().size());
    return 0;
}
