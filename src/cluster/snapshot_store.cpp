#include "cluster/snapshot_store.hpp"

#include "cluster/digest.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <random>
#include <set>
#include <sstream>

namespace redflag::cluster {
namespace {

// Room for the subject and headers of a chunk's message within max_payload.
constexpr std::int64_t header_room = 4096;
constexpr std::string_view manifest_magic = "redflag-snapshot v1";

std::string manifest_key(int partition) { return "m." + std::to_string(partition); }
std::string chunk_prefix(int partition) { return "c." + std::to_string(partition) + "."; }
std::string chunk_key(int partition, const std::string& generation, std::uint64_t i) {
    return chunk_prefix(partition) + generation + "." + std::to_string(i);
}

// Chunks of a generation no manifest names, older than this, were left by a writer that
// died (or lost) before cleaning up: any later put removes them.
constexpr std::int64_t orphan_age_seconds = 3600;

// 8 hex digits of the Unix time in seconds, then 8 random ones: unique, and telling how
// old a generation is without reading it.
std::string new_generation() {
    static thread_local std::mt19937 rng{std::random_device{}()};
    auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
    char text[17];
    std::snprintf(text, sizeof(text), "%08llx%08x", static_cast<unsigned long long>(now.count()) & 0xffffffffull,
                  static_cast<unsigned>(rng()));
    return text;
}

std::int64_t generation_age_seconds(const std::string& generation) {
    std::uint32_t created = 0;
    auto [end, ec] = std::from_chars(generation.data(), generation.data() + std::min<std::size_t>(8, generation.size()),
                                     created, 16);
    if (ec != std::errc{} || generation.size() != 16) return orphan_age_seconds;  // not ours: old enough
    auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
    return static_cast<std::int64_t>(static_cast<std::uint32_t>(now.count()) - created);
}

struct entry_deleter {
    void operator()(kvEntry* e) const { kvEntry_Destroy(e); }
};
using entry_ptr = std::unique_ptr<kvEntry, entry_deleter>;

bool parse_u64(std::string_view text, std::uint64_t& out) {
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc{} && end == text.data() + text.size();
}

}  // namespace

struct snapshot_store::manifest {
    std::uint64_t sequence = 0;
    std::uint64_t size = 0;
    std::uint64_t chunks = 0;
    std::string generation;
    std::string sha256;

    std::string text() const {
        return std::string(manifest_magic) + " sequence=" + std::to_string(sequence) + " size=" + std::to_string(size) +
               " chunks=" + std::to_string(chunks) + " generation=" + generation + " sha256=" + sha256;
    }

    // Every field present, well formed and consistent, or nullopt.
    static std::optional<manifest> parse(std::string_view text) {
        if (text.substr(0, manifest_magic.size()) != manifest_magic) return std::nullopt;
        std::istringstream in(std::string(text.substr(manifest_magic.size())));
        manifest m;
        std::set<std::string> seen;
        for (std::string field; in >> field;) {
            auto eq = field.find('=');
            if (eq == std::string::npos) return std::nullopt;
            std::string name = field.substr(0, eq), value = field.substr(eq + 1);
            seen.insert(name);
            if (name == "sequence" && !parse_u64(value, m.sequence)) return std::nullopt;
            if (name == "size" && !parse_u64(value, m.size)) return std::nullopt;
            if (name == "chunks" && !parse_u64(value, m.chunks)) return std::nullopt;
            if (name == "generation") m.generation = value;
            if (name == "sha256") m.sha256 = value;
        }
        if (seen != std::set<std::string>{"sequence", "size", "chunks", "generation", "sha256"}) return std::nullopt;
        if (m.generation.size() != 16 || m.sha256.size() != 64) return std::nullopt;
        if ((m.size == 0) != (m.chunks == 0)) return std::nullopt;
        return m;
    }
};

result<std::unique_ptr<snapshot_store>> snapshot_store::open(connection& c, const options& o) {
    const std::string bucket = o.snapshots_bucket();
    kvConfig cfg;
    kvConfig_Init(&cfg);
    cfg.Bucket = bucket.c_str();
    cfg.History = 1;
    cfg.StorageType = js_FileStorage;
    cfg.Replicas = o.replicas;
    kvStore* kv = nullptr;
    natsStatus s = js_CreateKeyValue(&kv, c.js(), &cfg);
    if (s != NATS_OK) return from_nats(s, "creating key-value bucket " + bucket);
    return std::unique_ptr<snapshot_store>(new snapshot_store(c, o, kv));
}

snapshot_store::~snapshot_store() { kvStore_Destroy(kv_); }

std::size_t snapshot_store::chunk_bytes() const {
    std::int64_t limit = connection_.max_payload() - header_room;
    std::int64_t want = static_cast<std::int64_t>(options_.snapshot_chunk_bytes);
    return static_cast<std::size_t>(std::max<std::int64_t>(1024, std::min(want, limit)));
}

result<std::optional<snapshot_store::manifest>> snapshot_store::read_manifest(int partition, std::uint64_t* revision) {
    kvEntry* raw = nullptr;
    natsStatus s = kvStore_Get(&raw, kv_, manifest_key(partition).c_str());
    entry_ptr e(raw);
    if (s == NATS_NOT_FOUND) return std::optional<manifest>();
    if (s != NATS_OK) return from_nats(s, "reading the snapshot manifest of partition " + std::to_string(partition));
    if (revision != nullptr) *revision = kvEntry_Revision(e.get());
    std::string_view text(static_cast<const char*>(kvEntry_Value(e.get())), kvEntry_ValueLen(e.get()));
    auto m = manifest::parse(text);
    if (!m)
        return status::error(status::code::corrupt, "the snapshot manifest of partition " + std::to_string(partition) +
                                                        " is malformed: \"" + std::string(text.substr(0, 200)) + "\"");
    return std::optional<manifest>(std::move(*m));
}

status snapshot_store::put(int partition, std::uint64_t sequence, std::string_view bytes) {
    if (partition < 0 || partition >= options_.partitions)
        return status::error(status::code::invalid, "partition " + std::to_string(partition) + " is not in [0, " +
                                                        std::to_string(options_.partitions) + ")");
    std::uint64_t previous_revision = 0;
    auto previous = read_manifest(partition, &previous_revision);
    // A malformed manifest is replaced; any other failure to read it stops the put.
    if (!previous && previous.error().error_code() != status::code::corrupt) return previous.error();
    // Never backwards: a former owner that has not yet noticed its loss may still hold an
    // older state; the newer snapshot stays.
    if (previous && *previous && (*previous)->sequence > sequence)
        return status::error(status::code::conflict, "partition " + std::to_string(partition) + " has a snapshot at sequence " +
                                                         std::to_string((*previous)->sequence) + ", newer than " +
                                                         std::to_string(sequence));

    manifest m;
    m.sequence = sequence;
    m.size = bytes.size();
    m.generation = new_generation();
    m.sha256 = sha256_hex(bytes);
    const std::size_t chunk = chunk_bytes();
    for (std::size_t offset = 0; offset < bytes.size(); offset += chunk, ++m.chunks) {
        auto piece = bytes.substr(offset, chunk);
        auto key = chunk_key(partition, m.generation, m.chunks);
        natsStatus s = kvStore_Put(nullptr, kv_, key.c_str(), piece.data(), static_cast<int>(piece.size()));
        if (s != NATS_OK) {
            auto st = from_nats(s, "storing snapshot chunk " + key);
            purge_generations(partition, {m.generation});
            return st;
        }
    }
    // The manifest moves only from the one this put started from: a second writer (an
    // owner that has not yet noticed it lost the partition) cannot overwrite silently.
    const std::string text = m.text();
    const std::string key = manifest_key(partition);
    natsStatus s = previous_revision == 0
                       ? kvStore_Create(nullptr, kv_, key.c_str(), text.data(), static_cast<int>(text.size()))
                       : kvStore_Update(nullptr, kv_, key.c_str(), text.data(), static_cast<int>(text.size()),
                                        previous_revision);
    if (s != NATS_OK) {
        auto st = from_nats(s, "storing the snapshot manifest of partition " + std::to_string(partition));
        auto current = read_manifest(partition, nullptr);
        if (current && *current && (*current)->generation == m.generation) return {};  // stored after all
        // Only this put's own chunks are dropped: another writer's may be in the making.
        purge_generations(partition, {m.generation});
        if (current && *current) return status::error(status::code::conflict, st.message());
        return st;
    }
    // The replaced generation is garbage now, and so are orphans old enough that no writer
    // can still be about to name them. Failing to purge costs space, not correctness.
    std::set<std::string> garbage;
    if (previous && *previous) garbage.insert((*previous)->generation);
    auto listed = generations(partition);
    if (listed)
        for (const auto& g : *listed)
            if (g != m.generation && generation_age_seconds(g) >= orphan_age_seconds) garbage.insert(g);
    purge_generations(partition, garbage);
    return {};
}

result<std::set<std::string>> snapshot_store::generations(int partition) {
    // The chunk subjects of the partition, from the stream's state (one request, no consumer).
    const std::string stream = "KV_" + options_.snapshots_bucket();
    const std::string prefix = "$KV." + options_.snapshots_bucket() + "." + chunk_prefix(partition);
    const std::string filter = prefix + ">";
    jsOptions info_options;
    jsOptions_Init(&info_options);
    info_options.Stream.Info.SubjectsFilter = filter.c_str();
    jsStreamInfo* si = nullptr;
    jsErrCode info_error{};
    natsStatus s = js_GetStreamInfo(&si, connection_.js(), stream.c_str(), &info_options, &info_error);
    if (s != NATS_OK) return from_nats(s, "listing snapshot chunks of partition " + std::to_string(partition), info_error);
    std::set<std::string> out;
    if (si->State.Subjects != nullptr)
        for (int i = 0; i < si->State.Subjects->Count; ++i) {
            std::string_view subject = si->State.Subjects->List[i].Subject;
            subject.remove_prefix(prefix.size());
            out.insert(std::string(subject.substr(0, subject.find('.'))));
        }
    jsStreamInfo_Destroy(si);
    return out;
}

status snapshot_store::purge_generations(int partition, const std::set<std::string>& garbage) {
    const std::string stream = "KV_" + options_.snapshots_bucket();
    status out;
    for (const auto& g : garbage) {
        // Purging the stream by subject removes the chunks without leaving a marker per key.
        const std::string subject = "$KV." + options_.snapshots_bucket() + "." + chunk_prefix(partition) + g + ".>";
        jsOptions jo;
        jsOptions_Init(&jo);
        jo.Stream.Purge.Subject = subject.c_str();
        jsErrCode jerr{};
        natsStatus s = js_PurgeStream(connection_.js(), stream.c_str(), &jo, &jerr);
        if (s != NATS_OK && out.ok()) out = from_nats(s, "purging snapshot chunks " + subject, jerr);
    }
    return out;
}

result<std::optional<partition_snapshot>> snapshot_store::get(int partition) {
    // A put that replaces the snapshot while it is read purges the chunks being read: the
    // read is then tried once more against the new manifest.
    status last;
    for (int attempt = 0; attempt < 2; ++attempt) {
        std::uint64_t revision = 0;
        auto m = read_manifest(partition, &revision);
        if (!m) return m.error();
        if (!*m) return std::optional<partition_snapshot>();
        const manifest& man = **m;
        partition_snapshot snap;
        snap.sequence = man.sequence;
        snap.bytes.reserve(man.size);
        sha256 digest;
        last = {};
        for (std::uint64_t i = 0; i < man.chunks && last.ok(); ++i) {
            auto key = chunk_key(partition, man.generation, i);
            kvEntry* raw = nullptr;
            natsStatus s = kvStore_Get(&raw, kv_, key.c_str());
            entry_ptr e(raw);
            if (s == NATS_NOT_FOUND) {
                last = status::error(status::code::corrupt, "snapshot of partition " + std::to_string(partition) +
                                                                ": chunk " + std::to_string(i) + " of " +
                                                                std::to_string(man.chunks) + " is missing");
                break;
            }
            if (s != NATS_OK) return from_nats(s, "reading snapshot chunk " + key);
            std::string_view piece(static_cast<const char*>(kvEntry_Value(e.get())), kvEntry_ValueLen(e.get()));
            digest.update(piece);
            snap.bytes.append(piece);
        }
        if (last.ok() && snap.bytes.size() != man.size)
            last = status::error(status::code::corrupt, "snapshot of partition " + std::to_string(partition) + ": " +
                                                            std::to_string(snap.bytes.size()) + " bytes instead of " +
                                                            std::to_string(man.size));
        if (last.ok() && digest.hex() != man.sha256)
            last = status::error(status::code::corrupt,
                                 "snapshot of partition " + std::to_string(partition) + ": SHA-256 mismatch");
        if (last.ok()) return std::optional<partition_snapshot>(std::move(snap));
        std::uint64_t now_revision = 0;
        auto again = read_manifest(partition, &now_revision);
        if (!again || now_revision == revision) break;  // not a concurrent replacement
    }
    return last;
}

}  // namespace redflag::cluster
