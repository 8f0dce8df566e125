#!/usr/bin/python3
"""The console's server-time benchmark of bench/RESULTS.md (issue 15).

    bench/console.py BUILD_DIR [--accounts 100000] [--requests 400] [--world-accounts 500]

1. Inbox and account page with a large book: a world of --accounts accounts (written by
   examples/generate over the last 30 days, with 7 of every 8 usage events dropped so the
   load stays quick) is posted to `redflag serve` (shipped rules, engine.threads 2,
   sync off). Then, over keep-alive connections, each request the pages make is timed
   --requests times from the client's side (request sent -> last byte read; the client
   runs on the same 2 cores, so these are upper bounds of the server's time):
     inbox: GET /v1/alerts?limit=25&state=pending,firing&sort=... (first page, a CSM's
            page, the next page by cursor), and the 25 GET /v1/accounts/{id} it makes for
            the rows' health bands;
     account page: GET /v1/accounts/{id}, /v1/alerts?account={id}, /v1/accounts/{id}/history;
     accounts list: GET /v1/accounts?sort=arr&limit=50 and a search by name.
2. Playground backtest over the example world: a fresh service with the world of
   examples/generate --accounts --world-accounts (18 months, as the quickstart's), then
   POST /v1/rules/backtest with one rule, timed 5 times.
Prints p50/p90/p99/max in milliseconds per request kind. Release builds only.
"""
import argparse
import datetime as dt
import http.client
import json
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

PLAYGROUND_RULE = """
rule bench_low_usage {
  title    "Usage fell by half"
  when     (avg(usage.active_users, 7d) ?? 0) < 50% * avg(usage.active_users, 28d offset 7d)
  severity medium
}
"""


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Service:
    def __init__(self, binary, work, retention="120d", reuse=False):
        self.port = free_port()
        self.work = work
        config = os.path.join(work, "redflag.yaml")
        if reuse:  # a folder of an earlier run: its data, a new port
            text = re.sub(r"listen: 127.0.0.1:\d+", "listen: 127.0.0.1:%d" % self.port, open(config).read())
        else:
            text = ("listen: 127.0.0.1:%d\n" % self.port +
                    "storage: {path: %s/data, sync: false, retention: %s}\n" % (work, retention) +
                    "rules: {paths: [%s/rules]}\n" % ROOT +
                    "engine: {threads: 2}\n"
                    "log: {level: warn}\n")
        with open(config, "w") as f:
            f.write(text)
        self.log = open(os.path.join(work, "log"), "ab")
        self.process = subprocess.Popen([binary, "serve", "--config", config], stdout=self.log, stderr=self.log)
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                c.request("GET", "/readyz")
                if c.getresponse().status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise SystemExit("the service did not become ready; log in " + work)

    def connection(self):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=60)
        self.log.close()


def request(conn, method, path, body=None, headers=None):
    conn.request(method, path, body, headers or {})
    response = conn.getresponse()
    data = response.read()
    return response.status, data


def post_world(service, events_path, keep_usage):
    """Posts the world in NDJSON batches of 2,000 lines; returns (events, seconds)."""
    conn = service.connection()
    sent = 0
    started = time.time()
    batch = []
    rng = random.Random(1)

    def flush():
        nonlocal batch, sent
        if not batch:
            return
        status, data = request(conn, "POST", "/v1/events", "".join(batch).encode(),
                               {"Content-Type": "application/x-ndjson"})
        if status not in (200, 202):
            raise SystemExit("POST /v1/events answered %d: %s" % (status, data[:500]))
        sent += len(batch)
        batch = []

    with open(events_path) as f:
        for line in f:
            if keep_usage < 1 and '"type":"usage"' in line and rng.random() >= keep_usage:
                continue
            batch.append(line)
            if len(batch) == 2000:
                flush()
    flush()
    return sent, time.time() - started


def timed(conn, path, times, method="GET", body=None, headers=None):
    out = []
    for _ in range(times):
        t0 = time.perf_counter()
        status, data = request(conn, method, path, body, headers)
        out.append((time.perf_counter() - t0) * 1000)
        if status != 200:
            raise SystemExit("%s %s answered %d: %s" % (method, path, status, data[:300]))
    return out, data


def summary(name, samples):
    s = sorted(samples)
    q = lambda p: s[min(len(s) - 1, int(round(p * (len(s) - 1))))]
    print("%-58s n=%4d  p50 %7.2f  p90 %7.2f  p99 %7.2f  max %7.2f ms" %
          (name, len(s), q(0.5), q(0.9), q(0.99), s[-1]))
    return q(0.99)


def generate(out, accounts, months, start):
    subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "examples/generate"), "--seed", "7",
                    "--accounts", str(accounts), "--months", str(months), "--start", start, "--out", out],
                   check=True, stdout=subprocess.DEVNULL)


def bench_pages(binary, args, scratch):
    if args.reuse:
        service = Service(binary, args.reuse, reuse=True)
        print("reusing the service folder %s (its data as an earlier run left it)" % args.reuse)
        try:
            measure_pages(service, args)
        finally:
            service.stop()
        return
    today = dt.datetime.now(dt.timezone.utc).date()
    start = (today - dt.timedelta(days=30)).replace(day=1) if today.day > 1 else today - dt.timedelta(days=31)
    world = os.path.join(scratch, "big")
    t0 = time.time()
    generate(world, args.accounts, 1, start.isoformat())
    print("world: %d accounts from %s, generated in %.0f s" % (args.accounts, start, time.time() - t0))
    work = os.path.join(scratch, "serve-big")
    os.makedirs(work)
    service = Service(binary, work)
    try:
        sent, seconds = post_world(service, os.path.join(world, "events.ndjson"), keep_usage=1 / 8)
        print("posted %d events in %.0f s (%.0f events/s)" % (sent, seconds, sent / seconds))
        time.sleep(3)
        measure_pages(service, args)
    finally:
        service.stop()


def measure_pages(service, args):
    """Times the requests of the inbox, account page and accounts list (module docstring)."""
    conn = service.connection()
    rss = int(open("/proc/%d/statm" % service.process.pid).read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    status, data = request(conn, "GET", "/v1/alerts?state=pending,firing&limit=1000")
    first = json.loads(data)
    print("RSS %.0f MiB; first page of 1000 pending/firing alerts: %d alerts" %
          (rss / 2**20, len(first["alerts"])))
    n = args.requests
    results = {}
    results["inbox: first page, newest"] = timed(conn, "/v1/alerts?limit=25&state=pending,firing&sort=newest", n)[0]
    samples, data = timed(conn, "/v1/alerts?limit=25&state=pending,firing&sort=arr", n)
    results["inbox: first page, highest ARR"] = samples
    page = json.loads(data)
    cursor = page.get("next_cursor")
    if cursor:
        results["inbox: next page by cursor"] = timed(
            conn, "/v1/alerts?limit=25&state=pending,firing&sort=arr&cursor=" + urllib.parse.quote(cursor), n)[0]
    csm = next((a.get("csm_email") or a.get("csm") for a in page["alerts"] if a.get("csm_email") or a.get("csm")), None)
    if csm:
        results["inbox: a CSM's first page (csm=)"] = timed(
            conn, "/v1/alerts?limit=25&state=pending,firing&sort=arr&csm=" + urllib.parse.quote(csm), n)[0]
    rng = random.Random(3)
    ids = ["acc-%04d" % rng.randrange(1, args.accounts + 1) for _ in range(n)]
    row_ids = [a["account"] for a in page["alerts"]]
    for name, paths in [
        ("inbox: GET /v1/accounts/{id} of the page's rows", ["/v1/accounts/" + i for i in row_ids]),
        ("account page: GET /v1/accounts/{id}", ["/v1/accounts/" + i for i in ids]),
        ("account page: GET /v1/alerts?account={id}", ["/v1/alerts?account=" + i for i in ids]),
        ("account page: GET /v1/accounts/{id}/history", ["/v1/accounts/%s/history" % i for i in ids]),
    ]:
        samples = []
        for k in range(n):
            samples += timed(conn, paths[k % len(paths)], 1)[0]
        results[name] = samples
    results["accounts: GET /v1/accounts?sort=arr&limit=50"] = timed(conn, "/v1/accounts?sort=arr&limit=50", max(20, n // 10))[0]
    results["accounts: search by name (q=)"] = timed(conn, "/v1/accounts?q=foods&limit=50", max(20, n // 10))[0]
    print("\nserver time seen by the client, %d accounts:" % args.accounts)
    worst = 0
    for name, samples in results.items():
        p99 = summary(name, samples)
        if name.startswith(("inbox", "account page")):
            worst = max(worst, p99)
    print("worst p99 of the inbox and account page requests: %.2f ms (target <= 50 ms)" % worst)


def bench_backtest(binary, args, scratch):
    world = os.path.join(scratch, "example")
    generate(world, args.world_accounts, 18, "2025-05-01")
    work = os.path.join(scratch, "serve-example")
    os.makedirs(work)
    service = Service(binary, work, retention="600d")
    try:
        sent, seconds = post_world(service, os.path.join(world, "events.ndjson"), keep_usage=1)
        print("\nexample world: %d accounts, %d events posted in %.0f s" % (args.world_accounts, sent, seconds))
        time.sleep(2)
        conn = service.connection()
        body = json.dumps({"text": PLAYGROUND_RULE}).encode()
        samples, data = timed(conn, "/v1/rules/backtest", 5, "POST", body, {"Content-Type": "application/json"})
        answer = json.loads(data)
        flagged = len(answer.get("flagged", {}).get("bench_low_usage", []))
        print("backtest replayed %s events; the rule flagged %d accounts" % (answer.get("events"), flagged))
        summary("playground: POST /v1/rules/backtest (target <= 3000 ms)", samples)
    finally:
        service.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("build")
    parser.add_argument("--accounts", type=int, default=100000)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--world-accounts", type=int, default=500)
    parser.add_argument("--skip-pages", action="store_true")
    parser.add_argument("--skip-backtest", action="store_true")
    parser.add_argument("--reuse", help="the serve folder of an earlier run (with redflag.yaml and data/): measure only")
    args = parser.parse_args()
    binary = os.path.join(os.path.abspath(args.build), "redflag")
    print("== machine: %d cores; %s; binary %s" % (os.cpu_count(), os.uname().release, binary))
    scratch = tempfile.mkdtemp(prefix="redflag-console-bench-")
    try:
        if not args.skip_pages:
            bench_pages(binary, args, scratch)
        if not args.skip_backtest:
            bench_backtest(binary, args, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
