// The durable outbox (RocksDB column `outbox`): one record per (notification, channel),
// written by the engine in the same write batch as the alert transition that caused it
// and updated by the dispatcher after every attempt. Delivered, dead and silenced records
// stay for storage.retention (outbox_record_expired): they are the alert's notification
// history that GET /v1/alerts/{id} shows.
//
// Key layout (column `outbox`):
//   alert-id '\0' at-millis(8, big-endian) notification-key '\0' channel
// so one alert's records are a prefix scan (alert_prefix) and come out in the order of
// their transitions. The key carries the alert id, the instant, the idempotency key and
// the channel; the value does not repeat them.
//
// Value: a compact binary record (encode_record), written on the shard's ingest path
// for every notification, so it costs little to build: a version byte (1), the delivery
// state (outcome, kind, attempts, times, last error, silence), the recipient, then the
// notification's content. Fixed-width integers are little-endian; strings are a varint
// length and bytes. Records of the first version were JSON ("{" as first byte) and are
// still read. The API shows every record as JSON (history_json).
//
// Slack threads: the `ts` of an alert's first message on a channel is kept in column
// `meta` under thread_key(channel, alert id), so follow-ups thread after a restart.
//
// Pure functions and plain values: thread-safe, no failure modes beyond the parser's
// nullopt (with a message) for a malformed record, and write_batch's own status for
// put_records.
#pragma once

#include "core/time.hpp"
#include "delivery/notification.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace redflag::store {
class write_batch;
}

namespace redflag::delivery {

// Where a record stands. pending: never tried yet (or waiting for its digest); retry: the
// last attempt failed and another is scheduled; sent: delivered (or deliberately skipped
// by its channel); dead: a permanent failure or delivery.max_age passed; silenced: held
// back by a silence when it was due (never sent). The last three are final.
enum class delivery_outcome : std::uint8_t { pending, retry, sent, dead, silenced };
inline constexpr std::string_view delivery_outcome_names[] = {"pending", "retry", "sent", "dead", "silenced"};
constexpr std::string_view name_of(delivery_outcome o) { return delivery_outcome_names[static_cast<std::size_t>(o)]; }
std::optional<delivery_outcome> delivery_outcome_from(std::string_view name);
constexpr bool is_final(delivery_outcome o) { return o >= delivery_outcome::sent; }

struct outbox_entry {
    std::string storage_key;  // outbox_key(...) of the notification
    notification n;
    delivery_outcome outcome = delivery_outcome::pending;
    std::uint32_t attempts = 0;
    std::optional<timestamp> next_attempt;  // wall clock; unset: as soon as possible
    std::string last_error;
    std::optional<timestamp> sent_at;  // wall clock of the final outcome (sent, dead, silenced)
    std::string silence;               // the id of the silence that held it back (silenced), or
                                       // that a silence_began/silence_ended card rewrite is about

    friend bool operator==(const outbox_entry&, const outbox_entry&) = default;
};

std::string outbox_key(std::string_view alert_id, timestamp at, std::string_view notification_key,
                       std::string_view channel);
std::string outbox_key(const notification& n);
// The prefix of every outbox key of one alert.
std::string alert_prefix(std::string_view alert_id);
// Column `meta`: the Slack thread of an alert on a channel.
std::string thread_key(std::string_view channel, std::string_view alert_id);
// Delivery's keys in column `meta`: kind '\0' channel '\0' id (thread, re-post and group
// records; with an empty id, the prefix of a channel's records of that kind).
std::string channel_meta_key(std::string_view kind, std::string_view channel, std::string_view id);

// Column `meta`: the re-post set of a channel that re-posts firing alerts (Alertmanager),
// one key per alert holding the latest firing or repeat notification sent there (its outbox
// key and record). It is written with that record's outcome and deleted with the alert's
// final recovery, so the set survives a restart on its own and outbox records can expire
// (outbox_record_expired) while an alert fires for longer than the retention.
std::string repost_key(std::string_view channel, std::string_view alert_id);
std::string repost_prefix(std::string_view channel);
std::string serialize_repost(const outbox_entry& e);
std::optional<outbox_entry> parse_repost(std::string_view value, std::string* error = nullptr);

// The expiry rule of column `outbox` (store::options::expiry): a record whose outcome is
// final (sent, dead, silenced) and whose transition is older than `horizon` goes; records
// still to deliver (pending, retry) never do, nor do unreadable ones (they are reported at
// start instead).
bool outbox_record_expired(std::string_view key, std::string_view value, timestamp horizon);

// The parts of a storage key; nullopt for a malformed one.
struct outbox_key_parts {
    std::string_view alert_id;
    timestamp at{};
    std::string_view notification_key;
    std::string_view channel;
};
std::optional<outbox_key_parts> split_outbox_key(std::string_view storage_key);

// A fresh, pending entry for `n`, keyed by outbox_key(n).
outbox_entry make_entry(notification n);

// What a dispatcher worker keeps in memory of an unfinished record: enough to order and
// schedule it. The record itself stays in RocksDB and is read when it is attempted, so a
// large backlog costs a few hundred bytes per record, not the notification.
struct outbox_ref {
    std::string storage_key;
    timestamp created_at{};                 // the notification's (wall clock)
    std::optional<timestamp> next_attempt;  // unset: as soon as it is due
    notice_kind kind = notice_kind::firing;

    std::string_view channel() const;  // from the key
    friend bool operator==(const outbox_ref&, const outbox_ref&) = default;
};
outbox_ref ref_of(const outbox_entry& e);

// Where one notification goes: a channel and, for email, the recipient rendered for it.
struct delivery_target {
    std::string channel;
    std::string recipient;
};

// The engine's write: one pending record per target of `n` (whose own channel and
// recipient are ignored) into `batch`, and its ref appended to `refs`. The notification's
// content is encoded once for all targets; `scratch` is reused between calls.
void put_records(const notification& n, std::span<const delivery_target> targets, store::write_batch& batch,
                 std::vector<outbox_ref>& refs, std::string& scratch);

boost::json::object to_json(const notification& n);
std::optional<notification> notification_from_json(const boost::json::value& v, std::string* error = nullptr);

// The stored value (binary, version 1), and the history view of the API: every member
// of the stored value plus "key" and "channel" and "kind" at the top level.
std::string serialize(const outbox_entry& e);
boost::json::object history_json(const outbox_entry& e);
// Reads a record of either version (binary, or the first version's JSON).
std::optional<outbox_entry> parse_entry(std::string_view key, std::string_view value, std::string* error = nullptr);
// The first version's JSON value: still read by parse_entry; written by nothing but tests.
std::string serialize_json(const outbox_entry& e);

// A record's outcome and kind without decoding the rest (loading skips final records
// this way); nullopt for a malformed or first-version record (parse it whole).
struct record_head {
    delivery_outcome outcome;
    notice_kind kind;
};
std::optional<record_head> peek_record(std::string_view value);

// What the engine hands to the dispatcher once a write batch holding new outbox records
// is durable. enqueue() must be cheap and never block on delivery: it runs on a shard.
class outbox_sink {
public:
    virtual void enqueue(std::vector<outbox_ref> refs) = 0;

protected:
    ~outbox_sink() = default;
};

}  // namespace redflag::delivery
