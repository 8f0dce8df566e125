// The durable outbox (RocksDB column `outbox`): one record per (notification, channel),
// written by the engine in the same write batch as the alert transition that caused it
// and updated by the dispatcher after every attempt. Delivered, dead and silenced records
// stay: they are the alert's notification history that GET /v1/alerts/{id} shows.
//
// Key layout (column `outbox`):
//   alert-id '\0' at-millis(8, big-endian) notification-key '\0' channel
// so one alert's records are a prefix scan (alert_prefix) and come out in the order of
// their transitions. Value: JSON, {"notification": {...}, "outcome", "attempts",
// "next_attempt"?, "last_error"?, "sent_at"?}: small, rare next to events, and readable
// in the API as it is.
//
// Slack threads: the `ts` of an alert's first message on a channel is kept in column
// `meta` under thread_key(channel, alert id), so follow-ups thread after a restart.
//
// Pure functions and plain values: thread-safe, no failure modes beyond the parser's
// nullopt (with a message) for a malformed record.
#pragma once

#include "core/time.hpp"
#include "delivery/notification.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

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
    std::string silence;               // the id of the silence that held it back

    friend bool operator==(const outbox_entry&, const outbox_entry&) = default;
};

std::string outbox_key(std::string_view alert_id, timestamp at, std::string_view notification_key,
                       std::string_view channel);
std::string outbox_key(const notification& n);
// The prefix of every outbox key of one alert.
std::string alert_prefix(std::string_view alert_id);
// Column `meta`: the Slack thread of an alert on a channel.
std::string thread_key(std::string_view channel, std::string_view alert_id);

// A fresh, pending entry for `n`, keyed by outbox_key(n).
outbox_entry make_entry(notification n);

boost::json::object to_json(const notification& n);
std::optional<notification> notification_from_json(const boost::json::value& v, std::string* error = nullptr);

// The stored value, and the history view of the API: every member of the stored value
// plus "key" and "channel" and "kind" at the top level.
std::string serialize(const outbox_entry& e);
boost::json::object history_json(const outbox_entry& e);
std::optional<outbox_entry> parse_entry(std::string_view key, std::string_view value, std::string* error = nullptr);

// What the engine hands to the dispatcher once a write batch holding new outbox records
// is durable. enqueue() must be cheap and never block on delivery: it runs on a shard.
class outbox_sink {
public:
    virtual void enqueue(std::vector<outbox_entry> entries) = 0;

protected:
    ~outbox_sink() = default;
};

}  // namespace redflag::delivery
