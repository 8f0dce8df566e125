// Publishes batches of events to the event stream and reports once JetStream has
// acknowledged every one of them: an acknowledgement means the message is stored on a
// majority of the stream's replicas, so ingest may answer 202 after publish() succeeds.
//
// Each message goes to its partition's subject with a `Nats-Msg-Id` header. Messages
// whose acknowledgement fails or does not come within an attempt are sent again under the
// same id until options.publish_timeout has passed; the stream recognises a resent id
// within its duplicate window and stores it once (reported as a duplicate, with the
// sequence of the copy stored first). A resent message may land after later messages of
// the same batch and partition: the stream's order, not the batch's, is what consumers
// see.
//
// Thread-safety: publish() may be called from any thread; calls on one publisher run one
// at a time (each owns the JetStream context's pending acknowledgements while it waits),
// so a caller that needs concurrent batches uses several publishers.
#pragma once

#include "cluster/connection.hpp"
#include "cluster/options.hpp"
#include "cluster/status.hpp"

#include <cstdint>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace redflag::cluster {

// The stream-wide message id of an account's event: 64 lower-case hex digits of SHA-256
// over the account, a NUL and the event id. Event ids are unique per account only, and a
// header value cannot hold every byte an id may, hence the hash.
std::string message_id(std::string_view account, std::string_view event_id);

struct outgoing_message {
    int partition = 0;
    std::string_view id;    // Nats-Msg-Id; not empty
    std::string_view data;  // the payload, opaque here
};

struct publish_outcome {
    std::size_t stored = 0;      // acknowledged as newly stored
    std::size_t duplicates = 0;  // acknowledged as already stored under the same id
    // Per message, in the order given: its stream sequence, or 0 when not acknowledged.
    std::vector<std::uint64_t> sequences;
    std::size_t attempts = 0;    // rounds of sending (1 when nothing had to be resent)
    // Ok when every message was acknowledged; otherwise why the first unacknowledged one
    // was not (then some of the batch may be stored: sending it again is safe).
    status error;

    bool ok() const { return error.ok(); }
};

class publisher {
public:
    publisher(connection& c, const options& o);
    ~publisher();
    publisher(const publisher&) = delete;
    publisher& operator=(const publisher&) = delete;

    publish_outcome publish(std::span<const outgoing_message> batch);

private:
    struct message_state {
        std::uint64_t sequence = 0;
        bool duplicate = false;
        bool acknowledged = false;
        std::string error;  // of the latest attempt
    };

    static void on_ack(jsCtx*, natsMsg* msg, jsPubAck* ack, jsPubAckErr* error, void* closure);
    void send_round(std::span<const outgoing_message> batch, std::vector<message_state>& states,
                    std::chrono::steady_clock::time_point deadline);
    void drop_pending(std::vector<message_state>& states);

    connection& connection_;
    const options options_;
    std::vector<std::string> subjects_;  // by partition
    jsCtx* js_ = nullptr;                // this publisher's own context: its acks are its own
    status open_error_;

    std::mutex publish_mu_;  // one batch at a time
    std::mutex ack_mu_;      // guards in_flight_ and the states it points into
    std::unordered_map<natsMsg*, std::size_t> in_flight_;
    std::vector<message_state>* states_ = nullptr;
};

}  // namespace redflag::cluster
