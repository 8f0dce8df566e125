"""Credentials of the management API and /metrics against the real binary (issue 11,
defect 7): ingest's credentials neither open nor leave open the management API; read
tokens read, write tokens also ack, silence and reload; /metrics can require a token;
/healthz and /readyz stay open; a public listener without API credentials is refused.
"""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import Service, hmac_signature  # noqa: E402

AT = "2026-11-02T09:00:00Z"
SILENCE = {"rule": "usage_drop", "until": "2099-01-01T00:00:00Z", "reason": "probe", "by": "mallory"}


def bearer(token):
    return {"Authorization": "Bearer " + token}


class OnlyHmac(unittest.TestCase):
    def test_management_api_is_closed(self):
        with Service("ingest: {hmac_secret: ${IT_HMAC}}\n", env={"IT_HMAC": "k3y"}) as svc:
            status, body = svc.json("GET", "/v1/accounts/x")
            self.assertEqual(status, 401, body)
            self.assertIn("api.read_tokens", body["error"])
            self.assertEqual(svc.json("POST", "/-/reload")[0], 401)
            self.assertEqual(svc.json("POST", "/v1/silences", SILENCE)[0], 401)
            self.assertEqual(svc.json("GET", "/v1/alerts")[0], 401)
            self.assertEqual(svc.json("GET", "/v1/silences")[0], 401)
            # Nothing was silenced, and ingest still works with its signature.
            self.assertNotIn("silence", svc.read_log())
            body = '{"id":"e1","type":"nps","account":"acme","score":9,"at":"%s"}' % AT
            h = {"Content-Type": "application/json", "X-Redflag-Signature": hmac_signature("k3y", body)}
            self.assertEqual(svc.request("POST", "/v1/events", body, h)[0], 202)
            self.assertEqual(svc.request("GET", "/healthz")[0], 200)
            self.assertEqual(svc.request("GET", "/readyz")[0], 200)


class Scopes(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.svc = Service(
            "ingest: {tokens: [${IT_INGEST}]}\n"
            "api: {read_tokens: [${IT_READ}], write_tokens: [${IT_WRITE}]}\n"
            "metrics: {tokens: [${IT_SCRAPE}]}\n",
            env={"IT_INGEST": "ingest-t", "IT_READ": "read-t", "IT_WRITE": "write-t", "IT_SCRAPE": "scrape-t"})

    @classmethod
    def tearDownClass(cls):
        cls.svc.cleanup()

    def test_ingest_token_does_not_open_the_management_api(self):
        for method, path, body in (("GET", "/v1/accounts/x", None), ("GET", "/v1/alerts", None),
                                   ("POST", "/v1/silences", SILENCE), ("POST", "/-/reload", None)):
            self.assertEqual(self.svc.json(method, path, body, bearer("ingest-t"))[0], 403, path)
        self.assertEqual(self.svc.json("GET", "/v1/accounts/x")[0], 401)
        event = {"id": "e1", "type": "nps", "account": "acme", "score": 9, "at": AT}
        self.assertEqual(self.svc.post_events(event, bearer("ingest-t"))[0], 202)
        self.assertEqual(self.svc.post_events(event, bearer("write-t"))[0], 403)

    def test_read_token_reads_but_cannot_change(self):
        status, body = self.svc.json("GET", "/v1/accounts/nobody", headers=bearer("read-t"))
        self.assertEqual(status, 404, body)  # through the door: there is no such account
        self.assertEqual(self.svc.json("GET", "/v1/alerts", headers=bearer("read-t"))[0], 200)
        self.assertEqual(self.svc.json("GET", "/v1/silences", headers=bearer("read-t"))[0], 200)
        status, body = self.svc.json("POST", "/v1/silences", SILENCE, bearer("read-t"))
        self.assertEqual(status, 403)
        self.assertIn("api.write_tokens", body["error"])
        self.assertEqual(self.svc.json("POST", "/v1/alerts/a1/ack", {"by": "x"}, bearer("read-t"))[0], 403)
        self.assertEqual(self.svc.json("DELETE", "/v1/silences/s1", None, bearer("read-t"))[0], 403)
        self.assertEqual(self.svc.json("POST", "/-/reload", None, bearer("read-t"))[0], 403)

    def test_write_token_acks_silences_and_reloads(self):
        status, body = self.svc.json("POST", "/v1/silences", SILENCE, bearer("write-t"))
        self.assertEqual(status, 201, body)
        status, body = self.svc.json("DELETE", "/v1/silences/" + body["id"], None, bearer("write-t"))
        self.assertEqual(status, 200, body)
        self.assertEqual(self.svc.json("POST", "/v1/alerts/none/ack", {"by": "x"}, bearer("write-t"))[0], 404)
        status, body = self.svc.json("POST", "/-/reload", None, bearer("write-t"))
        self.assertEqual(status, 200, body)
        self.assertEqual(self.svc.json("GET", "/v1/alerts", headers=bearer("write-t"))[0], 200)

    def test_metrics_needs_the_scrape_token(self):
        status, headers, _ = self.svc.request("GET", "/metrics")
        self.assertEqual(status, 401)
        self.assertEqual(headers.get("WWW-Authenticate"), 'Bearer realm="redflag"')
        self.assertEqual(self.svc.request("GET", "/metrics", headers=bearer("read-t"))[0], 403)
        status, _, body = self.svc.request("GET", "/metrics", headers=bearer("scrape-t"))
        self.assertEqual(status, 200)
        self.assertIn(b"redflag_events_ingested_total", body)

    def test_health_and_readiness_stay_open(self):
        self.assertEqual(self.svc.request("GET", "/healthz")[0], 200)
        self.assertEqual(self.svc.request("GET", "/readyz")[0], 200)


class Listener(unittest.TestCase):
    def test_public_listener_without_api_credentials_is_refused(self):
        svc = Service("ingest: {tokens: [t]}\n", expect_start=False)
        try:
            svc.edit_config("listen: 127.0.0.1:0", "listen: 0.0.0.0:0")
            code, log = svc.run_until_exit()
        finally:
            svc.cleanup()
        self.assertEqual(code, 2)
        self.assertIn("api.write_tokens", log)
        self.assertIn("api.insecure", log)

    def test_public_listener_with_api_credentials_starts(self):
        svc = Service("ingest: {tokens: [t]}\napi: {write_tokens: [w]}\n", expect_start=False)
        try:
            svc.edit_config("listen: 127.0.0.1:0", "listen: 0.0.0.0:0")
            svc.start()
            self.assertEqual(svc.json("GET", "/v1/alerts", headers=bearer("w"))[0], 200)
        finally:
            svc.cleanup()


if __name__ == "__main__":
    unittest.main()
