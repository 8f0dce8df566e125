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

}  // namespace
}  // namespace redflag::engine
