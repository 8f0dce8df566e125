// A small blocking HTTP client over libcurl, shared by the senders that speak HTTP
// (Slack's Web API, Slack incoming webhooks, JSON webhooks): POST a JSON body or GET with
// a query, with headers and timeouts, and get back the status, the response headers
// (Retry-After among them) and the body.
//
// It never throws and never follows redirects: a transport failure (refused, timed out,
// TLS) comes back as `error` with status 0. Only http:// and https:// URLs are fetched.
// Response bodies are kept up to a limit (larger ones are cut, `truncated` says so).
//
// Not thread-safe: one client per sender, used by one thread at a time (channel.hpp). It
// keeps one curl handle so that connections to the peer are reused between calls.
#pragma once

#include "core/time.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace redflag::delivery::channels {

using header_list = std::vector<std::pair<std::string, std::string>>;

struct http_options {
    duration connect_timeout = 5 * seconds_ms;
    duration timeout = 15 * seconds_ms;       // the whole exchange
    std::size_t max_response_bytes = 1 << 20;  // the body kept; the rest is read and dropped
    std::string ca_file;                       // extra CA bundle for https (tests, private CAs); empty: the system's
};

struct http_response {
    long status = 0;       // 0: no response (see `error`)
    header_list headers;   // names lower-cased, in the order received (of the last response)
    std::string body;
    bool truncated = false;
    std::string error;     // transport failure, empty when a response came

    // The first header of that (lower-case) name.
    std::optional<std::string> header(std::string_view lower_name) const;
};

class http_client {
public:
    explicit http_client(http_options options = {});
    ~http_client();
    http_client(const http_client&) = delete;
    http_client& operator=(const http_client&) = delete;

    // POST `body` as application/json with `headers` added.
    http_response post_json(const std::string& url, const std::string& body, const header_list& headers = {});

    // GET `url` with `query` appended, each name and value percent-encoded.
    http_response get(const std::string& url, const header_list& query, const header_list& headers = {});

    // DELETE `url` (no body).
    http_response del(const std::string& url, const header_list& headers = {});

private:
    http_response perform(const std::string& url, const std::string* body, const header_list& headers,
                          const char* method = nullptr);

    http_options options_;
    void* handle_ = nullptr;  // CURL*, created on first use
};

// Percent-encodes everything but RFC 3986's unreserved characters.
std::string url_encode(std::string_view text);

// The wait a Retry-After header asks for: delay-seconds ("120") or an HTTP-date
// ("Wed, 21 Oct 2026 07:28:00 GMT", measured from `now`, never negative). nullopt when
// the value is neither.
std::optional<duration> parse_retry_after(std::string_view value, timestamp now);

}  // namespace redflag::delivery::channels
