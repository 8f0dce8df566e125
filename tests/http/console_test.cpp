#include "http/console.hpp"
#include "http/console_files.hpp"
#include "http/router.hpp"

#include <boost/beast/http.hpp>
#include <gtest/gtest.h>

using namespace redflag::http;
namespace bhttp = boost::beast::http;

namespace {

request make(bhttp::verb method, std::string target, std::string cookie = {}, std::string body = {}) {
    request req{method, target, 11};
    if (!cookie.empty()) req.set(bhttp::field::cookie, cookie);
    req.body() = std::move(body);
    return req;
}

response get(const console_options& o, const access_policy& p, std::string target, std::string cookie = {},
             bhttp::verb method = bhttp::verb::get, std::string body = {}) {
    auto req = make(method, target, std::move(cookie), std::move(body));
    auto match = match_route(method, target);
    EXPECT_EQ(match.result, route_match::result::found) << target;
    EXPECT_EQ(match.endpoint, endpoint::console) << target;
    return console_response(o, p, match.console_path, req);
}

access_policy with_tokens() {
    access_policy p;
    p.read_tokens = {"reader"};
    p.write_tokens = {"writer; with=odd chars"};
    return p;
}

std::vector<std::string> set_cookies(const response& res) {
    std::vector<std::string> out;
    for (const auto& f : res)
        if (f.name() == bhttp::field::set_cookie) out.emplace_back(f.value());
    return out;
}

}  // namespace

TEST(ConsoleFiles, every_page_and_the_chart_library_are_compiled_in) {
    for (auto name : {"index.html", "login.html", "assets/style.css", "assets/api.js", "assets/inbox.js",
                      "assets/vendor/uPlot.iife.min.js", "assets/vendor/uPlot.min.css"}) {
        const auto* f = find_console_file(name);
        ASSERT_NE(f, nullptr) << name;
        EXPECT_GT(f->body.size(), 10u) << name;
        EXPECT_EQ(f->etag.size(), 18u) << name;  // 16 hex digits in quotes
    }
    EXPECT_EQ(find_console_file("assets"), nullptr);
    EXPECT_EQ(find_console_file(""), nullptr);
}

TEST(ConsoleFiles, content_types_follow_the_extension) {
    EXPECT_EQ(content_type_of("index.html"), "text/html; charset=utf-8");
    EXPECT_EQ(content_type_of("assets/api.js"), "text/javascript; charset=utf-8");
    EXPECT_EQ(content_type_of("assets/style.css"), "text/css; charset=utf-8");
    EXPECT_EQ(content_type_of("assets/x.bin"), "application/octet-stream");
}

TEST(Console, assets_are_served_with_type_etag_and_revalidation) {
    const console_options o;
    const auto p = with_tokens();
    auto res = get(o, p, "/ui/assets/inbox.js");  // assets are open: they hold no data
    ASSERT_EQ(res.result_int(), 200u);
    EXPECT_EQ(res[bhttp::field::content_type], "text/javascript; charset=utf-8");
    EXPECT_EQ(res[bhttp::field::cache_control], "no-cache");
    EXPECT_EQ(res.body(), find_console_file("assets/inbox.js")->body);
    EXPECT_EQ(res["X-Content-Type-Options"], "nosniff");
    EXPECT_NE(res["Content-Security-Policy"].find("script-src 'self'"), std::string::npos);
    const std::string etag(res[bhttp::field::etag]);
    ASSERT_FALSE(etag.empty());

    auto again = make(bhttp::verb::get, "/ui/assets/inbox.js");
    again.set(bhttp::field::if_none_match, etag);
    auto match = match_route(bhttp::verb::get, "/ui/assets/inbox.js");
    auto cached = console_response(o, p, match.console_path, again);
    EXPECT_EQ(cached.result_int(), 304u);
    EXPECT_TRUE(cached.body().empty());
}

TEST(Console, no_path_reaches_outside_the_compiled_in_files) {
    const console_options o;
    const access_policy open;
    for (auto target : {"/ui/assets/../index.html", "/ui/assets/%2e%2e/index.html", "/ui/assets/..%2Findex.html",
                        "/ui/assets/../../etc/passwd", "/ui/assets/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
                        "/ui/assets//api.js", "/ui/assets/./api.js", "/ui/assets/", "/ui/assets",
                        "/ui/assets/vendor", "/ui/nope", "/ui/index.html", "/ui/login.html"}) {
        auto res = get(o, open, target);
        EXPECT_EQ(res.result_int(), 404u) << target;
        EXPECT_EQ(res.body().find("<html"), std::string::npos) << target;
    }
}

TEST(Console, pages_redirect_to_the_sign_in_without_credentials_and_open_with_the_cookie) {
    const console_options o;
    const auto p = with_tokens();
    for (auto target : {"/ui/", "/ui/accounts", "/ui/accounts/acme", "/ui/playground"}) {
        auto res = get(o, p, target);
        EXPECT_EQ(res.result_int(), 303u) << target;
        EXPECT_EQ(res[bhttp::field::location], "/ui/login") << target;
        EXPECT_TRUE(res.body().empty()) << target;
        auto wrong = get(o, p, target, "redflag_session=" + to_hex("not-a-token"));
        EXPECT_EQ(wrong.result_int(), 303u) << target;
    }
    auto res = get(o, p, "/ui/", "redflag_session=" + to_hex("reader"));
    ASSERT_EQ(res.result_int(), 200u);
    EXPECT_EQ(res[bhttp::field::content_type], "text/html; charset=utf-8");
    EXPECT_EQ(res[bhttp::field::cache_control], "no-store");
    EXPECT_NE(res.body().find("Inbox"), std::string::npos);
    EXPECT_EQ(get(o, p, "/ui/login").result_int(), 200u);
    EXPECT_EQ(get(o, p, "/ui").result_int(), 303u);
}

TEST(Console, without_tokens_pages_open_like_the_api) {
    const console_options o;
    EXPECT_EQ(get(o, access_policy{}, "/ui/").result_int(), 200u);
    access_policy closed;  // ingest has tokens, the API none: closed
    closed.ingest_tokens = {"i"};
    EXPECT_EQ(get(o, closed, "/ui/").result_int(), 303u);
}

TEST(Console, sign_in_sets_an_httponly_strict_session_cookie_and_a_readable_csrf_cookie) {
    console_options o;
    const auto p = with_tokens();
    // A form body, percent-encoded as browsers send it.
    auto res = get(o, p, "/ui/login", {}, bhttp::verb::post, "token=writer%3B+with%3Dodd+chars");
    ASSERT_EQ(res.result_int(), 303u);
    EXPECT_EQ(res[bhttp::field::location], "/ui/");
    auto cookies = set_cookies(res);
    ASSERT_EQ(cookies.size(), 2u);
    EXPECT_EQ(cookies[0], "redflag_session=" + to_hex("writer; with=odd chars") + "; Path=/; SameSite=Strict; HttpOnly");
    EXPECT_EQ(cookies[1].rfind("redflag_csrf=", 0), 0u);
    EXPECT_EQ(cookies[1].find("HttpOnly"), std::string::npos);  // the page reads it to send X-CSRF-Token
    EXPECT_NE(cookies[1].find("SameSite=Strict"), std::string::npos);
    EXPECT_EQ(cookies[1].find("Secure"), std::string::npos);

    o.secure_cookie = true;
    auto secure = get(o, p, "/ui/login", {}, bhttp::verb::post, "token=reader");
    for (const auto& c : set_cookies(secure)) EXPECT_NE(c.find("; Secure"), std::string::npos) << c;

    auto failed = get(o, p, "/ui/login", {}, bhttp::verb::post, "token=guess");
    EXPECT_EQ(failed.result_int(), 303u);
    EXPECT_EQ(failed[bhttp::field::location], "/ui/login?failed");
    EXPECT_TRUE(set_cookies(failed).empty());

    auto out = get(o, p, "/ui/logout", {}, bhttp::verb::post);
    EXPECT_EQ(out.result_int(), 303u);
    for (const auto& c : set_cookies(out)) EXPECT_NE(c.find("Max-Age=0"), std::string::npos) << c;
}

TEST(Console, turned_off_is_not_found) {
    console_options o;
    o.enabled = false;
    EXPECT_EQ(get(o, access_policy{}, "/ui/").result_int(), 404u);
    EXPECT_EQ(get(o, access_policy{}, "/ui/assets/api.js").result_int(), 404u);
}

TEST(Console, pages_take_only_get) {
    const console_options o;
    auto res = get(o, access_policy{}, "/ui/", {}, bhttp::verb::post);
    EXPECT_EQ(res.result_int(), 405u);
    EXPECT_EQ(res[bhttp::field::allow], "GET, HEAD");
}
