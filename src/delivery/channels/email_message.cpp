#include "delivery/channels/email_message.hpp"

#include "delivery/channels/render.hpp"

#include <date/date.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>

namespace redflag::delivery::channels {

namespace {

int severity_rank(std::string_view severity) {
    if (severity == "critical") return 0;
    if (severity == "high") return 1;
    if (severity == "medium") return 2;
    if (severity == "low") return 3;
    return 4;
}

std::string trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return std::string(s);
}

// The lines of one notification in a text body.
void append_text_entry(std::string& out, const notification& n) {
    out += summary(n) + "\n";
    if (!n.message.empty()) out += "\n" + n.message + "\n";
    out += "\n";
    out += "Severity:     " + n.severity + "\n";
    out += "Account:      " + n.account_name + (n.account_name != n.account ? " (" + n.account + ")" : "") + "\n";
    if (!n.csm.empty() || !n.csm_email.empty())
        out += "Owner:        " + (n.csm.empty() ? n.csm_email : n.csm) + "\n";
    out += "Firing since: " + format_rfc3339(n.firing_since) + "\n";
    if (n.resolved_at) out += "Recovered at: " + format_rfc3339(*n.resolved_at) + "\n";
    if (!n.account_url.empty()) out += "Account link: " + n.account_url + "\n";
    out += "Rule:         " + n.rule + "\n";
    out += "Alert:        " + n.alert_id + "\n";
}

void append_html_entry(std::string& out, const notification& n) {
    out += "<h2 style=\"margin:0 0 8px 0\">" + html_escape(summary(n)) + "</h2>\n";
    if (!n.message.empty()) out += "<p>" + html_escape(n.message) + "</p>\n";
    out += "<table cellpadding=\"4\" style=\"border-collapse:collapse\">\n";
    auto row = [&](std::string_view name, const std::string& value_html) {
        out += "<tr><th align=\"left\">" + std::string(name) + "</th><td>" + value_html + "</td></tr>\n";
    };
    row("Severity", html_escape(n.severity));
    std::string account = html_escape(n.account_name);
    if (!n.account_url.empty()) account = "<a href=\"" + html_escape(n.account_url) + "\">" + account + "</a>";
    row("Account", account);
    if (!n.csm.empty() || !n.csm_email.empty()) row("Owner", html_escape(n.csm.empty() ? n.csm_email : n.csm));
    row("Firing since", html_escape(format_rfc3339(n.firing_since)));
    if (n.resolved_at) row("Recovered at", html_escape(format_rfc3339(*n.resolved_at)));
    row("Rule", html_escape(n.rule));
    row("Alert", html_escape(n.alert_id));
    out += "</table>\n";
}

std::string html_page(std::string_view title, std::string_view body) {
    return "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" + html_escape(title) +
           "</title></head>\n<body style=\"font-family:sans-serif\">\n" + std::string(body) + "</body></html>\n";
}

// Base64 lines of at most 76 characters (RFC 2045), CRLF after each.
std::string base64_body(std::string_view bytes) {
    std::string encoded = base64_encode(bytes);
    std::string out;
    for (std::size_t i = 0; i < encoded.size(); i += 76) out += encoded.substr(i, 76) + "\r\n";
    return out;
}

// 64-bit FNV-1a: a stable digest for ids made from several keys.
std::uint64_t fnv1a(std::string_view text, std::uint64_t hash = 0xcbf29ce484222325ull) {
    for (unsigned char c : text) hash = (hash ^ c) * 0x100000001b3ull;
    return hash;
}

std::string hex64(std::uint64_t v) {
    char buffer[17];
    std::snprintf(buffer, sizeof buffer, "%016llx", static_cast<unsigned long long>(v));
    return buffer;
}

}  // namespace

email_content render_email(const notification& n) {
    email_content c;
    c.subject = severity_tag(n.severity) + " " + n.account_name + ": " + headline(n);
    append_text_entry(c.text, n);
    if (n.kind == notice_kind::acknowledged && !n.ack_comment.empty())
        c.text += "\nAcknowledged by " + n.ack_by + ": " + n.ack_comment + "\n";
    c.text += "\n-- \nRedflag\n";
    std::string body;
    append_html_entry(body, n);
    c.html = html_page(c.subject, body);
    return c;
}

email_content render_digest(std::span<const notification> batch) {
    std::vector<const notification*> order;
    for (const auto& n : batch) order.push_back(&n);
    std::stable_sort(order.begin(), order.end(), [](const notification* a, const notification* b) {
        int ra = severity_rank(a->severity), rb = severity_rank(b->severity);
        return ra != rb ? ra < rb : a->at < b->at;
    });
    email_content c;
    c.subject = "Redflag digest: " + std::to_string(batch.size()) + (batch.size() == 1 ? " alert" : " alerts");
    c.text = c.subject + "\n\n";
    std::string body = "<h1 style=\"font-size:20px\">" + html_escape(c.subject) + "</h1>\n";
    for (std::size_t i = 0; i < order.size(); ++i) {
        c.text += std::to_string(i + 1) + ". ";
        append_text_entry(c.text, *order[i]);
        c.text += "\n";
        append_html_entry(body, *order[i]);
        body += "<hr>\n";
    }
    c.text += "-- \nRedflag\n";
    c.html = html_page(c.subject, body);
    return c;
}

std::string build_mime_message(const email_envelope& e, const email_content& c) {
    // The boundary contains "=_", which base64 text never does, so it cannot occur in a part.
    std::string boundary = "=_redflag_" + hex64(fnv1a(e.message_id));
    auto to_crlf = [](std::string_view text) {
        std::string out;
        for (char ch : text) {
            if (ch == '\n') out += "\r\n";
            else if (ch != '\r') out.push_back(ch);
        }
        return out;
    };
    std::string m;
    m += "Date: " + rfc5322_date(e.date) + "\r\n";
    m += "From: " + encode_address_header(e.from) + "\r\n";
    m += "To: " + encode_address_header(e.to) + "\r\n";
    m += "Subject: " + encode_header_text(c.subject) + "\r\n";
    m += "Message-ID: <" + encode_header_text(e.message_id) + ">\r\n";
    if (!e.idempotency_key.empty()) m += "X-Redflag-Idempotency-Key: " + encode_header_text(e.idempotency_key) + "\r\n";
    m += "Auto-Submitted: auto-generated\r\n";  // RFC 3834: out-of-office replies stay away
    m += "MIME-Version: 1.0\r\n";
    m += "Content-Type: multipart/alternative; boundary=\"" + boundary + "\"\r\n";
    m += "\r\n";
    m += "--" + boundary + "\r\n";
    m += "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n";
    m += base64_body(to_crlf(c.text));
    m += "--" + boundary + "\r\n";
    m += "Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n";
    m += base64_body(to_crlf(c.html));
    m += "--" + boundary + "--\r\n";
    return m;
}

std::optional<std::string> mailbox_address(std::string_view mailbox) {
    std::string_view address = mailbox;
    auto open = mailbox.rfind('<');
    if (open != std::string_view::npos) {
        auto close = mailbox.find('>', open);
        if (close == std::string_view::npos) return std::nullopt;
        address = mailbox.substr(open + 1, close - open - 1);
    }
    std::string out = trim(address);
    auto at = out.find('@');
    if (at == std::string::npos || at == 0 || at + 1 == out.size()) return std::nullopt;
    if (out.find_first_of(" \t\r\n<>,;\"") != std::string::npos) return std::nullopt;
    return out;
}

std::vector<std::string> recipient_addresses(std::string_view list) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start <= list.size()) {
        auto end = list.find_first_of(",;", start);
        if (end == std::string_view::npos) end = list.size();
        if (auto address = mailbox_address(list.substr(start, end - start))) out.push_back(std::move(*address));
        start = end + 1;
    }
    return out;
}

std::string message_id_for(std::string_view key, std::string_view from) {
    std::string domain = "redflag.invalid";
    if (auto address = mailbox_address(from)) domain = address->substr(address->find('@') + 1);
    std::string local;
    for (char c : key) local.push_back(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' ? c : '_');
    if (local.empty()) local = "redflag";
    return local + "@" + domain;
}

std::string rfc5322_date(timestamp t) {
    return date::format("%a, %d %b %Y %H:%M:%S +0000", std::chrono::floor<std::chrono::seconds>(t));
}

std::string html_escape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&#39;"; break;
            default: out.push_back(c);
        }
    }
    return out;
}

std::string encode_header_text(std::string_view text) {
    std::string clean;
    bool ascii = true;
    for (char ch : text) {
        auto c = static_cast<unsigned char>(ch);
        if (c < 0x20 || c == 0x7f) clean.push_back(' ');
        else clean.push_back(ch);
        if (c >= 0x80) ascii = false;
    }
    if (ascii) return clean;
    // Encoded words of at most 75 characters: "=?UTF-8?B?" + base64 + "?=" leaves 63
    // base64 characters, 45 bytes; chunks are cut on UTF-8 character boundaries.
    std::string out;
    std::size_t start = 0;
    while (start < clean.size()) {
        std::size_t end = std::min(start + 45, clean.size());
        while (end > start + 1 && end < clean.size() && (static_cast<unsigned char>(clean[end]) & 0xC0) == 0x80) --end;
        if (!out.empty()) out += "\r\n ";  // folded: each encoded word on its own line
        out += "=?UTF-8?B?" + base64_encode(std::string_view(clean).substr(start, end - start)) + "?=";
        start = end;
    }
    return out;
}

std::string encode_address_header(std::string_view text) {
    std::string out;
    std::size_t start = 0;
    while (start <= text.size()) {
        auto end = text.find(',', start);
        if (end == std::string_view::npos) end = text.size();
        std::string entry = trim(text.substr(start, end - start));
        auto open = entry.rfind('<');
        if (!out.empty()) out += ", ";
        if (open != std::string::npos && open > 0) {
            std::string name = trim(std::string_view(entry).substr(0, open));
            out += encode_header_text(name) + " " + encode_header_text(std::string_view(entry).substr(open));
        } else {
            out += encode_header_text(entry);
        }
        start = end + 1;
    }
    return out;
}

std::string base64_encode(std::string_view bytes) {
    static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 2 < bytes.size(); i += 3) {
        std::uint32_t v = (static_cast<unsigned char>(bytes[i]) << 16) | (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                          static_cast<unsigned char>(bytes[i + 2]);
        out += alphabet[v >> 18];
        out += alphabet[(v >> 12) & 63];
        out += alphabet[(v >> 6) & 63];
        out += alphabet[v & 63];
    }
    if (std::size_t rest = bytes.size() - i; rest > 0) {
        std::uint32_t v = static_cast<unsigned char>(bytes[i]) << 16;
        if (rest == 2) v |= static_cast<unsigned char>(bytes[i + 1]) << 8;
        out += alphabet[v >> 18];
        out += alphabet[(v >> 12) & 63];
        out += rest == 2 ? alphabet[(v >> 6) & 63] : '=';
        out += '=';
    }
    return out;
}

}  // namespace redflag::delivery::channels
