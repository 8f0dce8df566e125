#!/usr/bin/python3
"""The cluster benchmark of bench/RESULTS.md (issue 17), in one run on this machine:

    bench/cluster.sh BUILD_DIR [--events 200000] [--accounts 20000] [--partitions 16]

(BUILD_DIR from a -DCMAKE_BUILD_TYPE=Release -DREDFLAG_BUILD_BENCH=ON build, with the
redflag and redflag_loadgen targets built. LOG_LEVEL=info for the instances' logs, and
KEEP=1 to keep them, with the stores, in the folder printed at the end.)

1. single   one `redflag serve` without `cluster:` (shipped rules, engine.threads 2,
            storage.sync false), fed by redflag_loadgen: NDJSON batches of 1,000 usage
            events over 4 keep-alive connections (as bench/ingest.sh part 1).
2. cluster  three nats-server processes in a JetStream cluster on loopback (R3), one
            instance with role ingest only (I, which the load generator posts to) and one
            engine instance (E1): the same load. "acked" is the load generator's rate (202
            once JetStream acked every event of a batch); "through" is events / (first post
            -> the engines' redflag_events_ingested_total{outcome="accepted"} counted them
            all), i.e. published, replicated, consumed, evaluated and written.
3. cluster  a second engine instance (E2) joins (the partitions split 8/8): the same load again.
4. failover while a poster sends 100 user events every 50 ms through I, E2 is kill -9'ed.
            Then one event is posted for a probe account of each partition E2 owned, and
            E1 is asked (locally) every 50 ms until that event shows in the account: the
            time from the kill to the new owner applying the partition's next event, for
            each partition. (E2's last heartbeat was at most renew_interval, 2 s, before
            the kill.) Then every acknowledged event of the poster must be in the accounts.

For each phase the CPU seconds each process used (utime + stime from /proc, the load
generator's from its rusage) are divided by the events: the per-event costs of
RESULTS.md's model. Cluster timings are the defaults (lease_ttl 10 s, renew_interval 2 s,
consumer_heartbeat 2 s) with engine.snapshot_interval 10 s, as deploy/cluster.sh.
"""
import argparse
import datetime as dt
import http.client
import json
import os
import re
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NATS = shutil.which("nats-server") or "/usr/bin/nats-server"
TICKS = os.sysconf("SC_CLK_TCK")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def cpu_seconds(pid):
    """utime + stime of a live process, in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def fnv1a(text):
    h = 1469598103934665603
    for c in text.encode():
        h = ((h ^ c) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return h


def partition_of(account, partitions):
    return fnv1a(account) % partitions


def metric_sum(text, name, labels=None):
    """The sum of every sample of `name` whose labels include `labels`."""
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name) or line[len(name)] not in "{ ":
            continue
        head, value = line.rsplit(" ", 1)
        if labels and not all('%s="%s"' % kv in head for kv in labels.items()):
            continue
        total += float(value)
    return total


class Process:
    """A process whose CPU time a phase counts."""

    def __init__(self, pid):
        self.pid = pid

    def cpu(self):
        return cpu_seconds(self.pid)


class Nats:
    """Three nats-server processes with JetStream, clustered over loopback."""

    def __init__(self, work):
        self.client = [free_port() for _ in range(3)]
        route = [free_port() for _ in range(3)]
        self.procs = []
        for i in range(3):
            routes = "".join('    "nats-route://127.0.0.1:%d"\n' % route[j] for j in range(3) if j != i)
            conf = os.path.join(work, "n%d.conf" % i)
            with open(conf, "w") as f:
                f.write('server_name: "n%d"\nlisten: "127.0.0.1:%d"\n' % (i, self.client[i]) +
                        'jetstream {\n  store_dir: "%s/n%d"\n  max_file_store: 8589934592\n}\n' % (work, i) +
                        'cluster {\n  name: "redflag_bench"\n  listen: "127.0.0.1:%d"\n  routes: [\n%s  ]\n}\n' %
                        (route[i], routes))
            log = open(os.path.join(work, "n%d.log" % i), "ab")
            self.procs.append(subprocess.Popen([NATS, "-c", conf], stdout=log, stderr=subprocess.STDOUT))

    def urls(self):
        return ", ".join("nats://127.0.0.1:%d" % p for p in self.client)

    def stop(self):
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
                p.wait()


class Instance:
    def __init__(self, binary, work, name, cluster=None):
        self.name = name
        self.port = free_port()
        self.folder = os.path.join(work, name)
        os.makedirs(self.folder)
        config = ("listen: 127.0.0.1:%d\nstorage: {path: %s/data, sync: false}\nrules: {paths: [%s/rules]}\n"
                  "engine: {threads: 2, snapshot_interval: 10s}\nlog: {level: %s}\n" %
                  (self.port, self.folder, ROOT, os.environ.get("LOG_LEVEL", "warn")))
        if cluster:
            config += cluster
        with open(os.path.join(self.folder, "redflag.yaml"), "w") as f:
            f.write(config)
        self.log = open(os.path.join(self.folder, "log"), "ab")
        self.proc = subprocess.Popen([binary, "serve", "--config", os.path.join(self.folder, "redflag.yaml")],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 90
        while True:
            if self.proc.poll() is not None:
                sys.exit("redflag %s exited:\n%s" % (name, self.read_log()))
            try:
                if self.request("GET", "/readyz")[0] == 200:
                    break
            except OSError:
                pass
            if time.time() > deadline:
                sys.exit("redflag %s not ready after 90 s:\n%s" % (name, self.read_log()))
            time.sleep(0.05)

    def read_log(self):
        with open(os.path.join(self.folder, "log"), errors="replace") as f:
            return f.read()[-4000:]

    def request(self, method, path, body=None, headers=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            return r.status, r.read()
        finally:
            c.close()

    def json(self, path, headers=None):
        status, body = self.request("GET", path, headers=headers)
        return status, json.loads(body) if body else None

    def metrics(self):
        return self.request("GET", "/metrics")[1].decode()

    def applied(self):
        return metric_sum(self.metrics(), "redflag_events_ingested_total", {"outcome": "accepted"})

    def owned(self):
        return int(metric_sum(self.metrics(), "redflag_cluster_leases_owned"))

    def cpu(self):
        return cpu_seconds(self.proc.pid)

    def kill9(self):
        self.proc.kill()
        self.proc.wait()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                print("redflag %s did not stop within 60 s of SIGTERM: killed" % self.name)
                self.kill9()
        self.log.close()


def wait_for(predicate, timeout, step=0.1):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


def cluster_config(nats, node, roles, partitions):
    return ("cluster:\n  nats: [%s]\n  node: %s\n  partitions: %d\n  replicas: 3\n  roles: [%s]\n"
            "  start_timeout: 60s\n" % (nats.urls(), node, partitions, ", ".join(roles)))


def run_load(args, port, run):
    """redflag_loadgen's batch mode; its events/s and CPU seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run([args.loadgen, "--port", str(port), "--mode", "batch", "--batch", "1000", "--connections", "4",
                          "--events", str(args.events), "--accounts", str(args.accounts),
                          "--per-account", str(max(1, args.events // args.accounts)), "--run", run],
                         capture_output=True, text=True, check=True).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    errors = int(re.search(r"errors=(\d+)", out).group(1)) + int(re.search(r"503s=(\d+)", out).group(1))
    if errors:
        sys.exit("the load generator saw %d errors:\n%s" % (errors, out))
    rate = float(re.search(r"events/s=([\d.]+)", out).group(1))
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return rate, cpu


def phase(args, title, target, engines, others):
    """Runs the load against `target`; waits until `engines` applied it. Prints the rates
    and each process's CPU per event."""
    procs = {i.name: i for i in [target] + engines}
    procs.update(others)
    base = sum(e.applied() for e in engines)
    cpu0 = {name: p.cpu() for name, p in procs.items()}
    t0 = time.time()
    rate, load_cpu = run_load(args, target.port, title.split()[0])
    ok = wait_for(lambda: sum(e.applied() for e in engines) - base >= args.events, timeout=600, step=0.2)
    t1 = time.time()
    cpu = {name: p.cpu() - cpu0[name] for name, p in procs.items()}
    through = args.events / (t1 - t0)
    print("== %s: %d events over %d accounts" % (title, args.events, args.accounts))
    print("   acked by the service: %.0f events/s; applied by the engines: %.0f events/s (%.1f s)%s" %
          (rate, through, t1 - t0, "" if ok else "  (NOT ALL APPLIED)"))
    per = ", ".join("%s %.1f" % (name, 1e6 * c / args.events) for name, c in cpu.items())
    print("   CPU µs per event: %s, loadgen %.1f; total %.1f" %
          (per, 1e6 * load_cpu / args.events, 1e6 * (sum(cpu.values()) + load_cpu) / args.events))
    sys.stdout.flush()


def user_event(account, event_id):
    at = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    return {"type": "user", "account": account, "id": event_id, "at": at, "user_id": event_id}


def post(instance, events):
    body = "\n".join(json.dumps(e) for e in events)
    return instance.request("POST", "/v1/events", body, {"Content-Type": "application/x-ndjson"})[0]


class Poster(threading.Thread):
    """Posts 100 user events over 100 accounts every 50 ms; keeps the acknowledged ones."""

    def __init__(self, target):
        super().__init__(daemon=True)
        self.target = target
        self.acknowledged = {}  # account -> acknowledged events
        self.refused = 0
        self.stopping = threading.Event()

    def run(self):
        n = 0
        while not self.stopping.is_set():
            batch = [user_event("fo-%d" % i, "fo-%d-%d" % (n, i)) for i in range(100)]
            n += 1
            try:
                status = post(self.target, batch)
            except OSError:
                status = 0
            if status == 202:
                for e in batch:
                    self.acknowledged[e["account"]] = self.acknowledged.get(e["account"], 0) + 1
            else:
                self.refused += 1
            time.sleep(0.05)


def users_of(instance, account):
    status, body = instance.json("/v1/accounts/" + account, {"X-Redflag-Forwarded": "bench"})
    return {u["id"] for u in body["users"]} if status == 200 else None


def failover(args, ingest, e1, e2):
    print("== failover: kill -9 of E2 (%d partitions) while 2,000 events/s are posted" % e2.owned())
    probes = {}
    i = 0
    while len(probes) < args.partitions:
        account = "probe-%d" % i
        probes.setdefault(partition_of(account, args.partitions), account)
        i += 1
    if post(ingest, [user_event(a, a + "-first") for a in probes.values()]) != 202:
        sys.exit("posting the probes' first events failed")
    # A probe E1 cannot answer locally (421) is in one of E2's partitions.
    on_e2 = {}
    for p, account in probes.items():
        wait_for(lambda: users_of(e1, account) is not None or
                 e2.json("/v1/accounts/" + account, {"X-Redflag-Forwarded": "bench"})[0] == 200, timeout=30)
        if users_of(e1, account) is None:
            on_e2[p] = account
    poster = Poster(ingest)
    poster.start()
    time.sleep(5)  # half the snapshot interval: the new owner replays what E2 applied since its last snapshot
    t_kill = time.time()
    e2.kill9()
    if post(ingest, [user_event(a, a + "-after") for a in on_e2.values()]) != 202:
        sys.exit("posting the probes' events after the kill failed")
    seen = {}
    claimed = None  # when E1 held every partition
    deadline = t_kill + 120
    while len(seen) < len(on_e2) and time.time() < deadline:
        if claimed is None and e1.owned() == args.partitions:
            claimed = time.time() - t_kill
        for p, account in on_e2.items():
            if p not in seen and account + "-after" in (users_of(e1, account) or ()):
                seen[p] = time.time() - t_kill
        time.sleep(0.05)
    if claimed is not None:
        print("   kill -> E1 holds every lease: %.2f s (lease_ttl 10 s + at most one renew_interval, 2 s)" % claimed)
    times = sorted(seen.values())
    print("   kill -> the new owner applied the partition's next event, per partition (s): %s" %
          ", ".join("p%d %.2f" % (p, seen[p]) for p in sorted(seen)))
    if times:
        print("   min %.2f s, median %.2f s, max %.2f s; %d of %d partitions (from E2's last heartbeat: at most 2 s "
              "more)" % (times[0], times[len(times) // 2], times[-1], len(times), len(on_e2)))
    time.sleep(2)
    poster.stopping.set()
    poster.join()
    acked = sum(poster.acknowledged.values())

    def all_there():
        return all(len(users_of(e1, a) or ()) == n for a, n in poster.acknowledged.items())
    complete = wait_for(all_there, timeout=120, step=0.5)
    missing = sum(max(0, n - len(users_of(e1, a) or ())) for a, n in poster.acknowledged.items())
    print("   poster: %d events acknowledged (%d requests refused during the failover); in E1's accounts after it: %s" %
          (acked, poster.refused, "all" if complete else "%d MISSING" % missing))
    print("   E1 owns %d of %d partitions" % (e1.owned(), args.partitions))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("build")
    parser.add_argument("--events", type=int, default=200000)
    parser.add_argument("--accounts", type=int, default=20000)
    parser.add_argument("--partitions", type=int, default=16)
    args = parser.parse_args()
    args.binary = os.path.join(args.build, "redflag")
    args.loadgen = os.path.join(args.build, "bench", "redflag_loadgen")
    work = tempfile.mkdtemp(prefix="redflag-cluster-bench-")
    started = []
    try:
        print("== machine: %d cores; load average %s; %s" %
              (os.cpu_count(), " ".join(open("/proc/loadavg").read().split()[:3]), dt.datetime.utcnow().isoformat()))
        single = Instance(args.binary, work, "single")
        started.append(single)
        phase(args, "single process", single, [single], {})
        single.stop()
        started.remove(single)

        nats = Nats(work)
        started.append(nats)
        servers = {"nats%d" % i: Process(p.pid) for i, p in enumerate(nats.procs)}
        ingest = Instance(args.binary, work, "I", cluster_config(nats, "i", ["ingest"], args.partitions))
        started.append(ingest)
        e1 = Instance(args.binary, work, "E1", cluster_config(nats, "e1", ["engine"], args.partitions))
        started.append(e1)
        if not wait_for(lambda: e1.owned() == args.partitions, timeout=60):
            sys.exit("E1 did not claim every partition:\n" + e1.read_log())
        phase(args, "cluster-1 (ingest I, one engine E1)", ingest, [e1], servers)

        e2 = Instance(args.binary, work, "E2", cluster_config(nats, "e2", ["engine"], args.partitions))
        started.append(e2)
        t_join = time.time()
        if not wait_for(lambda: e1.owned() == args.partitions // 2 and e2.owned() == args.partitions // 2, timeout=60):
            sys.exit("the partitions did not split between E1 and E2 (%d/%d):\n%s\n%s" %
                     (e1.owned(), e2.owned(), e1.read_log(), e2.read_log()))
        print("== E2 joined: %d/%d partitions each %.1f s after it was ready" %
              (e1.owned(), e2.owned(), time.time() - t_join))
        phase(args, "cluster-2 (ingest I, engines E1 and E2)", ingest, [e1, e2], servers)

        failover(args, ingest, e1, e2)
        print("== load average at the end: %s" % " ".join(open("/proc/loadavg").read().split()[:3]))
    finally:
        for s in reversed(started):
            try:
                s.stop()
            except Exception as e:  # keep stopping the others
                print("stopping: %s" % e)
        if os.environ.get("KEEP"):
            print("== kept: " + work)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
