// What an instance should do with its partition leases in one round, given what it read:
// a pure function, so the fairness rules are tested without servers.
//
// Fair share: with P partitions and n live members, sorted by name, the first P % n
// members aim for P / n + 1 partitions and the others for P / n, so counts differ by at
// most one and every partition has a place. An instance above its target releases the
// partitions furthest from its home (its name's hash picks where on the ring of partitions
// it prefers to claim); an instance below claims free partitions nearest its home first,
// so instances that start together mostly try different partitions.
//
// Pure; thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace redflag::cluster {

// How many partitions `node` aims for; `members` may lack `node` (it counts itself).
int lease_target(int partitions, const std::set<std::string>& members, const std::string& node);

struct lease_plan {
    std::vector<int> release;  // owned partitions to give up, in order
    std::vector<int> claim;    // free partitions to try to claim, in order of preference
};

// `owned`: the partitions this node holds; `held`: every partition some instance holds
// (this node's included), as read from the leases bucket.
lease_plan plan_leases(int partitions, const std::set<std::string>& members, const std::string& node,
                       const std::set<int>& owned, const std::set<int>& held);

// Where on the ring of partitions `node` prefers to claim (FNV-1a of its name).
int home_partition(const std::string& node, int partitions);

}  // namespace redflag::cluster
