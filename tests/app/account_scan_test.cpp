#include "app/account_scan.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace redflag::app {
namespace {

TEST(AccountScan, finds_the_key_where_string_view_find_does) {
    // Short and long texts made of the key's own characters, with and without the key at
    // every position (the vector loop's 16-byte blocks, their edges, the scalar tail).
    std::mt19937 random(7);
    const std::string alphabet = "\"account:{},a";
    for (int round = 0; round < 20000; ++round) {
        std::string text;
        std::size_t length = random() % 70;
        for (std::size_t i = 0; i < length; ++i) text += alphabet[random() % alphabet.size()];
        if (random() % 2) text.insert(random() % (text.size() + 1), std::string(account_key));
        std::string_view view(text);
        for (std::size_t from = 0; from <= text.size() + 1; ++from)
            ASSERT_EQ(find_account_key(view, from), view.find(account_key, from)) << text << " from " << from;
    }
}

TEST(AccountScan, reads_the_account_only_when_the_text_says_it_without_doubt) {
    EXPECT_EQ(quick_account(R"({"type":"usage","account":"acme","value":3})"), "acme");
    EXPECT_EQ(quick_account(R"({ "account" : "acme" })"), "acme");
    EXPECT_EQ(quick_account(R"({"account":"acct-0000001","id":"x","at":"2026-01-01T00:00:00Z"})"), "acct-0000001");
    // Twice (which one the parser keeps is its business), escaped, not a string, a value
    // that only looks like the key, or no key: the line is parsed instead.
    EXPECT_EQ(quick_account(R"({"account":"a","account":"b"})"), std::nullopt);
    EXPECT_EQ(quick_account(R"({"account":"a\u0031"})"), std::nullopt);
    EXPECT_EQ(quick_account(R"({"account":17})"), std::nullopt);
    EXPECT_EQ(quick_account(R"({"name":"\"account\""})"), std::nullopt);
    EXPECT_EQ(quick_account(R"({"type":"usage"})"), std::nullopt);
    EXPECT_EQ(quick_account(R"({"account":"unterminated)"), std::nullopt);
}

}  // namespace
}  // namespace redflag::app
