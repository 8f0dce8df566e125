// The senders that speak HTTP: slack (Web API), slack_webhook and webhook. See
// make_sender.hpp for what each sends and skips.
#include "delivery/channels/http_client.hpp"
#include "delivery/channels/make_sender.hpp"
#include "delivery/channels/outcomes.hpp"
#include "delivery/channels/render.hpp"

#include <boost/json/serialize.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <unordered_map>

namespace redflag::delivery::channels {

namespace json = boost::json;

namespace {

std::string without_trailing_slash(std::string url) {
    while (!url.empty() && url.back() == '/') url.pop_back();
    return url;
}

send_result skipped() { return send_result::ok(); }

// ---------------------------------------------------------------------------- slack

class slack_sender final : public channel_sender {
public:
    slack_sender(const channel_config& config, const sender_options& options)
        : config_(config), options_(options), clock_(clock_of(options)), http_(http_options_of(options)),
          api_url_(without_trailing_slash(config.api_url)) {}

    // `thread` is what this sender returned as thread_ts for the alert's first message:
    // "<ts> <channel id>" (the channel id chat.postMessage answered, which chat.update
    // needs), or a bare "<ts>" as stored before cards were updated.
    send_result send(const notification& n, const std::string& thread) override {
        auto [thread_ts, channel_id] = split_thread(thread);
        bool wants_mention = config_.mention_owner && !n.csm_email.empty() &&
                             (n.kind == notice_kind::firing || n.kind == notice_kind::repeat);
        std::string mention;
        if (wants_mention)
            if (auto user = user_id_for(n.csm_email)) mention = "<@" + *user + ">";

        // A change without a notice of its own (a silence began or ended, a silent
        // resolve) only rewrites a card that was posted; the silence's begin and end are
        // also told in the thread, a silent resolve is not (it notifies nobody).
        if (is_card_rewrite(n.kind)) {
            if (thread_ts.empty()) return skipped();
            send_result updated = update_card(n, thread_ts, channel_id);
            if (n.kind == notice_kind::resolved_silently || updated.result == send_result::outcome::retry)
                return updated;
        }

        // A change of state rewrites the card first: a failure worth retrying retries
        // before anything is posted, so the thread gets its follow-up once. A repeat
        // after a snooze (it ran out, or its wake_if turned true) is one: the card must
        // not keep saying "Snoozed".
        bool ends_snooze = n.kind == notice_kind::repeat && n.snoozed_until.has_value();
        if (!thread_ts.empty() && (n.kind == notice_kind::acknowledged || n.kind == notice_kind::snoozed ||
                                   n.kind == notice_kind::resolved || ends_snooze)) {
            send_result updated = update_card(n, thread_ts, channel_id);
            if (updated.result == send_result::outcome::retry) return updated;
        }

        slack_message message = render_slack(n, mention, !thread_ts.empty(), true);
        http_response response = http_.post_json(api_url_ + "/chat.postMessage",
                                                 slack_post_body(config_.channel, message, thread_ts), auth());
        json::object reply;
        send_result result = classify_slack(response, clock_.now(), &reply);
        if (result.result == send_result::outcome::sent) result.thread_ts = posted_thread(reply);
        return result;
    }

    bool groups_by_account() const override {
        return std::find(config_.group_by.begin(), config_.group_by.end(), "account") != config_.group_by.end();
    }

    // The group's card is posted once and rewritten after; every notification but the
    // one that posted it also goes in the card's thread (a chat.update notifies nobody).
    send_result send_group(const group_card& group, const notification& n) override {
        std::string mention;
        if (config_.mention_owner && !n.csm_email.empty() &&
            (n.kind == notice_kind::firing || n.kind == notice_kind::repeat))
            if (auto user = user_id_for(n.csm_email)) mention = "<@" + *user + ">";
        if (group.thread.empty()) {
            // Nothing to show, nothing shown; a card rewrite never posts a card.
            if (group.resolved() || is_card_rewrite(n.kind)) return send_result::ok();
            slack_message card = render_slack_group(group);
            if (!mention.empty()) card.text += " " + mention;
            http_response response = http_.post_json(api_url_ + "/chat.postMessage",
                                                     slack_post_body(config_.channel, card, {}), auth());
            json::object reply;
            send_result result = classify_slack(response, clock_.now(), &reply);
            if (result.result == send_result::outcome::sent) result.thread_ts = posted_thread(reply);
            return result;
        }
        auto [ts, channel_id] = split_thread(group.thread);
        if (channel_id.empty()) {
            spdlog::warn("channel {}: the group card of account {} has no channel id; not rewritten", config_.name,
                         group.account);
        } else {
            http_response response = http_.post_json(
                api_url_ + "/chat.update", slack_update_body(channel_id, ts, render_slack_group(group)), auth());
            send_result updated = classify_slack(response, clock_.now(), nullptr);
            // Retried before the thread reply, so the reply is posted once.
            if (updated.result == send_result::outcome::retry) return updated;
            if (updated.result == send_result::outcome::permanent)
                spdlog::warn("channel {}: rewriting the group card of account {} failed: {}", config_.name,
                             group.account, updated.error);
            // A silent resolve notifies nobody: the card changes, the thread does not.
            if (n.kind == notice_kind::resolved_silently) return updated;
        }
        http_response response =
            http_.post_json(api_url_ + "/chat.postMessage",
                            slack_post_body(config_.channel, render_slack_group_reply(n, mention), ts), auth());
        return classify_slack(response, clock_.now(), nullptr);
    }

    duration min_interval() const override { return seconds_ms; }

private:
    // "<ts> <channel id>" of a chat.postMessage reply, or "" when it has no ts.
    static std::string posted_thread(const json::object& reply) {
        std::string thread;
        if (auto* ts = reply.if_contains("ts"); ts && ts->is_string()) {
            thread = ts->as_string();
            if (auto* ch = reply.if_contains("channel"); ch && ch->is_string() && !ch->as_string().empty())
                thread += " " + std::string(ch->as_string());
        }
        return thread;
    }

    static std::pair<std::string, std::string> split_thread(const std::string& thread) {
        auto space = thread.find(' ');
        if (space == std::string::npos) return {thread, {}};
        return {thread.substr(0, space), thread.substr(space + 1)};
    }

    // chat.update of the alert's card. A card that cannot be updated (message_not_found,
    // cant_update_message, a thread stored without its channel id) is logged and left:
    // the thread reply still tells the news.
    send_result update_card(const notification& n, const std::string& ts, const std::string& channel_id) {
        if (channel_id.empty()) {
            spdlog::warn("channel {}: alert {}: the card's channel id is unknown (posted before card updates); "
                         "not rewritten", config_.name, n.alert_id);
            return send_result::ok();
        }
        http_response response = http_.post_json(api_url_ + "/chat.update",
                                                  slack_update_body(channel_id, ts, render_slack_card(n)), auth());
        send_result result = classify_slack(response, clock_.now(), nullptr);
        if (result.result == send_result::outcome::permanent)
            spdlog::warn("channel {}: alert {}: rewriting the card failed: {}", config_.name, n.alert_id, result.error);
        return result;
    }

    struct cached_user {
        std::string id;  // empty: Slack has no user with that email
        timestamp expires;
    };

    std::vector<std::pair<std::string, std::string>> auth() const {
        return {{"Authorization", "Bearer " + config_.token}};
    }

    // The Slack user id of `email`, from the cache or users.lookupByEmail. nullopt when
    // there is none or the look-up failed: the message then names the owner in text
    // rather than waiting for a mention. Only answers are cached, failures are not.
    std::optional<std::string> user_id_for(const std::string& email) {
        timestamp now = clock_.now();
        if (auto it = users_.find(email); it != users_.end() && it->second.expires > now) {
            if (it->second.id.empty()) return std::nullopt;
            return it->second.id;
        }
        http_response response = http_.get(api_url_ + "/users.lookupByEmail", {{"email", email}}, auth());
        json::object reply;
        send_result result = classify_slack(response, now, &reply);
        if (result.result == send_result::outcome::retry) return std::nullopt;
        // Bounded: CSM emails are few, but a cache must not grow without end.
        if (users_.size() >= 10000) users_.clear();
        if (result.result == send_result::outcome::permanent) {
            // users_not_found, or a token without users:read.email: ask again only later.
            users_[email] = {{}, now + options_.slack_miss_ttl};
            return std::nullopt;
        }
        std::string id;
        if (auto* user = reply.if_contains("user"); user && user->is_object())
            if (auto* uid = user->as_object().if_contains("id"); uid && uid->is_string()) id = uid->as_string();
        users_[email] = {id, now + (id.empty() ? options_.slack_miss_ttl : options_.slack_user_ttl)};
        if (id.empty()) return std::nullopt;
        return id;
    }

    channel_config config_;
    sender_options options_;
    const redflag::clock& clock_;
    http_client http_;
    std::string api_url_;
    std::unordered_map<std::string, cached_user> users_;
};

// -------------------------------------------------------------------- slack_webhook

class slack_webhook_sender final : public channel_sender {
public:
    slack_webhook_sender(const channel_config& config, const sender_options& options)
        : config_(config), clock_(clock_of(options)), http_(http_options_of(options)) {}

    send_result send(const notification& n, const std::string&) override {
        if (n.kind == notice_kind::acknowledged || n.kind == notice_kind::snoozed || is_card_rewrite(n.kind))
            return skipped();
        std::string body = slack_post_body({}, render_slack(n, {}, false), {});
        return classify_http(http_.post_json(config_.url, body), clock_.now());
    }

    duration min_interval() const override { return seconds_ms; }

private:
    channel_config config_;
    const redflag::clock& clock_;
    http_client http_;
};

// -------------------------------------------------------------------------- webhook

class webhook_sender final : public channel_sender {
public:
    webhook_sender(const channel_config& config, const sender_options& options)
        : config_(config), clock_(clock_of(options)), http_(http_options_of(options)) {
        for (const auto& [name, value] : config_.headers) headers_.emplace_back(name, value);
    }

    send_result send(const notification& n, const std::string&) override {
        if (n.kind == notice_kind::acknowledged || n.kind == notice_kind::snoozed || is_card_rewrite(n.kind))
            return skipped();
        timestamp now = clock_.now();
        header_list headers = headers_;
        headers.emplace_back("Idempotency-Key", n.key);
        std::string body = alertmanager() ? json::serialize(render_alertmanager_json(n, now, hold()))
                                          : json::serialize(render_redflag_json(n));
        return classify_http(http_.post_json(config_.url, body, headers), now);
    }

    duration resend_interval() const override { return alertmanager() ? config_.resend : duration::zero(); }

    send_result resend(std::span<const notification> alerts) override {
        if (!alertmanager()) return channel_sender::resend(alerts);
        timestamp now = clock_.now();
        std::string body = json::serialize(render_alertmanager_json(alerts, now, hold()));
        return classify_http(http_.post_json(config_.url, body, headers_), now);
    }

private:
    bool alertmanager() const { return config_.format == "alertmanager"; }
    // How long Alertmanager keeps a posted alert active without hearing from us again.
    duration hold() const { return 4 * config_.resend; }

    channel_config config_;
    const redflag::clock& clock_;
    http_client http_;
    header_list headers_;
};

}  // namespace

std::unique_ptr<channel_sender> make_slack_sender(const channel_config& config, const sender_options& options) {
    return std::make_unique<slack_sender>(config, options);
}

std::unique_ptr<channel_sender> make_slack_webhook_sender(const channel_config& config,
                                                          const sender_options& options) {
    return std::make_unique<slack_webhook_sender>(config, options);
}

std::unique_ptr<channel_sender> make_webhook_sender(const channel_config& config, const sender_options& options) {
    return std::make_unique<webhook_sender>(config, options);
}

}  // namespace redflag::delivery::channels
