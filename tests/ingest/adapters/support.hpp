// Shared by the adapter tests: the sample payloads of examples/hooks/ (shaped like the
// vendors' documented examples), requests with headers, and signatures computed the
// vendors' way with OpenSSL directly (not through ingest/adapters/signature.hpp), from
// the signed string written out in each test.
#pragma once

#include "ingest/adapters/hook.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <boost/json.hpp>

#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

namespace redflag::ingest::adapters::testing {

inline std::string sample(const std::string& path) {
    std::ifstream in(std::string(REDFLAG_SOURCE_DIR) + "/examples/hooks/" + path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

inline std::string openssl_hmac(const EVP_MD* md, const std::string& key, const std::string& data) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    HMAC(md, key.data(), int(key.size()), reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &n);
    return std::string(reinterpret_cast<char*>(out), n);
}

inline std::string openssl_hex(const std::string& bytes) {
    std::string out;
    char buf[3];
    for (unsigned char b : bytes) {
        std::snprintf(buf, sizeof buf, "%02x", b);
        out += buf;
    }
    return out;
}

inline std::string openssl_base64(const std::string& bytes) {
    std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(bytes.data()), int(bytes.size()));
    out.resize(std::size_t(n));
    return out;
}

// A request whose headers are looked up case-insensitively, as Beast does.
struct fake_request {
    std::map<std::string, std::string> headers;  // lower-case names
    std::string body;
    std::string target = "/v1/hooks/x";
    std::string method = "POST";

    void set(const std::string& name, const std::string& value) {
        std::string key;
        for (char c : name) key += char(std::tolower(static_cast<unsigned char>(c)));
        headers[key] = value;
    }

    hook_request view() const {
        hook_request r;
        r.method = method;
        r.target = target;
        r.body = body;
        r.header = [this](std::string_view name) -> std::string_view {
            std::string key;
            for (char c : name) key += char(std::tolower(static_cast<unsigned char>(c)));
            auto h = headers.find(key);
            return h == headers.end() ? std::string_view{} : std::string_view(h->second);
        };
        return r;
    }
};

inline const boost::json::object& only_event(const hook_result& r) { return r.events.at(0).mapped.at(0).body; }

}  // namespace redflag::ingest::adapters::testing
