"""Log injection against the real binary (issue 11, defect 8): with `log.format: json`
every line of the log is one valid JSON object, whatever an account id or a silence's
reason holds; with `log.format: text` a newline in a message never starts a line.

The account id reaches the log when its alert fires. Ingest validation may one day reject
such an id (then nothing of it is logged, and the check still holds); the silence's reason
and author reach the log whatever ingest accepts.
"""
import datetime
import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import Service  # noqa: E402

RULE = """rule detractor {
  when     min(nps.score, 30d) <= 6
  severity high
  message  "NPS {min(nps.score, 30d)} for {account.id}"
}
"""

FORGED = 'acme"}\n{"time":"2026-01-01T00:00:00.000Z","level":"critical","message":"forged'


def now_text():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class LogInjection(unittest.TestCase):
    def provoke(self, svc):
        """Sends what would forge lines; returns once the service has logged it."""
        status, body = svc.post_events({"id": "n1", "type": "nps", "account": FORGED, "score": 2, "at": now_text()})
        self.assertIn(status, (202, 400), body)
        silence = {"account": FORGED, "until": "2099-01-01T00:00:00Z", "reason": FORGED, "by": "x\r\ny"}
        status, body = svc.json("POST", "/v1/silences", silence)
        self.assertEqual(status, 201, body)
        deadline = time.time() + 10
        while time.time() < deadline:
            log = svc.read_log()
            if "silence" in log and (status != 202 or "firing" in log):
                return log
            time.sleep(0.05)
        self.fail("nothing logged:\n" + svc.read_log())

    def test_json_lines_are_json_objects(self):
        with Service("log: {format: json}\n", rules={"r.rules": RULE}) as svc:
            log = self.provoke(svc)
            svc.stop()
            lines = svc.read_log().splitlines()
            self.assertTrue(lines)
            messages = []
            for line in lines:
                record = json.loads(line)  # raises on a forged or broken line
                self.assertEqual(set(record), {"time", "level", "message"}, line)
                messages.append(record["message"])
            self.assertNotIn("critical", [json.loads(l)["level"] for l in lines])
            # The hostile text is in the messages, whole, as data.
            self.assertTrue(any(FORGED in m for m in messages), log)

    def test_text_lines_do_not_break(self):
        with Service("log: {format: text}\n", rules={"r.rules": RULE}) as svc:
            self.provoke(svc)
            svc.stop()
            for line in svc.read_log().splitlines():
                # Every line starts with its own timestamp: none begins inside a message.
                self.assertRegex(line, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ", line)
            self.assertIn('acme"}\\n{"time"', svc.read_log())


if __name__ == "__main__":
    unittest.main()
