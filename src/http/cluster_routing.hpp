// Reads and actions from any instance in cluster mode (issue 17; src/cluster/README.md
// "Reads from any instance"). An account's state, alerts and acks live with the instance
// that owns the account's partition; the management API asks this seam who that is and
// has the request answered there, through a proxy over loopback HTTP (not a redirect: the
// console and the CLI then need no second address, and the caller's Authorization goes
// along as it came). Lists (GET /v1/alerts) are asked of every live member and merged.
//
// A forwarded request carries `X-Redflag-Forwarded: <node>`; an instance answers such a
// request itself, from what it owns, and never forwards it again (so no loop).
//
// Implemented by the application (app/serve_cluster.hpp) over the lease manager's view of
// the cluster and an HTTP client. Thread-safety: every call from any thread; forward()
// answers on a thread of its own.
#pragma once

#include "http/api.hpp"

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace redflag::http {

inline constexpr std::string_view forwarded_header = "X-Redflag-Forwarded";

struct cluster_member {
    std::string node;
    std::string base_url;  // "http://host:port"
};

class cluster_routing {
public:
    virtual ~cluster_routing() = default;
    // This instance's node name.
    virtual const std::string& node() const = 0;
    // Whether this instance holds the lease of `account`'s partition now.
    virtual bool owns(std::string_view account) const = 0;
    // The member holding `account`'s partition, as the last lease round saw it; nullopt
    // while nobody holds it (a failover in progress) or its holder is not heartbeating.
    virtual std::optional<cluster_member> owner_of(std::string_view account) const = 0;
    // The other live members.
    virtual std::vector<cluster_member> peers() const = 0;
    // Sends `request` (its method, target, body and authorization; a raw request such as
    // a Slack click with its raw body and headers instead) to `to` marked as forwarded,
    // and answers with the peer's status and JSON body; a peer that does not answer is
    // 502/504 with what went wrong. `done` is called once, from another thread.
    virtual void forward(const cluster_member& to, const api_request& request,
                         std::function<void(api_response)> done) = 0;
};

}  // namespace redflag::http
