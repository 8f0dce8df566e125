#include "cluster/lease_plan.hpp"

#include "core/hash.hpp"

#include <algorithm>

namespace redflag::cluster {
namespace {

// Distance from `home` going up the ring: 0 for home itself.
int ring_distance(int p, int home, int partitions) { return (p - home + partitions) % partitions; }

}  // namespace

int home_partition(const std::string& node, int partitions) {
    return static_cast<int>(fnv1a(node) % static_cast<std::uint64_t>(partitions));
}

int lease_target(int partitions, const std::set<std::string>& members, const std::string& node) {
    std::set<std::string> all = members;
    all.insert(node);
    const int n = static_cast<int>(all.size());
    const int rank = static_cast<int>(std::distance(all.begin(), all.find(node)));
    return partitions / n + (rank < partitions % n ? 1 : 0);
}

lease_plan plan_leases(int partitions, const std::set<std::string>& members, const std::string& node,
                       const std::set<int>& owned, const std::set<int>& held) {
    lease_plan plan;
    const int target = lease_target(partitions, members, node);
    const int have = static_cast<int>(owned.size());
    const int home = home_partition(node, partitions);
    auto by_distance = [&](int a, int b) {
        return ring_distance(a, home, partitions) < ring_distance(b, home, partitions);
    };
    if (have > target) {
        std::vector<int> mine(owned.begin(), owned.end());
        std::sort(mine.begin(), mine.end(), by_distance);
        plan.release.assign(mine.end() - (have - target), mine.end());
        std::reverse(plan.release.begin(), plan.release.end());  // furthest first
    } else if (have < target) {
        std::vector<int> free;
        for (int p = 0; p < partitions; ++p)
            if (!held.count(p) && !owned.count(p)) free.push_back(p);
        std::sort(free.begin(), free.end(), by_distance);
        if (static_cast<int>(free.size()) > target - have) free.resize(target - have);
        plan.claim = std::move(free);
    }
    return plan;
}

}  // namespace redflag::cluster
