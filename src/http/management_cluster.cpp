// The management API in cluster mode (cluster_routing.hpp): which requests this instance
// answers itself, which go to the owner of the account's partition, and the fan-out and
// merge of GET /v1/alerts.
#include "http/management.hpp"

#include "alerts/queries.hpp"
#include "http/account_order.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>
#include <charconv>
#include <mutex>
#include <set>
#include <tuple>

namespace redflag::http {
namespace json = boost::json;

bool management::route_in_cluster(api_request& request, std::function<void(api_response)>& done) {
    const bool forwarded = !request.forwarded_by.empty();
    switch (request.route) {
        case api_route::get_account:
        case api_route::account_history: {
            if (cluster_->owns(request.id)) return false;
            if (forwarded) {
                done(api_response::error(421, "instance " + cluster_->node() + " does not own the partition of account \"" +
                                                  request.id + "\" (its lease moved): ask again"));
                return true;
            }
            auto owner = cluster_->owner_of(request.id);
            if (!owner || owner->node == cluster_->node()) {
                auto r = api_response::error(503, "no instance owns the partition of account \"" + request.id +
                                                      "\" right now (a failover or rebalance is in progress): retry "
                                                      "in a few seconds");
                r.headers.emplace_back("Retry-After", "2");
                done(std::move(r));
                return true;
            }
            cluster_->forward(*owner, request, std::move(done));
            return true;
        }
        case api_route::get_alert:
        case api_route::ack_alert:
        case api_route::snooze_alert:
        case api_route::slack_action:  // a Slack click acts where the alert lives, whichever instance Slack calls
            route_by_alert(std::move(request), std::move(done));
            return true;
        case api_route::list_alerts:
        case api_route::list_accounts:
            if (forwarded) return false;  // this instance's part: the accounts it owns
            fan_out(std::move(request), std::move(done));
            return true;
        default:
            // Lists of accounts, silences, rules and reload are each instance's own
            // (reload reaches the others through NATS: app/serve_cluster.hpp).
            return false;
    }
}

// An alert id does not name its account: the local record says which account it is (then
// its partition's owner answers); an alert unknown here is asked of each peer in turn.
void management::route_by_alert(api_request request, std::function<void(api_response)> done) {
    boost::asio::post(queries_, [this, request = std::move(request), done = std::move(done)]() mutable {
        auto found = alerts::find_alert(store_, request.id);
        if (!found.ok()) return done(api_response::error(500, "reading the alert failed: " + found.error().message()));
        const auto& record = found.value();
        if (record && cluster_->owns(record->a.account)) return handle_here(std::move(request), std::move(done));
        if (!request.forwarded_by.empty())
            return done(api_response::error(404, "no alert \"" + request.id + "\" among the accounts instance " +
                                                     cluster_->node() + " owns"));
        if (record) {
            if (auto owner = cluster_->owner_of(record->a.account); owner && owner->node != cluster_->node())
                return cluster_->forward(*owner, request, std::move(done));
        }
        auto peers = std::make_shared<std::vector<cluster_member>>(cluster_->peers());
        ask_peers(std::move(peers), 0, std::make_shared<api_request>(std::move(request)), std::move(done));
    });
}

void management::ask_peers(std::shared_ptr<std::vector<cluster_member>> peers, std::size_t next,
                           std::shared_ptr<api_request> request, std::function<void(api_response)> done) {
    if (next >= peers->size())
        return done(api_response::error(404, "no alert \"" + request->id + "\" on any live instance"));
    const auto to = (*peers)[next];
    cluster_->forward(to, *request, [this, peers, next, request, done = std::move(done)](api_response r) mutable {
        // 404: not there; 421: there but not owned; 502/504: that instance did not answer.
        if (r.status == 404 || r.status == 421 || r.status == 502 || r.status == 504)
            return ask_peers(std::move(peers), next + 1, std::move(request), std::move(done));
        done(std::move(r));
    });
}

namespace {

// The answers of every member to one listing.
struct list_fan_out {
    std::mutex mu;
    std::size_t waiting = 0;
    std::vector<std::pair<std::string, api_response>> answers;  // node, answer
};

// What a member that did not answer (or answered an error) left out of the page.
json::object missing(const std::string& node, const api_response& a) {
    const auto* body = a.body.if_object();
    const auto* error = body ? body->if_contains("error") : nullptr;
    return json::object{{"node", node},
                        {"status", a.status},
                        {"error", error && error->is_string() ? error->get_string() : json::string("no list")}};
}

api_response merge_alert_pages(const api_request& request, std::vector<std::pair<std::string, api_response>>& answers,
                               const std::string& self) {
    // This instance's answer checked the query: its refusal (400) is the answer.
    for (auto& [node, a] : answers)
        if (node == self && a.status != 200) return std::move(a);
    auto order = alerts::alert_order::newest;
    if (const auto* sort = request.param("sort"); sort && *sort == "arr") order = alerts::alert_order::arr;
    std::size_t limit = SIZE_MAX;
    if (const auto* text = request.param("limit"))
        std::from_chars(text->data(), text->data() + text->size(), limit);
    std::vector<std::pair<alerts::alert_position, json::value>> rows;
    std::set<std::string> seen;
    bool more = false;
    json::array incomplete;
    for (auto& [node, a] : answers) {
        auto* body = a.body.if_object();
        auto* list = body ? body->if_contains("alerts") : nullptr;
        if (a.status != 200 || !list || !list->is_array()) {
            incomplete.push_back(missing(node, a));
            continue;
        }
        if (auto* next = body->if_contains("next_cursor"); next && next->is_string()) more = true;
        for (auto& alert : list->get_array()) {
            auto* o = alert.if_object();
            auto p = o ? alerts::position_of_json(*o, order) : std::nullopt;
            // The same alert from two members (a lease moving between their listings) once.
            if (!p || !seen.insert(p->id).second) continue;
            rows.emplace_back(std::move(*p), std::move(alert));
        }
    }
    std::sort(rows.begin(), rows.end(), [](const auto& x, const auto& y) { return alerts::comes_before(x.first, y.first); });
    if (rows.size() > limit) {
        rows.resize(limit);
        more = true;
    }
    json::array list;
    for (auto& r : rows) list.push_back(std::move(r.second));
    json::object out{{"alerts", std::move(list)}};
    if (more && !rows.empty()) out["next_cursor"] = alerts::encode_cursor(rows.back().first);
    else if (limit != SIZE_MAX) out["next_cursor"] = nullptr;
    // Members that did not answer: their alerts are missing from this page.
    if (!incomplete.empty()) out["incomplete"] = std::move(incomplete);
    api_response r;
    r.body = std::move(out);
    return r;
}

api_response merge_account_pages(const api_request& request, std::vector<std::pair<std::string, api_response>>& answers,
                                 const std::string& self) {
    for (auto& [node, a] : answers)
        if (node == self && a.status != 200) return std::move(a);
    const std::string sort = request.param("sort") ? *request.param("sort") : std::string("arr");
    std::size_t limit = default_account_page;
    if (const auto* text = request.param("limit")) std::from_chars(text->data(), text->data() + text->size(), limit);
    std::vector<std::tuple<double, std::string, json::value>> rows;
    std::set<std::string> seen;
    std::uint64_t total = 0;
    json::array incomplete;
    for (auto& [node, a] : answers) {
        auto* body = a.body.if_object();
        auto* list = body ? body->if_contains("accounts") : nullptr;
        if (a.status != 200 || !list || !list->is_array()) {
            incomplete.push_back(missing(node, a));
            continue;
        }
        if (auto* n = body->if_contains("total_after_cursor"); n && n->is_number()) total += n->to_number<std::uint64_t>();
        for (auto& row : list->get_array()) {
            auto* o = row.if_object();
            auto* id = o ? o->if_contains("id") : nullptr;
            if (!id || !id->is_string() || !seen.insert(std::string(id->get_string())).second) continue;
            double key = 0;
            try {
                key = account_key(*o, sort);
            } catch (const std::exception&) {
                continue;  // a row without the fields of an account summary
            }
            rows.emplace_back(key, std::string(id->get_string()), std::move(row));
        }
    }
    std::sort(rows.begin(), rows.end(), [](const auto& x, const auto& y) {
        if (std::get<0>(x) != std::get<0>(y)) return std::get<0>(x) < std::get<0>(y);
        return std::get<1>(x) < std::get<1>(y);
    });
    if (rows.size() > limit) rows.resize(limit);
    json::array list;
    for (auto& r : rows) list.push_back(std::move(std::get<2>(r)));
    json::object out{{"accounts", std::move(list)}, {"total_after_cursor", total}};
    out["next_cursor"] = total > rows.size() && !rows.empty()
                             ? json::value(account_cursor(sort, std::get<0>(rows.back()), std::get<1>(rows.back())))
                             : json::value(nullptr);
    if (!incomplete.empty()) out["incomplete"] = std::move(incomplete);
    api_response r;
    r.body = std::move(out);
    return r;
}

}  // namespace

// Each live member lists what it owns (alerts, or accounts) from the same cursor and with
// the same limit; the first `limit` of their union in the listing's order is the page (its
// next cursor is a position in that order, valid on every member).
void management::fan_out(api_request request, std::function<void(api_response)> done) {
    auto peers = cluster_->peers();
    auto all = std::make_shared<list_fan_out>();
    all->waiting = peers.size() + 1;
    auto shared_request = std::make_shared<api_request>(std::move(request));
    auto shared_done = std::make_shared<std::function<void(api_response)>>(std::move(done));
    auto collect = [this, all, shared_request, shared_done](std::string node, api_response r) {
        {
            std::lock_guard lock(all->mu);
            all->answers.emplace_back(std::move(node), std::move(r));
            if (--all->waiting > 0) return;
        }
        const bool accounts = shared_request->route == api_route::list_accounts;
        (*shared_done)(accounts ? merge_account_pages(*shared_request, all->answers, cluster_->node())
                                : merge_alert_pages(*shared_request, all->answers, cluster_->node()));
    };
    for (const auto& peer : peers)
        cluster_->forward(peer, *shared_request, [collect, node = peer.node](api_response r) { collect(node, std::move(r)); });
    // This instance's own part, answered as it would answer a peer.
    api_request here = *shared_request;
    here.forwarded_by = cluster_->node();
    handle_here(std::move(here), [collect, node = cluster_->node()](api_response r) { collect(node, std::move(r)); });
}

}  // namespace redflag::http
