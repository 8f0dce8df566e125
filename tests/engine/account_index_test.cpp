#include "engine/account_index.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace redflag::engine {
namespace {

TEST(AccountIndex, finds_every_inserted_id_across_growth) {
    std::vector<std::string> ids;
    account_index index;
    auto id_of = [&](std::uint32_t i) -> std::string_view { return ids[i]; };
    for (std::uint32_t i = 0; i < 5000; ++i) {
        ids.push_back("account-" + std::to_string(i));
        ASSERT_EQ(index.find(ids.back(), account_index::hash(ids.back()), id_of), account_index::none);
        index.insert(account_index::hash(ids.back()), i);
    }
    EXPECT_EQ(index.size(), 5000u);
    for (std::uint32_t i = 0; i < 5000; ++i) ASSERT_EQ(index.find(ids[i], account_index::hash(ids[i]), id_of), i);
    EXPECT_EQ(index.find("account-5000", account_index::hash("account-5000"), id_of), account_index::none);
}

TEST(AccountIndex, equal_hashes_are_told_apart_by_id) {
    std::vector<std::string> ids{"a", "b", "c"};
    account_index index;
    auto id_of = [&](std::uint32_t i) -> std::string_view { return ids[i]; };
    for (std::uint32_t i = 0; i < ids.size(); ++i) index.insert(7, i);  // every id collides
    EXPECT_EQ(index.find("a", 7, id_of), 0u);
    EXPECT_EQ(index.find("b", 7, id_of), 1u);
    EXPECT_EQ(index.find("c", 7, id_of), 2u);
    EXPECT_EQ(index.find("d", 7, id_of), account_index::none);
    EXPECT_EQ(account_index().find("a", 7, id_of), account_index::none);  // empty
}

TEST(AccountIndex, erase_keeps_every_other_id_findable_through_collisions) {
    // Many ids on few hashes make long probe runs that wrap around the table; erasing from
    // the middle of a run must not cut off the ids after it.
    std::vector<std::string> ids;
    account_index index;
    auto id_of = [&](std::uint32_t i) -> std::string_view { return ids[i]; };
    auto hash_of = [](std::uint32_t i) { return std::uint64_t{i % 7} * 0x9E3779B97F4A7C15ull + 15; };
    for (std::uint32_t i = 0; i < 200; ++i) {
        ids.push_back("a" + std::to_string(i));
        index.insert(hash_of(i), i);
    }
    std::vector<bool> erased(ids.size(), false);
    for (std::uint32_t i = 0; i < 200; i += 3) {
        ASSERT_TRUE(index.erase(hash_of(i), i));
        erased[i] = true;
    }
    EXPECT_FALSE(index.erase(hash_of(0), 0));  // gone already
    for (std::uint32_t i = 0; i < 200; ++i)
        ASSERT_EQ(index.find(ids[i], hash_of(i), id_of), erased[i] ? account_index::none : i) << ids[i];
    EXPECT_EQ(index.size(), 200u - 67u);
    // An erased id can be inserted again.
    index.insert(hash_of(3), 3);
    EXPECT_EQ(index.find(ids[3], hash_of(3), id_of), 3u);
}

}  // namespace
}  // namespace redflag::engine
