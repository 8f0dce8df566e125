// An instance of its own process for the cluster tests to kill -9, so that its death is a
// real one (its connection drops, nothing is released or flushed).
//
//   lease_probe leases NODE PARTITIONS TTL_MS RENEW_MS URL...
//       holds leases only; prints "acquired P", "releasing P" and "lost P" lines
//   lease_probe runner NODE PARTITIONS TTL_MS RENEW_MS SNAPSHOT_MS URL...
//       also runs its partitions into an in-memory engine (memory_engine.hpp) and
//       snapshots them every SNAPSHOT_MS
//
// Runs until killed.
#include "cluster/lease_manager.hpp"
#include "cluster/partition_runner.hpp"
#include "cluster/snapshot_store.hpp"
#include "memory_engine.hpp"

#include <cstdio>
#include <string>
#include <thread>

using namespace redflag;
using namespace redflag::cluster;

namespace {

class printing_listener final : public lease_listener {
public:
    void acquired(int p, std::uint64_t) override { std::printf("acquired %d\n", p), std::fflush(stdout); }
    void releasing(int p) override { std::printf("releasing %d\n", p), std::fflush(stdout); }
    void lost(int p) override { std::printf("lost %d\n", p), std::fflush(stdout); }
};

int fail(const std::string& message) {
    std::fprintf(stderr, "lease_probe: %s\n", message.c_str());
    return 1;
}

}  // namespace

int main(int argc, char** argv) {
    const std::string mode = argc > 1 ? argv[1] : "";
    const int first_url = mode == "runner" ? 7 : 6;
    if ((mode != "leases" && mode != "runner") || argc <= first_url) {
        std::fprintf(stderr,
                     "usage: lease_probe leases NODE PARTITIONS TTL_MS RENEW_MS URL...\n"
                     "       lease_probe runner NODE PARTITIONS TTL_MS RENEW_MS SNAPSHOT_MS URL...\n");
        return 2;
    }
    options o;
    o.node = argv[2];
    o.partitions = std::stoi(argv[3]);
    o.lease_ttl = duration{std::stoll(argv[4])};
    o.renew_interval = duration{std::stoll(argv[5])};
    o.consumer_heartbeat = duration{500};
    o.nats.assign(argv + first_url, argv + argc);
    o.replicas = o.nats.size() >= 3 ? 3 : 1;
    auto c = connection::open(o);
    if (!c) return fail(c.error().message());

    printing_listener printer;
    testing::memory_engine engine;
    std::unique_ptr<snapshot_store> snapshots;
    std::unique_ptr<partition_runner> runner;
    lease_listener* listener = &printer;
    if (mode == "runner") {
        auto s = snapshot_store::open(**c, o);
        if (!s) return fail(s.error().message());
        snapshots = std::move(*s);
        runner = std::make_unique<partition_runner>(**c, o, *snapshots, engine, duration{std::stoll(argv[6])});
        runner->start();
        listener = runner.get();
    }
    lease_manager manager(**c, o, *listener);
    if (auto st = manager.start(); !st.ok()) return fail(st.message());
    while (true) std::this_thread::sleep_for(std::chrono::hours(1));
}
