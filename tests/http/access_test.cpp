#include "http/access.hpp"

#include <gtest/gtest.h>

using namespace redflag::http;

namespace {

unsigned status_of(const access_policy& p, scope s, std::string_view authorization) {
    auto refused = authorize(p, s, authorization);
    return refused ? refused->status : 200;
}

}  // namespace

TEST(Access, nothing_configured_opens_everything) {
    const access_policy p;
    for (auto s : {scope::open, scope::metrics, scope::ingest, scope::read, scope::write})
        EXPECT_EQ(status_of(p, s, ""), 200u);
    EXPECT_TRUE(api_open_without_tokens(p));
}

TEST(Access, health_is_open_whatever_is_configured) {
    access_policy p;
    p.ingest_tokens = {"i"};
    p.write_tokens = {"w"};
    p.metrics_tokens = {"m"};
    EXPECT_EQ(status_of(p, scope::open, ""), 200u);
    EXPECT_EQ(status_of(p, scope::open, "Bearer nonsense"), 200u);
}

TEST(Access, vendor_hooks_are_left_to_their_adapter_whatever_is_configured) {
    // Vendors sign their webhooks (adapters.VENDOR.secret) and cannot send our bearer tokens.
    access_policy p;
    p.ingest_tokens = {"i"};
    p.hmac_secret = "s";
    p.write_tokens = {"w"};
    EXPECT_EQ(status_of(p, scope::vendor, ""), 200u);
}

TEST(Access, ingest_credentials_close_the_api_without_opening_it) {
    for (int variant = 0; variant < 3; ++variant) {
        access_policy p;
        if (variant == 0) p.hmac_secret = "s";
        if (variant == 1) p.ingest_tokens = {"i"};
        if (variant == 2) p.metrics_tokens = {"i"};
        EXPECT_FALSE(api_open_without_tokens(p)) << variant;
        for (auto s : {scope::read, scope::write}) {
            auto refused = authorize(p, s, "Bearer i");
            ASSERT_TRUE(refused) << variant;
            EXPECT_EQ(refused->status, 401u);
            EXPECT_TRUE(refused->challenge);
            EXPECT_NE(refused->message.find("api.read_tokens or api.write_tokens"), std::string::npos) << refused->message;
        }
    }
}

TEST(Access, api_insecure_opens_an_api_without_tokens) {
    access_policy p;
    p.hmac_secret = "s";
    p.api_insecure = true;
    EXPECT_EQ(status_of(p, scope::write, ""), 200u);
    p.read_tokens = {"r"};  // tokens, once set, apply
    EXPECT_EQ(status_of(p, scope::read, ""), 401u);
}

TEST(Access, read_and_write_scopes) {
    access_policy p;
    p.ingest_tokens = {"i"};
    p.read_tokens = {"r1", "r2"};
    p.write_tokens = {"w"};
    EXPECT_EQ(status_of(p, scope::read, ""), 401u);
    EXPECT_EQ(status_of(p, scope::read, "Basic cjE6"), 401u);
    EXPECT_EQ(status_of(p, scope::read, "Bearer r2"), 200u);
    EXPECT_EQ(status_of(p, scope::read, "Bearer w"), 200u);
    EXPECT_EQ(status_of(p, scope::read, "Bearer i"), 403u);
    EXPECT_EQ(status_of(p, scope::write, "Bearer w"), 200u);
    EXPECT_EQ(status_of(p, scope::write, "Bearer i"), 403u);
    auto refused = authorize(p, scope::write, "Bearer r1");
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->status, 403u);
    EXPECT_FALSE(refused->challenge);
    EXPECT_NE(refused->message.find("may only read"), std::string::npos) << refused->message;
    // API tokens are not ingest tokens.
    EXPECT_EQ(status_of(p, scope::ingest, "Bearer w"), 403u);
    EXPECT_EQ(status_of(p, scope::ingest, "Bearer i"), 200u);
}

TEST(Access, only_write_tokens_still_guard_reads) {
    access_policy p;
    p.write_tokens = {"w"};
    EXPECT_EQ(status_of(p, scope::read, ""), 401u);
    EXPECT_EQ(status_of(p, scope::read, "Bearer x"), 403u);
    EXPECT_EQ(status_of(p, scope::read, "Bearer w"), 200u);
}

TEST(Access, metrics_tokens) {
    access_policy p;
    p.metrics_tokens = {"m"};
    p.read_tokens = {"r"};
    EXPECT_EQ(status_of(p, scope::metrics, ""), 401u);
    EXPECT_EQ(status_of(p, scope::metrics, "Bearer r"), 403u);
    EXPECT_EQ(status_of(p, scope::metrics, "bearer m"), 200u);
    EXPECT_EQ(status_of(p, scope::read, "Bearer m"), 403u);
}

TEST(Access, listener_checks) {
    access_policy p;
    EXPECT_FALSE(check_listener(p, true, "127.0.0.1:8080"));
    auto refused = check_listener(p, false, "0.0.0.0:8080");
    ASSERT_TRUE(refused);
    EXPECT_NE(refused->find("0.0.0.0:8080"), std::string::npos);
    EXPECT_NE(refused->find("ingest.insecure"), std::string::npos);
    p.hmac_secret = "s";
    refused = check_listener(p, false, "0.0.0.0:8080");
    ASSERT_TRUE(refused);
    EXPECT_NE(refused->find("api.read_tokens"), std::string::npos) << *refused;
    p.read_tokens = {"r"};
    EXPECT_FALSE(check_listener(p, false, "0.0.0.0:8080"));
}

TEST(ConsoleCookie, cookie_values_are_found_by_exact_name) {
    EXPECT_EQ(cookie_value("a=1; redflag_session=abc; b=2", "redflag_session"), "abc");
    EXPECT_EQ(cookie_value("redflag_session_x=1;redflag_session=\"q\"", "redflag_session"), "q");
    EXPECT_FALSE(cookie_value("xredflag_session=1", "redflag_session"));
    EXPECT_FALSE(cookie_value("", "redflag_session"));
    EXPECT_EQ(from_hex(to_hex("a b;c=\x01")), "a b;c=\x01");
    EXPECT_FALSE(from_hex("zz"));
    EXPECT_FALSE(from_hex("abc"));
}

TEST(ConsoleCookie, the_session_cookie_stands_for_the_bearer_token) {
    access_policy p;
    p.read_tokens = {"reader"};
    p.write_tokens = {"writer"};
    const std::string session = "redflag_session=" + to_hex("reader") + "; redflag_csrf=c0ffee";
    auto c = credentials_of("", session, "", false);
    EXPECT_FALSE(c.refused);
    EXPECT_TRUE(c.from_cookie);
    EXPECT_EQ(c.authorization, "Bearer reader");
    EXPECT_FALSE(authorize(p, scope::read, c.authorization));
    EXPECT_EQ(authorize(p, scope::write, c.authorization)->status, 403u);
    // An Authorization header wins over the cookie.
    EXPECT_EQ(credentials_of("Bearer writer", session, "", true).authorization, "Bearer writer");
    EXPECT_FALSE(credentials_of("Bearer writer", session, "", true).refused);
    // No cookie: nothing.
    EXPECT_EQ(credentials_of("", "other=1", "", true).authorization, "");
    EXPECT_EQ(credentials_of("", "redflag_session=nothex", "", false).refused->status, 401u);
}

TEST(ConsoleCookie, changing_state_with_the_cookie_needs_the_matching_csrf_header) {
    const std::string session = "redflag_session=" + to_hex("writer") + "; redflag_csrf=c0ffee";
    EXPECT_FALSE(credentials_of("", session, "c0ffee", true).refused);
    for (auto header : {"", "c0ffef", "c0ffee0"}) {
        auto c = credentials_of("", session, header, true);
        ASSERT_TRUE(c.refused) << header;
        EXPECT_EQ(c.refused->status, 403u);
        EXPECT_NE(c.refused->message.find("X-CSRF-Token"), std::string::npos);
    }
    // Without the CSRF cookie no header matches.
    EXPECT_TRUE(credentials_of("", "redflag_session=" + to_hex("writer"), "", true).refused);
    // Reads need no CSRF token.
    EXPECT_FALSE(credentials_of("", "redflag_session=" + to_hex("writer"), "", false).refused);
}

TEST(ConsoleCookie, the_console_opens_for_read_credentials) {
    access_policy p;
    p.read_tokens = {"reader"};
    EXPECT_TRUE(console_allows(p, "Bearer reader"));
    EXPECT_FALSE(console_allows(p, "Bearer other"));
    EXPECT_FALSE(console_allows(p, ""));
    EXPECT_TRUE(console_allows(access_policy{}, ""));
}
