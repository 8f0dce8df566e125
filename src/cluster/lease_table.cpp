#include "cluster/lease_table.hpp"

#include <chrono>
#include <charconv>
#include <functional>

namespace redflag::cluster {
namespace {

std::int64_t nanos(duration d) { return std::chrono::duration_cast<std::chrono::nanoseconds>(d).count(); }

// Creates the bucket (or checks an existing one) with the connection's context, whose
// timeout suits start-up while the servers place the replicas, then binds it to `js`.
result<kvStore*> open_bucket(connection& c, jsCtx* js, const std::string& bucket, const options& o) {
    kvConfig cfg;
    kvConfig_Init(&cfg);
    cfg.Bucket = bucket.c_str();
    cfg.History = 1;
    cfg.TTL = nanos(o.lease_ttl);
    cfg.StorageType = js_FileStorage;
    cfg.Replicas = o.replicas;
    kvStore* kv = nullptr;
    natsStatus s = js_CreateKeyValue(&kv, c.js(), &cfg);
    if (s != NATS_OK) return from_nats(s, "creating key-value bucket " + bucket);
    kvStore_Destroy(kv);
    kv = nullptr;
    if ((s = js_KeyValue(&kv, js, bucket.c_str())) != NATS_OK) return from_nats(s, "binding key-value bucket " + bucket);
    return kv;
}

// Visits the latest entry of every key (delete markers skipped) through a watcher, until
// the watcher says the initial values are done.
status visit_entries(kvStore* kv, duration wait, const std::function<void(kvEntry*)>& visit) {
    kvWatchOptions wo;
    kvWatchOptions_Init(&wo);
    wo.IgnoreDeletes = true;
    kvWatcher* w = nullptr;
    natsStatus s = kvStore_WatchAll(&w, kv, &wo);
    if (s != NATS_OK) return from_nats(s, std::string("listing bucket ") + kvStore_Bucket(kv));
    status out;
    while (true) {
        kvEntry* e = nullptr;
        s = kvWatcher_Next(&e, w, wait.count());
        if (s != NATS_OK) {
            out = from_nats(s, std::string("listing bucket ") + kvStore_Bucket(kv));
            break;
        }
        if (e == nullptr) break;  // the initial values are done
        visit(e);
        kvEntry_Destroy(e);
    }
    kvWatcher_Destroy(w);
    return out;
}

std::string key_of(int partition) { return std::to_string(partition); }

// A lost compare-and-set comes back from the KV API as a plain error whose text is the
// server's ("wrong last sequence: 7"): the status it deserves.
status classify_update_error(natsStatus s, const std::string& what) {
    auto st = from_nats(s, what);
    if (st.message().find("wrong last sequence") != std::string::npos) return status::error(status::code::conflict, st.message());
    return st;
}

}  // namespace

result<std::unique_ptr<lease_table>> lease_table::open(connection& c, const options& o) {
    const duration wait = std::max(o.renew_interval, duration{200});
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = wait.count();
    jsCtx* js = nullptr;
    if (natsStatus s = natsConnection_JetStream(&js, c.nats(), &jo); s != NATS_OK)
        return from_nats(s, "opening a JetStream context for leases");
    auto leases = open_bucket(c, js, o.leases_bucket(), o);
    auto members = leases ? open_bucket(c, js, o.members_bucket(), o) : result<kvStore*>(leases.error());
    if (!leases || !members) {
        if (leases) kvStore_Destroy(*leases);
        jsCtx_Destroy(js);
        return leases ? members.error() : leases.error();
    }
    return std::unique_ptr<lease_table>(new lease_table(js, *leases, *members, o.leases_bucket(), wait));
}

lease_table::~lease_table() {
    kvStore_Destroy(leases_);
    kvStore_Destroy(members_);
    jsCtx_Destroy(js_);
}

result<std::uint64_t> lease_table::claim(int partition, const std::string& node) {
    std::uint64_t rev = 0;
    natsStatus s = kvStore_Create(&rev, leases_, key_of(partition).c_str(), node.data(), static_cast<int>(node.size()));
    if (s != NATS_OK) return classify_update_error(s, "claiming partition " + key_of(partition));
    return rev;
}

result<std::uint64_t> lease_table::renew(int partition, const std::string& node, std::uint64_t revision) {
    std::uint64_t rev = 0;
    natsStatus s = kvStore_Update(&rev, leases_, key_of(partition).c_str(), node.data(), static_cast<int>(node.size()),
                                  revision);
    if (s != NATS_OK) return classify_update_error(s, "renewing the lease of partition " + key_of(partition));
    return rev;
}

status lease_table::release(int partition, std::uint64_t revision) {
    // kvStore_Delete cannot be made conditional, so the delete marker is published as the
    // KV API would (a KV-Operation: DEL header on the key's subject) with an expected
    // last revision.
    const std::string subject = "$KV." + leases_bucket_ + "." + key_of(partition);
    natsMsg* msg = nullptr;
    natsStatus s = natsMsg_Create(&msg, subject.c_str(), nullptr, nullptr, 0);
    if (s == NATS_OK) s = natsMsgHeader_Set(msg, "KV-Operation", "DEL");
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.ExpectLastSubjectSeq = revision;
    jsErrCode jerr{};
    if (s == NATS_OK) s = js_PublishMsg(nullptr, js_, msg, &po, &jerr);
    natsMsg_Destroy(msg);
    return from_nats(s, "releasing partition " + key_of(partition), jerr);
}

result<std::map<int, lease_holder>> lease_table::holders() {
    std::map<int, lease_holder> out;
    auto st = visit_entries(leases_, wait_, [&](kvEntry* e) {
        std::string_view key = kvEntry_Key(e);
        int p = -1;
        auto [end, ec] = std::from_chars(key.data(), key.data() + key.size(), p);
        if (ec != std::errc{} || end != key.data() + key.size()) return;  // not a partition key
        auto* v = static_cast<const char*>(kvEntry_Value(e));
        out[p] = {std::string(v ? v : "", kvEntry_ValueLen(e)), kvEntry_Revision(e)};
    });
    if (!st.ok()) return st;
    return out;
}

status lease_table::heartbeat(const std::string& node, const std::string& info) {
    natsStatus s = kvStore_Put(nullptr, members_, node.c_str(), info.data(), static_cast<int>(info.size()));
    return from_nats(s, "heartbeat of " + node);
}

status lease_table::leave(const std::string& node) {
    return from_nats(kvStore_Purge(members_, node.c_str(), nullptr), "removing the heartbeat of " + node);
}

result<std::map<std::string, std::string>> lease_table::members() {
    std::map<std::string, std::string> out;
    auto st = visit_entries(members_, wait_, [&](kvEntry* e) {
        auto* v = static_cast<const char*>(kvEntry_Value(e));
        out[kvEntry_Key(e)] = std::string(v ? v : "", kvEntry_ValueLen(e));
    });
    if (!st.ok()) return st;
    return out;
}

}  // namespace redflag::cluster
