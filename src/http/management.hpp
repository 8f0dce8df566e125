// The management API (http/api.hpp's routes: accounts, alerts and acks, silences,
// reload) over the engine, the stored alerts and the silences. Reads and silences run on
// the query thread it is given; an account is read on its shard; an ack is applied in
// its shard's next write round and answered once durable. Reload and readiness are the
// application's: asked through `operations`.
#pragma once

#include "alerts/silences.hpp"
#include "core/time.hpp"
#include "engine/service.hpp"
#include "http/api.hpp"
#include "http/cluster_routing.hpp"
#include "rules/rule_set.hpp"
#include "metrics/engine_metrics.hpp"
#include "store/store.hpp"

#include <boost/asio/thread_pool.hpp>
#include <boost/json/object.hpp>

#include <string>

namespace redflag::http {

// What the application does for the API.
class operations {
public:
    virtual ~operations() = default;
    // Loads the rule files again (POST /-/reload); called on the query thread. Answers
    // {"status": "ok"|"error", ...}; `allow_empty` lets a reload empty the rule set.
    virtual boost::json::object reload(bool allow_empty) = 0;
    // The configured rule files loaded again together with `text` as one more file named
    // `file` (the console's playground, POST /v1/rules/check): nothing is swapped, stored
    // or sent. Called on the query thread.
    virtual rules::load_result load_with(const std::string& file, const std::string& text) = 0;
    // The backtest of the playground (POST /v1/rules/backtest): the stored events replayed
    // through the configured files plus `text` as `file`, as `redflag replay --outcomes`
    // would. Answers {"ok": true, "outcomes": {...}, "events": N, "flagged": {rule: [account...]}}
    // or {"ok": false, "error": "..."}. Called on the query thread; changes nothing.
    virtual boost::json::object backtest(const std::string& file, const std::string& text) = 0;
    // http::api's readiness (GET /readyz).
    virtual bool ready() const = 0;
    virtual std::string not_ready_reason() const = 0;
    virtual std::string readiness_warning() const { return {}; }
    // The email of Slack user `user_id`, asked with the bot token of slack channel
    // `channel` (users.info), for recording who clicked a card's button; empty when it
    // cannot be found (the click is then recorded as "slack:<user id>"). Called on the
    // query thread; must give up within a couple of seconds (Slack waits 3).
    virtual std::string slack_user_email(const std::string& channel, const std::string& user_id) {
        (void)channel;
        (void)user_id;
        return {};
    }
    // The default `wake_if` of a rule's snooze (the rule's `snooze_wake_if` clause), for
    // snoozes from Slack buttons; empty for none.
    virtual std::string rule_snooze_wake_if(const std::string& rule) {
        (void)rule;
        return {};
    }
};

// GET /v1/alerts?limit=: the largest page (README "Management API").
inline constexpr std::size_t max_alert_page = 1000;
// GET /v1/accounts: the page without limit, and the largest.
inline constexpr std::size_t default_account_page = 50;
inline constexpr std::size_t max_account_page = 1000;

class management final : public api {
public:
    management(engine::service& service, store::store& store, alerts::silence_registry& silences, const clock& clock,
               metrics::engine_metrics& metrics, operations& app, boost::asio::thread_pool& queries)
        : service_(service), store_(store), silences_(silences), clock_(clock), metrics_(metrics), app_(app),
          queries_(queries) {}

    // Cluster mode: answer for the accounts this instance owns, have the owner answer the
    // others, merge lists of every member (cluster_routing.hpp). Before the server starts.
    void set_cluster(cluster_routing* routing) { cluster_ = routing; }

    void handle(api_request request, std::function<void(api_response)> done) override;
    bool ready() const override { return app_.ready(); }
    std::string not_ready_reason() const override { return app_.not_ready_reason(); }
    std::string readiness_warning() const override { return app_.readiness_warning(); }

private:
    void handle_here(api_request request, std::function<void(api_response)> done);
    // Cluster mode (management_cluster.cpp): true when the request was taken care of
    // (forwarded, fanned out or refused) and `request`/`done` moved from.
    bool route_in_cluster(api_request& request, std::function<void(api_response)>& done);
    void route_by_alert(api_request request, std::function<void(api_response)> done);
    void ask_peers(std::shared_ptr<std::vector<cluster_member>> peers, std::size_t next,
                   std::shared_ptr<api_request> request, std::function<void(api_response)> done);
    void fan_out(api_request request, std::function<void(api_response)> done);

    void get_account(api_request request, std::function<void(api_response)> done);
    void list_accounts(api_request request, std::function<void(api_response)> done);
    api_response account_history(const api_request& request);
    // GET /v1/reports/weekly: the accounts' facts from every shard, then the store's part
    // and the build on the query thread (report/gather.hpp).
    void weekly_report(api_request request, std::function<void(api_response)> done);
    // GET /v1/reports/account/{id}: the account's activities on its shard, then its
    // history and alerts from the store on the query thread (report/account.hpp).
    void account_report(api_request request, std::function<void(api_response)> done);
    void check_rules(api_request request, std::function<void(api_response)> done);
    api_response get_alert(const std::string& id);
    api_response silences(const api_request& request);
    api_response list_alerts(const api_request& request);
    void ack_alert(api_request request, std::function<void(api_response)> done);
    void snooze_alert(api_request request, std::function<void(api_response)> done);
    void slack_action(api_request request, std::function<void(api_response)> done);
    // Applies an ack or a snooze to the active alert `id` of `account` in its shard's next
    // write round and answers once durable (200 with the alert; 409 when it is not
    // active, or not firing for a snooze; 200 {"duplicate": true} when `key` acted already).
    void act(std::string account, std::string id, std::optional<alerts::acknowledgement> ack,
             std::optional<alerts::snooze> snooze, std::function<void(api_response)> done);

    engine::service& service_;
    store::store& store_;
    alerts::silence_registry& silences_;
    const clock& clock_;
    metrics::engine_metrics& metrics_;
    operations& app_;
    boost::asio::thread_pool& queries_;
    cluster_routing* cluster_ = nullptr;
};

}  // namespace redflag::http
