// core_options::observer: told after every evaluation, and its next instant wakes the
// account (how KPI windows move with time alone, kpi/hub.hpp).
#include "engine/core.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace redflag::engine {
namespace {

const timestamp t0 = *parse_rfc3339("2026-01-01T00:00:00Z");

class recording_observer final : public account_observer {
public:
    timestamp evaluated(std::uint32_t index, const account_record& record, const rules::rule_set*,
                        timestamp at) override {
        calls.push_back({index, record.state.id, at});
        // The first evaluation asks to be woken five and a half hours later; then never.
        return calls.size() == 1 ? at + 5 * hour + 30 * minute : timestamp_max;
    }
    void forgotten(std::uint32_t index) override { forgotten_indices.push_back(index); }
    std::vector<std::uint32_t> forgotten_indices;
    struct call {
        std::uint32_t index;
        std::string account;
        timestamp at;
    };
    std::vector<call> calls;
};

model::event usage(std::string account, timestamp at) {
    model::event e;
    e.type = model::event_type::usage;
    e.account = std::move(account);
    e.at = at;
    e.fields = {{"metric", "logins"}};
    return e;
}

TEST(Observer, is_told_of_every_evaluation_and_wakes_the_account_at_its_instant) {
    recording_observer observer;
    core c(nullptr, core_options{.grid_origin = t0, .tick = hour, .observer = &observer});
    c.apply(usage("acme", t0 + 10 * minute));
    ASSERT_EQ(observer.calls.size(), 1u);
    EXPECT_EQ(observer.calls[0].account, "acme");
    EXPECT_EQ(observer.calls[0].index, 0u);
    EXPECT_EQ(observer.calls[0].at, t0 + 10 * minute);
    // Rounded up to the grid: 05:40 → 06:00.
    ASSERT_TRUE(c.next_wake());
    c.advance_to(t0 + 5 * hour + 59 * minute);
    EXPECT_EQ(observer.calls.size(), 1u);
    c.advance_to(t0 + 6 * hour);
    ASSERT_EQ(observer.calls.size(), 2u);
    EXPECT_EQ(observer.calls[1].at, t0 + 6 * hour);
    // The second evaluation asked for nothing: no more wakes.
    c.advance_to(t0 + 100 * day);
    EXPECT_EQ(observer.calls.size(), 2u);
}

TEST(Observer, is_told_of_accounts_a_rolled_back_round_created) {
    recording_observer observer;
    core c(nullptr, core_options{.grid_origin = t0, .tick = hour, .observer = &observer});
    c.apply(usage("acme", t0));
    c.begin_round();
    c.apply(usage("newco", t0 + minute));
    c.apply(usage("other", t0 + minute));
    c.rollback_round([](std::string_view) { return std::optional<model::account_state>{}; });
    EXPECT_EQ(observer.forgotten_indices, (std::vector<std::uint32_t>{2, 1}));  // highest first
}

}  // namespace
}  // namespace redflag::engine
