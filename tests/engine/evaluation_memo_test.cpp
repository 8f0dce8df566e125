// The per-account memo of the last evaluation: six arrays in one block.
#include "engine/evaluation_memo.hpp"

#include "engine/core.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

using namespace redflag;

namespace {

rules::evaluation sample(std::size_t rules_count) {
    rules::evaluation e;
    e.conditions.assign(rules_count, 0);
    e.conditions[1] = 1;
    e.item_next.assign(rules_count + 3, timestamp_max);
    e.item_next[0] = timestamp{} + 5 * minute;
    e.scores = {42.5, std::nan("")};
    e.bands = {2, -1};
    e.classes = {7};
    e.components = {{0.25, timestamp{} + hour}, {std::nan(""), timestamp_max}, {1.0, timestamp{}}};
    return e;
}

template <class T>
std::vector<T> copy(std::span<const T> s) {
    return {s.begin(), s.end()};
}

void expect_same(const engine::evaluation_memo& m, const rules::evaluation& e) {
    EXPECT_EQ(copy(m.conditions()), e.conditions);
    EXPECT_EQ(copy(m.item_next()), e.item_next);
    ASSERT_EQ(m.scores().size(), e.scores.size());
    for (std::size_t i = 0; i < e.scores.size(); ++i) {
        if (std::isnan(e.scores[i])) EXPECT_TRUE(std::isnan(m.scores()[i]));
        else EXPECT_EQ(m.scores()[i], e.scores[i]);
    }
    EXPECT_EQ(copy(m.bands()), e.bands);
    EXPECT_EQ(copy(m.classes()), e.classes);
    EXPECT_EQ(copy(m.components()), e.components);
}

}  // namespace

TEST(EvaluationMemo, keeps_every_array_of_the_evaluation) {
    engine::evaluation_memo m;
    EXPECT_TRUE(m.empty());
    EXPECT_TRUE(m.scores().empty());
    auto e = sample(13);
    m.assign(e);
    EXPECT_FALSE(m.empty());
    expect_same(m, e);
}

TEST(EvaluationMemo, reuses_its_block_while_the_sizes_stay_and_reallocates_when_they_change) {
    engine::evaluation_memo m;
    auto e = sample(13);
    m.assign(e);
    const void* block = m.data();
    e.scores[0] = 10;
    e.bands[0] = 0;
    e.conditions[1] = 0;
    m.assign(e);
    EXPECT_EQ(m.data(), block);
    expect_same(m, e);
    auto bigger = sample(40);  // a reload with more rules
    m.assign(bigger);
    expect_same(m, bigger);
    m.clear();
    EXPECT_TRUE(m.empty());
    EXPECT_TRUE(m.conditions().empty());
    EXPECT_TRUE(m.components().empty());
}

TEST(EvaluationMemo, copies_are_deep) {
    engine::evaluation_memo m;
    auto e = sample(13);
    m.assign(e);
    engine::evaluation_memo c = m;
    EXPECT_NE(c.data(), m.data());
    m.clear();
    expect_same(c, e);
    engine::evaluation_memo d;
    d = c;
    expect_same(d, e);
    engine::evaluation_memo moved = std::move(d);
    expect_same(moved, e);
}

// Memory (bench/RESULTS.md): the engine holds one record per account, 100,000s of them.
// The memo is a pointer and six lengths, not six vectors (144 bytes), so the record's
// fixed part stays under 416 bytes (520 with the vectors).
TEST(EvaluationMemo, keeps_the_account_record_small) {
    EXPECT_LE(sizeof(engine::evaluation_memo), 32u);
    EXPECT_LE(sizeof(engine::account_record), 416u);
}
