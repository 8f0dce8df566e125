"""Starts the real `redflag` binary for integration tests and talks to it over loopback.

Each service gets its own temporary folder (data, rules, config) and listens on port 0;
the bound port is read from the log line "listening on HOST:PORT". Only the standard
library is used, so the tests run with Debian's /usr/bin/python3.
"""
import datetime
import hashlib
import hmac
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

BINARY = os.environ.get("REDFLAG_BINARY", "")
SOURCE_DIR = os.environ.get("REDFLAG_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))


class Service:
    """One `redflag serve` process. Use as a context manager or call stop()."""

    def __init__(self, config_text="", rules=None, folder=None, env=None, expect_start=True):
        self.folder = folder or tempfile.mkdtemp(prefix="redflag-it-")
        self.owns_folder = folder is None
        self.rules_dir = os.path.join(self.folder, "rules")
        os.makedirs(self.rules_dir, exist_ok=True)
        for name, text in (rules or {}).items():
            with open(os.path.join(self.rules_dir, name), "w") as f:
                f.write(text)
        self.config_path = os.path.join(self.folder, "redflag.yaml")
        base = "listen: 127.0.0.1:0\nstorage: {path: %s}\nrules: {paths: [%s]}\n" % (
            os.path.join(self.folder, "data"), self.rules_dir)
        with open(self.config_path, "w") as f:
            f.write(base + config_text)
        self.log_path = os.path.join(self.folder, "redflag.log")
        self.env = dict(os.environ, **(env or {}))
        self.process = None
        self.port = None
        if expect_start:
            self.start()

    def edit_config(self, old, new):
        with open(self.config_path) as f:
            text = f.read()
        assert old in text, old
        with open(self.config_path, "w") as f:
            f.write(text.replace(old, new))

    def start(self, timeout=30):
        self.log = open(self.log_path, "ab")
        self.process = subprocess.Popen([BINARY, "serve", "--config", self.config_path], stdout=self.log,
                                        stderr=subprocess.STDOUT, cwd=self.folder, env=self.env)
        deadline = time.time() + timeout
        offset = os.path.getsize(self.log_path) if os.path.exists(self.log_path) else 0
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("redflag exited with %d:\n%s" % (self.process.returncode, self.read_log()))
            m = re.findall(r"listening on [^\s:]+:(\d+)", self.read_log()[offset:])
            if m:
                self.port = int(m[-1])
                break
            time.sleep(0.02)
        else:
            raise RuntimeError("redflag did not start listening:\n" + self.read_log())
        while time.time() < deadline:
            status, _, _ = self.request("GET", "/readyz")
            if status == 200:
                return self
            time.sleep(0.02)
        raise RuntimeError("redflag never became ready:\n" + self.read_log())

    def read_log(self):
        try:
            with open(self.log_path, "r", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def run_until_exit(self, timeout=20):
        """Starts the process and waits for it to exit (for start-up failures)."""
        with open(self.log_path, "ab") as log:
            proc = subprocess.run([BINARY, "serve", "--config", self.config_path], stdout=log,
                                  stderr=subprocess.STDOUT, cwd=self.folder, env=self.env, timeout=timeout)
        return proc.returncode, self.read_log()

    def request(self, method, path, body=None, headers=None, connection=None):
        own = connection is None
        conn = connection or http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            if isinstance(body, (dict, list)):
                body = json.dumps(body)
                headers = dict({"Content-Type": "application/json"}, **(headers or {}))
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            data = response.read()
            return response.status, dict(response.getheaders()), data
        finally:
            if own:
                conn.close()

    def json(self, method, path, body=None, headers=None):
        status, hdrs, data = self.request(method, path, body, headers)
        try:
            return status, json.loads(data) if data else None
        except ValueError:
            return status, data.decode(errors="replace")

    def post_events(self, events, headers=None, ndjson=False):
        if ndjson:
            body = "".join(json.dumps(e) + "\n" for e in events)
            h = dict({"Content-Type": "application/x-ndjson"}, **(headers or {}))
            return self.json("POST", "/v1/events", body, h)
        return self.json("POST", "/v1/events", events, headers)

    def metrics(self):
        status, _, data = self.request("GET", "/metrics")
        assert status == 200
        return data.decode()

    def kill9(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self.log.close()

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process:
            self.log.close()
        return self.process.returncode if self.process else None

    def cleanup(self):
        self.stop()
        if self.owns_folder:
            shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cleanup()


def metric_value(text, name, labels=None):
    """The value of one sample of the Prometheus text format, or None."""
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)', line)
        if not m or m.group(1) != name:
            continue
        found = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        if all(found.get(k) == v for k, v in (labels or {}).items()):
            return float(m.group(4))
    return None


def hmac_signature(secret, body):
    return "sha256=" + hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout=10):
    """Polls `predicate` until it returns something true, or `timeout` seconds pass."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    return predicate()


def now_text(offset_seconds=0):
    """RFC 3339 UTC with milliseconds, `offset_seconds` from now (events' "at")."""
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=offset_seconds)
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def slack_signature(secret, timestamp, body):
    """Slack's request signature: v0= hex HMAC-SHA256 of "v0:{timestamp}:{body}"."""
    base = ("v0:%s:" % timestamp).encode() + body.encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
