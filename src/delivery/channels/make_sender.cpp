#include "delivery/channels/make_sender.hpp"

namespace redflag::delivery::channels {

namespace {

class unknown_type_sender final : public channel_sender {
public:
    explicit unknown_type_sender(std::string type) : error_("unknown channel type \"" + type + "\"") {}
    send_result send(const notification&, const std::string&) override {
        return {send_result::outcome::permanent, std::nullopt, error_, {}};
    }
    send_result send_digest(std::span<const notification>) override {
        return {send_result::outcome::permanent, std::nullopt, error_, {}};
    }

private:
    std::string error_;
};

}  // namespace

const redflag::clock& clock_of(const sender_options& options) {
    static const system_clock wall;
    return options.clock ? *options.clock : wall;
}

http_options http_options_of(const sender_options& options) {
    http_options http;
    http.connect_timeout = options.connect_timeout;
    http.timeout = options.timeout;
    http.ca_file = options.ca_file;
    return http;
}

std::unique_ptr<channel_sender> make_sender(const channel_config& config, const sender_options& options) {
    if (config.type == "slack") return make_slack_sender(config, options);
    if (config.type == "slack_webhook") return make_slack_webhook_sender(config, options);
    if (config.type == "webhook") return make_webhook_sender(config, options);
    if (config.type == "email") return make_email_sender(config, options);
    return std::make_unique<unknown_type_sender>(config.type);
}

}  // namespace redflag::delivery::channels
