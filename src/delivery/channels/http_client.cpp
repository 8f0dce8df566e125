#include "delivery/channels/http_client.hpp"

#include <curl/curl.h>
#include <date/date.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <mutex>
#include <sstream>

namespace redflag::delivery::channels {

namespace {

// curl_global_init is not safe to race with other threads' curl use: once per process.
void init_curl_once() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct response_sink {
    http_response* response;
    std::size_t limit;
};

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
    auto* sink = static_cast<response_sink*>(user);
    std::size_t bytes = size * count;
    std::string& body = sink->response->body;
    std::size_t room = sink->limit > body.size() ? sink->limit - body.size() : 0;
    body.append(data, std::min(bytes, room));
    if (bytes > room) sink->response->truncated = true;
    return bytes;  // the rest is read and dropped, so the exchange still completes
}

std::string trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return std::string(s);
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
    auto* response = static_cast<http_response*>(user);
    std::size_t bytes = size * count;
    std::string_view line(data, bytes);
    // A status line starts each response (an interim 100 Continue has its own headers):
    // keep only the last response's headers.
    if (line.starts_with("HTTP/")) {
        response->headers.clear();
        return bytes;
    }
    auto colon = line.find(':');
    if (colon == std::string_view::npos) return bytes;
    std::string name(line.substr(0, colon));
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    response->headers.emplace_back(std::move(name), trim(line.substr(colon + 1)));
    return bytes;
}

bool has_header(const header_list& headers, std::string_view lower_name) {
    return std::any_of(headers.begin(), headers.end(), [&](const auto& h) {
        return std::equal(h.first.begin(), h.first.end(), lower_name.begin(), lower_name.end(),
                          [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == b; });
    });
}

}  // namespace

std::optional<std::string> http_response::header(std::string_view lower_name) const {
    for (const auto& [name, value] : headers)
        if (name == lower_name) return value;
    return std::nullopt;
}

http_client::http_client(http_options options) : options_(std::move(options)) { init_curl_once(); }

http_client::~http_client() {
    if (handle_) curl_easy_cleanup(static_cast<CURL*>(handle_));
}

http_response http_client::post_json(const std::string& url, const std::string& body, const header_list& headers) {
    header_list all = headers;
    if (!has_header(all, "content-type")) all.emplace_back("Content-Type", "application/json; charset=utf-8");
    return perform(url, &body, all);
}

http_response http_client::get(const std::string& url, const header_list& query, const header_list& headers) {
    std::string full = url;
    char separator = full.find('?') == std::string::npos ? '?' : '&';
    for (const auto& [name, value] : query) {
        full += separator;
        full += url_encode(name);
        full += '=';
        full += url_encode(value);
        separator = '&';
    }
    return perform(full, nullptr, headers);
}

http_response http_client::del(const std::string& url, const header_list& headers) {
    return perform(url, nullptr, headers, "DELETE");
}

http_response http_client::perform(const std::string& url, const std::string* body, const header_list& headers,
                                   const char* method) {
    http_response response;
    if (!handle_) handle_ = curl_easy_init();
    CURL* curl = static_cast<CURL*>(handle_);
    if (!curl) {
        response.error = "curl_easy_init failed";
        return response;
    }
    curl_easy_reset(curl);  // keeps the connection cache, drops the last call's options

    struct curl_slist* header_lines = nullptr;
    for (const auto& [name, value] : headers) {
        // A header value with a line break would smuggle headers in: refuse to send it.
        if (name.find_first_of("\r\n:") != std::string::npos || value.find_first_of("\r\n") != std::string::npos) {
            curl_slist_free_all(header_lines);
            response.error = "header \"" + name + "\" has a line break or a colon in its name";
            return response;
        }
        header_lines = curl_slist_append(header_lines, (name + ": " + value).c_str());
    }
    // curl would send "Expect: 100-continue" for larger bodies and wait for the peer.
    header_lines = curl_slist_append(header_lines, "Expect:");

    response_sink sink{&response, options_.max_response_bytes};
    char error_buffer[CURL_ERROR_SIZE] = {};
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);  // timeouts without SIGALRM: senders run on worker threads
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout.count()));
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout.count()));
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "redflag");
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, header_lines);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &response);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
    if (!options_.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, options_.ca_file.c_str());
    if (body) {
        curl_easy_setopt(curl, CURLOPT_POST, 1L);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body->data());
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body->size()));
    } else {
        curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
    }
    if (method) curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);

    CURLcode code = curl_easy_perform(curl);
    curl_slist_free_all(header_lines);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, nullptr);
    if (code != CURLE_OK) {
        response.status = 0;
        response.error = error_buffer[0] ? error_buffer : curl_easy_strerror(code);
        return response;
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
    return response;
}

std::string url_encode(std::string_view text) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(text.size());
    for (char ch : text) {
        auto c = static_cast<unsigned char>(ch);
        if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            out.push_back(ch);
        } else {
            out.push_back('%');
            out.push_back(hex[c >> 4]);
            out.push_back(hex[c & 15]);
        }
    }
    return out;
}

std::optional<duration> parse_retry_after(std::string_view value, timestamp now) {
    std::string text = trim(value);
    if (text.empty()) return std::nullopt;
    if (std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); })) {
        long long value_seconds = 0;
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value_seconds);
        if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
        // Anything beyond a day is not a wait a peer means; cap it so it cannot overflow.
        return std::chrono::seconds(std::min<long long>(value_seconds, 86400));
    }
    std::istringstream in(text);
    date::sys_seconds when;
    in >> date::parse("%a, %d %b %Y %H:%M:%S GMT", when);
    if (in.fail()) return std::nullopt;
    auto wait = std::chrono::duration_cast<duration>(timestamp(when) - now);
    return std::max(wait, duration::zero());
}

}  // namespace redflag::delivery::channels
