#include "engine/partitions.hpp"

#include "alerts/record.hpp"
#include "cluster/stream.hpp"
#include "delivery/outbox.hpp"
#include "model/codec.hpp"
#include "store/keys.hpp"

#include <spdlog/spdlog.h>

#include <future>
#include <stdexcept>
#include <thread>

namespace redflag::engine {

namespace {

// Version 2 adds the accounts' dedup ids; version 1 snapshots (without) are still read.
constexpr std::string_view snapshot_magic = "RFP2";
constexpr std::string_view snapshot_magic_v1 = "RFP1";

void put_u32(std::string& out, std::uint32_t v) {
    for (int i = 3; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// A length-prefixed chunk (what reader::chunk reads).
void put_chunk(std::string& out, std::string_view bytes) {
    put_u32(out, static_cast<std::uint32_t>(bytes.size()));
    out += bytes;
}

std::string u64_bytes(std::uint64_t v) {
    std::string out;
    for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
    return out;
}

std::optional<std::uint64_t> read_u64(std::string_view bytes) {
    if (bytes.size() != 8) return std::nullopt;
    std::uint64_t v = 0;
    for (unsigned char c : bytes) v = (v << 8) | c;
    return v;
}

// Reads the snapshot format of partitions.hpp; false on anything malformed.
class reader {
public:
    explicit reader(std::string_view bytes) : rest_(bytes) {}
    bool done() const { return rest_.empty(); }
    bool u32(std::uint32_t& v) {
        if (rest_.size() < 4) return false;
        v = 0;
        for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(rest_[i]);
        rest_.remove_prefix(4);
        return true;
    }
    bool chunk(std::string_view& out) {
        std::uint32_t n = 0;
        if (!u32(n) || rest_.size() < n) return false;
        out = rest_.substr(0, n);
        rest_.remove_prefix(n);
        return true;
    }
    bool literal(std::string_view s) {
        if (rest_.substr(0, s.size()) != s) return false;
        rest_.remove_prefix(s.size());
        return true;
    }

private:
    std::string_view rest_;
};

cluster::status corrupt(int partition, const std::string& why) {
    return cluster::status::error(cluster::status::code::corrupt,
                                  "snapshot of partition " + std::to_string(partition) + ": " + why);
}

}  // namespace

partitions::partitions(service& service, int count)
    : service_(service),
      count_(count),
      shards_(static_cast<std::size_t>(service.shard_count())),
      flags_(std::make_unique<partition_flags[]>(static_cast<std::size_t>(count))) {
    if (count <= 0 || count % service.shard_count() != 0)
        throw std::invalid_argument("the engine's shard count (" + std::to_string(service.shard_count()) +
                                    ") must divide the number of partitions (" + std::to_string(count) + ")");
    service_.set_notification_owner([this](std::string_view account) { return owns(account); });
}

std::string partitions::applied_key(int partition) { return "cluster/applied/" + std::to_string(partition); }

bool partitions::owns(std::string_view account) const {
    return flags_[static_cast<std::size_t>(cluster::partition_of(account, count_))].owned.load();
}

std::uint64_t partitions::applied_sequence(int partition) {
    auto got = service_.storage().get(store::column::meta, applied_key(partition));
    if (!got.ok()) {
        // The runner then starts from the snapshot or the stream's start: events already
        // applied are found as duplicates by the per-account index, so nothing is applied twice.
        spdlog::error("partition {}: reading its applied sequence failed: {}", partition, got.error().message());
        return 0;
    }
    if (!got.value()) return 0;
    auto v = read_u64(*got.value());
    if (!v) {
        spdlog::error("partition {}: its applied sequence is unreadable; starting over", partition);
        return 0;
    }
    return *v;
}

void partitions::apply(int partition, std::uint64_t sequence, std::string_view data, std::int64_t stored_ns) {
    auto& flags = flags_[static_cast<std::size_t>(partition)];
    flags.owned = true;
    std::string why;
    auto e = model::decode_event_json(data, &why);
    if (!e) {
        // Published by an ingest instance after validation: not expected. Skipped; the
        // next event's round records a later sequence.
        ++undecodable_;
        spdlog::error("partition {}: stream sequence {} is not an event ({}); skipped", partition, sequence, why);
        return;
    }
    const timestamp at = from_millis(stored_ns / 1'000'000);
    auto stage = [this, partition, sequence](store::write_batch& batch) {
        if (flags_[static_cast<std::size_t>(partition)].broken.load()) return false;
        batch.put(store::column::meta, applied_key(partition), u64_bytes(sequence));
        return true;
    };
    // Back pressure: a full shard queue answers `overloaded` before submit() returns; wait
    // and post again (the consumer's flow control holds the stream back meanwhile).
    auto refused = std::make_shared<std::atomic<bool>>(false);
    for (auto pause = std::chrono::microseconds(100);; pause = std::min(pause * 2, std::chrono::microseconds(20'000))) {
        refused->store(false);
        std::vector<model::event> batch;
        batch.push_back(*e);
        service_.submit(std::move(batch), service::sequenced{at, stage},
                        [this, partition, sequence, refused](ingest_outcome o) {
                            using st = decltype(o.status);
                            if (o.status == st::overloaded) {
                                refused->store(true);
                            } else if (o.status == st::failed || o.status == st::unavailable) {
                                auto& f = flags_[static_cast<std::size_t>(partition)];
                                if (!f.broken.exchange(true))
                                    spdlog::error("partition {}: stream sequence {} was not stored ({}); the partition "
                                                  "takes no more events until it is acquired again",
                                                  partition, sequence, o.error);
                            } else if (o.status == st::invalid) {
                                spdlog::error("partition {}: stream sequence {} refused: {}", partition, sequence, o.error);
                            }
                        });
        if (!refused->load() || service_.stopping()) return;
        std::this_thread::sleep_for(pause);
    }
}

void partitions::flush(int partition) {
    if (service_.stopping()) return;
    std::promise<void> done;
    auto f = done.get_future();
    service_.post_shard(shard_of(partition), [&done](core&) { done.set_value(); });
    f.wait();
}

cluster::result<cluster::partition_snapshot> partitions::snapshot(int partition) {
    if (service_.stopping())
        return cluster::status::error(cluster::status::code::unavailable, "the engine is stopping");
    std::promise<cluster::result<cluster::partition_snapshot>> done;
    auto f = done.get_future();
    service_.post_shard(shard_of(partition), [&](core& engine) {
        // Between rounds: memory holds exactly what is committed, applied[p] included.
        cluster::partition_snapshot out;
        out.sequence = applied_sequence(partition);
        out.bytes.assign(snapshot_magic);
        std::uint32_t accounts = 0;
        engine.for_each_account([&](const account_record& record) {
            accounts += cluster::partition_of(record.state.id, count_) == partition ? 1 : 0;
        });
        put_u32(out.bytes, accounts);
        std::string state;
        engine.for_each_account([&](const account_record& record) {
            if (cluster::partition_of(record.state.id, count_) != partition) return;
            state = model::encode_state(record.state);
            put_chunk(out.bytes, state);
            auto active = record.alerts.active();
            put_u32(out.bytes, static_cast<std::uint32_t>(active.size()));
            for (const auto& a : active) {
                // The stored record keeps the profile and message; the alert itself is
                // taken from memory (an ack a call just made may not be written yet).
                alerts::alert_record r;
                if (auto stored = service_.storage().get(store::column::alerts, a.id); stored.ok() && stored.value())
                    if (auto decoded = alerts::decode_record(*stored.value())) r = std::move(*decoded);
                r.a = a;
                auto bytes = alerts::encode_record(r);
                put_chunk(out.bytes, bytes);
            }
        });
        // Undelivered notifications of the partition's accounts (pending or to retry), so
        // that the next owner sends them: at least once across a failover, same keys.
        std::string records;
        std::uint32_t undelivered = 0;
        auto st = service_.storage().for_each_prefix(store::column::outbox, "", [&](std::string_view key, std::string_view value) {
            auto head = delivery::peek_record(value);
            if (head && delivery::is_final(head->outcome)) return true;
            auto entry = delivery::parse_entry(key, value);
            if (!entry || delivery::is_final(entry->outcome) ||
                cluster::partition_of(entry->n.account, count_) != partition)
                return true;
            put_chunk(records, key);
            put_chunk(records, value);
            ++undelivered;
            return true;
        });
        if (!st.ok()) {
            done.set_value(cluster::status::error(cluster::status::code::unavailable,
                                                  "reading the outbox for a snapshot: " + st.message()));
            return;
        }
        put_u32(out.bytes, undelivered);
        out.bytes += records;
        // The accounts' dedup ids (kept for ever, as on one instance): an event id retried
        // after the stream's duplicate window is still a duplicate on the next owner.
        records.clear();
        std::uint32_t ids = 0;
        engine.for_each_account([&](const account_record& record) {
            if (!st.ok() || cluster::partition_of(record.state.id, count_) != partition) return;
            st = service_.storage().for_each_prefix(store::column::dedup, store::keys::account_prefix(record.state.id),
                                                    [&](std::string_view key, std::string_view value) {
                                                        put_chunk(records, key);
                                                        put_chunk(records, value);
                                                        ++ids;
                                                        return true;
                                                    });
        });
        if (!st.ok()) {
            done.set_value(cluster::status::error(cluster::status::code::unavailable,
                                                  "reading the dedup ids for a snapshot: " + st.message()));
            return;
        }
        put_u32(out.bytes, ids);
        out.bytes += records;
        done.set_value(std::move(out));
    });
    return f.get();
}

cluster::status partitions::restore(int partition, std::uint64_t sequence, std::string_view bytes) {
    reader in(bytes);
    const bool with_ids = in.literal(snapshot_magic);
    if (!with_ids && !in.literal(snapshot_magic_v1)) return corrupt(partition, "not a version 1 or 2 engine snapshot");
    std::vector<service::account_image> accounts;
    std::uint32_t account_count = 0;
    if (!in.u32(account_count)) return corrupt(partition, "truncated");
    for (std::uint32_t a = 0; a < account_count; ++a) {
        std::string_view state_bytes;
        std::uint32_t alert_count = 0;
        if (!in.chunk(state_bytes) || !in.u32(alert_count)) return corrupt(partition, "truncated");
        std::string why;
        auto& [state, records] = accounts.emplace_back();
        if (!model::decode_state(state_bytes, state, &why)) return corrupt(partition, "account state: " + why);
        if (cluster::partition_of(state.id, count_) != partition)
            return corrupt(partition, "account " + state.id + " is not of this partition");
        for (std::uint32_t i = 0; i < alert_count; ++i) {
            std::string_view record_bytes;
            if (!in.chunk(record_bytes)) return corrupt(partition, "truncated");
            auto r = alerts::decode_record(record_bytes, &why);
            if (!r) return corrupt(partition, "alert of " + state.id + ": " + why);
            records.push_back(std::move(*r));
        }
    }
    std::uint32_t outbox_count = 0;
    std::vector<std::pair<std::string_view, std::string_view>> outbox;
    std::vector<delivery::outbox_ref> refs;
    if (!in.u32(outbox_count)) return corrupt(partition, "truncated");
    for (std::uint32_t i = 0; i < outbox_count; ++i) {
        std::string_view key, value;
        if (!in.chunk(key) || !in.chunk(value)) return corrupt(partition, "truncated");
        std::string why;
        auto entry = delivery::parse_entry(key, value, &why);
        if (!entry) return corrupt(partition, "outbox record: " + why);
        outbox.emplace_back(key, value);
        refs.push_back(delivery::ref_of(*entry));
    }
    std::vector<std::pair<std::string_view, std::string_view>> ids;
    if (with_ids) {
        std::uint32_t id_count = 0;
        if (!in.u32(id_count)) return corrupt(partition, "truncated");
        for (std::uint32_t i = 0; i < id_count; ++i) {
            std::string_view key, value;
            if (!in.chunk(key) || !in.chunk(value)) return corrupt(partition, "truncated");
            const auto end = key.find(store::keys::separator);
            if (end == std::string_view::npos || value.size() < 8 ||
                cluster::partition_of(key.substr(0, end), count_) != partition)
                return corrupt(partition, "a dedup id that is not of this partition's accounts");
            ids.emplace_back(key, value);
        }
    }
    if (!in.done()) return corrupt(partition, "bytes after the dedup ids");
    if (service_.stopping()) return cluster::status::error(cluster::status::code::unavailable, "the engine is stopping");
    std::promise<store::status> done;
    auto f = done.get_future();
    service_.restore_accounts(
        shard_of(partition), std::move(accounts),
        [partition, sequence, &outbox, &ids](store::write_batch& batch) {
            for (const auto& [key, value] : outbox) batch.put(store::column::outbox, key, value);
            for (const auto& [key, value] : ids) batch.put(store::column::dedup, key, value);
            batch.put(store::column::meta, applied_key(partition), u64_bytes(sequence));
        },
        [&done](const store::status& st) { done.set_value(st); });
    auto st = f.get();
    if (!st.ok()) return cluster::status::error(cluster::status::code::unavailable, "writing the restored partition: " + st.message());
    auto& flags = flags_[static_cast<std::size_t>(partition)];
    flags.broken = false;
    flags.owned = true;
    if (outbox_sink_ && !refs.empty()) outbox_sink_->enqueue(std::move(refs));  // durable now: deliver them
    return {};
}

void partitions::drop(int partition) {
    auto& flags = flags_[static_cast<std::size_t>(partition)];
    flags.owned = false;
    flags.broken = false;
}

}  // namespace redflag::engine
