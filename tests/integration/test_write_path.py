"""The write path's failure modes against the real binary (issue 11): a full disk, and a
reload to an empty rule set; and the engine's rule metrics as /metrics shows them."""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

from harness import Service, metric_value

ONE_RULE = """
rule low_nps {
  title    "Low NPS"
  when     avg(nps.score, 30d) < 7
  severity high
}
"""


def nps(account, event_id, score, pad=""):
    # Now: the rule's 30-day window is read at the service's wall clock.
    at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    e = {"id": event_id, "type": "nps", "account": account, "at": at, "score": score}
    if pad:
        e["note"] = pad
    return e


class EmptyReload(unittest.TestCase):
    def test_a_reload_to_no_rule_is_refused_unless_asked(self):
        with Service(rules={"a.rules": ONE_RULE}) as svc:
            status, body = svc.post_events([nps("acme", "n1", 2)])
            self.assertEqual(status, 202, body)
            deadline = time.time() + 10
            while time.time() < deadline:
                _, alerts = svc.json("GET", "/v1/alerts?state=firing")
                if alerts["alerts"]:
                    break
                time.sleep(0.05)
            self.assertEqual(len(alerts["alerts"]), 1, alerts)

            with open(os.path.join(svc.rules_dir, "a.rules"), "w") as f:
                f.write("# nothing here any more\n")
            status, body = svc.json("POST", "/-/reload")
            self.assertEqual(status, 400, body)
            self.assertIn("allow_empty=1", body["error"])
            self.assertEqual(metric_value(svc.metrics(), "redflag_rules_loaded"), 1)
            _, alerts = svc.json("GET", "/v1/alerts?state=firing")
            self.assertEqual(len(alerts["alerts"]), 1, "the running rules stay, their alert still fires")

            # SIGHUP never empties the set.
            svc.process.send_signal(signal.SIGHUP)
            deadline = time.time() + 10
            while time.time() < deadline and svc.read_log().count("the rule files define no rule") < 2:
                time.sleep(0.05)
            self.assertEqual(svc.read_log().count("the rule files define no rule"), 2, svc.read_log())
            self.assertEqual(metric_value(svc.metrics(), "redflag_rules_loaded"), 1)

            status, body = svc.json("POST", "/-/reload?allow_empty=1")
            self.assertEqual(status, 200, body)
            self.assertEqual(body["rules"], 0)
            self.assertEqual(metric_value(svc.metrics(), "redflag_rules_loaded"), 0)


class RuleMetrics(unittest.TestCase):
    def test_evaluations_and_runtime_errors_are_counted_per_rule(self):
        rules = ONE_RULE + """
rule tier_above_5 {
  title    "Tier"
  when     account.attributes.tier > 5
  severity low
}
"""
        with Service(rules={"a.rules": rules}) as svc:
            at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            status, body = svc.post_events([
                {"id": "p1", "type": "account", "account": "acme", "at": at, "attributes": {"tier": "gold"}},
                nps("bolt", "n1", 9)])
            self.assertEqual(status, 202, body)
            deadline = time.time() + 10
            while time.time() < deadline:
                text = svc.metrics()
                errors = metric_value(text, "redflag_rule_runtime_errors_total", {"rule": "tier_above_5"})
                if errors:
                    break
                time.sleep(0.05)
            self.assertGreaterEqual(errors or 0, 1, text)
            self.assertEqual(metric_value(text, "redflag_rule_runtime_errors_total", {"rule": "low_nps"}), 0)
            self.assertGreaterEqual(metric_value(text, "redflag_rule_evaluations_total", {"rule": "low_nps"}), 2)
            self.assertGreaterEqual(metric_value(text, "redflag_rule_eval_duration_seconds_count"), 1)


class FullDisk(unittest.TestCase):
    """The store on a small tmpfs: fill it, get 503s, grow it, ingest again. Needs mount
    (root, as in CI); skipped with a message where mounting is not allowed."""

    def setUp(self):
        self.folder = tempfile.mkdtemp(prefix="redflag-it-disk-")
        self.data = os.path.join(self.folder, "data")
        os.makedirs(self.data)
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=12m", "tmpfs", self.data],
                           capture_output=True, text=True)
        if r.returncode != 0:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.skipTest("cannot mount a tmpfs here (%s): the fault-injecting Env of "
                          "tests/engine/service_test.cpp covers the same path" % r.stderr.strip())

    def tearDown(self):
        subprocess.run(["umount", self.data], capture_output=True)
        shutil.rmtree(self.folder, ignore_errors=True)

    def test_a_full_disk_answers_503_until_space_returns_and_loses_nothing(self):
        svc = Service(rules={"a.rules": ONE_RULE}, folder=self.folder)
        try:
            accepted = []
            refused = None
            pad = "x" * 400
            for batch in range(200):
                events = [nps("acc-%d" % (i % 300), "e-%d-%d" % (batch, i), 8, pad=pad) for i in range(500)]
                status, headers, data = svc.request(
                    "POST", "/v1/events", "".join(json.dumps(e) + "\n" for e in events),
                    {"Content-Type": "application/x-ndjson"})
                if status == 202:
                    accepted.extend(events)
                    continue
                refused = (status, headers, json.loads(data))
                break
            self.assertIsNotNone(refused, "the disk never filled")
            status, headers, body = refused
            self.assertEqual(status, 503, body)
            self.assertIn("Retry-After", headers)
            self.assertIn("No space left", body["error"])
            self.assertIsNone(svc.process.poll(), "the service is still running")
            status, ready = svc.json("GET", "/readyz")
            self.assertEqual(status, 503)
            self.assertIn("the store takes no writes", ready["reason"])
            self.assertGreaterEqual(
                metric_value(svc.metrics(), "redflag_store_write_failures_total", {"reason": "no_space"}), 1)

            subprocess.run(["mount", "-o", "remount,size=256m", self.data], check=True)
            deadline = time.time() + 20
            status = None
            while time.time() < deadline:
                status, body = svc.post_events([nps("acme", "after", 9)])
                if status == 202:
                    break
                time.sleep(0.2)
            self.assertEqual(status, 202, body)
            self.assertEqual(svc.json("GET", "/readyz")[0], 200)

            # Nothing acknowledged is lost: after a kill -9 every accepted event is a duplicate.
            svc.kill9()
            svc.start()
            for start in range(0, len(accepted), 1000):
                chunk = accepted[start:start + 1000]
                status, body = svc.post_events(chunk, ndjson=True)
                self.assertEqual(status, 202, body)
                self.assertEqual(body["duplicates"], len(chunk), body)
            status, body = svc.post_events([nps("acme", "after", 9)])
            self.assertEqual(body["duplicates"], 1, body)
        finally:
            svc.stop()


if __name__ == "__main__":
    unittest.main()
