#include "cluster/consumer.hpp"

#include "cluster/stream.hpp"

#include <spdlog/spdlog.h>

#include <chrono>

namespace redflag::cluster {

result<std::unique_ptr<partition_consumer>> partition_consumer::start(connection& c, const options& o, int partition,
                                                                      std::uint64_t from, message_handler handler) {
    if (partition < 0 || partition >= o.partitions)
        return status::error(status::code::invalid, "partition " + std::to_string(partition) + " is not in [0, " +
                                                        std::to_string(o.partitions) + ")");
    std::unique_ptr<partition_consumer> self(new partition_consumer(partition, from, std::move(handler)));
    const std::string subject = subject_of(o, partition);
    const std::string stream = o.stream_name();

    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = stream.c_str();
    so.Ordered = true;
    so.Config.Heartbeat = std::chrono::duration_cast<std::chrono::nanoseconds>(o.consumer_heartbeat).count();
    if (from > 1) {
        so.Config.DeliverPolicy = js_DeliverByStartSequence;
        so.Config.OptStartSeq = from;
    } else {
        so.Config.DeliverPolicy = js_DeliverAll;
    }
    jsErrCode jerr{};
    natsStatus s = js_Subscribe(&self->sub_, c.js(), subject.c_str(), &partition_consumer::on_message, self.get(),
                                nullptr, &so, &jerr);
    if (s != NATS_OK) return from_nats(s, "consuming partition " + std::to_string(partition), jerr);
    s = natsSubscription_SetOnCompleteCB(self->sub_, &partition_consumer::on_complete, self.get());
    // Pending limits: the servers' flow control bounds what is in flight; the library's
    // own limits would drop messages instead (a slow consumer), then recover through a gap.
    if (s == NATS_OK) s = natsSubscription_SetPendingLimits(self->sub_, -1, -1);
    if (s != NATS_OK) {
        auto st = from_nats(s, "consuming partition " + std::to_string(partition));
        self->stop();
        return st;
    }
    return self;
}

partition_consumer::~partition_consumer() { stop(); }

void partition_consumer::on_message(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
    auto* self = static_cast<partition_consumer*>(closure);
    std::lock_guard lock(self->handler_mu_);
    if (self->stopped_) {
        natsMsg_Destroy(msg);
        return;
    }
    jsMsgMetaData* meta = nullptr;
    if (natsMsg_GetMetaData(&meta, msg) != NATS_OK) {
        // Not a stream message (nothing else is sent to the consumer's inbox): ignored.
        natsMsg_Destroy(msg);
        return;
    }
    const std::uint64_t seq = meta->Sequence.Stream;
    // The ordered consumer never goes back; a recreated one starts after the last message
    // received, so this is a guard, not a path.
    if (seq > self->last_delivered_.load()) {
        const char* id = nullptr;
        if (natsMsgHeader_Get(msg, "Nats-Msg-Id", &id) != NATS_OK) id = nullptr;
        consumed_message m;
        m.partition = self->partition_;
        m.sequence = seq;
        m.data = std::string_view(natsMsg_GetData(msg), static_cast<std::size_t>(natsMsg_GetDataLength(msg)));
        m.id = id ? std::string_view(id) : std::string_view();
        m.stored_ns = meta->Timestamp;
        m.pending = meta->NumPending;
        self->delivering_ = std::this_thread::get_id();
        self->handler_(m);
        self->delivering_ = std::thread::id{};
        self->last_delivered_ = seq;
        self->delivered_++;
    }
    jsMsgMetaData_Destroy(meta);
    natsMsg_Destroy(msg);
}

void partition_consumer::on_complete(void* closure) {
    auto* self = static_cast<partition_consumer*>(closure);
    std::lock_guard lock(self->complete_mu_);
    self->complete_ = true;
    self->complete_cv_.notify_all();
}

void partition_consumer::stop() {
    if (sub_ == nullptr) return;
    const bool from_handler = delivering_.load() == std::this_thread::get_id();
    if (from_handler) {
        stopped_ = true;  // handler_mu_ is held by this very thread
    } else {
        std::lock_guard lock(handler_mu_);
        stopped_ = true;
    }
    if (!unsubscribed_) {
        // Unsubscribing also deletes the ordered consumer on the servers.
        natsSubscription_Unsubscribe(sub_);
        unsubscribed_ = true;
    }
    // From the handler, the subscription is freed later, by the destructor.
    if (from_handler) return;
    // The library may be about to call the handler one last time: wait until it is done
    // with this object (it will find stopped_ and return).
    std::unique_lock lock(complete_mu_);
    if (!complete_cv_.wait_for(lock, std::chrono::seconds(10), [this] { return complete_; }))
        spdlog::error("cluster: the consumer of partition {} did not complete its last delivery", partition_);
    natsSubscription_Destroy(sub_);
    sub_ = nullptr;
}

}  // namespace redflag::cluster
