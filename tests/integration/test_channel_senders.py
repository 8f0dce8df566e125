"""The channel senders (src/delivery/channels) against real peers on loopback.

delivery_probe (tests/integration/delivery_probe.cpp) runs one real sender and reports
each attempt's outcome; the peers are the Slack stand-in (slack_standin.py), aiosmtpd
(Debian's python3-aiosmtpd, with STARTTLS on a throw-away certificate), a recording HTTP
server for JSON webhooks, and Debian's prometheus-alertmanager. Everything listens on
127.0.0.1.
"""
import email
import email.policy
import http.server
import json
import os
import select
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.request

from slack_standin import SlackStandIn

PROBE = os.environ.get("REDFLAG_DELIVERY_PROBE", "")
ALERTMANAGER = shutil.which("prometheus-alertmanager") or "/usr/bin/prometheus-alertmanager"


def notification(kind="firing", **overrides):
    n = {
        "key": "0123456789abcdef0123456789abcdef-1", "kind": kind, "alert_id": "0123456789abcdef0123456789abcdef",
        "rule": "usage_drop", "severity": "high", "title": "Usage dropped",
        "message": "Acme: active users fell from 40 to 15 in 14 days",
        "labels": {"team": "cs"}, "at": "2026-11-02T09:00:00Z", "firing_since": "2026-11-02T09:00:00Z",
        "account": "acme", "account_name": "Acme", "csm": "Jane Doe", "csm_email": "jane@example.com",
        "account_url": "https://crm.example.com/accounts/acme", "recipient": "jane@example.com",
    }
    if kind == "resolved":
        n.update(key=n["alert_id"] + "-3", at="2026-11-05T12:00:00Z", resolved_at="2026-11-05T12:00:00Z")
    if kind == "acknowledged":
        n.update(key=n["alert_id"] + "-ack-0", ack_by="liam", ack_comment="calling them today")
    if kind == "repeat":
        n.update(key=n["alert_id"] + "-2", at="2026-11-03T09:00:00Z")
    n.update(overrides)
    return n


class Probe:
    """One delivery_probe process holding one sender."""

    def __init__(self, channel, timeout_ms=3000, ca_file=""):
        if not PROBE:
            raise unittest.SkipTest("REDFLAG_DELIVERY_PROBE is not set (run through ctest)")
        self.process = subprocess.Popen([PROBE], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.ready = self.ask({"channel": channel, "options": {"timeout_ms": timeout_ms, "ca_file": ca_file}})

    def ask(self, request, timeout=30):
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        if not ready:
            raise AssertionError("delivery_probe did not answer within %ss" % timeout)
        return json.loads(self.process.stdout.readline())

    def send(self, n, thread_ts=""):
        return self.ask({"send": n, "thread_ts": thread_ts})

    def digest(self, batch):
        return self.ask({"digest": batch})

    def close(self):
        self.process.stdin.close()
        self.process.wait(timeout=10)
        self.process.stdout.close()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SlackTest(unittest.TestCase):
    def setUp(self):
        self.slack = SlackStandIn(token="xoxb-good", users={"jane@example.com": "U0JANE"}).start()
        self.addCleanup(self.slack.stop)

    def probe(self, **channel):
        config = {"type": "slack", "token": "xoxb-good", "channel": "#cs-red-flags", "api_url": self.slack.api_url}
        config.update(channel)
        p = Probe(config)
        self.addCleanup(p.close)
        return p

    def test_first_message_is_a_card_and_follow_ups_go_in_its_thread(self):
        p = self.probe()
        self.assertEqual(p.ready["min_interval_ms"], 1000)
        first = p.send(notification())
        self.assertEqual(first["result"], "sent", first)
        self.assertTrue(first["thread_ts"])
        for kind in ("repeat", "acknowledged", "resolved"):
            r = p.send(notification(kind), thread_ts=first["thread_ts"])
            self.assertEqual(r["result"], "sent", r)
        messages = self.slack.messages
        self.assertEqual(len(messages), 4)
        card = messages[0]
        self.assertEqual(card["channel"], "#cs-red-flags")
        # The thread reference the dispatcher stores: the card's ts and the channel id
        # chat.update needs ("<ts> <channel id>").
        self.assertEqual(first["thread_ts"], card["ts"] + " " + card["channel_id"])
        self.assertNotIn("thread_ts", card)
        # The ack and the recovery rewrote the card before replying in its thread.
        self.assertEqual([(u["channel"], u["ts"]) for u in self.slack.updates], [(card["channel_id"], card["ts"])] * 2)
        self.assertEqual([b["type"] for b in card["blocks"]], ["header", "section", "section", "actions", "context"])
        self.assertIn("Usage dropped", card["blocks"][0]["text"]["text"])
        fields = [f["text"] for f in card["blocks"][1]["fields"]]
        self.assertIn("*Severity*\nHigh", fields)
        self.assertIn("*Account*\n<https://crm.example.com/accounts/acme|Acme>", fields)
        self.assertIn("*Owner*\nJane Doe (jane@example.com)", fields)  # mention_owner is off
        self.assertEqual(card["blocks"][3]["elements"][0]["url"], "https://crm.example.com/accounts/acme")
        self.assertTrue(card["text"].startswith("[HIGH] Acme: Usage dropped"))
        thread = self.slack.thread(card["ts"])
        self.assertEqual([m["text"] for m in thread[1:]],
                         ["Acknowledged by liam: calling them today (Usage dropped, Acme)",
                          "Recovered: Usage dropped, Acme"])
        self.assertTrue(thread[0]["text"].startswith("[HIGH] Acme: Still firing: Usage dropped"))
        self.assertEqual(thread[1]["blocks"][0]["text"]["text"], "*Acknowledged by liam*: calling them today")

    def test_mentions_the_owner_and_caches_lookups_found_or_not(self):
        p = self.probe(mention_owner=True)
        self.assertEqual(p.send(notification())["result"], "sent")
        self.assertEqual(p.send(notification("repeat"))["result"], "sent")
        self.assertEqual(p.send(notification(csm_email="ghost@example.com"))["result"], "sent")
        self.assertEqual(p.send(notification(csm_email="ghost@example.com"))["result"], "sent")
        messages = self.slack.messages
        self.assertTrue(messages[0]["text"].endswith("<@U0JANE>"), messages[0]["text"])
        self.assertIn("*Owner*\n<@U0JANE>", [f["text"] for f in messages[0]["blocks"][1]["fields"]])
        self.assertTrue(messages[1]["text"].endswith("<@U0JANE>"))
        self.assertNotIn("<@", messages[2]["text"])  # no such Slack user: named in text instead
        self.assertEqual(self.slack.lookups, ["jane@example.com", "ghost@example.com"])

    def test_bad_token_and_unknown_channel_are_permanent(self):
        r = self.probe(token="xoxb-wrong").send(notification())
        self.assertEqual((r["result"], r["error"]), ("permanent", "Slack: invalid_auth"))
        r = self.probe(token="").send(notification())
        self.assertEqual((r["result"], r["error"]), ("permanent", "Slack: not_authed"))
        self.slack.channels = {"#elsewhere"}
        r = self.probe().send(notification())
        self.assertEqual((r["result"], r["error"]), ("permanent", "Slack: channel_not_found"))
        self.assertEqual(self.slack.messages, [])

    def test_rate_limit_is_retried_after_slacks_retry_after(self):
        p = self.probe()
        self.slack.set_rate_limit(1, retry_after_seconds=7)
        r = p.send(notification())
        self.assertEqual(r["result"], "retry", r)
        self.assertEqual(r["retry_after_ms"], 7000)
        self.assertEqual(self.slack.calls[-1], ("POST", "/api/chat.postMessage", 429))
        self.assertEqual(p.send(notification())["result"], "sent")
        self.assertEqual(len(self.slack.messages), 1)

    def test_outages_are_retried(self):
        p = self.probe()
        self.slack.set_down(True)
        r = p.send(notification())
        self.assertEqual(r["result"], "retry")
        self.assertIn("HTTP 503", r["error"])
        self.slack.set_down(True, refuse=True)
        r = p.send(notification())
        self.assertEqual(r["result"], "retry")
        self.assertIn("onnect", r["error"])  # curl's "Failed to connect ... Connection refused"
        self.slack.set_down(False)
        self.assertEqual(p.send(notification())["result"], "sent")

    def test_incoming_webhook_posts_the_card_and_skips_acks(self):
        p = Probe({"type": "slack_webhook", "url": self.slack.webhook_url})
        self.addCleanup(p.close)
        self.assertEqual(p.ready["min_interval_ms"], 1000)
        self.assertEqual(p.send(notification())["result"], "sent")
        self.assertEqual(p.send(notification("acknowledged"))["result"], "sent")
        self.assertEqual(p.send(notification("resolved"))["result"], "sent")
        got = self.slack.webhook_messages
        self.assertEqual([m["text"] for m in got][1], "Recovered: Usage dropped, Acme")
        self.assertEqual(len(got), 2)
        self.assertNotIn("channel", got[0])
        self.assertEqual(got[0]["blocks"][0]["type"], "header")
        bad = Probe({"type": "slack_webhook", "url": self.slack.base_url + "/services/nope"})
        self.addCleanup(bad.close)
        self.assertEqual(bad.send(notification())["result"], "permanent")


class Recorder:
    """An HTTP server that records POSTs and answers with a status the test sets."""

    def __init__(self):
        recorder = self
        self.requests = []
        self.status, self.headers = 200, {}

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                recorder.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                self.send_response(recorder.status)
                for k, v in recorder.headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d/hook" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class WebhookTest(unittest.TestCase):
    def setUp(self):
        self.peer = Recorder()
        self.addCleanup(self.peer.stop)

    def test_redflag_format_posts_the_specs_object_with_idempotency_key(self):
        p = Probe({"type": "webhook", "url": self.peer.url, "headers": {"X-Api-Key": "secret"}})
        self.addCleanup(p.close)
        self.assertEqual(p.ready["min_interval_ms"], 0)
        self.assertEqual(p.send(notification())["result"], "sent")
        self.assertEqual(p.send(notification("acknowledged"))["result"], "sent")  # skipped
        self.assertEqual(len(self.peer.requests), 1)
        request = self.peer.requests[0]
        body = json.loads(request["body"])
        self.assertEqual(list(body), ["id", "rule", "account", "account_name", "csm_email", "state", "severity",
                                      "title", "message", "labels", "at", "idempotency_key"])
        self.assertEqual(body["state"], "firing")
        self.assertEqual(body["labels"], {"team": "cs"})
        self.assertEqual(request["headers"]["Idempotency-Key"], "0123456789abcdef0123456789abcdef-1")
        self.assertEqual(request["headers"]["X-Api-Key"], "secret")
        self.assertTrue(request["headers"]["Content-Type"].startswith("application/json"))

    def test_status_codes_decide_retry_or_permanent(self):
        p = Probe({"type": "webhook", "url": self.peer.url})
        self.addCleanup(p.close)
        for status, headers, want in ((500, {}, "retry"), (408, {}, "retry"), (404, {}, "permanent"),
                                      (400, {}, "permanent"), (429, {"Retry-After": "12"}, "retry")):
            self.peer.status, self.peer.headers = status, headers
            r = p.send(notification())
            self.assertEqual(r["result"], want, (status, r))
        self.assertEqual(r["retry_after_ms"], 12000)


class AlertmanagerTest(unittest.TestCase):
    """A real Alertmanager receives the `format: alertmanager` posts."""

    def setUp(self):
        if not os.path.exists(ALERTMANAGER):
            self.skipTest("prometheus-alertmanager is not installed")
        self.folder = tempfile.mkdtemp(prefix="redflag-am-")
        self.addCleanup(shutil.rmtree, self.folder, True)
        with open(os.path.join(self.folder, "alertmanager.yml"), "w") as f:
            f.write("route: {receiver: blackhole}\nreceivers: [{name: blackhole}]\n")
        for attempt in range(5):
            self.port = free_port()
            self.log = open(os.path.join(self.folder, "alertmanager.log"), "w+")
            self.process = subprocess.Popen(
                [ALERTMANAGER, "--config.file=" + os.path.join(self.folder, "alertmanager.yml"),
                 "--storage.path=" + os.path.join(self.folder, "data"),
                 "--web.listen-address=127.0.0.1:%d" % self.port, "--cluster.listen-address="],
                stdout=self.log, stderr=subprocess.STDOUT)
            if self.wait_ready():
                break
            self.process.kill()
            self.process.wait()
        else:
            self.fail("alertmanager did not start:\n" + open(self.log.name).read())
        self.addCleanup(self.stop)

    def wait_ready(self, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline and self.process.poll() is None:
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/-/ready" % self.port, timeout=1) as r:
                    if r.status == 200:
                        return True
            except OSError:
                time.sleep(0.1)
        return False

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)
        self.log.close()

    def alerts(self):
        with urllib.request.urlopen("http://127.0.0.1:%d/api/v2/alerts" % self.port, timeout=5) as r:
            return json.load(r)

    def test_firing_alert_shows_in_alertmanager_and_resolves(self):
        p = Probe({"type": "webhook", "format": "alertmanager",
                   "url": "http://127.0.0.1:%d/api/v2/alerts" % self.port})
        self.addCleanup(p.close)
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        r = p.send(notification(at=now, firing_since=now))
        self.assertEqual(r["result"], "sent", r)
        alerts = self.alerts()
        self.assertEqual(len(alerts), 1)
        alert = alerts[0]
        self.assertEqual(alert["labels"], {"alertname": "usage_drop", "account": "acme", "severity": "high",
                                           "team": "cs"})
        self.assertEqual(alert["status"]["state"], "active")
        self.assertEqual(alert["annotations"]["title"], "Usage dropped")
        self.assertEqual(alert["annotations"]["csm_email"], "jane@example.com")
        self.assertEqual(alert["generatorURL"], "https://crm.example.com/accounts/acme")

        r = p.send(notification("resolved", firing_since=now, at=now, resolved_at=now))
        self.assertEqual(r["result"], "sent", r)
        self.assertEqual([a for a in self.alerts() if a["status"]["state"] == "active"], [])

    def test_a_url_without_the_alerts_path_fails_permanently(self):
        p = Probe({"type": "webhook", "format": "alertmanager", "url": "http://127.0.0.1:%d/api/v2/alert" % self.port})
        self.addCleanup(p.close)
        r = p.send(notification())
        self.assertEqual(r["result"], "permanent", r)
        self.assertIn("HTTP 404", r["error"])
        self.assertEqual(self.alerts(), [])


class EmailTest(unittest.TestCase):
    """aiosmtpd as the SMTP server: STARTTLS with a throw-away certificate, AUTH PLAIN."""

    def setUp(self):
        try:
            from aiosmtpd.controller import Controller
            from aiosmtpd.smtp import AuthResult
        except ImportError:
            self.skipTest("python3-aiosmtpd is not installed (run with Debian's /usr/bin/python3)")
        self.folder = tempfile.mkdtemp(prefix="redflag-smtp-")
        self.addCleanup(shutil.rmtree, self.folder, True)
        self.cert = os.path.join(self.folder, "cert.pem")
        key = os.path.join(self.folder, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                        "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out",
                        self.cert], check=True, capture_output=True)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, key)
        test = self
        self.messages = []

        class Handler:
            async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
                if address.startswith("nobody@"):
                    return "550 5.1.1 no such user"
                if address.startswith("later@"):
                    return "451 4.3.0 try again later"
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, server, session, envelope):
                test.messages.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos),
                                      "data": envelope.content, "tls": session.ssl is not None,
                                      "login": session.login_data})
                return "250 Message accepted"

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = auth_data.login == b"redflag" and auth_data.password == b"s3cret"
            return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself

        def start_server(**tls):
            """Starts an aiosmtpd server with AUTH and the given TLS mode; returns its port."""
            for attempt in range(5):
                port = free_port()
                controller = Controller(Handler(), hostname="127.0.0.1", port=port, authenticator=authenticator,
                                        auth_required=True, **tls)
                try:
                    controller.start()
                    self.addCleanup(controller.stop)
                    return port
                except Exception:
                    if attempt == 4:
                        raise

        self.start_server = start_server
        self.tls_context = context
        self.port = start_server(tls_context=context, require_starttls=True)

    def probe(self, **smtp):
        config = {"host": "127.0.0.1", "port": self.port, "starttls": True, "username": "redflag",
                  "password": "s3cret", "from": "Redflag <redflag@example.com>"}
        config.update(smtp)
        p = Probe({"type": "email", "to": "{account.csm_email}", "smtp": config}, timeout_ms=5000, ca_file=self.cert)
        self.addCleanup(p.close)
        return p

    def test_sends_multipart_mail_over_starttls(self):
        r = self.probe().send(notification())
        self.assertEqual(r["result"], "sent", r)
        self.assertEqual(len(self.messages), 1)
        m = self.messages[0]
        self.assertTrue(m["tls"])
        self.assertEqual(m["from"], "redflag@example.com")
        self.assertEqual(m["to"], ["jane@example.com"])
        mail = email.message_from_bytes(m["data"], policy=email.policy.default)
        self.assertEqual(mail["Subject"], "[HIGH] Acme: Usage dropped")
        self.assertEqual(mail["From"], "Redflag <redflag@example.com>")
        self.assertEqual(mail["To"], "jane@example.com")
        self.assertEqual(mail["Message-ID"], "<0123456789abcdef0123456789abcdef-1@example.com>")
        self.assertEqual(mail["X-Redflag-Idempotency-Key"], "0123456789abcdef0123456789abcdef-1")
        self.assertIsNotNone(mail["Date"])
        self.assertEqual(mail.get_content_type(), "multipart/alternative")
        text = mail.get_body(("plain",)).get_content()
        html = mail.get_body(("html",)).get_content()
        self.assertIn("Acme: active users fell from 40 to 15 in 14 days", text)
        self.assertIn('<a href="https://crm.example.com/accounts/acme">Acme</a>', html)

    def test_recovery_subject_and_non_ascii_text(self):
        r = self.probe().send(notification("resolved", account_name="Café São Paulo"))
        self.assertEqual(r["result"], "sent", r)
        mail = email.message_from_bytes(self.messages[0]["data"], policy=email.policy.default)
        self.assertEqual(mail["Subject"], "[HIGH] Café São Paulo: Recovered: Usage dropped")
        self.assertIn("Recovered: Usage dropped, Café São Paulo", mail.get_body(("plain",)).get_content())

    def test_digest_is_one_mail_listing_every_alert(self):
        batch = [notification(), notification(key="k-2", title="No login in 30 days", severity="critical")]
        r = self.probe().digest(batch)
        self.assertEqual(r["result"], "sent", r)
        mail = email.message_from_bytes(self.messages[0]["data"], policy=email.policy.default)
        self.assertEqual(mail["Subject"], "Redflag digest: 2 alerts")
        text = mail.get_body(("plain",)).get_content()
        self.assertLess(text.index("No login in 30 days"), text.index("Usage dropped"))

    def test_sends_over_implicit_tls(self):
        # `tls: true` (smtps, port 465 style): TLS from the first byte, no STARTTLS.
        port = self.start_server(ssl_context=self.tls_context, auth_require_tls=False)
        r = self.probe(port=port, starttls=False, tls=True).send(notification())
        self.assertEqual(r["result"], "sent", r)
        self.assertEqual(len(self.messages), 1)
        self.assertEqual(self.messages[0]["to"], ["jane@example.com"])
        mail = email.message_from_bytes(self.messages[0]["data"], policy=email.policy.default)
        self.assertEqual(mail["Subject"], "[HIGH] Acme: Usage dropped")
        # The server requires AUTH: a wrong password over the same TLS session is refused.
        r = self.probe(port=port, starttls=False, tls=True, password="wrong").send(notification())
        self.assertEqual(r["result"], "permanent", r)
        # The same server spoken to in plain SMTP fails: the session above was TLS.
        r = self.probe(port=port, starttls=False, tls=False).send(notification())
        self.assertNotEqual(r["result"], "sent", r)
        self.assertEqual(len(self.messages), 1)

    def test_rejections_wrong_password_and_no_server(self):
        p = self.probe()
        r = p.send(notification(recipient="nobody@example.com"))
        self.assertEqual(r["result"], "permanent", r)
        self.assertIn("550", r["error"])
        r = p.send(notification(recipient="later@example.com"))
        self.assertEqual(r["result"], "retry", r)
        self.assertIn("451", r["error"])
        r = self.probe(password="wrong").send(notification())
        self.assertEqual(r["result"], "permanent", r)
        r = self.probe(port=free_port()).send(notification())
        self.assertEqual(r["result"], "retry", r)
        self.assertEqual(self.messages, [])


if __name__ == "__main__":
    unittest.main()
