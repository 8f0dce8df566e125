// SHA-256 for the cluster layer: message ids (publisher.hpp) and the integrity check of
// snapshots (snapshot_store.hpp). Pure; thread-safe; cannot fail short of memory
// exhaustion.
#pragma once

#include <string>
#include <string_view>

namespace redflag::cluster {

// 64 lower-case hex digits.
std::string sha256_hex(std::string_view data);

// Incremental form, for data that arrives in chunks.
class sha256 {
public:
    sha256();
    ~sha256();
    sha256(const sha256&) = delete;
    sha256& operator=(const sha256&) = delete;
    void update(std::string_view data);
    std::string hex();  // finishes; call once

private:
    void* ctx_;  // EVP_MD_CTX
};

}  // namespace redflag::cluster
