#include "cluster/connection.hpp"

#include <spdlog/spdlog.h>

#include <mutex>
#include <vector>

namespace redflag::cluster {
namespace {

// nats.c keeps process-wide state (timers, the delivery pool); opened once, never closed,
// because connections may be destroyed during static destruction.
void open_library(int delivery_threads) {
    static std::once_flag once;
    std::call_once(once, [delivery_threads] {
        nats_Open(-1);
        nats_SetMessageDeliveryPoolSize(delivery_threads);
    });
}

struct options_deleter {
    void operator()(natsOptions* o) const { natsOptions_Destroy(o); }
};

}  // namespace

status from_nats(natsStatus s, std::string_view what, jsErrCode js_error) {
    if (s == NATS_OK) return {};
    std::string message(what);
    message += ": ";
    const char* last = nats_GetLastError(nullptr);
    message += (last != nullptr && *last != '\0') ? last : natsStatus_GetText(s);
    if (js_error != 0) message += " (JetStream error " + std::to_string(static_cast<int>(js_error)) + ")";
    using code = status::code;
    if (js_error == JSStreamWrongLastSequenceErr) return status::error(code::conflict, message);
    switch (s) {
        case NATS_TIMEOUT: return status::error(code::timeout, message);
        case NATS_NO_RESPONDERS:
        case NATS_CONNECTION_CLOSED:
        case NATS_CONNECTION_DISCONNECTED:
        case NATS_NO_SERVER:
        case NATS_STALE_CONNECTION:
        case NATS_NOT_YET_CONNECTED:
        case NATS_IO_ERROR: return status::error(code::unavailable, message);
        case NATS_NOT_FOUND: return status::error(code::not_found, message);
        case NATS_INVALID_ARG:
        case NATS_INVALID_SUBJECT:
        case NATS_MAX_PAYLOAD: return status::error(code::invalid, message);
        default: return status::error(code::other, message);
    }
}

result<std::unique_ptr<connection>> connection::open(const options& o, const connect_options& c) {
    open_library(c.delivery_threads);
    if (o.nats.empty()) return status::error(status::code::invalid, "cluster.nats: no server URL");

    natsOptions* raw = nullptr;
    if (auto s = natsOptions_Create(&raw); s != NATS_OK) return from_nats(s, "creating NATS options");
    std::unique_ptr<natsOptions, options_deleter> opts(raw);
    auto counters = std::make_unique<connection::counters>();
    counters->name = c.client_name.empty() ? o.node : c.client_name;

    std::vector<const char*> urls;
    bool tls_url = false;
    for (const auto& u : o.nats) {
        urls.push_back(u.c_str());
        tls_url = tls_url || u.rfind("tls://", 0) == 0;
    }
    natsStatus s = natsOptions_SetServers(opts.get(), urls.data(), static_cast<int>(urls.size()));
    if (s == NATS_OK && !counters->name.empty()) s = natsOptions_SetName(opts.get(), counters->name.c_str());
    if (s == NATS_OK) s = natsOptions_SetTimeout(opts.get(), c.connect_timeout.count());
    // Reconnect for ever: a cluster that loses a server must not cost the instance its
    // connection. Publishes buffered while disconnected are bounded by the reconnect buffer.
    if (s == NATS_OK) s = natsOptions_SetMaxReconnect(opts.get(), -1);
    if (s == NATS_OK) s = natsOptions_SetReconnectWait(opts.get(), c.reconnect_wait.count());
    if (s == NATS_OK) s = natsOptions_SetReconnectJitter(opts.get(), 100, 1000);
    if (s == NATS_OK) s = natsOptions_SetFailRequestsOnDisconnect(opts.get(), true);
    if (s == NATS_OK) s = natsOptions_UseGlobalMessageDelivery(opts.get(), true);
    if (s == NATS_OK) s = natsOptions_SetDisconnectedCB(opts.get(), &connection::on_disconnected, counters.get());
    if (s == NATS_OK) s = natsOptions_SetReconnectedCB(opts.get(), &connection::on_reconnected, counters.get());
    if (s == NATS_OK) s = natsOptions_SetClosedCB(opts.get(), &connection::on_closed, counters.get());
    if (s == NATS_OK) s = natsOptions_SetErrorHandler(opts.get(), &connection::on_async_error, counters.get());
    if (s != NATS_OK) return from_nats(s, "setting NATS options");

    if (!o.credentials.empty()) {
        s = natsOptions_SetUserCredentialsFromFiles(opts.get(), o.credentials.c_str(), nullptr);
        if (s != NATS_OK) return from_nats(s, "cluster.credentials " + o.credentials);
    }
    if (!o.user.empty() && (s = natsOptions_SetUserInfo(opts.get(), o.user.c_str(), o.password.c_str())) != NATS_OK)
        return from_nats(s, "cluster.user");
    if (!o.token.empty() && (s = natsOptions_SetToken(opts.get(), o.token.c_str())) != NATS_OK)
        return from_nats(s, "cluster.token");
    const auto& tls = o.tls;
    if (tls.enabled || tls_url || !tls.ca.empty() || !tls.cert.empty()) {
        if ((s = natsOptions_SetSecure(opts.get(), true)) != NATS_OK) return from_nats(s, "cluster.tls");
        if (!tls.ca.empty() && (s = natsOptions_LoadCATrustedCertificates(opts.get(), tls.ca.c_str())) != NATS_OK)
            return from_nats(s, "cluster.tls.ca " + tls.ca);
        if (!tls.cert.empty() &&
            (s = natsOptions_LoadCertificatesChain(opts.get(), tls.cert.c_str(), tls.key.c_str())) != NATS_OK)
            return from_nats(s, "cluster.tls.cert " + tls.cert);
        if (!tls.hostname.empty() && (s = natsOptions_SetExpectedHostname(opts.get(), tls.hostname.c_str())) != NATS_OK)
            return from_nats(s, "cluster.tls.hostname");
    }

    natsConnection* nc = nullptr;
    s = natsConnection_Connect(&nc, opts.get());
    if (s != NATS_OK) {
        std::string list;
        for (const auto& u : o.nats) list += (list.empty() ? "" : ", ") + u;
        return from_nats(s, "connecting to NATS at " + list);
    }
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = c.api_timeout.count();
    jsCtx* js = nullptr;
    s = natsConnection_JetStream(&js, nc, &jo);
    if (s != NATS_OK) {
        auto st = from_nats(s, "opening JetStream");
        close(nc, std::move(counters));
        return st;
    }
    // JetStream must be enabled for the account: an API request says so at once.
    jsAccountInfo* info = nullptr;
    jsErrCode jerr{};
    s = js_GetAccountInfo(&info, js, nullptr, &jerr);
    jsAccountInfo_Destroy(info);
    if (s != NATS_OK) {
        auto st = from_nats(s, "JetStream is not available on the NATS servers", jerr);
        jsCtx_Destroy(js);
        close(nc, std::move(counters));
        return st;
    }
    return std::unique_ptr<connection>(new connection(nc, js, std::move(counters)));
}

connection::~connection() {
    jsCtx_Destroy(js_);
    close(nc_, std::move(counters_));
}

void connection::close(natsConnection* nc, std::unique_ptr<counters> c) {
    c->closing = true;
    natsConnection_Close(nc);
    bool closed = false;
    {
        std::unique_lock lock(c->mu);
        closed = c->cv.wait_for(lock, std::chrono::seconds(10), [&] { return c->closed; });
    }
    natsConnection_Destroy(nc);
    // A closed callback that never came would find freed memory: rather keep it.
    if (!closed) (void)c.release();
}

bool connection::connected() const { return natsConnection_Status(nc_) == NATS_CONN_STATUS_CONNECTED; }

std::string connection::connected_url() const {
    char buffer[256] = {};
    if (natsConnection_GetConnectedUrl(nc_, buffer, sizeof(buffer)) != NATS_OK) return {};
    return buffer;
}

std::int64_t connection::max_payload() const { return natsConnection_GetMaxPayload(nc_); }

status connection::flush(duration timeout) {
    return from_nats(natsConnection_FlushTimeout(nc_, timeout.count()), "flushing the NATS connection");
}

void connection::on_disconnected(natsConnection*, void* closure) {
    auto* c = static_cast<counters*>(closure);
    c->disconnects++;
    if (c->closing) return;
    spdlog::warn("cluster {}: disconnected from NATS, reconnecting", c->name);
}

void connection::on_reconnected(natsConnection* nc, void* closure) {
    auto* c = static_cast<counters*>(closure);
    c->reconnects++;
    char url[256] = {};
    natsConnection_GetConnectedUrl(nc, url, sizeof(url));
    spdlog::info("cluster {}: reconnected to NATS at {}", c->name, url);
}

void connection::on_closed(natsConnection*, void* closure) {
    auto* c = static_cast<counters*>(closure);
    std::lock_guard lock(c->mu);
    c->closed = true;
    c->cv.notify_all();
}

void connection::on_async_error(natsConnection*, natsSubscription*, natsStatus s, void* closure) {
    auto* c = static_cast<counters*>(closure);
    if (c->closing) return;
    // The subscription is not looked at: nats.c may report on one that is being destroyed.
    // Missed heartbeats of ordered consumers are repaired by the library (it recreates the
    // consumer after the last message received): worth a line, not an alarm.
    spdlog::warn("cluster {}: NATS asynchronous error: {}", c->name, natsStatus_GetText(s));
}

}  // namespace redflag::cluster
