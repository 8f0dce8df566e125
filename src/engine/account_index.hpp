// Account id → dense index, for the engine core: an open-addressing hash table of
// (hash, index) pairs with linear probing, so that a lookup reads one small contiguous
// array (16 bytes a slot, at most half full) and then the one account record it finds,
// instead of chasing a node pointer through a heap full of account states.
//
// Ids are compared through a caller-supplied function (the core keeps the id in the
// account record). Removal (erase) is for taking back accounts a failed round created;
// it shifts the following run of the probe sequence back, so no tombstones are left.
// Not thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

namespace redflag::engine {

class account_index {
public:
    static constexpr std::uint32_t none = 0xffffffffu;

    static std::uint64_t hash(std::string_view id) { return std::hash<std::string_view>{}(id); }

    // The index stored for `id`, or none. id_of(index) gives the id of a stored index.
    template <class IdOf>
    std::uint32_t find(std::string_view id, std::uint64_t h, IdOf&& id_of) const {
        if (slots_.empty()) return none;
        std::size_t mask = slots_.size() - 1;
        for (std::size_t i = static_cast<std::size_t>(h) & mask;; i = (i + 1) & mask) {
            const slot& s = slots_[i];
            if (s.index == none) return none;
            if (s.hash == h && id_of(s.index) == id) return s.index;
        }
    }

    // For prefetching: the cache line where a lookup of hash `h` starts, and the first
    // index stored under `h` (without comparing ids: a collision gives another account,
    // which is harmless for a prefetch), or none.
    const void* probe_start(std::uint64_t h) const {
        return slots_.empty() ? nullptr : &slots_[static_cast<std::size_t>(h) & (slots_.size() - 1)];
    }
    std::uint32_t find_hash(std::uint64_t h) const {
        if (slots_.empty()) return none;
        std::size_t mask = slots_.size() - 1;
        for (std::size_t i = static_cast<std::size_t>(h) & mask;; i = (i + 1) & mask) {
            const slot& s = slots_[i];
            if (s.index == none || s.hash == h) return s.index;
        }
    }

    // Stores `index` under hash `h`; the id must not be stored yet.
    void insert(std::uint64_t h, std::uint32_t index) {
        if ((size_ + 1) * 2 > slots_.size()) grow();
        place(h, index);
        ++size_;
    }

    // Removes the slot holding `index` under hash `h`; false when there is none.
    bool erase(std::uint64_t h, std::uint32_t index) {
        if (slots_.empty()) return false;
        std::size_t mask = slots_.size() - 1;
        std::size_t i = static_cast<std::size_t>(h) & mask;
        while (slots_[i].index != index) {
            if (slots_[i].index == none) return false;
            i = (i + 1) & mask;
        }
        // Backward-shift deletion: move up every later slot of the run that may live in
        // the hole (its home is not cyclically within (hole, slot]).
        std::size_t hole = i;
        for (std::size_t j = (i + 1) & mask; slots_[j].index != none; j = (j + 1) & mask) {
            std::size_t home = static_cast<std::size_t>(slots_[j].hash) & mask;
            bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
            if (stays) continue;
            slots_[hole] = slots_[j];
            hole = j;
        }
        slots_[hole] = slot{};
        --size_;
        return true;
    }

    std::size_t size() const { return size_; }

private:
    struct slot {
        std::uint64_t hash = 0;
        std::uint32_t index = none;
    };

    void place(std::uint64_t h, std::uint32_t index) {
        std::size_t mask = slots_.size() - 1;
        std::size_t i = static_cast<std::size_t>(h) & mask;
        while (slots_[i].index != none) i = (i + 1) & mask;
        slots_[i] = {h, index};
    }

    void grow() {
        std::vector<slot> old(slots_.empty() ? 16 : slots_.size() * 2);
        old.swap(slots_);
        for (const auto& s : old)
            if (s.index != none) place(s.hash, s.index);
    }

    std::vector<slot> slots_;
    std::size_t size_ = 0;
};

}  // namespace redflag::engine
