#include "http/console.hpp"

#include "http/console_files.hpp"

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/url/pct_string_view.hpp>
#include <boost/url/parse_query.hpp>
#include <openssl/rand.h>

#include <algorithm>

namespace redflag::http {
namespace {

namespace beast_http = boost::beast::http;
using verb = beast_http::verb;

// Only this origin's scripts, styles, images and fetches; no framing; no inline script.
constexpr std::string_view security_policy =
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; "
    "form-action 'self'; base-uri 'none'";

response base_response(unsigned status) {
    response res{static_cast<beast_http::status>(status), 11};
    res.set("Content-Security-Policy", security_policy);
    res.set("X-Content-Type-Options", "nosniff");
    res.set("X-Frame-Options", "DENY");
    res.set("Referrer-Policy", "same-origin");
    return res;
}

response text(unsigned status, std::string_view body) {
    auto res = base_response(status);
    res.set(beast_http::field::content_type, "text/plain; charset=utf-8");
    res.set(beast_http::field::cache_control, "no-store");
    res.body() = std::string(body);
    return res;
}

response redirect(std::string_view location) {
    auto res = base_response(303);
    res.set(beast_http::field::location, location);
    res.set(beast_http::field::cache_control, "no-store");
    return res;
}

response file(const console_file& f, const request& req, bool page) {
    if (!page && req[beast_http::field::if_none_match] == f.etag) {
        auto res = base_response(304);
        res.set(beast_http::field::etag, f.etag);
        res.set(beast_http::field::cache_control, "no-cache");
        return res;
    }
    auto res = base_response(200);
    res.set(beast_http::field::content_type, content_type_of(f.name));
    if (page) {
        // Pages are behind sign-in: never kept by a browser or a proxy.
        res.set(beast_http::field::cache_control, "no-store");
    } else {
        // Assets: kept, but revalidated (304 while the binary is the same).
        res.set(beast_http::field::cache_control, "no-cache");
        res.set(beast_http::field::etag, f.etag);
    }
    if (req.method() != verb::head) res.body() = std::string(f.body);
    else res.content_length(f.body.size());
    return res;
}

response page(std::string_view name, const request& req) {
    const auto* f = find_console_file(name);
    if (!f) return text(500, "the console's page " + std::string(name) + " is missing from this build");
    return file(*f, req, true);
}

std::string random_hex(std::size_t bytes) {
    std::string raw(bytes, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1) return {};
    return to_hex(raw);
}

std::string cookie(std::string_view name, std::string_view value, bool http_only, bool secure, bool clear) {
    std::string c = std::string(name) + "=" + std::string(value) + "; Path=/; SameSite=Strict";
    if (http_only) c += "; HttpOnly";
    if (secure) c += "; Secure";
    if (clear) c += "; Max-Age=0";
    return c;
}

response login(const console_options& options, const access_policy& policy, const request& req) {
    std::string token;
    // The form field `token` (application/x-www-form-urlencoded: '+' is a space).
    if (auto parsed = boost::urls::parse_query(req.body())) {
        for (auto p : *parsed) {
            if (p.key != "token") continue;
            std::string encoded(p.value);
            std::replace(encoded.begin(), encoded.end(), '+', ' ');
            if (auto valid = boost::urls::make_pct_string_view(encoded)) token = valid->decode();
        }
    }
    if (api_open_without_tokens(policy)) return redirect("/ui/");
    if (token.empty() || !console_allows(policy, "Bearer " + token)) return redirect("/ui/login?failed");
    const auto csrf = random_hex(16);
    if (csrf.empty()) return text(500, "no random bytes for the CSRF token: try again");
    auto res = redirect("/ui/");
    res.insert(beast_http::field::set_cookie, cookie(session_cookie, to_hex(token), true, options.secure_cookie, false));
    res.insert(beast_http::field::set_cookie, cookie(csrf_cookie, csrf, false, options.secure_cookie, false));
    return res;
}

response logout(const console_options& options) {
    auto res = redirect("/ui/login");
    res.insert(beast_http::field::set_cookie, cookie(session_cookie, "", true, options.secure_cookie, true));
    res.insert(beast_http::field::set_cookie, cookie(csrf_cookie, "", false, options.secure_cookie, true));
    return res;
}

response method_not_allowed(std::string_view allow) {
    auto res = text(405, "method not allowed: use " + std::string(allow));
    res.set(beast_http::field::allow, allow);
    return res;
}

// The page a path names ("" when none).
std::string_view page_of(const std::vector<std::string>& path) {
    if (path.size() == 1 && path[0].empty()) return "index.html";
    if (path.size() == 1 && path[0] == "accounts") return "accounts.html";
    if (path.size() == 2 && path[0] == "accounts" && !path[1].empty()) return "account.html";
    if (path.size() == 1 && path[0] == "playground") return "playground.html";
    return {};
}

}  // namespace

const console_file* find_console_file(std::string_view name) {
    auto files = console_files();
    auto it = std::find_if(files.begin(), files.end(), [&](const console_file& f) { return f.name == name; });
    return it == files.end() ? nullptr : &*it;
}

std::string_view content_type_of(std::string_view name) {
    auto ends = [&](std::string_view ext) { return name.size() >= ext.size() && name.substr(name.size() - ext.size()) == ext; };
    if (ends(".html")) return "text/html; charset=utf-8";
    if (ends(".js")) return "text/javascript; charset=utf-8";
    if (ends(".css")) return "text/css; charset=utf-8";
    if (ends(".svg")) return "image/svg+xml";
    if (ends(".png")) return "image/png";
    if (ends(".json")) return "application/json";
    return "application/octet-stream";
}

response console_response(const console_options& options, const access_policy& policy,
                          const std::vector<std::string>& path, const request& req) {
    if (!options.enabled) return text(404, "the web console is off (ui.enabled: false)");
    const bool get = req.method() == verb::get || req.method() == verb::head;
    if (path.empty()) return redirect("/ui/");

    if (path[0] == "assets") {
        if (!get) return method_not_allowed("GET, HEAD");
        std::string name = "assets";
        for (std::size_t i = 1; i < path.size(); ++i) {
            if (path[i].empty() || path[i] == "." || path[i] == "..") return text(404, "no such file");
            name += "/" + path[i];
        }
        const auto* f = path.size() > 1 ? find_console_file(name) : nullptr;
        if (!f) return text(404, "no such file: /ui/" + name);
        return file(*f, req, false);
    }
    if (path.size() == 1 && path[0] == "login") {
        if (req.method() == verb::post) return login(options, policy, req);
        if (!get) return method_not_allowed("GET, HEAD, POST");
        return page("login.html", req);
    }
    if (path.size() == 1 && path[0] == "logout") {
        if (req.method() != verb::post) return method_not_allowed("POST");
        return logout(options);
    }
    auto name = page_of(path);
    if (name.empty()) return text(404, "no such page");
    if (!get) return method_not_allowed("GET, HEAD");
    auto credentials = credentials_of(req[beast_http::field::authorization], req[beast_http::field::cookie], "", false);
    if (credentials.refused || !console_allows(policy, credentials.authorization)) return redirect("/ui/login");
    return page(name, req);
}

}  // namespace redflag::http
