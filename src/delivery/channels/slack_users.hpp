// Who clicked a button on a Redflag card: Slack's users.info with a channel's bot token
// (https://api.slack.com/methods/users.info; the email needs the users:read.email scope).
//
// Blocking (one HTTP exchange, bounded by `timeout`), thread-safe (a client per call),
// never throws: any failure gives an empty answer, so the caller records the Slack user id.
#pragma once

#include "core/time.hpp"
#include "delivery/channel_config.hpp"

#include <string>

namespace redflag::delivery::channels {

// The email of Slack user `user_id` (user.profile.email), or "" when Slack does not give
// one (no such user, a token without users:read.email, an error, a timeout).
std::string slack_user_email(const channel_config& config, const std::string& user_id,
                             duration timeout = 2 * seconds_ms);

}  // namespace redflag::delivery::channels
