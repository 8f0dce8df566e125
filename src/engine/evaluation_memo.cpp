#include "engine/evaluation_memo.hpp"

#include <algorithm>
#include <cstring>
#include <iterator>
#include <vector>

namespace redflag::engine {

namespace {

template <class T>
std::size_t copy_array(std::byte* to, const std::vector<T>& from) {
    if (!from.empty()) std::memcpy(to, from.data(), from.size() * sizeof(T));
    return from.size() * sizeof(T);
}

}  // namespace

void evaluation_memo::assign(const rules::evaluation& e) {
    const std::uint32_t n[arrays] = {
        static_cast<std::uint32_t>(e.components.size()), static_cast<std::uint32_t>(e.item_next.size()),
        static_cast<std::uint32_t>(e.scores.size()),     static_cast<std::uint32_t>(e.bands.size()),
        static_cast<std::uint32_t>(e.classes.size()),    static_cast<std::uint32_t>(e.conditions.size())};
    if (!block_ || !std::equal(std::begin(n), std::end(n), std::begin(n_))) {
        std::copy(std::begin(n), std::end(n), std::begin(n_));
        const std::size_t bytes = offset(arrays);
        block_ = bytes == 0 ? nullptr : std::make_unique<std::byte[]>(bytes);
        if (!block_) return;
    }
    std::byte* p = block_.get();
    p += copy_array(p, e.components);
    p += copy_array(p, e.item_next);
    p += copy_array(p, e.scores);
    p += copy_array(p, e.bands);
    p += copy_array(p, e.classes);
    copy_array(p, e.conditions);
}

void evaluation_memo::clear() {
    block_.reset();
    std::fill(std::begin(n_), std::end(n_), 0u);
}

void evaluation_memo::copy_from(const evaluation_memo& other) {
    std::copy(std::begin(other.n_), std::end(other.n_), std::begin(n_));
    const std::size_t bytes = offset(arrays);
    block_ = other.block_ && bytes > 0 ? std::make_unique<std::byte[]>(bytes) : nullptr;
    if (block_) std::memcpy(block_.get(), other.block_.get(), bytes);
}

}  // namespace redflag::engine
