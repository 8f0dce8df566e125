#include "cluster/stream.hpp"

#include "core/hash.hpp"

#include <chrono>
#include <memory>
#include <vector>

namespace redflag::cluster {
namespace {

std::int64_t nanos(duration d) { return std::chrono::duration_cast<std::chrono::nanoseconds>(d).count(); }

struct stream_info_deleter {
    void operator()(jsStreamInfo* si) const { jsStreamInfo_Destroy(si); }
};
using stream_info_ptr = std::unique_ptr<jsStreamInfo, stream_info_deleter>;

}  // namespace

int partition_of(std::string_view account, int partitions) {
    return static_cast<int>(fnv1a(account) % static_cast<std::uint64_t>(partitions));
}

std::string subject_of(const options& o, int partition) { return o.subject_prefix() + std::to_string(partition); }

status ensure_stream(connection& c, const options& o) {
    if (o.partitions < 1) return status::error(status::code::invalid, "cluster.partitions must be at least 1");
    std::vector<std::string> subjects;
    for (int p = 0; p < o.partitions; ++p) subjects.push_back(subject_of(o, p));
    std::vector<const char*> subject_ptrs;
    for (const auto& s : subjects) subject_ptrs.push_back(s.c_str());
    const std::string name = o.stream_name();

    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    cfg.Name = name.c_str();
    cfg.Subjects = subject_ptrs.data();
    cfg.SubjectsLen = static_cast<int>(subject_ptrs.size());
    cfg.Retention = js_LimitsPolicy;
    cfg.Storage = js_FileStorage;
    cfg.Replicas = o.replicas;
    cfg.Duplicates = nanos(o.duplicate_window);
    cfg.MaxAge = nanos(o.stream_max_age);
    cfg.Discard = js_DiscardOld;

    jsStreamInfo* raw = nullptr;
    jsErrCode jerr{};
    natsStatus s = js_GetStreamInfo(&raw, c.js(), name.c_str(), nullptr, &jerr);
    stream_info_ptr existing(raw);
    if (s == NATS_NOT_FOUND || jerr == JSStreamNotFoundErr) {
        raw = nullptr;
        jerr = {};
        s = js_AddStream(&raw, c.js(), &cfg, nullptr, &jerr);
        stream_info_ptr added(raw);
        return from_nats(s, "creating stream " + name, jerr);
    }
    if (s != NATS_OK) return from_nats(s, "reading stream " + name, jerr);

    const jsStreamConfig* have = existing->Config;
    bool same_subjects = have->SubjectsLen == cfg.SubjectsLen;
    for (int i = 0; same_subjects && i < have->SubjectsLen; ++i) same_subjects = subjects[i] == have->Subjects[i];
    if (!same_subjects)
        return status::error(status::code::invalid,
                             "stream " + name + " holds " + std::to_string(have->SubjectsLen) +
                                 " partition subjects, the config says " + std::to_string(o.partitions) +
                                 " partitions: the number of partitions cannot change for an existing stream");
    if (have->Replicas == cfg.Replicas && have->Duplicates == cfg.Duplicates && have->MaxAge == cfg.MaxAge) return {};
    raw = nullptr;
    jerr = {};
    s = js_UpdateStream(&raw, c.js(), &cfg, nullptr, &jerr);
    stream_info_ptr updated(raw);
    return from_nats(s, "updating stream " + name, jerr);
}

result<std::uint64_t> last_sequence(connection& c, const options& o) {
    jsStreamInfo* raw = nullptr;
    jsErrCode jerr{};
    natsStatus s = js_GetStreamInfo(&raw, c.js(), o.stream_name().c_str(), nullptr, &jerr);
    stream_info_ptr si(raw);
    if (s != NATS_OK) return from_nats(s, "reading stream " + o.stream_name(), jerr);
    return si->State.LastSeq;
}

}  // namespace redflag::cluster
