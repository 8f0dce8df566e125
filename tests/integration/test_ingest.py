"""Webhook ingest against the real binary: every rule of acceptance of events.md."""
import datetime
import json
import os
import signal
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import Service, hmac_signature, metric_value  # noqa: E402


def days_ago(days):
    """An RFC 3339 instant `days` before now: live ingest refuses events older than
    storage.retention (400 days) and more than ingest.max_future (1 day) ahead."""
    t = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=days)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


AT = days_ago(30)


def usage(n, account="acme", **extra):
    e = {"id": "u-%d" % n, "type": "usage", "account": account, "at": AT, "metric": "active_users", "value": n}
    e.update(extra)
    return e


class Acceptance(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.svc = Service()

    @classmethod
    def tearDownClass(cls):
        cls.svc.cleanup()

    def test_health_and_readiness(self):
        self.assertEqual(self.svc.request("GET", "/healthz")[0], 200)
        self.assertEqual(self.svc.request("GET", "/readyz")[0], 200)

    def test_single_object_then_duplicate(self):
        status, body = self.svc.post_events({"id": "one-1", "type": "nps", "account": "acme", "score": 9, "at": AT})
        self.assertEqual((status, body), (202, {"accepted": 1, "duplicates": 0}))
        status, body = self.svc.post_events({"id": "one-1", "type": "nps", "account": "acme", "score": 9, "at": AT})
        self.assertEqual((status, body), (202, {"accepted": 0, "duplicates": 1}))

    def test_array_and_ndjson(self):
        status, body = self.svc.post_events([usage(1, "arr"), usage(2, "arr")])
        self.assertEqual((status, body), (202, {"accepted": 2, "duplicates": 0}))
        status, body = self.svc.post_events([usage(2, "arr"), usage(3, "arr")], ndjson=True)
        self.assertEqual((status, body), (202, {"accepted": 1, "duplicates": 1}))

    def test_event_without_id_is_recognised_by_content(self):
        e = {"type": "activity", "account": "hash", "kind": "call", "at": AT}
        self.assertEqual(self.svc.post_events(e), (202, {"accepted": 1, "duplicates": 0}))
        self.assertEqual(self.svc.post_events(e), (202, {"accepted": 0, "duplicates": 1}))
        e2 = dict(e, kind="meeting")
        self.assertEqual(self.svc.post_events(e2), (202, {"accepted": 1, "duplicates": 0}))

    def test_invalid_batch_stores_nothing_and_lists_every_problem(self):
        batch = [usage(10, "inv"), {"type": "nps", "account": "inv", "score": 11, "at": AT},
                 {"type": "ticket", "account": "inv", "ticket_id": "t1", "status": "bogus"},
                 {"type": "warp", "account": "inv"}]
        status, body = self.svc.post_events(batch)
        self.assertEqual(status, 400)
        self.assertEqual(body["error"], "invalid events")
        got = {(d["index"], d["field"]) for d in body["details"]}
        self.assertIn((1, "score"), got)
        self.assertIn((2, "status"), got)
        self.assertIn((3, "type"), got)
        for d in body["details"]:
            self.assertTrue(d["message"])
        # Nothing of the batch was stored: its valid event is new when sent alone.
        self.assertEqual(self.svc.post_events(usage(10, "inv")), (202, {"accepted": 1, "duplicates": 0}))

    def test_ndjson_problem_index_is_line_minus_one(self):
        body = json.dumps(usage(20, "nd")) + "\n" + json.dumps({"type": "csat", "account": "nd", "score": 9}) + "\n"
        status, out = self.svc.json("POST", "/v1/events", body, {"Content-Type": "application/x-ndjson"})
        self.assertEqual(status, 400)
        self.assertEqual(out["details"][0]["index"], 1)
        self.assertEqual(out["details"][0]["field"], "score")

    def test_malformed_json_names_where(self):
        status, out = self.svc.json("POST", "/v1/events", '{"type": "usage", "account": ', {"Content-Type": "application/json"})
        self.assertEqual(status, 400)
        self.assertRegex(json.dumps(out), r"offset|line")
        body = json.dumps(usage(30, "mal")) + "\n{broken\n"
        status, out = self.svc.json("POST", "/v1/events", body, {"Content-Type": "application/x-ndjson"})
        self.assertEqual(status, 400)
        self.assertIn("line 2", json.dumps(out))

    def test_status_codes(self):
        self.assertEqual(self.svc.request("POST", "/v1/events", "x", {"Content-Type": "text/plain"})[0], 415)
        self.assertEqual(self.svc.request("GET", "/nowhere")[0], 404)
        status, headers, _ = self.svc.request("GET", "/v1/events")
        self.assertEqual(status, 405)
        self.assertIn("POST", headers.get("Allow", ""))
        big = "[" + ",".join([json.dumps(usage(1, "big"))] * 40000) + "]"
        self.assertGreater(len(big), 4 * 1024 * 1024)
        self.assertEqual(self.svc.request("POST", "/v1/events", big, {"Content-Type": "application/json"})[0], 413)

    def test_more_than_ten_thousand_events_is_refused(self):
        events = [usage(i, "many") for i in range(10001)]
        body = "".join(json.dumps(e) + "\n" for e in events)
        status, out = self.svc.json("POST", "/v1/events", body, {"Content-Type": "application/x-ndjson"})
        self.assertIn(status, (400, 413))
        self.assertIn("10000", json.dumps(out).replace(",", ""))

    def refused(self, body, index, field):
        """Posts a raw JSON body and checks it is a 400 naming (index, field)."""
        status, out = self.svc.json("POST", "/v1/events", body, {"Content-Type": "application/json"})
        self.assertEqual(status, 400, out)
        self.assertEqual(out["error"], "invalid events")
        self.assertIn((index, field), {(d["index"], d["field"]) for d in out["details"]}, out)
        return out

    def test_control_characters_in_ids_are_refused_with_the_field_named(self):
        # A NUL in an account id used to pass, fail the shard's write rounds (unrelated
        # requests got 500) and every snapshot after it.
        nul = {"type": "usage", "account": "ev\u0000il", "metric": "logins", "at": AT}
        self.refused(json.dumps([usage(40, "ctl"), nul]), 1, "account")
        self.refused(json.dumps(usage(41, "ctl", user_id="u\u0007")), 0, "user_id")
        self.refused(json.dumps({"type": "ticket", "account": "ctl", "ticket_id": "t\n1", "status": "open",
                                 "at": AT}), 0, "ticket_id")
        self.refused(json.dumps(dict(usage(42, "ctl"), id="a\u001fb")), 0, "id")
        self.refused(json.dumps({"type": "nps", "account": "ctl", "score": 9, "comment": "bell\u0007", "at": AT}),
                     0, "comment")
        # Text may hold tabs and line breaks; the batch of the good event alone is stored,
        # and the service goes on answering 202.
        ok = {"type": "nps", "account": "ctl", "score": 9, "comment": "line one\nline\ttwo", "at": AT}
        self.assertEqual(self.svc.post_events([usage(40, "ctl"), ok]), (202, {"accepted": 2, "duplicates": 0}))
        self.assertEqual(self.svc.json("GET", "/v1/accounts/ctl")[0], 200)

    def test_non_finite_numbers_are_refused_anywhere_in_an_event(self):
        # 1e400 parsed as Infinity was stored, and the account view printed invalid JSON.
        self.refused('{"type": "contract", "account": "inf", "mrr": 1e400, "at": "%s"}' % AT, 0, "mrr")
        self.refused('{"type": "usage", "account": "inf", "metric": "m", "value": -1e400, "at": "%s"}' % AT, 0, "value")
        self.refused('{"type": "usage", "account": "inf", "metric": "m", "extra": [1, 1e999], "at": "%s"}' % AT,
                     0, "extra[1]")
        self.refused('{"type": "account", "account": "inf", "attributes": {"arr": 1e400}, "at": "%s"}' % AT,
                     0, "attributes.arr")
        self.assertEqual(self.svc.request("GET", "/v1/accounts/inf")[0], 404)  # nothing stored

    def test_money_and_counts_are_bounded(self):
        # An MRR near 9.2e15 overflowed the KPI money sums (int64 thousandths).
        out = self.refused(json.dumps({"type": "contract", "account": "big", "mrr": 9.2e15, "at": AT}), 0, "mrr")
        self.assertIn("10000000", out["details"][0]["message"])
        self.refused(json.dumps({"type": "account", "account": "big", "seats": 10 ** 12, "at": AT}), 0, "seats")
        self.refused(json.dumps(usage(43, "big", value=1e13)), 0, "value")
        self.assertEqual(self.svc.post_events({"type": "contract", "account": "big", "mrr": 10000000, "at": AT}),
                         (202, {"accepted": 1, "duplicates": 0}))

    def test_events_older_than_retention_or_too_far_ahead_are_refused(self):
        # An event older than storage.retention would have its idempotency id compacted
        # away at once, so a redelivery would be applied twice.
        self.refused(json.dumps(usage(44, "when", at=days_ago(401))), 0, "at")
        self.refused(json.dumps(usage(45, "when", at=days_ago(-2))), 0, "at")
        self.assertEqual(self.svc.post_events([usage(46, "when", at=days_ago(399)), usage(47, "when", at=days_ago(-0.5))]),
                         (202, {"accepted": 2, "duplicates": 0}))

    def test_keep_alive_serves_several_requests_on_one_connection(self):
        import http.client
        conn = http.client.HTTPConnection("127.0.0.1", self.svc.port, timeout=10)
        try:
            for i in range(5):
                status, _, _ = self.svc.request("POST", "/v1/events", json.dumps(usage(100 + i, "ka")),
                                                {"Content-Type": "application/json"}, connection=conn)
                self.assertEqual(status, 202)
        finally:
            conn.close()

    def test_account_view_shows_profile_contract_users_tickets_and_counts(self):
        events = [
            {"type": "account", "account": "view", "name": "View Co", "csm": "Dana", "seats": 20, "at": days_ago(60)},
            {"type": "contract", "account": "view", "mrr": 1200, "renewal_at": days_ago(-300),
             "products": ["backup"], "at": days_ago(59)},
            {"type": "user", "account": "view", "user_id": "u1", "role": "superuser", "at": days_ago(58)},
            {"type": "ticket", "account": "view", "ticket_id": "t1", "status": "open", "priority": "urgent",
             "at": days_ago(57)},
            {"type": "ticket", "account": "view", "ticket_id": "t2", "status": "open", "at": days_ago(57)},
            {"type": "ticket", "account": "view", "ticket_id": "t2", "status": "solved", "at": days_ago(56)},
            # older than the profile's name: must not overwrite it
            {"type": "account", "account": "view", "name": "Old Name", "at": days_ago(200)},
        ]
        self.assertEqual(self.svc.post_events(events)[0], 202)
        status, acct = self.svc.json("GET", "/v1/accounts/view")
        self.assertEqual(status, 200, acct)
        text = json.dumps(acct)
        self.assertEqual(acct["id"], "view")
        self.assertEqual(acct["profile"]["name"], "View Co")
        self.assertEqual(acct["profile"]["mrr"], 1200)
        self.assertIn("u1", text)
        open_ids = [t["id"] for t in acct["open_tickets"]]
        self.assertEqual(open_ids, ["t1"])
        self.assertIn("event_counts", acct)
        self.assertEqual(self.svc.request("GET", "/v1/accounts/nobody")[0], 404)

    def test_metrics_count_ingest(self):
        self.svc.post_events(usage(500, "met"))
        text = self.svc.metrics()
        self.assertIsNotNone(metric_value(text, "redflag_events_ingested_total", {"outcome": "accepted"}))
        self.assertIn("redflag_ingest_request_duration_seconds", text)
        self.assertIn("redflag_store_size_bytes", text)


class Auth(unittest.TestCase):
    def test_bearer_tokens(self):
        with Service("ingest: {tokens: [s3cret, other]}\n") as svc:
            self.assertEqual(svc.post_events(usage(1))[0], 401)
            self.assertEqual(svc.post_events(usage(1), {"Authorization": "Bearer wrong"})[0], 403)
            self.assertEqual(svc.post_events(usage(1), {"Authorization": "Bearer other"})[0], 202)

    def test_hmac_signature(self):
        with Service("ingest: {hmac_secret: ${IT_HMAC}}\n", env={"IT_HMAC": "k3y"}) as svc:
            body = json.dumps(usage(1))
            h = {"Content-Type": "application/json"}
            self.assertEqual(svc.request("POST", "/v1/events", body, h)[0], 401)
            bad = dict(h, **{"X-Redflag-Signature": hmac_signature("nope", body)})
            self.assertEqual(svc.request("POST", "/v1/events", body, bad)[0], 401)
            good = dict(h, **{"X-Redflag-Signature": hmac_signature("k3y", body)})
            self.assertEqual(svc.request("POST", "/v1/events", body, good)[0], 202)

    def test_refuses_non_loopback_without_auth(self):
        svc = Service(expect_start=False)
        svc.edit_config("listen: 127.0.0.1:0", "listen: 0.0.0.0:0")
        code, log = svc.run_until_exit()
        svc.cleanup()
        self.assertEqual(code, 2)
        self.assertIn("insecure", log)


class TimeBounds(unittest.TestCase):
    def test_max_future_and_retention_come_from_the_config(self):
        with Service("ingest: {max_future: 30d}\n", expect_start=False) as svc:
            svc.edit_config("storage: {path: ", "storage: {retention: 10d, path: ")
            svc.start()
            self.assertEqual(svc.post_events(usage(1, "cfg", at=days_ago(-20)))[0], 202)
            status, out = svc.post_events(usage(2, "cfg", at=days_ago(11)))
            self.assertEqual(status, 400)
            self.assertEqual(out["details"][0]["field"], "at")
            self.assertIn("10d", out["details"][0]["message"])


class Durability(unittest.TestCase):
    def test_ten_thousand_acknowledged_events_survive_kill_9(self):
        svc = Service()
        try:
            events = [usage(i, "acct-%d" % (i % 97)) for i in range(10000)]
            for start in range(0, 10000, 1000):
                status, body = svc.post_events(events[start:start + 1000], ndjson=True)
                self.assertEqual((status, body), (202, {"accepted": 1000, "duplicates": 0}))
            svc.kill9()
            svc.start()
            total_dup = 0
            for start in range(0, 10000, 1000):
                status, body = svc.post_events(events[start:start + 1000], ndjson=True)
                self.assertEqual(status, 202)
                self.assertEqual(body["accepted"], 0)
                total_dup += body["duplicates"]
            self.assertEqual(total_dup, 10000)
            # The state came back too: the account's counts include what was sent before the kill.
            status, acct = svc.json("GET", "/v1/accounts/acct-5")
            self.assertEqual(status, 200)
        finally:
            svc.cleanup()

    def test_sync_mode_acknowledges_concurrent_requests(self):
        svc = Service(expect_start=False)
        svc.edit_config("storage: {path: ", "storage: {sync: true, path: ")
        svc.start()
        try:
            results = []

            def send(k):
                for i in range(20):
                    results.append(svc.post_events(usage(k * 1000 + i, "sync-%d" % k))[0])

            threads = [threading.Thread(target=send, args=(k,)) for k in range(8)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            self.assertEqual(results, [202] * 160)
        finally:
            svc.cleanup()

    def test_sigterm_stops_cleanly(self):
        svc = Service()
        try:
            self.assertEqual(svc.post_events(usage(1, "stop"))[0], 202)
            self.assertEqual(svc.stop(signal.SIGTERM), 0)
            svc.start()
            self.assertEqual(svc.post_events(usage(1, "stop"))[1], {"accepted": 0, "duplicates": 1})
        finally:
            svc.cleanup()


class Overload(unittest.TestCase):
    def test_full_queue_answers_503_with_retry_after(self):
        # A queue of one event per shard and a paused engine: the second request cannot be queued.
        with Service("engine: {queue_events: 1, threads: 1}\n", env={"REDFLAG_DEBUG_PAUSE_SHARDS": "1"}) as svc:
            statuses = []
            headers = []

            def send(k):
                try:
                    s, h, _ = svc.request("POST", "/v1/events", json.dumps(usage(k, "load")),
                                          {"Content-Type": "application/json"})
                except OSError:
                    return  # the request the paused engine holds is cut off when the service stops
                statuses.append(s)
                headers.append(h)

            threads = [threading.Thread(target=send, args=(k,)) for k in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=5)
            self.assertIn(503, statuses)
            retry = [h.get("Retry-After") for s, h in zip(statuses, headers) if s == 503]
            self.assertTrue(all(r and r.isdigit() for r in retry), retry)


if __name__ == "__main__":
    unittest.main()
