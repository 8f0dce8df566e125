#include "ingest/adapters/signature.hpp"

#include "ingest/adapters/account_resolver.hpp"
#include "support.hpp"

#include <gtest/gtest.h>

namespace redflag::ingest::adapters {
namespace {

TEST(Signature, hmac_matches_rfc_4231_and_rfc_2202_vectors) {
    // RFC 4231 test case 2 and RFC 2202 test case 2 ("Jefe").
    EXPECT_EQ(to_hex(hmac_sha256("Jefe", "what do ya want for nothing?")),
              "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    EXPECT_EQ(to_hex(hmac_sha1("Jefe", "what do ya want for nothing?")), "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
}

TEST(Signature, base64_round_trips_and_refuses_what_is_not_base64) {
    for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
        EXPECT_EQ(to_base64(s), testing::openssl_base64(s));
        EXPECT_EQ(from_base64(to_base64(s)), s);
    }
    EXPECT_EQ(to_base64("foobar"), "Zm9vYmFy");  // RFC 4648 section 10
    EXPECT_FALSE(from_base64("Zm9vYmF"));
    EXPECT_FALSE(from_base64("Zm9=YmFy"));
    EXPECT_FALSE(from_base64("Zm9v YmE="));
    EXPECT_FALSE(from_hex("abc"));
    EXPECT_FALSE(from_hex("zz"));
    EXPECT_EQ(from_hex("4A6b"), "Jk");
}

TEST(Signature, digests_equal_needs_the_same_bytes_and_length) {
    EXPECT_TRUE(digests_equal("abc", "abc"));
    EXPECT_FALSE(digests_equal("abc", "abd"));
    EXPECT_FALSE(digests_equal("abc", "abcd"));
}

TEST(ConfigResolver, maps_configured_ids_and_vendor_ids_but_never_a_user_as_it_is) {
    adapter_config stripe;
    stripe.accounts = {{"cus_1", "acme"}};
    adapter_config segment;
    segment.vendor_ids = true;
    segment.accounts = {{"user:u-9", "globex"}};
    config_resolver r({{"stripe", stripe}, {"segment", segment}});
    EXPECT_EQ(r.resolve({"stripe", "customer", "cus_1"}), "acme");
    EXPECT_EQ(r.resolve({"stripe", "customer", "cus_2"}), std::nullopt);
    EXPECT_EQ(r.resolve({"segment", "group", "initech"}), "initech");
    EXPECT_EQ(r.resolve({"segment", "user", "u-9"}), "globex");
    EXPECT_EQ(r.resolve({"segment", "user", "u-1"}), std::nullopt);
    EXPECT_EQ(r.resolve({"zendesk", "organization", "1"}), std::nullopt);
}

}  // namespace
}  // namespace redflag::ingest::adapters
