// Rule-evaluation benchmarks of bench/RESULTS.md ("Rule evaluation"), in one process:
//   1. per-event CPU time of account_state::apply + rule_set::evaluate for the shipped
//      rules, on accounts that already hold (almost) 90 days of data: the last 7 days of
//      the first --sample accounts are applied one event at a time and timed with the
//      thread CPU clock; then the same per event through engine::core::apply (lookup,
//      apply, evaluate, alert lifecycle, wake) for the events of day 90;
//   2. full evaluation of --accounts accounts of 90 days after a reload: every account is
//      built (untimed evaluation-free apply), put into an engine::core with restore(),
//      then engine::core::swap_rules(a freshly loaded set) is timed, --reloads times;
//   4. VmRSS / VmHWM of the process holding those accounts in the core, with glibc's heap
//      in use and the heap each part of an account_state reserves (where RSS goes).
// Usage: redflag_eval_bench [--rules DIR] [--accounts N] [--days D] [--sample S] [--reloads R]
#include "synthetic_accounts.hpp"

#include "engine/core.hpp"
#include "model/account_state.hpp"
#include "rules/rule_set.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <malloc.h>
#include <string>
#include <vector>

namespace {

using namespace redflag;

std::int64_t thread_cpu_ns() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

double wall_seconds() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// A line of /proc/self/status such as "VmRSS:", in KiB.
long status_kib(const char* key) {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind(key, 0) == 0) return std::strtol(line.c_str() + std::strlen(key), nullptr, 10);
    return -1;
}

void print_rss(const char* when) {
    const long rss = status_kib("VmRSS:");
    const long hwm = status_kib("VmHWM:");
    // Heap bytes in use (glibc), to tell live data from allocator overhead in RSS.
    const auto heap = mallinfo2();
    std::printf("rss %-34s VmRSS %8.1f MiB  VmHWM %8.1f MiB  heap in use %8.1f MiB\n", when, rss / 1024.0,
                hwm / 1024.0, static_cast<double>(heap.uordblks + heap.hblkhd) / (1024.0 * 1024.0));
}

// Median, 90th and 99th percentile and mean of nanosecond samples, printed in µs.
void print_distribution(const char* what, std::vector<std::int64_t> samples) {
    if (samples.empty()) return;
    std::sort(samples.begin(), samples.end());
    auto at = [&](double q) { return samples[static_cast<std::size_t>(q * static_cast<double>(samples.size() - 1))]; };
    double sum = 0;
    for (auto s : samples) sum += static_cast<double>(s);
    std::printf("%-44s n=%-8zu median %7.2f us  p90 %7.2f us  p99 %7.2f us  mean %7.2f us\n", what, samples.size(),
                at(0.5) / 1e3, at(0.9) / 1e3, at(0.99) / 1e3, sum / static_cast<double>(samples.size()) / 1e3);
}

// Heap bytes an account_state's containers reserve, by part (capacities, not sizes; no
// allocator headers, no strings beyond their small-string buffer): where RSS goes.
struct state_footprint {
    double usage = 0, streams = 0, history = 0, users = 0, tickets = 0, other = 0;
    void add(const model::account_state& s) {
        for (const auto& [metric, series] : s.usage) usage += 96.0 + series.points.capacity() * sizeof(model::usage_point);
        streams += s.streams().capacity() * sizeof(model::type_stream);
        for (const auto& stream : s.streams()) {
            streams += stream.records.capacity() * sizeof(model::stream_record);
            for (const auto& r : stream.records) streams += r.values.capacity() * sizeof(scalar);
        }
        history += s.histories().capacity() * sizeof(model::field_history);
        for (const auto& h : s.histories()) history += h.changes.capacity() * sizeof(model::field_change);
        other += s.profile_values().capacity() * sizeof(model::profile_value);
        users += s.users.capacity() * sizeof(model::user_state);
        for (const auto& u : s.users) users += (u.email.size() > 15 ? u.email.capacity() + 1 : 0);
        tickets += s.tickets.capacity() * sizeof(model::ticket_state);
        other += s.movements.capacity() * sizeof(model::mrr_movement);
    }
    void print(std::uint32_t accounts) const {
        std::printf("heap per account by part (reserved): usage %.0f B, streams %.0f B, history %.0f B, users %.0f B, "
                    "tickets %.0f B, movements and profile %.0f B; fixed account_state %zu B\n",
                    usage / accounts, streams / accounts, history / accounts, users / accounts, tickets / accounts,
                    other / accounts, sizeof(model::account_state));
    }
};

std::shared_ptr<const rules::rule_set> load_rules(const std::string& dir) {
    std::vector<std::string> paths{dir};
    auto loaded = rules::load(paths);
    if (!loaded.rules) {
        std::fprintf(stderr, "rules do not load:\n%s\n", rules::render_text(loaded.problems).c_str());
        std::exit(1);
    }
    return loaded.rules;
}

}  // namespace

int main(int argc, char** argv) {
    std::string rules_dir = "rules";
    std::uint32_t account_total = 100'000;
    int days = 90;
    std::uint32_t sample = 2'000;
    int reloads = 3;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string flag = argv[i];
        const char* value = argv[i + 1];
        if (flag == "--rules") rules_dir = value;
        else if (flag == "--accounts") account_total = static_cast<std::uint32_t>(std::atol(value));
        else if (flag == "--days") days = std::atoi(value);
        else if (flag == "--sample") sample = static_cast<std::uint32_t>(std::atol(value));
        else if (flag == "--reloads") reloads = std::atoi(value);
        else {
            std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
            return 2;
        }
    }
    sample = std::min(sample, account_total);
    const int timed_days = std::min(7, days);
    const timestamp origin = *parse_rfc3339("2026-08-01T00:00:00Z");
    const timestamp end = origin + days * day;

    print_rss("at start");
    std::printf("sizeof: account_state %zu, account_record %zu, usage_point %zu, stream_record %zu, scalar %zu\n",
                sizeof(model::account_state), sizeof(engine::account_record), sizeof(model::usage_point),
                sizeof(model::stream_record), sizeof(scalar));
    double t0 = wall_seconds();
    auto rules = load_rules(rules_dir);
    std::printf("rules: %zu rules, %zu scores, %zu classifications, loaded in %.1f ms\n", rules->rules().size(),
                rules->scores().size(), rules->classifications().size(), (wall_seconds() - t0) * 1e3);

    // Timer overhead: two back-to-back reads of the thread CPU clock.
    std::vector<std::int64_t> overhead;
    for (int i = 0; i < 100'000; ++i) {
        auto a = thread_cpu_ns();
        overhead.push_back(thread_cpu_ns() - a);
    }
    print_distribution("timer overhead (two clock reads)", overhead);

    engine::core core(rules, engine::core_options{.grid_origin = origin, .tick = hour, .eval_duration_buckets = {}});
    rules::evaluation evaluation = rules->make_evaluation();
    std::vector<std::int64_t> apply_ns, evaluate_ns, both_ns;
    std::uint64_t event_count = 0;
    std::vector<model::event> events;
    state_footprint footprint;

    // Build every account: days before the timed week are applied untimed and without
    // evaluation; for the first `sample` accounts the last `timed_days` days are applied
    // and evaluated one event at a time, each at its own `at` as the engine does.
    t0 = wall_seconds();
    for (std::uint32_t a = 0; a < account_total; ++a) {
        const auto traits = bench::traits_of(a, days);
        model::account_state state;
        for (int d = 0; d < days; ++d) {
            events.clear();
            bench::append_day_events(a, d, days, origin, traits, events);
            event_count += events.size();
            const bool timed = a < sample && d >= days - timed_days;
            for (const auto& e : events) {
                if (!timed) {
                    state.apply(e);
                    continue;
                }
                const auto c0 = thread_cpu_ns();
                state.apply(e);
                const auto c1 = thread_cpu_ns();
                rules->evaluate(state, e.at, hour, evaluation);
                const auto c2 = thread_cpu_ns();
                apply_ns.push_back(c1 - c0);
                evaluate_ns.push_back(c2 - c1);
                both_ns.push_back(c2 - c0);
            }
        }
        footprint.add(state);
        core.restore(std::move(state), {});
    }
    const double build_seconds = wall_seconds() - t0;
    std::printf("built %u accounts, %llu events (%.1f per account) in %.1f s (apply only, except the timed sample)\n",
                account_total, static_cast<unsigned long long>(event_count),
                static_cast<double>(event_count) / account_total, build_seconds);
    print_distribution("per event: account_state::apply", apply_ns);
    print_distribution("per event: rule_set::evaluate", evaluate_ns);
    print_distribution("per event: apply + evaluate", both_ns);

    footprint.print(account_total);
    core.advance_to(end);  // nothing is scheduled yet: only sets now()
    print_rss("accounts held, not yet evaluated");

    // Reloads: each swaps in a freshly loaded (equal) set, which re-evaluates every account.
    for (int r = 0; r < reloads; ++r) {
        t0 = wall_seconds();
        auto next = load_rules(rules_dir);
        const double load_ms = (wall_seconds() - t0) * 1e3;
        const auto evaluations_before = core.evaluation_count();
        const auto c0 = thread_cpu_ns();
        t0 = wall_seconds();
        core.swap_rules(std::move(next));
        const double swap_wall = wall_seconds() - t0;
        const double swap_cpu = static_cast<double>(thread_cpu_ns() - c0) / 1e9;
        std::printf("reload %d: load %.1f ms; swap_rules %.3f s wall, %.3f s CPU, %llu evaluations (%.2f us each), "
                    "%zu alert events\n",
                    r + 1, load_ms, swap_wall, swap_cpu,
                    static_cast<unsigned long long>(core.evaluation_count() - evaluations_before),
                    swap_cpu * 1e6 / static_cast<double>(core.evaluation_count() - evaluations_before),
                    core.events().size());
        core.clear_events();
    }
    print_rss("accounts held, evaluated");

    // The engine path per event: the week after the history of every sample account,
    // in time order through core::apply.
    events.clear();
    for (std::uint32_t a = 0; a < sample; ++a) {
        const auto traits = bench::traits_of(a, days);
        for (int d = days; d < days + 7; ++d) bench::append_day_events(a, d, days, origin, traits, events);
    }
    std::stable_sort(events.begin(), events.end(),
                     [](const model::event& x, const model::event& y) { return x.at < y.at; });
    std::vector<std::int64_t> core_ns;
    for (const auto& e : events) {
        const auto c0 = thread_cpu_ns();
        core.apply(e);
        core_ns.push_back(thread_cpu_ns() - c0);
        core.clear_events();
    }
    print_distribution("per event: engine::core::apply", core_ns);
    std::printf("accounts in core: %zu\n", core.account_count());
    print_rss("at end");
    return 0;
}
