#include "delivery/channels/email_message.hpp"
#include "sample_notification.hpp"

#include <gtest/gtest.h>

using namespace redflag;
using namespace redflag::delivery;
using namespace redflag::delivery::channels;
using channels::testing::sample_notification;

namespace {

// Decodes base64 (for checking bodies), ignoring line breaks.
std::string base64_decode(std::string_view text) {
    static const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    int bits = 0, value = 0;
    for (char c : text) {
        auto pos = alphabet.find(c);
        if (pos == std::string::npos) continue;
        value = (value << 6) | static_cast<int>(pos);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((value >> bits) & 0xFF));
        }
    }
    return out;
}

}  // namespace

TEST(EmailMessage, subject_starts_with_severity_and_account) {
    EXPECT_EQ(render_email(sample_notification(notice_kind::firing)).subject, "[HIGH] Acme: Usage dropped");
    EXPECT_EQ(render_email(sample_notification(notice_kind::resolved)).subject, "[HIGH] Acme: Recovered: Usage dropped");
    EXPECT_EQ(render_email(sample_notification(notice_kind::repeat)).subject, "[HIGH] Acme: Still firing: Usage dropped");
}

TEST(EmailMessage, html_body_is_escaped) {
    auto n = sample_notification();
    n.message = "<script>alert('x')</script> & co";
    auto c = render_email(n);
    EXPECT_NE(c.html.find("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; co"), std::string::npos);
    EXPECT_EQ(c.html.find("<script>"), std::string::npos);
    EXPECT_NE(c.html.find("<a href=\"https://crm.example.com/accounts/acme\">Acme</a>"), std::string::npos);
    EXPECT_NE(c.text.find(n.message), std::string::npos);  // plain text stays as it is
}

TEST(EmailMessage, digest_lists_every_alert_highest_severity_first) {
    std::vector<notification> batch{sample_notification(), sample_notification(), sample_notification()};
    batch[0].severity = "low";
    batch[0].title = "Low one";
    batch[1].severity = "critical";
    batch[1].title = "Critical one";
    batch[2].title = "High one";
    auto c = render_digest(batch);
    EXPECT_EQ(c.subject, "Redflag digest: 3 alerts");
    auto critical = c.text.find("Critical one"), high = c.text.find("High one"), low = c.text.find("Low one");
    ASSERT_NE(critical, std::string::npos);
    ASSERT_NE(high, std::string::npos);
    ASSERT_NE(low, std::string::npos);
    EXPECT_LT(critical, high);
    EXPECT_LT(high, low);
    EXPECT_EQ(render_digest(std::span(batch).first(1)).subject, "Redflag digest: 1 alert");
}

TEST(EmailMessage, mime_message_has_headers_and_both_parts) {
    auto n = sample_notification();
    email_envelope e{"Redflag <redflag@example.com>", "jane@example.com",
                     message_id_for(n.key, "Redflag <redflag@example.com>"), n.key,
                     *parse_rfc3339("2026-11-02T09:00:07Z")};
    auto content = render_email(n);
    std::string m = build_mime_message(e, content);
    EXPECT_TRUE(m.starts_with("Date: Mon, 02 Nov 2026 09:00:07 +0000\r\n")) << m.substr(0, 60);
    EXPECT_NE(m.find("\r\nFrom: Redflag <redflag@example.com>\r\n"), std::string::npos);
    EXPECT_NE(m.find("\r\nTo: jane@example.com\r\n"), std::string::npos);
    EXPECT_NE(m.find("\r\nSubject: [HIGH] Acme: Usage dropped\r\n"), std::string::npos);
    EXPECT_NE(m.find("\r\nMessage-ID: <0123456789abcdef0123456789abcdef-1@example.com>\r\n"), std::string::npos);
    EXPECT_NE(m.find("\r\nX-Redflag-Idempotency-Key: 0123456789abcdef0123456789abcdef-1\r\n"), std::string::npos);
    EXPECT_NE(m.find("multipart/alternative"), std::string::npos);
    // Every line within SMTP's limit, every line end CRLF.
    std::size_t start = 0;
    while (start < m.size()) {
        auto end = m.find("\r\n", start);
        ASSERT_NE(end, std::string::npos);
        EXPECT_LE(end - start, 998u);
        EXPECT_EQ(m.substr(start, end - start).find('\n'), std::string::npos);
        start = end + 2;
    }
    // The parts decode back to the bodies (with CRLF line ends).
    const std::string part_headers = "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n";
    auto plain = m.find(part_headers);
    ASSERT_NE(plain, std::string::npos);
    plain += part_headers.size();
    auto html = m.find("--=_redflag_", plain);
    std::string decoded = base64_decode(m.substr(plain, html - plain));
    EXPECT_NE(decoded.find("[HIGH] Acme: Usage dropped\r\n"), std::string::npos);
}

TEST(EmailMessage, header_values_cannot_add_headers) {
    EXPECT_EQ(encode_header_text("a\r\nBcc: evil@example.com"), "a  Bcc: evil@example.com");
    auto n = sample_notification();
    n.title = "x\r\nBcc: evil@example.com";
    email_envelope e{"r@example.com", "jane@example.com", "k@example.com", "k", {}};
    std::string m = build_mime_message(e, render_email(n));
    EXPECT_EQ(m.find("\r\nBcc:"), std::string::npos);
}

TEST(EmailMessage, non_ascii_subjects_are_encoded_words) {
    std::string encoded = encode_header_text("Caf\xC3\xA9 S\xC3\xA3o Paulo");
    EXPECT_EQ(encoded, "=?UTF-8?B?" + base64_encode("Caf\xC3\xA9 S\xC3\xA3o Paulo") + "?=");
    // A long one is split into words of at most 75 characters, never inside a character.
    std::string long_text;
    for (int i = 0; i < 40; ++i) long_text += "\xC3\xA9";
    std::string folded = encode_header_text(long_text);
    std::string rejoined;
    std::size_t start = 0;
    while (start < folded.size()) {
        auto end = folded.find("\r\n ", start);
        if (end == std::string::npos) end = folded.size();
        std::string word = folded.substr(start, end - start);
        EXPECT_LE(word.size(), 75u);
        ASSERT_TRUE(word.starts_with("=?UTF-8?B?") && word.ends_with("?="));
        std::string bytes = base64_decode(word.substr(10, word.size() - 12));
        EXPECT_EQ(bytes.size() % 2, 0u) << "a word ends inside a character";
        rejoined += bytes;
        start = end + 3;
    }
    EXPECT_EQ(rejoined, long_text);
    EXPECT_EQ(encode_address_header("Caf\xC3\xA9 <cafe@example.com>"),
              "=?UTF-8?B?" + base64_encode("Caf\xC3\xA9") + "?= <cafe@example.com>");
}

TEST(EmailMessage, addresses_are_read_from_mailboxes) {
    EXPECT_EQ(mailbox_address("Redflag <redflag@example.com>"), "redflag@example.com");
    EXPECT_EQ(mailbox_address(" jane@example.com "), "jane@example.com");
    EXPECT_FALSE(mailbox_address("no address"));
    EXPECT_FALSE(mailbox_address("Jane <jane@example.com"));
    EXPECT_FALSE(mailbox_address(""));
    EXPECT_EQ(recipient_addresses("a@x.com, B <b@y.org>; ,bad"), (std::vector<std::string>{"a@x.com", "b@y.org"}));
}

TEST(EmailMessage, message_id_comes_from_the_key_and_the_senders_domain) {
    EXPECT_EQ(message_id_for("abc-1", "Redflag <redflag@example.com>"), "abc-1@example.com");
    EXPECT_EQ(message_id_for("abc-1", "Redflag <redflag@example.com>"),
              message_id_for("abc-1", "Redflag <redflag@example.com>"));
    EXPECT_EQ(message_id_for("a b<c>", "nobody"), "a_b_c_@redflag.invalid");
}

TEST(EmailMessage, base64_matches_rfc4648_vectors) {
    EXPECT_EQ(base64_encode(""), "");
    EXPECT_EQ(base64_encode("f"), "Zg==");
    EXPECT_EQ(base64_encode("fo"), "Zm8=");
    EXPECT_EQ(base64_encode("foo"), "Zm9v");
    EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
}
