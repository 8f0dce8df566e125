"""Cluster mode end to end (issue 17): three real nats-server processes in a JetStream
cluster on loopback and two `redflag serve` instances (roles ingest and engine).

Events are posted to one instance while the other is kill -9'ed mid-stream: every
acknowledged event must be reflected in the survivor's account state, and the alerts
firing at the end must be those `redflag replay --outcomes` gives on the same events.
Then one nats-server is killed: ingest and evaluation go on (replicas 3).

Reads and actions from any instance: accounts, alerts (fanned out and merged, paginated),
acks and snoozes answered by the owner of the account's partition whichever instance is
asked, with the caller's token; a reload on one instance reaches the others, and a
rule mismatch shows in /readyz and redflag_cluster_rules_mismatch; a third instance joins
and takes a share of the partitions.
"""
import datetime
import hashlib
import hmac
import http.server
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.parse

from harness import BINARY, Service, free_port, metric_value, wait_for
from test_hooks import STRIPE_SECRET, Hooks, iso, stripe_event

NATS = shutil.which("nats-server") or "/usr/bin/nats-server"

RULES = """
rule low_nps {
  title    "Low NPS"
  when     avg(nps.score, 30d) < 7
  severity high
  notify   hook
}
"""

PARTITIONS = 16
ACCOUNTS = int(os.environ.get("REDFLAG_CLUSTER_TEST_ACCOUNTS", "1000"))
EVENTS = int(os.environ.get("REDFLAG_CLUSTER_TEST_EVENTS", "20000"))
BATCH = 500


class HookRecorder:
    """A webhook receiver (format: redflag) on loopback: records each POST's
    Idempotency-Key header and body; answers 200."""

    def __init__(self):
        self.lock = threading.Lock()
        self.received = []  # (Idempotency-Key, body)
        recorder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"null")
                with recorder.lock:
                    recorder.received.append((self.headers.get("Idempotency-Key"), body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def snapshot(self):
        with self.lock:
            return list(self.received)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class NatsCluster:
    """Three nats-server processes with JetStream, clustered over loopback."""

    def __init__(self, nodes=3):
        self.folder = tempfile.mkdtemp(prefix="redflag-nats-")
        self.client = [free_port() for _ in range(nodes)]
        self.route = [free_port() for _ in range(nodes)]
        self.procs = [None] * nodes
        self.logs = []
        for i in range(nodes):
            routes = "".join('    "nats-route://127.0.0.1:%d"\n' % self.route[j] for j in range(nodes) if j != i)
            with open(self.conf(i), "w") as f:
                f.write('server_name: "n%d"\nlisten: "127.0.0.1:%d"\n' % (i, self.client[i]) +
                        'jetstream {\n  store_dir: "%s/store%d"\n  max_memory_store: 268435456\n'
                        '  max_file_store: 4294967296\n}\n' % (self.folder, i) +
                        'cluster {\n  name: "redflag_it"\n  listen: "127.0.0.1:%d"\n  routes: [\n%s  ]\n}\n' %
                        (self.route[i], routes))
        for i in range(nodes):
            self.start(i)

    def conf(self, i):
        return os.path.join(self.folder, "n%d.conf" % i)

    def start(self, i):
        log = open(os.path.join(self.folder, "n%d.log" % i), "ab")
        self.logs.append(log)
        self.procs[i] = subprocess.Popen([NATS, "-c", self.conf(i)], stdout=log, stderr=subprocess.STDOUT)

    def urls(self):
        return ["nats://127.0.0.1:%d" % p for p in self.client]

    def kill9(self, i):
        if self.procs[i] and self.procs[i].poll() is None:
            self.procs[i].kill()
            self.procs[i].wait()

    def cleanup(self):
        for i in range(len(self.procs)):
            self.kill9(i)
        for log in self.logs:
            log.close()
        shutil.rmtree(self.folder, ignore_errors=True)


READ_TOKEN = "it-read-token"
WRITE_TOKEN = "it-write-token"
READ = {"Authorization": "Bearer " + READ_TOKEN}
WRITE = {"Authorization": "Bearer " + WRITE_TOKEN}
# Asked as a peer would: the instance answers from what it owns, and never forwards.
LOCAL = dict(READ, **{"X-Redflag-Forwarded": "test"})
SLACK_SECRET = "it-slack-signing-secret"

# One more rule, which fires for none of the test's accounts.
MORE_RULES = RULES + """
rule no_nps_at_all {
  title    "NPS of zero"
  when     avg(nps.score, 30d) < 1
  severity low
}
"""


def cluster_config(nats, node, hook_port, auth=False):
    # With auth, a Slack channel too (its signing secret checks the button clicks; no
    # rule notifies it, and its API is a closed port: a click's users.info fails fast).
    slack = ("  slack: {type: slack, token: xoxb-it, channel: \"#cs\", api_url: \"http://127.0.0.1:%d/api\", "
             "signing_secret: %s}\n" % (free_port(), SLACK_SECRET)) if auth else ""
    return (("api: {read_tokens: [%s], write_tokens: [%s]}\n" % (READ_TOKEN, WRITE_TOKEN) if auth else "") +
            "channels:\n  hook: {type: webhook, url: \"http://127.0.0.1:%d/hook\", format: redflag}\n" % hook_port +
            slack +
            "engine: {threads: 2, snapshot_interval: 1s}\n"
            "cluster:\n  nats: [%s]\n  partitions: %d\n  replicas: 3\n  node: %s\n"
            "  lease_ttl: 2s\n  renew_interval: 400ms\n  consumer_heartbeat: 500ms\n  start_timeout: 30s\n"
            % (", ".join(nats.urls()), PARTITIONS, node))


def make_events(now):
    """User events (each a new user: the account's user count is the events applied) and
    NPS answers (the low_nps alerts), over ACCOUNTS accounts, in time order."""
    start = now - datetime.timedelta(hours=2)
    events = []
    for i in range(EVENTS):
        account = "acct-%d" % (i % ACCOUNTS)
        at = (start + datetime.timedelta(milliseconds=i * 100)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        at = at[:-4] + "Z"  # milliseconds
        if i % 2 == 0:
            events.append({"type": "user", "account": account, "id": "u%d" % i, "at": at, "user_id": "user-%d" % i})
        else:
            events.append({"type": "nps", "account": account, "id": "n%d" % i, "at": at, "score": (i * 7) % 11})
    return events


def slack_click(svc, action_id, alert_id, action_ts):
    """A signed Slack block_actions request for one of a card's buttons, as Slack sends it."""
    payload = {"type": "block_actions", "user": {"id": "U0JANE", "username": "jane", "team_id": "T0IT"},
               "container": {"type": "message", "message_ts": "1700000000.000100", "channel_id": "C0CARD"},
               "actions": [{"action_id": action_id, "block_id": "redflag_actions", "value": alert_id,
                            "type": "button", "action_ts": action_ts}]}
    body = "payload=" + urllib.parse.quote(json.dumps(payload), safe="")
    timestamp = str(int(time.time()))
    signature = "v0=" + hmac.new(SLACK_SECRET.encode(), ("v0:%s:%s" % (timestamp, body)).encode(),
                                 hashlib.sha256).hexdigest()
    return svc.json("POST", "/v1/slack/interactions", body,
                    {"Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": timestamp,
                     "X-Slack-Signature": signature})


def user_count(events, account):
    return sum(1 for e in events if e["account"] == account and e["type"] == "user")


class ClusterTest(unittest.TestCase):
    def setUp(self):
        if not os.path.exists(NATS):
            self.skipTest("nats-server is not installed (deploy/install-deps.sh test)")
        self.nats = NatsCluster()
        self.hook = HookRecorder()
        self.instances = []

    def tearDown(self):
        for svc in self.instances:
            svc.cleanup()
        self.nats.cleanup()
        self.hook.stop()

    def serve(self, node, auth=False, rules=RULES):
        svc = Service(cluster_config(self.nats, node, self.hook.port, auth), rules={"cluster.rules": rules},
                      expect_start=False)
        self.instances.append(svc)
        svc.start(timeout=60)
        return svc

    def replay_firing(self, events):
        folder = tempfile.mkdtemp(prefix="redflag-replay-")
        try:
            rules = os.path.join(folder, "cluster.rules")
            log = os.path.join(folder, "events.ndjson")
            with open(rules, "w") as f:
                f.write(RULES)
            with open(log, "w") as f:
                f.writelines(json.dumps(e) + "\n" for e in events)
            run = subprocess.run([BINARY, "replay", "--rules", rules, "--events", log, "--outcomes"],
                                 capture_output=True, text=True, timeout=120)
            self.assertEqual(run.returncode, 0, run.stderr)
            last = {}
            for line in run.stdout.splitlines():
                t = json.loads(line)
                last[(t["account"], t["rule"])] = t["state"]
            return {k for k, state in last.items() if state == "firing"}
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def firing(self, svc):
        status, body = svc.json("GET", "/v1/alerts?state=firing")
        self.assertEqual(status, 200, body)
        return {(a["account"], a["rule"]) for a in body["alerts"]}

    def test_kill9_of_an_engine_instance_mid_stream_loses_no_acknowledged_event(self):
        a = self.serve("a")
        b = self.serve("b")
        # Both hold a share before the stream starts.
        self.assertTrue(wait_for(lambda: (metric_value(a.metrics(), "redflag_cluster_leases_owned") or 0) > 0 and
                                 (metric_value(b.metrics(), "redflag_cluster_leases_owned") or 0) > 0, timeout=30),
                        a.read_log()[-3000:] + b.read_log()[-3000:])

        def snapshots_written(svc):
            return metric_value(svc.metrics(), "redflag_cluster_snapshots_total", {"outcome": "written"}) or 0

        events = make_events(datetime.datetime.now(datetime.timezone.utc))
        acknowledged = []
        written_before = snapshots_written(a)
        started = time.time()
        for n, first in enumerate(range(0, len(events), BATCH)):
            if first == len(events) // 2:
                # On a quiet machine half the stream is posted within the 1 s snapshot
                # interval: wait for a snapshot of the events so far, so that the next
                # owner has one to restore (the restore path is what this test checks).
                self.assertTrue(wait_for(lambda: snapshots_written(a) > written_before, timeout=15), a.read_log()[-3000:])
                a.kill9()
            batch = events[first:first + BATCH]
            status, body = b.post_events(batch)
            self.assertEqual(status, 202, body)
            acknowledged.extend(batch)
        post_seconds = time.time() - started

        # Every acknowledged event is in the survivor's accounts (it owns every partition now).
        def all_applied():
            for i in range(ACCOUNTS):
                account = "acct-%d" % i
                status, body = b.json("GET", "/v1/accounts/%s" % account)
                if status != 200 or len(body["users"]) != user_count(acknowledged, account):
                    return False
            return True
        self.assertTrue(wait_for(all_applied, timeout=60), b.read_log()[-5000:])
        self.assertEqual(metric_value(b.metrics(), "redflag_cluster_leases_owned"), PARTITIONS)
        # The killed instance's partitions came back from its snapshots, then the stream.
        self.assertGreater(metric_value(b.metrics(), "redflag_cluster_lease_events_total", {"event": "claimed"}),
                           PARTITIONS // 2)
        self.assertGreater(metric_value(b.metrics(), "redflag_cluster_snapshots_total", {"outcome": "restored"}), 0)

        # The alerts firing at the end are those single-process replay gives.
        expected = self.replay_firing(acknowledged)
        self.assertTrue(expected, "the events should make some accounts fire")
        self.assertTrue(wait_for(lambda: self.firing(b) == expected, timeout=30),
                        "live %d, replay %d: %s" % (len(self.firing(b)), len(expected),
                                                    sorted(self.firing(b) ^ expected)[:10]))
        # Every alert firing at the end was notified at least once, across the kill -9; a
        # notification sent twice (by the former owner, then by the new one) has the same
        # idempotency key and the same content.
        def notified():
            return {(body["account"], body["rule"]) for key, body in self.hook.snapshot() if body["state"] == "firing"}
        self.assertTrue(wait_for(lambda: expected <= notified(), timeout=60),
                        "%d firing alerts never notified, e.g. %s" % (len(expected - notified()),
                                                                     sorted(expected - notified())[:5]))
        by_key = {}
        for key, body in self.hook.snapshot():
            self.assertTrue(key, body)
            self.assertEqual(key, body["idempotency_key"])
            by_key.setdefault(key, set()).add((body["id"], body["state"], body["account"]))
        self.assertEqual([k for k, bodies in by_key.items() if len(bodies) != 1], [])
        print("cluster: %d notifications received, %d distinct keys" % (len(self.hook.snapshot()), len(by_key)))
        print("cluster: %d events over %d accounts posted in %.1f s with an engine kill -9 at half" %
              (len(acknowledged), ACCOUNTS, post_seconds))

        # One nats-server killed: ingest and evaluation go on.
        self.nats.kill9(0)
        more = [{"type": "user", "account": "acct-0", "id": "after-%d" % i,
                 "at": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                 "user_id": "late-%d" % i} for i in range(20)]

        def post_more():
            status, body = b.post_events(more)
            return status == 202
        self.assertTrue(wait_for(post_more, timeout=30), b.read_log()[-3000:])
        # While the servers elect new leaders a lease may lapse and be claimed again: the
        # read is then 503 (no owner) for a moment.
        def caught_up():
            status, body = b.json("GET", "/v1/accounts/acct-0")
            return status == 200 and len(body["users"]) == user_count(acknowledged, "acct-0") + 20
        self.assertTrue(wait_for(caught_up, timeout=30), b.read_log()[-3000:])

    def test_reads_acks_and_reloads_from_any_instance_and_a_joiner_takes_a_share(self):
        a = self.serve("a", auth=True)
        b = self.serve("b", auth=True)
        instances = [a, b]

        def owned(svc):
            return metric_value(svc.metrics(), "redflag_cluster_leases_owned") or 0
        self.assertTrue(wait_for(lambda: owned(a) > 0 and owned(b) > 0 and owned(a) + owned(b) == PARTITIONS,
                                 timeout=30), a.read_log()[-3000:] + b.read_log()[-3000:])

        # 60 accounts, each with one low NPS answer (low_nps fires) and one user.
        now = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=30)
        at = now.strftime("%Y-%m-%dT%H:%M:%SZ")
        accounts = ["acct-%d" % i for i in range(60)]
        events = []
        for acct in accounts:
            events.append({"type": "user", "account": acct, "id": "u-" + acct, "at": at, "user_id": "x-" + acct})
            events.append({"type": "nps", "account": acct, "id": "n-" + acct, "at": at, "score": 2})
        status, body = a.post_events(events)
        self.assertEqual(status, 202, body)

        # Every account answers from both instances; asked locally, exactly one owns it.
        def readable_everywhere():
            for acct in accounts:
                for svc in instances:
                    status, body = svc.json("GET", "/v1/accounts/" + acct, headers=READ)
                    if status != 200 or len(body["users"]) != 1:
                        return False
            return True
        self.assertTrue(wait_for(readable_everywhere, timeout=30), a.read_log()[-3000:] + b.read_log()[-3000:])
        owner = {}
        for acct in accounts:
            answers = [svc.json("GET", "/v1/accounts/" + acct, headers=LOCAL)[0] for svc in instances]
            self.assertEqual(sorted(answers), [200, 421], acct)
            owner[acct] = instances[answers.index(200)]
        self.assertEqual({id(s) for s in owner.values()}, {id(a), id(b)}, "both instances own some accounts")
        # The caller's token goes along: without it, the non-owner refuses as the owner would.
        self.assertEqual(a.json("GET", "/v1/accounts/acct-0")[0], 401)
        status, history = (b if owner["acct-0"] is a else a).json("GET", "/v1/accounts/acct-0/history", headers=READ)
        self.assertEqual(status, 200, history)
        self.assertEqual(history["account"], "acct-0")

        # GET /v1/accounts from either instance: every account once, in one order, by pages too.
        def account_page(svc, query):
            status, body = svc.json("GET", "/v1/accounts?" + query, headers=READ)
            self.assertEqual(status, 200, body)
            self.assertNotIn("incomplete", body)
            return body
        listed = [x["id"] for x in account_page(a, "sort=health&limit=1000")["accounts"]]
        self.assertEqual(sorted(listed), sorted(accounts))
        self.assertEqual([x["id"] for x in account_page(b, "sort=health&limit=1000")["accounts"]], listed)
        paged, cursor = [], None
        while True:
            body = account_page(a, "sort=health&limit=9" + ("&cursor=" + cursor if cursor else ""))
            paged.extend(x["id"] for x in body["accounts"])
            cursor = body["next_cursor"]
            if cursor is None:
                break
        self.assertEqual(paged, listed)

        # GET /v1/alerts from either instance: every firing alert once, in the single
        # instance's order (newest first, then id), and pages of 7 give the same list.
        def firing_list(svc, extra=""):
            status, body = svc.json("GET", "/v1/alerts?state=firing" + extra, headers=READ)
            self.assertEqual(status, 200, body)
            self.assertNotIn("incomplete", body)
            return body
        self.assertTrue(wait_for(lambda: len(firing_list(a)["alerts"]) == len(accounts), timeout=30),
                        firing_list(a))
        full = [x["id"] for x in firing_list(a)["alerts"]]
        self.assertEqual(full, [x["id"] for x in firing_list(b)["alerts"]])
        self.assertEqual({x["account"] for x in firing_list(b)["alerts"]}, set(accounts))
        paged, cursor = [], None
        while True:
            body = firing_list(b, "&limit=7" + ("&cursor=" + cursor if cursor else ""))
            self.assertLessEqual(len(body["alerts"]), 7)
            paged.extend(x["id"] for x in body["alerts"])
            cursor = body["next_cursor"]
            if cursor is None:
                break
        self.assertEqual(paged, full)
        alert_of = {x["account"]: x["id"] for x in firing_list(a)["alerts"]}

        # An ack and a snooze through the instance that does not own the account.
        on_b = next(acct for acct in accounts if owner[acct] is b)
        on_a = next(acct for acct in accounts if owner[acct] is a)
        status, body = a.json("POST", "/v1/alerts/%s/ack" % alert_of[on_b], {"by": "csm@example.com"}, WRITE)
        self.assertEqual(status, 200, body)
        status, body = b.json("GET", "/v1/alerts/" + alert_of[on_b], headers=LOCAL)
        self.assertEqual(status, 200, body)
        self.assertEqual([x["by"] for x in body["acks"]], ["csm@example.com"])
        self.assertEqual(a.json("POST", "/v1/alerts/%s/ack" % alert_of[on_b], {"by": "x"}, READ)[0], 403)
        status, body = b.json("POST", "/v1/alerts/%s/snooze" % alert_of[on_a], {"for": "2h", "by": "csm@example.com"},
                              WRITE)
        self.assertEqual(status, 200, body)
        status, body = a.json("GET", "/v1/alerts/" + alert_of[on_a], headers=LOCAL)
        self.assertEqual(status, 200, body)
        self.assertEqual(len(body["snoozes"]), 1, body)
        self.assertEqual(b.json("POST", "/v1/alerts/no-such-alert/ack", {"by": "x"}, WRITE)[0], 404)

        # Slack calls one instance with a click on a card of an alert the other owns: the
        # owner acts (the click goes there as Slack sent it, signature and all), once.
        on_b_too = next(acct for acct in accounts if owner[acct] is b and acct != on_b)
        on_a_too = next(acct for acct in accounts if owner[acct] is a and acct != on_a)
        status, body = slack_click(a, "redflag_ack", alert_of[on_b_too], "1700000200.000100")
        self.assertEqual(status, 200, body)
        status, body = b.json("GET", "/v1/alerts/" + alert_of[on_b_too], headers=LOCAL)
        self.assertEqual([x["by"] for x in body["acks"]], ["slack:U0JANE"], body)
        status, body = slack_click(a, "redflag_ack", alert_of[on_b_too], "1700000200.000100")  # Slack's retry
        self.assertEqual((status, body.get("duplicate")), (200, True), body)
        self.assertEqual(len(b.json("GET", "/v1/alerts/" + alert_of[on_b_too], headers=LOCAL)[1]["acks"]), 1)
        status, body = slack_click(b, "redflag_snooze_1d", alert_of[on_a_too], "1700000300.000100")
        self.assertEqual(status, 200, body)
        self.assertEqual(len(a.json("GET", "/v1/alerts/" + alert_of[on_a_too], headers=LOCAL)[1]["snoozes"]), 1)
        self.assertEqual(slack_click(a, "redflag_ack", "no-such-alert", "1700000400.000100")[0], 404)

        # Rules: b's files change and b reloads; a is asked to reload too, but its own
        # files are the old ones: both say the rules differ.
        def rules_loaded(svc):
            return metric_value(svc.metrics(), "redflag_rules_loaded")

        def mismatch(svc):
            return metric_value(svc.metrics(), "redflag_cluster_rules_mismatch")
        self.assertEqual((mismatch(a), mismatch(b)), (0, 0))
        self.assertNotIn("warning", a.json("GET", "/readyz")[1])
        with open(os.path.join(b.rules_dir, "cluster.rules"), "w") as f:
            f.write(MORE_RULES)
        status, body = b.json("POST", "/-/reload", headers=WRITE)
        self.assertEqual(status, 200, body)
        self.assertEqual(body["peers"], "asked to reload")
        self.assertTrue(wait_for(lambda: (metric_value(a.metrics(), "redflag_cluster_reload_requests_total",
                                                       {"direction": "received"}) or 0) == 1, timeout=10))
        self.assertTrue(wait_for(lambda: mismatch(a) == 1 and mismatch(b) == 1, timeout=10))
        self.assertEqual((rules_loaded(a), rules_loaded(b)), (1, 2))
        status, ready = a.json("GET", "/readyz")
        self.assertEqual(status, 200, ready)
        self.assertIn("the rule files differ between instances", ready["warning"])
        self.assertIn("b (", ready["warning"])
        # The same files on a, a reload asked of b only: a reloads too, and they agree.
        with open(os.path.join(a.rules_dir, "cluster.rules"), "w") as f:
            f.write(MORE_RULES)
        status, body = b.json("POST", "/-/reload", headers=WRITE)
        self.assertEqual(status, 200, body)
        self.assertTrue(wait_for(lambda: rules_loaded(a) == 2, timeout=10), a.read_log()[-2000:])
        self.assertTrue(wait_for(lambda: mismatch(a) == 0 and mismatch(b) == 0, timeout=10))
        self.assertNotIn("warning", b.json("GET", "/readyz")[1])

        # A third instance joins and takes a share; reads through it work, and asked
        # locally the three list disjoint parts of the alerts.
        c = self.serve("c", auth=True, rules=MORE_RULES)
        instances.append(c)
        self.assertTrue(wait_for(lambda: owned(c) > 0 and owned(a) + owned(b) + owned(c) == PARTITIONS and
                                 min(owned(a), owned(b), owned(c)) >= PARTITIONS // 3, timeout=30),
                        "owned: %s" % [owned(s) for s in instances])
        self.assertTrue(wait_for(lambda: all(c.json("GET", "/v1/accounts/" + acct, headers=READ)[0] == 200
                                             for acct in accounts), timeout=20), c.read_log()[-3000:])

        def parts():
            out = []
            for svc in instances:
                status, body = svc.json("GET", "/v1/alerts?state=firing", headers=LOCAL)
                self.assertEqual(status, 200, body)
                out.append([x["id"] for x in body["alerts"]])
            return out
        self.assertTrue(wait_for(lambda: sorted(sum(parts(), [])) == sorted(full) and all(parts()), timeout=20),
                        parts())
        self.assertEqual([x["id"] for x in firing_list(c)["alerts"]], full)
        self.assertTrue(wait_for(lambda: mismatch(c) == 0, timeout=10))

    def test_vendor_hooks_publish_to_the_stream_and_so_do_released_waiting_events(self):
        a = Service(cluster_config(self.nats, "a", self.hook.port) +
                    "adapters:\n  stripe:\n    secret: %s\n"
                    "    products: {prod_PjT2Analytics: analytics, prod_PjT2Platform: platform}\n"
                    "    seat_products: [prod_PjT2Analytics]\n" % STRIPE_SECRET,
                    rules={"cluster.rules": RULES}, expect_start=False)
        self.instances.append(a)
        a.start(timeout=60)
        hooks = Hooks(a)

        def published():
            return metric_value(a.metrics(), "redflag_cluster_published_events_total", {"outcome": "stored"}) or 0

        def mrr(account):
            status, body = a.json("GET", "/v1/accounts/" + account)
            return body["contract"]["mrr"] if status == 200 and body.get("contract") else None
        self.assertTrue(wait_for(lambda: metric_value(a.metrics(), "redflag_cluster_leases_owned") == PARTITIONS,
                                 timeout=30), a.read_log()[-3000:])
        now = int(time.time())
        # A customer the accounts do not know yet: its events wait on this instance.
        customer = "cus_cluster_it"
        created = stripe_event("stripe/customer.subscription.created.json", now - 3 * 3600)
        created["data"]["object"]["customer"] = customer
        status, body = hooks.stripe(created)
        self.assertEqual((status, body["unmatched"]), (200, 1), body)
        before = published()
        # The account event mapping it goes through the stream; once its owner applied it,
        # the waiting event is published to the account's partition too, not submitted to
        # the local engine (which would keep it out of the stream: lost to a failover).
        status, body = a.post_events([{"type": "account", "account": "late-co", "name": "Late Co",
                                       "external_ids": {"stripe": customer}, "at": iso(now - 4 * 3600)}])
        self.assertEqual(status, 202, body)
        self.assertTrue(wait_for(lambda: mrr("late-co") == 700, timeout=20), a.read_log()[-3000:])
        self.assertEqual(published() - before, 2, "the account event and the released subscription")
        # A hook of a known customer is published like POST /v1/events (200 once acked).
        raised = stripe_event("stripe/customer.subscription.updated.json", now - 2 * 3600)
        raised["data"]["object"]["customer"] = customer
        status, body = hooks.stripe(raised)
        self.assertEqual((status, body["accepted"]), (200, 1), body)
        self.assertEqual(published() - before, 3)
        self.assertTrue(wait_for(lambda: mrr("late-co") == 1000, timeout=20), a.read_log()[-3000:])

    def test_start_up_without_nats_exits_2_with_a_clear_message(self):
        svc = Service(cluster_config(self.nats, "lonely", self.hook.port).replace("start_timeout: 30s", "start_timeout: 2s")
                      .replace(self.nats.urls()[0], "nats://127.0.0.1:%d" % free_port())
                      .replace(self.nats.urls()[1], "nats://127.0.0.1:%d" % free_port())
                      .replace(self.nats.urls()[2], "nats://127.0.0.1:%d" % free_port()),
                      rules={"cluster.rules": RULES}, expect_start=False)
        self.instances.append(svc)
        code, log = svc.run_until_exit(timeout=60)
        self.assertEqual(code, 2, log)
        self.assertIn("cluster: connecting to NATS failed for 2s", log)


if __name__ == "__main__":
    unittest.main()
