// Emails as Redflag sends them: the subject, plain-text and HTML bodies of one
// notification or of a digest, and the RFC 5322 / MIME message around them
// (multipart/alternative, UTF-8, base64 bodies so no line is ever too long for SMTP).
//
// Pure functions, thread-safe. Header values are made safe (line breaks removed,
// non-ASCII text as RFC 2047 encoded words), so a notification cannot add headers.
#pragma once

#include "core/time.hpp"
#include "delivery/notification.hpp"

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace redflag::delivery::channels {

struct email_content {
    std::string subject;
    std::string text;  // text/plain body, "\n" line ends
    std::string html;  // text/html body
};

// One notification. Subject "[HIGH] Acme: Usage dropped", "[HIGH] Acme: Recovered: Usage
// dropped", "[HIGH] Acme: Still firing: Usage dropped", "[HIGH] Acme: Acknowledged: ...".
email_content render_email(const notification& n);

// Several notifications to one recipient: "Redflag digest: 3 alerts", one entry per
// notification, highest severity first, then oldest first.
email_content render_digest(std::span<const notification> batch);

struct email_envelope {
    std::string from;        // the From header as configured: "Redflag <redflag@example.com>"
    std::string to;          // the To header: the rendered `to` of the channel
    std::string message_id;  // without angle brackets: "k@example.com"
    std::string idempotency_key;
    timestamp date{};
};

// The whole message: headers, a blank line, the multipart/alternative body; CRLF line ends.
std::string build_mime_message(const email_envelope& envelope, const email_content& content);

// "Redflag <redflag@example.com>" → "redflag@example.com"; "a@b.c" → "a@b.c"; nullopt
// when there is no address with an @ in it.
std::optional<std::string> mailbox_address(std::string_view mailbox);

// A `to` list separated by commas or semicolons → the addresses (see mailbox_address);
// entries without an address are left out.
std::vector<std::string> recipient_addresses(std::string_view list);

// "<key>@<domain of from>" (domain "redflag.invalid" when `from` has none): the same key
// gives the same Message-ID, so a receiver can drop a re-sent duplicate.
std::string message_id_for(std::string_view key, std::string_view from);

// RFC 5322 date: "Mon, 02 Nov 2026 09:00:00 +0000".
std::string rfc5322_date(timestamp t);

// &, <, >, ", ' as entities.
std::string html_escape(std::string_view text);

// A header value: CR/LF and other control characters become spaces; text with non-ASCII
// bytes becomes RFC 2047 "=?UTF-8?B?...?=" words (each at most 75 characters).
std::string encode_header_text(std::string_view text);

// An address header ("Redflag <a@b.c>, x@y.z"): as encode_header_text, but only display
// names are encoded, never the addresses in angle brackets.
std::string encode_address_header(std::string_view text);

std::string base64_encode(std::string_view bytes);

}  // namespace redflag::delivery::channels
