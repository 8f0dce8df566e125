#include "cluster/control.hpp"

#include <spdlog/spdlog.h>

#include <chrono>

namespace redflag::cluster {

std::string reload_subject(const options& o) { return o.name + ".control.reload"; }

result<std::unique_ptr<control_channel>> control_channel::open(connection& c, const options& o, reload_handler on_reload) {
    std::unique_ptr<control_channel> self(new control_channel(c, o, std::move(on_reload)));
    natsStatus s = natsConnection_Subscribe(&self->sub_, c.nats(), reload_subject(o).c_str(), &control_channel::on_message,
                                            self.get());
    if (s != NATS_OK) {
        self->sub_ = nullptr;
        return from_nats(s, "subscribing to " + reload_subject(o));
    }
    s = natsSubscription_SetOnCompleteCB(self->sub_, &control_channel::on_complete, self.get());
    // The subscription must reach the server before a request published by another
    // instance right after this one started can be heard.
    if (s == NATS_OK) s = natsConnection_FlushTimeout(c.nats(), 5000);
    if (s != NATS_OK) return from_nats(s, "subscribing to " + reload_subject(o));
    return self;
}

control_channel::~control_channel() {
    if (sub_ == nullptr) return;
    {
        std::lock_guard lock(mu_);
        stopped_ = true;
    }
    natsSubscription_Unsubscribe(sub_);
    std::unique_lock lock(complete_mu_);
    if (!complete_cv_.wait_for(lock, std::chrono::seconds(10), [this] { return complete_; }))
        spdlog::error("cluster: the control subscription did not complete its last delivery");
    natsSubscription_Destroy(sub_);
}

status control_channel::publish_reload() {
    natsStatus s = natsConnection_Publish(connection_.nats(), reload_subject(options_).c_str(), options_.node.data(),
                                          static_cast<int>(options_.node.size()));
    if (s == NATS_OK) s = natsConnection_FlushTimeout(connection_.nats(), 5000);
    if (s != NATS_OK) return from_nats(s, "publishing a reload request");
    return {};
}

void control_channel::on_message(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
    auto* self = static_cast<control_channel*>(closure);
    std::string from(natsMsg_GetData(msg), static_cast<std::size_t>(natsMsg_GetDataLength(msg)));
    natsMsg_Destroy(msg);
    std::lock_guard lock(self->mu_);
    if (self->stopped_ || from == self->options_.node) return;
    ++self->received_;
    self->handler_(from);
}

void control_channel::on_complete(void* closure) {
    auto* self = static_cast<control_channel*>(closure);
    std::lock_guard lock(self->complete_mu_);
    self->complete_ = true;
    self->complete_cv_.notify_all();
}

}  // namespace redflag::cluster
