#include "engine/timer_wheel.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <tuple>
#include <utility>
#include <vector>

namespace redflag::engine {
namespace {

using fired_list = std::vector<std::pair<timer_wheel::id_type, timer_wheel::tick_type>>;

fired_list poll(timer_wheel& w, timer_wheel::tick_type now) {
    fired_list fired;
    w.poll(now, [&](auto id, auto when) { fired.emplace_back(id, when); });
    return fired;
}

TEST(TimerWheel, fires_in_deadline_order_and_fifo_within_a_tick) {
    timer_wheel w(100);
    w.schedule(0, 170);
    w.schedule(1, 101);
    w.schedule(2, 5000);
    w.schedule(3, 170);
    w.schedule(4, 100);  // the current tick: due at the next poll
    EXPECT_EQ(w.size(), 5u);
    EXPECT_EQ(poll(w, 99), fired_list{});  // nothing before the current tick
    EXPECT_EQ(poll(w, 169), (fired_list{{4, 100}, {1, 101}}));
    EXPECT_EQ(poll(w, 170), (fired_list{{0, 170}, {3, 170}}));
    EXPECT_EQ(w.elapsed(), 170u);
    EXPECT_EQ(poll(w, 4999), fired_list{});
    EXPECT_EQ(w.elapsed(), 4999u);
    EXPECT_EQ(poll(w, 1'000'000), (fired_list{{2, 5000}}));
    EXPECT_EQ(w.size(), 0u);
}

TEST(TimerWheel, cancel_and_move) {
    timer_wheel w(0);
    w.schedule(7, 10);
    w.schedule(8, 20);
    w.schedule(9, 4096 * 3);
    w.cancel(8);
    w.cancel(8);  // twice is harmless
    w.schedule(7, 300);  // moved later
    w.schedule(9, 5);    // moved earlier, across levels
    EXPECT_EQ(w.size(), 2u);
    EXPECT_EQ(w.deadline(7), 300u);
    EXPECT_FALSE(w.scheduled(8));
    EXPECT_EQ(poll(w, 100000), (fired_list{{9, 5}, {7, 300}}));
}

TEST(TimerWheel, past_deadlines_fire_at_the_next_poll) {
    timer_wheel w(1000);
    w.schedule(1, 10);
    EXPECT_EQ(poll(w, 1000), (fired_list{{1, 1000}}));
}

TEST(TimerWheel, huge_gaps_cost_a_cascade_per_level_not_per_tick) {
    // Offsets like the engine's: ticks around 2^62.
    const timer_wheel::tick_type base = timer_wheel::tick_type{1} << 62;
    timer_wheel w(0);
    w.schedule(1, base + 90 * 24);
    w.schedule(2, base + (timer_wheel::tick_type{1} << 40));
    w.schedule(3, base);
    EXPECT_EQ(w.next_expiration().value() <= base, true);
    EXPECT_EQ(poll(w, base + 90 * 24), (fired_list{{3, base}, {1, base + 90 * 24}}));
    EXPECT_EQ(poll(w, base + (timer_wheel::tick_type{1} << 40) - 1), fired_list{});
    EXPECT_EQ(poll(w, ~timer_wheel::tick_type{0}), (fired_list{{2, base + (timer_wheel::tick_type{1} << 40)}}));
}

TEST(TimerWheel, callback_may_reschedule_and_due_ones_fire_in_the_same_poll) {
    timer_wheel w(0);
    w.schedule(1, 10);
    w.schedule(2, 10);
    fired_list fired;
    w.poll(100, [&](auto id, auto when) {
        fired.emplace_back(id, when);
        if (id == 1 && when == 10) {
            w.schedule(1, 50);   // later, still in this poll
            w.cancel(2);         // a timer of the very slot being fired
            w.schedule(3, 200);  // beyond this poll
        }
    });
    EXPECT_EQ(fired, (fired_list{{1, 10}, {1, 50}}));
    EXPECT_EQ(w.size(), 1u);
    EXPECT_EQ(w.deadline(3), 200u);
}

TEST(TimerWheel, next_expiration_never_passes_the_earliest_deadline) {
    timer_wheel w(5);
    EXPECT_FALSE(w.next_expiration());
    w.schedule(1, 70000);
    auto next = w.next_expiration();
    ASSERT_TRUE(next);
    EXPECT_LE(*next, 70000u);
    w.schedule(2, 6);
    EXPECT_EQ(w.next_expiration(), 6u);
}

TEST(TimerWheel, matches_a_reference_queue_under_random_operations) {
    std::mt19937_64 random(12345);
    timer_wheel w(0);
    std::map<timer_wheel::id_type, timer_wheel::tick_type> reference;  // id -> deadline
    timer_wheel::tick_type now = 0;
    for (int round = 0; round < 20000; ++round) {
        auto op = random() % 10;
        auto id = static_cast<timer_wheel::id_type>(random() % 500);
        if (op < 6) {
            // Mixed horizons: near, medium and far.
            timer_wheel::tick_type span = std::array<timer_wheel::tick_type, 4>{64, 5000, 1'000'000, 1ull << 36}[random() % 4];
            auto when = now + random() % span;
            w.schedule(id, when);
            reference[id] = when;
        } else if (op < 7) {
            w.cancel(id);
            reference.erase(id);
        } else {
            now += random() % (op == 9 ? 2'000'000 : 300);
            std::multiset<std::pair<timer_wheel::tick_type, timer_wheel::id_type>> expected_set;
            for (auto it = reference.begin(); it != reference.end();) {
                if (it->second <= now) {
                    expected_set.emplace(it->second, it->first);
                    it = reference.erase(it);
                } else {
                    ++it;
                }
            }
            timer_wheel::tick_type last = 0;
            std::multiset<std::pair<timer_wheel::tick_type, timer_wheel::id_type>> got;
            w.poll(now, [&](auto fid, auto when) {
                ASSERT_GE(when, last) << "out of order";
                last = when;
                got.emplace(when, fid);
            });
            ASSERT_EQ(got, expected_set) << "round " << round;
        }
        ASSERT_EQ(w.size(), reference.size());
    }
}

TEST(TimerWheel, look_ahead_names_the_two_timers_that_follow_in_the_slot) {
    timer_wheel w(100);
    for (timer_wheel::id_type id : {7u, 3u, 9u}) w.schedule(id, 110);
    w.schedule(5, 120);
    std::vector<std::tuple<timer_wheel::id_type, timer_wheel::id_type, timer_wheel::id_type>> seen;
    timer_wheel::id_type soon_now = timer_wheel::no_id, later_now = timer_wheel::no_id;
    w.poll(
        130, [&](auto id, auto) { seen.emplace_back(id, soon_now, later_now); },
        [&](auto soon, auto later) {
            soon_now = soon;
            later_now = later;
        });
    constexpr auto none = timer_wheel::no_id;
    EXPECT_EQ(seen, (std::vector<std::tuple<timer_wheel::id_type, timer_wheel::id_type, timer_wheel::id_type>>{
                        {7, 3, 9}, {3, 9, none}, {9, none, none}, {5, none, none}}));
}

}  // namespace
}  // namespace redflag::engine
