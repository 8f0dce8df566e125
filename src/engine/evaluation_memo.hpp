// What an account keeps of its last evaluation: the scores, bands and classes that the
// API, the KPIs and the health history read, and what the next evaluation may reuse
// (rules::previous_evaluation: each rule's condition, each item's next-change instant,
// the score components).
//
// Memory: an engine holds one per account (100,000s of them). Six vectors cost 144 bytes
// in the record and six allocations of at least 32 bytes each; this keeps the six arrays
// in one heap block behind a pointer and their lengths (bench/RESULTS.md, memory).
#pragma once

#include "core/time.hpp"
#include "rules/rule_set.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

namespace redflag::engine {

class evaluation_memo {
public:
    evaluation_memo() = default;
    evaluation_memo(const evaluation_memo& other) { copy_from(other); }
    evaluation_memo& operator=(const evaluation_memo& other) {
        if (this != &other) copy_from(other);
        return *this;
    }
    evaluation_memo(evaluation_memo&&) noexcept = default;
    evaluation_memo& operator=(evaluation_memo&&) noexcept = default;

    // Copies the arrays of `e`; the block is reused when its lengths are the same (every
    // evaluation under one rule set), so only the first evaluation allocates.
    void assign(const rules::evaluation& e);
    // Forgets everything (nothing may be reused) and frees the block.
    void clear();
    bool empty() const { return !block_; }

    std::span<const rules::component_memo> components() const { return {at<rules::component_memo>(0), n_[0]}; }
    std::span<const timestamp> item_next() const { return {at<timestamp>(1), n_[1]}; }
    std::span<const double> scores() const { return {at<double>(2), n_[2]}; }           // NaN when null
    std::span<const std::int16_t> bands() const { return {at<std::int16_t>(3), n_[3]}; }  // -1 "unknown"
    std::span<const std::uint16_t> classes() const { return {at<std::uint16_t>(4), n_[4]}; }
    std::span<const std::uint8_t> conditions() const { return {at<std::uint8_t>(5), n_[5]}; }
    const void* data() const { return block_.get(); }  // for prefetching

private:
    static constexpr std::size_t arrays = 6;
    // The arrays lie in the block in the order above, which is by decreasing alignment,
    // so each starts aligned when the block is.
    static constexpr std::size_t item_size[arrays] = {sizeof(rules::component_memo), sizeof(timestamp),
                                                      sizeof(double), sizeof(std::int16_t),
                                                      sizeof(std::uint16_t), sizeof(std::uint8_t)};
    std::size_t offset(std::size_t array) const {
        std::size_t o = 0;
        for (std::size_t i = 0; i < array; ++i) o += item_size[i] * n_[i];
        return o;
    }
    template <class T>
    const T* at(std::size_t array) const {
        return block_ ? reinterpret_cast<const T*>(block_.get() + offset(array)) : nullptr;
    }
    void copy_from(const evaluation_memo& other);

    std::unique_ptr<std::byte[]> block_;
    std::uint32_t n_[arrays] = {};
};

}  // namespace redflag::engine
