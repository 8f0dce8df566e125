#include "cluster/publisher.hpp"

#include "cluster/digest.hpp"
#include "cluster/stream.hpp"

#include <algorithm>
#include <thread>

namespace redflag::cluster {
namespace {

using steady = std::chrono::steady_clock;

// Acknowledgements outstanding at once on a publisher's context; publishing more waits
// (the library stalls the caller) instead of buffering without bound.
constexpr std::int64_t max_in_flight = 4096;

std::int64_t millis_until(steady::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady::now()).count();
    return std::max<std::int64_t>(left, 1);
}

}  // namespace

std::string message_id(std::string_view account, std::string_view event_id) {
    std::string joined;
    joined.reserve(account.size() + 1 + event_id.size());
    joined.append(account).push_back('\0');
    joined.append(event_id);
    return sha256_hex(joined);
}

publisher::publisher(connection& c, const options& o) : connection_(c), options_(o) {
    for (int p = 0; p < o.partitions; ++p) subjects_.push_back(subject_of(o, p));
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = o.publish_timeout.count();
    jo.PublishAsync.MaxPending = max_in_flight;
    jo.PublishAsync.StallWait = o.publish_timeout.count();
    jo.PublishAsync.AckHandler = &publisher::on_ack;
    jo.PublishAsync.AckHandlerClosure = this;
    if (auto s = natsConnection_JetStream(&js_, connection_.nats(), &jo); s != NATS_OK) {
        open_error_ = from_nats(s, "opening a JetStream context for publishing");
        js_ = nullptr;
    }
}

publisher::~publisher() {
    if (js_ == nullptr) return;
    // Nothing is in flight outside publish(), which waits for or drops what it sent.
    jsCtx_Destroy(js_);
}

void publisher::on_ack(jsCtx*, natsMsg* msg, jsPubAck* ack, jsPubAckErr* error, void* closure) {
    auto* self = static_cast<publisher*>(closure);
    {
        std::lock_guard lock(self->ack_mu_);
        auto it = self->in_flight_.find(msg);
        if (it != self->in_flight_.end() && self->states_ != nullptr) {
            auto& st = (*self->states_)[it->second];
            if (ack != nullptr) {
                st.acknowledged = true;
                st.sequence = ack->Sequence;
                st.duplicate = ack->Duplicate;
                st.error.clear();
            } else if (error != nullptr) {
                st.error = error->ErrText != nullptr && *error->ErrText ? error->ErrText : natsStatus_GetText(error->Err);
                if (error->ErrCode != 0) st.error += " (JetStream error " + std::to_string(error->ErrCode) + ")";
            }
        }
        if (it != self->in_flight_.end()) self->in_flight_.erase(it);
    }
    // With an acknowledgement handler the message is ours to destroy (nats.c's contract).
    natsMsg_Destroy(msg);
}

void publisher::send_round(std::span<const outgoing_message> batch, std::vector<message_state>& states,
                           steady::time_point deadline) {
    // Each message waits at most this long for its acknowledgement in this round, so that
    // one lost to a dying server is sent again while the deadline still allows it.
    const auto round_wait = std::max<std::int64_t>(options_.publish_timeout.count() / 3, 500);
    for (std::size_t i = 0; i < batch.size(); ++i) {
        if (states[i].acknowledged) continue;
        const auto& m = batch[i];
        natsMsg* msg = nullptr;
        natsStatus s = natsMsg_Create(&msg, subjects_[m.partition].c_str(), nullptr, m.data.data(),
                                      static_cast<int>(m.data.size()));
        jsPubOptions po;
        jsPubOptions_Init(&po);
        const std::string id(m.id);
        po.MsgId = id.c_str();
        po.MaxWait = std::min(round_wait, millis_until(deadline));
        if (s == NATS_OK) {
            std::lock_guard lock(ack_mu_);
            in_flight_[msg] = i;
        }
        if (s == NATS_OK) s = js_PublishMsgAsync(js_, &msg, &po);
        if (s != NATS_OK) {
            // Not sent (the library did not take the message): no acknowledgement will come.
            states[i].error = from_nats(s, "publishing").message();
            if (msg != nullptr) {
                std::lock_guard lock(ack_mu_);
                in_flight_.erase(msg);
            }
            natsMsg_Destroy(msg);
        }
    }
    jsPubOptions wait;
    jsPubOptions_Init(&wait);
    wait.MaxWait = millis_until(deadline);
    js_PublishAsyncComplete(js_, &wait);
}

void publisher::drop_pending(std::vector<message_state>& states) {
    natsMsgList pending{};
    if (js_PublishAsyncGetPendingList(&pending, js_) == NATS_OK) {
        std::lock_guard lock(ack_mu_);
        for (int i = 0; i < pending.Count; ++i) {
            auto it = in_flight_.find(pending.Msgs[i]);
            if (it == in_flight_.end()) continue;
            if (states[it->second].error.empty()) states[it->second].error = "no acknowledgement before the publish timeout";
            in_flight_.erase(it);
        }
        natsMsgList_Destroy(&pending);
    }
}

publish_outcome publisher::publish(std::span<const outgoing_message> batch) {
    publish_outcome out;
    out.sequences.assign(batch.size(), 0);
    if (!open_error_.ok()) {
        out.error = open_error_;
        return out;
    }
    for (std::size_t i = 0; i < batch.size(); ++i) {
        if (batch[i].partition < 0 || batch[i].partition >= options_.partitions) {
            out.error = status::error(status::code::invalid, "message " + std::to_string(i) + ": partition " +
                                                                 std::to_string(batch[i].partition) + " is not in [0, " +
                                                                 std::to_string(options_.partitions) + ")");
            return out;
        }
        if (batch[i].id.empty()) {
            out.error = status::error(status::code::invalid, "message " + std::to_string(i) + ": empty message id");
            return out;
        }
    }

    std::lock_guard one_batch(publish_mu_);
    std::vector<message_state> states(batch.size());
    {
        std::lock_guard lock(ack_mu_);
        states_ = &states;
    }
    const auto deadline = steady::now() + options_.publish_timeout;
    auto backoff = std::chrono::milliseconds(50);
    while (true) {
        ++out.attempts;
        send_round(batch, states, deadline);
        // Anything still unacknowledged now (the round's wait ended) is taken back from the
        // library, so that a late acknowledgement cannot touch the next round or batch.
        drop_pending(states);
        bool all = std::all_of(states.begin(), states.end(), [](const auto& s) { return s.acknowledged; });
        if (all || steady::now() + backoff >= deadline) break;
        // Typically a stream leader being elected after a server died: wait a little.
        std::this_thread::sleep_for(backoff);
        backoff = std::min(backoff * 2, std::chrono::milliseconds(1000));
    }
    {
        std::lock_guard lock(ack_mu_);
        states_ = nullptr;
    }

    for (std::size_t i = 0; i < states.size(); ++i) {
        const auto& st = states[i];
        if (!st.acknowledged) {
            if (out.error.ok())
                out.error = status::error(status::code::timeout, "message " + std::to_string(i) + " (id " +
                                                                     std::string(batch[i].id) + ") not stored: " +
                                                                     (st.error.empty() ? "no acknowledgement" : st.error));
            continue;
        }
        out.sequences[i] = st.sequence;
        (st.duplicate ? out.duplicates : out.stored)++;
    }
    return out;
}

}  // namespace redflag::cluster
