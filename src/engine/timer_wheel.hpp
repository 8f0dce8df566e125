// A hierarchical timer wheel over integer ticks (the engine's evaluation grid), in the
// manner of the Linux kernel's and Tokio's: 11 levels of 64 slots; level L slot s holds
// timers whose deadline shares every bit above level L with the wheel's current tick and
// has s in bits [6L, 6L+6). Each level keeps a 64-bit occupancy mask, so finding the next
// expiry is a count-trailing-zeros per level; scheduling and cancelling are O(1); a timer
// is moved down at most 10 times (once per level) before it fires, whatever the gap in
// ticks, so advancing over long idle stretches costs nothing per empty tick.
//
// Timers are named by dense ids (the engine's account indices): at most one timer per id;
// scheduling an id again moves it. Slots are intrusive doubly-linked lists through a node
// array indexed by id, so there is no allocation per timer beyond growing that array.
// Timers of one slot fire in the order they were scheduled.
//
// Single-threaded. Deadlines in the past fire at the next poll.
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <optional>
#include <utility>
#include <vector>

namespace redflag::engine {

class timer_wheel {
public:
    using tick_type = std::uint64_t;
    using id_type = std::uint32_t;
    static constexpr id_type no_id = std::numeric_limits<id_type>::max();

    explicit timer_wheel(tick_type start = 0) : elapsed_(start) {
        for (auto& level : heads_) level.fill(no_id);
        for (auto& level : tails_) level.fill(no_id);
    }

    // The wheel's current tick: every timer due at or before it has fired.
    tick_type elapsed() const { return elapsed_; }
    std::size_t size() const { return size_; }
    bool scheduled(id_type id) const { return id < nodes_.size() && nodes_[id].scheduled; }
    std::optional<tick_type> deadline(id_type id) const {
        if (!scheduled(id)) return std::nullopt;
        return nodes_[id].deadline;
    }

    // Schedules (or moves) the timer of `id` to fire at `when`; a `when` before the
    // current tick fires at the next poll.
    void schedule(id_type id, tick_type when);
    void cancel(id_type id);

    // The tick of the earliest slot that holds a timer; for a slot above level 0 this is
    // the slot's first tick, at or before its timers' deadlines. nullopt when empty.
    std::optional<tick_type> next_expiration() const;

    // Fires, in deadline order, every timer due at or before `now`: calls
    // on_expired(id, deadline) for each, after unscheduling it. The callback may schedule
    // and cancel timers (its own included); one scheduled at or before `now` fires in
    // this same poll. Then the current tick becomes max(current, now).
    //
    // Before each callback, look_ahead(soon, later) names the two timers that follow in
    // the same slot (no_id where there are none), for a caller that prefetches what they
    // will touch; they may still be moved or cancelled by the callback.
    template <class F>
    void poll(tick_type now, F&& on_expired) {
        poll(now, std::forward<F>(on_expired), [](id_type, id_type) {});
    }
    template <class F, class LookAhead>
    void poll(tick_type now, F&& on_expired, LookAhead&& look_ahead) {
        while (true) {
            auto next = find_next();
            if (!next || next->start > now) break;
            if (next->start > elapsed_) elapsed_ = next->start;
            if (next->level == 0) {
                // Pop one at a time: the callback may touch this very slot.
                while (heads_[0][next->slot] != no_id) {
                    id_type id = heads_[0][next->slot];
                    id_type soon = nodes_[id].next;
                    look_ahead(soon, soon == no_id ? no_id : nodes_[soon].next);
                    tick_type when = nodes_[id].deadline;
                    unlink(id);
                    on_expired(id, when);
                }
            } else {
                cascade(next->level, next->slot);
            }
        }
        if (now > elapsed_) elapsed_ = now;
    }

private:
    static constexpr int slot_bits = 6;
    static constexpr std::size_t slot_count = 64;
    static constexpr std::size_t level_count = 11;  // 11 × 6 bits cover 64-bit ticks

    struct node {
        tick_type deadline = 0;
        id_type prev = no_id;
        id_type next = no_id;
        std::uint8_t level = 0;
        std::uint8_t slot = 0;
        bool scheduled = false;
    };
    struct slot_ref {
        std::size_t level;
        std::size_t slot;
        tick_type start;
    };

    static std::size_t level_for(tick_type elapsed, tick_type when);
    std::optional<slot_ref> find_next() const;
    void insert(id_type id, tick_type when);
    void unlink(id_type id);
    void cascade(std::size_t level, std::size_t slot);

    tick_type elapsed_;
    std::size_t size_ = 0;
    std::vector<node> nodes_;
    std::array<std::array<id_type, slot_count>, level_count> heads_{};
    std::array<std::array<id_type, slot_count>, level_count> tails_{};
    std::array<std::uint64_t, level_count> occupied_{};
};

}  // namespace redflag::engine
