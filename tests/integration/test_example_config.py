"""The shipped example config (examples/redflag.yaml) with the shipped rules, as a new user
runs it: without SLACK_BOT_TOKEN its Slack channels are off (the service runs, nothing is
sent, the log says why); with a token, a red flag of the shipped rules arrives in
#cs-red-flags, routed there by the channel's `match` (no rule names a channel), and not
in the team leads' channel. Slack is the stand-in (tests/integration/slack_standin.py),
reached through the config's `api_url: ${SLACK_API_URL:-...}`."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import SOURCE_DIR, Service, now_text, wait_for  # noqa: E402
from slack_standin import SlackStandIn  # noqa: E402

# A customer asks to cancel: the shipped rule cancellation_requested (critical) fires at once.
EVENTS = [
    {"type": "account", "account": "acme", "name": "Acme Corp", "csm": "Dana", "csm_email": "dana@vendor.example",
     "at": now_text(-3600)},
    {"type": "contract", "account": "acme", "mrr": 1000, "status": "cancel_requested", "at": now_text(-60)},
]


def example_config(folder):
    with open(os.path.join(SOURCE_DIR, "examples", "redflag.yaml")) as f:
        text = f.read()
    for old, new in (("listen: 127.0.0.1:8080", "listen: 127.0.0.1:0"),
                     ("storage: {path: ./data,", "storage: {path: %s," % os.path.join(folder, "data")),
                     ("rules: {paths: [./rules]}", "rules: {paths: [%s]}" % os.path.join(SOURCE_DIR, "rules"))):
        assert old in text, old
        text = text.replace(old, new)
    return text


class ExampleConfig(unittest.TestCase):
    def setUp(self):
        self.slack = SlackStandIn(token="xoxb-example").start()
        self.addCleanup(self.slack.stop)

    def start(self, env):
        svc = Service(expect_start=False, env=dict(env, SLACK_API_URL=self.slack.api_url))
        self.addCleanup(svc.cleanup)
        for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"):
            if name not in env:
                svc.env.pop(name, None)
        with open(svc.config_path, "w") as f:
            f.write(example_config(svc.folder))
        svc.start()
        status, body = svc.post_events(EVENTS)
        self.assertEqual(status, 202, body)
        return svc

    def firing(self, svc):
        status, body = svc.json("GET", "/v1/alerts?state=firing&rule=cancellation_requested")
        self.assertEqual(status, 200, body)
        return body["alerts"]

    def test_with_a_token_the_shipped_red_flags_arrive_in_slack(self):
        svc = self.start({"SLACK_BOT_TOKEN": "xoxb-example"})
        posted = wait_for(lambda: [m for m in self.slack.messages if m.get("channel") == "#cs-red-flags"], timeout=20)
        self.assertTrue(posted, svc.read_log())
        self.assertIn("Cancellation requested", str(posted[0]))
        self.assertIn("Acme Corp", str(posted[0]))
        self.assertEqual([m for m in self.slack.messages if m.get("channel") == "#cs-team-leads"], [])

    def test_without_a_token_the_channels_are_off(self):
        svc = self.start({})
        self.assertTrue(wait_for(lambda: self.firing(svc), timeout=20), svc.read_log())
        self.assertIn("channel cs_red_flags has no token", svc.read_log())
        self.assertEqual(self.slack.calls, [])
        status, body = svc.json("GET", "/v1/alerts/" + self.firing(svc)[0]["id"])
        self.assertEqual(status, 200, body)
        self.assertEqual(body.get("notifications", []), [], body)


if __name__ == "__main__":
    unittest.main()
