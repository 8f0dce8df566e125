// Consumes one partition of the event stream in order, from a given stream sequence: a
// JetStream ordered consumer (ephemeral, in-memory on the servers, no acks, flow control
// and idle heartbeats) filtered to the partition's subject. The library watches the
// consumer sequence; on a gap, or when two heartbeats are missed (its server died, the
// connection moved), it recreates the consumer from the stream sequence after the last
// one it received, so the handler sees each message once, in stream order, with no gaps.
//
// The owner of a partition records the last sequence it applied together with what it
// applied (the engine: in the same RocksDB write batch) and, after a restart or a
// failover, starts a consumer from the sequence after it. Pausing is stop() and a new
// consumer from last_delivered() + 1.
//
// Back pressure: the handler runs on the library's delivery threads; a handler that
// blocks (a full engine queue) holds back its partition, and through flow control the
// servers hold back what they send. A blocked handler also delays the partitions that
// share its delivery thread (connect_options::delivery_threads).
//
// Thread-safety: stop() and the readers from any thread. After stop() returns, the handler
// is never called again. A handler may stop its own consumer (the object must then be
// destroyed from another thread, after the handler returned); it must not stop or destroy
// another consumer, which may be waiting for the same delivery thread.
#pragma once

#include "cluster/connection.hpp"
#include "cluster/options.hpp"
#include "cluster/status.hpp"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string_view>
#include <thread>

namespace redflag::cluster {

struct consumed_message {
    int partition = 0;
    std::uint64_t sequence = 0;     // the stream sequence
    std::string_view data;          // valid during the handler call only
    std::string_view id;            // Nats-Msg-Id, empty when the message has none
    std::int64_t stored_ns = 0;     // when the stream stored it (Unix nanoseconds)
    std::uint64_t pending = 0;      // messages of the partition still to come, as the server saw it
};

using message_handler = std::function<void(const consumed_message&)>;

class partition_consumer {
public:
    // Starts delivering `partition`'s messages with stream sequence ≥ `from` (0 or 1: from
    // the first). Fails when the stream does not exist or NATS does not answer.
    static result<std::unique_ptr<partition_consumer>> start(connection& c, const options& o, int partition,
                                                             std::uint64_t from, message_handler handler);
    ~partition_consumer();  // stop()
    partition_consumer(const partition_consumer&) = delete;
    partition_consumer& operator=(const partition_consumer&) = delete;

    // Stops delivery and removes the consumer from the servers. Idempotent.
    void stop();

    int partition() const { return partition_; }
    // The sequence of the last message handed to the handler (from - 1 before any).
    std::uint64_t last_delivered() const { return last_delivered_.load(); }
    std::uint64_t delivered() const { return delivered_.load(); }

private:
    partition_consumer(int partition, std::uint64_t from, message_handler handler)
        : partition_(partition), handler_(std::move(handler)), last_delivered_(from > 0 ? from - 1 : 0) {}

    static void on_message(natsConnection*, natsSubscription*, natsMsg* msg, void* closure);
    static void on_complete(void* closure);

    const int partition_;
    message_handler handler_;
    natsSubscription* sub_ = nullptr;
    bool unsubscribed_ = false;

    std::mutex handler_mu_;  // held while the handler runs
    bool stopped_ = false;   // guarded by handler_mu_
    std::atomic<std::thread::id> delivering_{};
    std::mutex complete_mu_;
    std::condition_variable complete_cv_;
    bool complete_ = false;

    std::atomic<std::uint64_t> last_delivered_;
    std::atomic<std::uint64_t> delivered_{0};
};

}  // namespace redflag::cluster
