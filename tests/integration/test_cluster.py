"""Cluster mode end to end (issue 17): three real nats-server processes in a JetStream
cluster on loopback and two `redflag serve` instances (roles ingest and engine).

Events are posted to one instance while the other is kill -9'ed mid-stream: every
acknowledged event must be reflected in the survivor's account state, and the alerts
firing at the end must be those `redflag replay --outcomes` gives on the same events.
Then one nats-server is killed: ingest and evaluation go on (replicas 3).
"""
import datetime
import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest

from harness import BINARY, Service, free_port, metric_value, wait_for

NATS = shutil.which("nats-server") or "/usr/bin/nats-server"

RULES = """
rule low_nps {
  title    "Low NPS"
  when     avg(nps.score, 30d) < 7
  severity high
}
"""

PARTITIONS = 16
ACCOUNTS = int(os.environ.get("REDFLAG_CLUSTER_TEST_ACCOUNTS", "1000"))
EVENTS = int(os.environ.get("REDFLAG_CLUSTER_TEST_EVENTS", "20000"))
BATCH = 500


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


def cluster_config(nats, node):
    return ("engine: {threads: 2, snapshot_interval: 1s}\n"
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


def user_count(events, account):
    return sum(1 for e in events if e["account"] == account and e["type"] == "user")


class ClusterTest(unittest.TestCase):
    def setUp(self):
        if not os.path.exists(NATS):
            self.skipTest("nats-server is not installed (deploy/install-deps.sh test)")
        self.nats = NatsCluster()
        self.instances = []

    def tearDown(self):
        for svc in self.instances:
            svc.cleanup()
        self.nats.cleanup()

    def serve(self, node):
        svc = Service(cluster_config(self.nats, node), rules={"cluster.rules": RULES}, expect_start=False)
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

        events = make_events(datetime.datetime.now(datetime.timezone.utc))
        acknowledged = []
        started = time.time()
        for n, first in enumerate(range(0, len(events), BATCH)):
            if first == len(events) // 2:
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
        self.assertTrue(wait_for(lambda: len(b.json("GET", "/v1/accounts/acct-0")[1]["users"]) ==
                                 user_count(acknowledged, "acct-0") + 20, timeout=30), b.read_log()[-3000:])

    def test_start_up_without_nats_exits_2_with_a_clear_message(self):
        svc = Service(cluster_config(self.nats, "lonely").replace("start_timeout: 30s", "start_timeout: 2s")
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
