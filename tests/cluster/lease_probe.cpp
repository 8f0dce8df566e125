// An instance that only holds leases, for the cluster tests to kill -9: a process of its
// own, so that its death is a real one (its connection drops, nothing is released).
//
//   lease_probe NODE PARTITIONS TTL_MS RENEW_MS URL...
//
// Prints "acquired P", "releasing P" and "lost P" lines; runs until killed.
#include "cluster/lease_manager.hpp"

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

}  // namespace

int main(int argc, char** argv) {
    if (argc < 6) {
        std::fprintf(stderr, "usage: lease_probe NODE PARTITIONS TTL_MS RENEW_MS URL...\n");
        return 2;
    }
    options o;
    o.node = argv[1];
    o.partitions = std::stoi(argv[2]);
    o.lease_ttl = duration{std::stoll(argv[3])};
    o.renew_interval = duration{std::stoll(argv[4])};
    o.nats.assign(argv + 5, argv + argc);
    o.replicas = o.nats.size() >= 3 ? 3 : 1;
    auto c = connection::open(o);
    if (!c) {
        std::fprintf(stderr, "lease_probe: %s\n", c.error().message().c_str());
        return 1;
    }
    printing_listener listener;
    lease_manager manager(**c, o, listener);
    if (auto st = manager.start(); !st.ok()) {
        std::fprintf(stderr, "lease_probe: %s\n", st.message().c_str());
        return 1;
    }
    while (true) std::this_thread::sleep_for(std::chrono::hours(1));
}
