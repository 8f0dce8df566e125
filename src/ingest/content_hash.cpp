#include "ingest/content_hash.hpp"

#include <boost/json/serialize.hpp>
#include <openssl/evp.h>

#include <algorithm>
#include <vector>

namespace redflag::ingest {
namespace {

void write_canonical(std::string& out, const boost::json::value& v);

void write_string(std::string& out, std::string_view s) { out += boost::json::serialize(boost::json::string_view(s)); }

// `fields` (top level): the event's fields skip the envelope members it may hold.
void write_members(std::string& out, const boost::json::object& object, bool fields = false) {
    std::vector<const boost::json::key_value_pair*> members;
    members.reserve(object.size());
    for (const auto& kv : object)
        if (!fields || !model::is_envelope_key(kv.key())) members.push_back(&kv);
    std::sort(members.begin(), members.end(), [](auto* a, auto* b) { return a->key() < b->key(); });
    bool first = true;
    for (auto* kv : members) {
        if (!first) out += ',';
        first = false;
        write_string(out, kv->key());
        out += ':';
        write_canonical(out, kv->value());
    }
}

void write_canonical(std::string& out, const boost::json::value& v) {
    switch (v.kind()) {
        case boost::json::kind::object:
            out += '{';
            write_members(out, v.get_object());
            out += '}';
            return;
        case boost::json::kind::array: {
            out += '[';
            bool first = true;
            for (const auto& item : v.get_array()) {
                if (!first) out += ',';
                first = false;
                write_canonical(out, item);
            }
            out += ']';
            return;
        }
        default:
            out += boost::json::serialize(v);
            return;
    }
}

std::string to_hex(const unsigned char* data, std::size_t size) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out(size * 2, '0');
    for (std::size_t i = 0; i < size; ++i) {
        out[2 * i] = digits[data[i] >> 4];
        out[2 * i + 1] = digits[data[i] & 0xf];
    }
    return out;
}

}  // namespace

std::string canonical_content(const model::event& event, bool at_given) {
    std::string out = "{\"type\":";
    write_string(out, model::name_of(event.type));
    out += ",\"account\":";
    write_string(out, event.account);
    if (at_given) {
        out += ",\"at\":";
        write_string(out, format_rfc3339(event.at));
    }
    std::string members;
    write_members(members, event.fields, true);
    if (!members.empty()) {
        out += ',';
        out += members;
    }
    out += '}';
    return out;
}

std::string sha256_hex(std::string_view data) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    // EVP_Digest with SHA-256 cannot fail short of memory exhaustion; an empty digest
    // would then show up as a visibly wrong id rather than a crash.
    if (EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha256(), nullptr) != 1) size = 0;
    return to_hex(digest, size);
}

std::string content_id(const model::event& event, bool at_given) {
    return "h:" + sha256_hex(canonical_content(event, at_given));
}

}  // namespace redflag::ingest
