// Writes the NDJSON event log of the replay benchmark (bench/RESULTS.md, "Rule
// evaluation"): the synthetic accounts of synthetic_accounts.hpp, every account's events
// of a day together, the whole log sorted by `at` as `redflag replay` expects.
// Usage: redflag_make_replay_log ACCOUNTS DAYS > FILE     (100000 90 → about 10 million lines)
#include "synthetic_accounts.hpp"

#include "model/codec.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

int main(int argc, char** argv) {
    using namespace redflag;
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s ACCOUNTS DAYS > FILE\n", argv[0]);
        return 2;
    }
    const auto account_total = static_cast<std::uint32_t>(std::atol(argv[1]));
    const int days = std::atoi(argv[2]);
    const timestamp origin = *parse_rfc3339("2026-08-01T00:00:00Z");

    std::vector<bench::account_traits> traits;
    traits.reserve(account_total);
    for (std::uint32_t a = 0; a < account_total; ++a) traits.push_back(bench::traits_of(a, days));

    std::vector<model::event> events;
    std::string line;
    std::uint64_t written = 0;
    for (int d = 0; d < days; ++d) {
        events.clear();
        for (std::uint32_t a = 0; a < account_total; ++a) bench::append_day_events(a, d, days, origin, traits[a], events);
        std::stable_sort(events.begin(), events.end(),
                         [](const model::event& x, const model::event& y) { return x.at < y.at; });
        for (const auto& e : events) {
            line = model::encode_event_json(e);
            line += '\n';
            std::fwrite(line.data(), 1, line.size(), stdout);
        }
        written += events.size();
    }
    std::fprintf(stderr, "%llu events of %u accounts over %d days\n", static_cast<unsigned long long>(written),
                 account_total, days);
    return 0;
}
