#include "ingest/auth.hpp"

#include <gtest/gtest.h>

#include <vector>

using namespace redflag::ingest;

TEST(Auth, bearer_token_accepts_any_configured_token) {
    std::vector<std::string> tokens{"alpha", "beta"};
    EXPECT_EQ(check_bearer("Bearer alpha", tokens), auth_result::ok);
    EXPECT_EQ(check_bearer("bearer beta", tokens), auth_result::ok);
    EXPECT_EQ(check_bearer("  Bearer   beta ", tokens), auth_result::ok);
}

TEST(Auth, bearer_token_missing_or_other_scheme_is_missing) {
    std::vector<std::string> tokens{"alpha"};
    EXPECT_EQ(check_bearer("", tokens), auth_result::missing);
    EXPECT_EQ(check_bearer("Bearer", tokens), auth_result::missing);
    EXPECT_EQ(check_bearer("Bearer ", tokens), auth_result::missing);
    EXPECT_EQ(check_bearer("Basic YWxwaGE6", tokens), auth_result::missing);
}

TEST(Auth, wrong_bearer_token_is_forbidden) {
    std::vector<std::string> tokens{"alpha"};
    EXPECT_EQ(check_bearer("Bearer alph", tokens), auth_result::forbidden);
    EXPECT_EQ(check_bearer("Bearer alphaa", tokens), auth_result::forbidden);
    EXPECT_EQ(check_bearer("Bearer ALPHA", tokens), auth_result::forbidden);
}

TEST(Auth, hmac_matches_rfc_4231_test_case_2) {
    EXPECT_EQ(hmac_sha256_hex("Jefe", "what do ya want for nothing?"),
              "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(Auth, signature_good_in_either_hex_case) {
    std::string body = R"({"type":"usage"})";
    auto hex = hmac_sha256_hex("s3cret", body);
    EXPECT_EQ(check_signature("sha256=" + hex, body, "s3cret"), auth_result::ok);
    std::string upper = hex;
    for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    EXPECT_EQ(check_signature("sha256=" + upper, body, "s3cret"), auth_result::ok);
}

TEST(Auth, signature_bad_missing_or_malformed_is_missing) {
    std::string body = "payload";
    auto hex = hmac_sha256_hex("s3cret", body);
    EXPECT_EQ(check_signature("", body, "s3cret"), auth_result::missing);
    EXPECT_EQ(check_signature(hex, body, "s3cret"), auth_result::missing);                    // no prefix
    EXPECT_EQ(check_signature("sha256=" + hex, body + " ", "s3cret"), auth_result::missing);  // body changed
    EXPECT_EQ(check_signature("sha256=" + hex, body, "other"), auth_result::missing);         // other secret
    EXPECT_EQ(check_signature("sha256=" + hex.substr(1), body, "s3cret"), auth_result::missing);
    auto bad = hex;
    bad[0] = 'g';
    EXPECT_EQ(check_signature("sha256=" + bad, body, "s3cret"), auth_result::missing);
}
