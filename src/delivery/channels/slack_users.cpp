#include "delivery/channels/slack_users.hpp"

#include "delivery/channels/http_client.hpp"
#include "delivery/channels/outcomes.hpp"

#include <boost/json/object.hpp>
#include <spdlog/spdlog.h>

namespace redflag::delivery::channels {

std::string slack_user_email(const channel_config& config, const std::string& user_id, duration timeout) {
    if (config.token.empty() || user_id.empty()) return {};
    http_options options;
    options.connect_timeout = timeout;
    options.timeout = timeout;
    http_client http(options);
    std::string api_url = config.api_url;
    while (!api_url.empty() && api_url.back() == '/') api_url.pop_back();
    auto response = http.get(api_url + "/users.info", {{"user", user_id}},
                             {{"Authorization", "Bearer " + config.token}});
    boost::json::object reply;
    auto result = classify_slack(response, system_clock().now(), &reply);
    if (result.result != send_result::outcome::sent) {
        spdlog::info("channel {}: users.info of {} failed ({}); recording the Slack user id", config.name, user_id,
                     result.error);
        return {};
    }
    const auto* user = reply.if_contains("user");
    const auto* profile = user && user->is_object() ? user->as_object().if_contains("profile") : nullptr;
    const auto* email = profile && profile->is_object() ? profile->as_object().if_contains("email") : nullptr;
    if (!email || !email->is_string()) return {};
    return std::string(email->as_string());
}

}  // namespace redflag::delivery::channels
