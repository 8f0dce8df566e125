#include "engine/timer_wheel.hpp"

#include <bit>

namespace redflag::engine {

std::size_t timer_wheel::level_for(tick_type elapsed, tick_type when) {
    // The highest bit in which the deadline differs from the current tick picks the
    // level; the low 6 bits are forced so that a deadline in the current 64-tick block
    // (the current tick itself included) lands on level 0.
    tick_type masked = (elapsed ^ when) | (slot_count - 1);
    auto significant = static_cast<std::size_t>(63 - std::countl_zero(masked));
    return significant / slot_bits;
}

void timer_wheel::insert(id_type id, tick_type when) {
    if (when < elapsed_) when = elapsed_;
    std::size_t level = level_for(elapsed_, when);
    auto slot = static_cast<std::size_t>((when >> (slot_bits * level)) & (slot_count - 1));
    node& n = nodes_[id];
    n.deadline = when;
    n.level = static_cast<std::uint8_t>(level);
    n.slot = static_cast<std::uint8_t>(slot);
    n.scheduled = true;
    n.next = no_id;
    n.prev = tails_[level][slot];
    if (n.prev == no_id)
        heads_[level][slot] = id;
    else
        nodes_[n.prev].next = id;
    tails_[level][slot] = id;
    occupied_[level] |= std::uint64_t{1} << slot;
    ++size_;
}

void timer_wheel::unlink(id_type id) {
    node& n = nodes_[id];
    if (n.prev == no_id)
        heads_[n.level][n.slot] = n.next;
    else
        nodes_[n.prev].next = n.next;
    if (n.next == no_id)
        tails_[n.level][n.slot] = n.prev;
    else
        nodes_[n.next].prev = n.prev;
    if (heads_[n.level][n.slot] == no_id) occupied_[n.level] &= ~(std::uint64_t{1} << n.slot);
    n.prev = n.next = no_id;
    n.scheduled = false;
    --size_;
}

void timer_wheel::schedule(id_type id, tick_type when) {
    if (id >= nodes_.size()) nodes_.resize(static_cast<std::size_t>(id) + 1);
    if (nodes_[id].scheduled) unlink(id);
    insert(id, when);
}

void timer_wheel::cancel(id_type id) {
    if (scheduled(id)) unlink(id);
}

std::optional<timer_wheel::slot_ref> timer_wheel::find_next() const {
    for (std::size_t level = 0; level < level_count; ++level) {
        std::uint64_t occupied = occupied_[level];
        if (occupied == 0) continue;
        std::size_t shift = slot_bits * level;
        auto now_slot = static_cast<unsigned>((elapsed_ >> shift) & (slot_count - 1));
        auto zeros = static_cast<unsigned>(std::countr_zero(std::rotr(occupied, static_cast<int>(now_slot))));
        std::size_t slot = (now_slot + zeros) & (slot_count - 1);
        std::size_t range_bits = shift + slot_bits;
        tick_type level_start = range_bits >= 64 ? 0 : elapsed_ & ~((tick_type{1} << range_bits) - 1);
        tick_type start = level_start + (static_cast<tick_type>(slot) << shift);
        // Timers of a level always lie at or after the current slot (see level_for), so
        // a slot behind it is never occupied; were it, it would belong to the next turn.
        if (slot < now_slot && range_bits < 64) start += tick_type{1} << range_bits;
        return slot_ref{level, slot, start};
    }
    return std::nullopt;
}

std::optional<timer_wheel::tick_type> timer_wheel::next_expiration() const {
    auto next = find_next();
    if (!next) return std::nullopt;
    return next->start;
}

void timer_wheel::cascade(std::size_t level, std::size_t slot) {
    id_type id = heads_[level][slot];
    heads_[level][slot] = no_id;
    tails_[level][slot] = no_id;
    occupied_[level] &= ~(std::uint64_t{1} << slot);
    while (id != no_id) {
        id_type next = nodes_[id].next;
        nodes_[id].scheduled = false;
        --size_;
        insert(id, nodes_[id].deadline);
        id = next;
    }
}

}  // namespace redflag::engine
