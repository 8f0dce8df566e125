"""File descriptors exhausted (issue 11, defect 6), against the real binary.

The running service's RLIMIT_NOFILE is lowered with util-linux's `prlimit --pid` to a few
descriptors above what it holds, then more connections are opened than it can accept.
While accept() fails with EMFILE the service must not spin (its CPU time over 2 s, from
/proc/PID/stat, stays small), must keep answering on a keep-alive connection it already
had, must count the failures in redflag_http_accept_errors_total, and must serve new
connections again once descriptors are free.
"""
import http.client
import os
import shutil
import socket
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import Service, metric_value  # noqa: E402

PRLIMIT = shutil.which("prlimit")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """utime + stime of a process and its threads, from /proc/PID/stat."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # fields 14 and 15 of proc(5)


def open_fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


@unittest.skipUnless(PRLIMIT, "util-linux prlimit is needed")
class FdExhaustion(unittest.TestCase):
    def setUp(self):
        self.svc = Service()
        self.flood = []

    def tearDown(self):
        for s in self.flood:
            s.close()
        self.svc.cleanup()

    def exhaust(self, spare=6):
        """Lowers the service's descriptor limit and opens connections until accept fails."""
        pid = self.svc.process.pid
        limit = open_fds(pid) + spare
        subprocess.run([PRLIMIT, "--pid", str(pid), "--nofile=%d:%d" % (limit, limit)], check=True)
        for _ in range(spare + 20):
            s = socket.create_connection(("127.0.0.1", self.svc.port), timeout=5)
            self.flood.append(s)
        # The kernel completes the handshakes (the listen backlog), the service accepts
        # until its table is full: wait until it is.
        deadline = time.time() + 10
        while open_fds(pid) < limit and time.time() < deadline:
            time.sleep(0.05)
        self.assertGreaterEqual(open_fds(pid), limit, "the service never ran out of descriptors")
        return limit

    def test_no_spin_open_connections_served_and_recovery(self):
        pid = self.svc.process.pid
        keep_alive = http.client.HTTPConnection("127.0.0.1", self.svc.port, timeout=5)
        self.addCleanup(keep_alive.close)
        status, _, _ = self.svc.request("GET", "/healthz", connection=keep_alive)
        self.assertEqual(status, 200)

        self.exhaust()
        time.sleep(0.3)  # past the first back-off steps
        before = cpu_seconds(pid)
        time.sleep(2)
        used = cpu_seconds(pid) - before
        # A spinning accept loop burns a core (about 2 s here); backing off costs next to nothing.
        self.assertLess(used, 0.3, "the service used %.2f s of CPU in 2 s while out of descriptors" % used)

        # The connection it already had is still served.
        status, _, body = self.svc.request("GET", "/healthz", connection=keep_alive)
        self.assertEqual(status, 200, body)
        status, _, body = self.svc.request("GET", "/metrics", connection=keep_alive)
        self.assertEqual(status, 200)
        errors = metric_value(body.decode(), "redflag_http_accept_errors_total", {"reason": "fd_limit"})
        self.assertIsNotNone(errors, "redflag_http_accept_errors_total{reason=fd_limit} is missing")
        self.assertGreater(errors, 0)
        # Backing off from 10 ms to 1 s: a handful of attempts in ~2.3 s, not thousands.
        self.assertLess(errors, 50)

        # Descriptors free up: the flood goes away, a new connection is served.
        for s in self.flood:
            s.close()
        self.flood = []
        deadline = time.time() + 10
        status = None
        while time.time() < deadline:
            try:
                status, _, _ = self.svc.request("GET", "/healthz")
                break
            except OSError:
                time.sleep(0.1)
        self.assertEqual(status, 200)


if __name__ == "__main__":
    unittest.main()
