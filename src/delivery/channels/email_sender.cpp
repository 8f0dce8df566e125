// The email sender: one SMTP session per attempt through libcurl (smtp:// with STARTTLS
// required when `starttls`, smtps:// when `tls`), MAIL FROM the configured `from`, RCPT
// TO every address of the notification's `recipient`, and a MIME message built by
// email_message.hpp. See make_sender.hpp.
#include "delivery/channels/email_message.hpp"
#include "delivery/channels/make_sender.hpp"
#include "delivery/channels/outcomes.hpp"

#include <curl/curl.h>

#include <cstring>
#include <mutex>

namespace redflag::delivery::channels {

namespace {

using outcome = send_result::outcome;

send_result permanent(std::string error) { return {outcome::permanent, std::nullopt, std::move(error), {}}; }

struct upload {
    std::string_view data;
    std::size_t offset = 0;
};

std::size_t read_upload(char* buffer, std::size_t size, std::size_t count, void* user) {
    auto* u = static_cast<upload*>(user);
    std::size_t n = std::min(size * count, u->data.size() - u->offset);
    std::memcpy(buffer, u->data.data() + u->offset, n);
    u->offset += n;
    return n;
}

class email_sender final : public channel_sender {
public:
    email_sender(const channel_config& config, const sender_options& options)
        : config_(config), options_(options), clock_(clock_of(options)) {
        static std::once_flag once;
        std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    }

    send_result send(const notification& n, const std::string&) override {
        // Email does not thread; an ack alone would be noise in an inbox.
        if (n.kind == notice_kind::acknowledged || n.kind == notice_kind::snoozed || is_card_rewrite(n.kind))
            return send_result::ok();
        return deliver(n.recipient, n.key, render_email(n));
    }

    send_result send_digest(std::span<const notification> batch) override {
        if (batch.empty()) return send_result::ok();
        // The digest's key, for its Message-ID: the same batch always gives the same one.
        std::string key = "digest-" + std::to_string(batch.size()) + "-" + batch.front().key + "-" + batch.back().key;
        return deliver(batch.front().recipient, key, render_digest(batch));
    }

    send_result send_document(const std::string& recipient, const std::string& key, const document& doc) override {
        return deliver(recipient, key, email_content{doc.subject, doc.text, doc.html});
    }

private:
    send_result deliver(const std::string& recipient, const std::string& key, const email_content& content) {
        std::vector<std::string> to = recipient_addresses(recipient);
        if (to.empty()) return permanent("no email address in the recipient \"" + recipient + "\"");
        auto from = mailbox_address(config_.smtp.from);
        if (!from) return permanent("no email address in smtp from \"" + config_.smtp.from + "\"");

        email_envelope envelope;
        envelope.from = config_.smtp.from;
        envelope.to = recipient;
        envelope.message_id = message_id_for(key, config_.smtp.from);
        envelope.idempotency_key = key;
        envelope.date = clock_.now();
        std::string message = build_mime_message(envelope, content);

        CURL* curl = curl_easy_init();
        if (!curl) return {outcome::retry, std::nullopt, "curl_easy_init failed", {}};
        std::string url = std::string(config_.smtp.tls ? "smtps://" : "smtp://") + host_for_url(config_.smtp.host) +
                          ":" + std::to_string(config_.smtp.port);
        struct curl_slist* rcpt = nullptr;
        for (const auto& address : to) rcpt = curl_slist_append(rcpt, ("<" + address + ">").c_str());
        std::string mail_from = "<" + *from + ">";
        upload body{message};
        char error_buffer[CURL_ERROR_SIZE] = {};

        curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
        curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
        curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout.count()));
        curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout.count()));
        if (!config_.smtp.tls)
            curl_easy_setopt(curl, CURLOPT_USE_SSL, static_cast<long>(config_.smtp.starttls ? CURLUSESSL_ALL
                                                                                            : CURLUSESSL_NONE));
        if (!options_.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, options_.ca_file.c_str());
        if (!config_.smtp.username.empty()) {
            curl_easy_setopt(curl, CURLOPT_USERNAME, config_.smtp.username.c_str());
            curl_easy_setopt(curl, CURLOPT_PASSWORD, config_.smtp.password.c_str());
        }
        curl_easy_setopt(curl, CURLOPT_MAIL_FROM, mail_from.c_str());
        curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, rcpt);
        curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_upload);
        curl_easy_setopt(curl, CURLOPT_READDATA, &body);
        curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(message.size()));
        curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);

        CURLcode code = curl_easy_perform(curl);
        long reply_code = 0;
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply_code);
        curl_slist_free_all(rcpt);
        curl_easy_cleanup(curl);
        return classify_smtp(code, reply_code, error_buffer);
    }

    // An IPv6 literal goes in brackets in a URL.
    static std::string host_for_url(const std::string& host) {
        if (host.find(':') != std::string::npos && !host.starts_with("[")) return "[" + host + "]";
        return host;
    }

    channel_config config_;
    sender_options options_;
    const redflag::clock& clock_;
};

}  // namespace

std::unique_ptr<channel_sender> make_email_sender(const channel_config& config, const sender_options& options) {
    return std::make_unique<email_sender>(config, options);
}

}  // namespace redflag::delivery::channels
