"""The Debian package (issue 11, part 5): built by CPack from this build, unpacked into a
scratch root (dpkg-deb -x, no root needed), checked for the layout an operator expects,
its maintainer scripts and systemd unit checked, and the packaged binary started from the
scratch root with the packaged config (adapted to a free port and a temporary data folder)
under a stand-in for systemd's notify socket: READY=1 arrives once /readyz answers 200,
STOPPING=1 on SIGTERM.

Set REDFLAG_PACKAGE to test a .deb built elsewhere; the one deploy/test.sh builds
(BUILD/packages/) is used when it is newer than the binary, else the test runs cpack.
"""
import glob
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from harness import BINARY, free_port  # noqa: E402


def build_package(out):
    """cpack -G DEB in the build folder of BINARY, into `out`; the .deb's path."""
    build_dir = os.path.dirname(BINARY)
    subprocess.run(["cpack", "-G", "DEB", "-B", out], cwd=build_dir, check=True, capture_output=True, timeout=600)
    debs = glob.glob(os.path.join(out, "redflag_*.deb"))
    assert len(debs) == 1, debs
    return debs[0]


def fresh_package():
    """The .deb deploy/test.sh built next to BINARY, if it is newer than the binary."""
    debs = glob.glob(os.path.join(os.path.dirname(BINARY), "packages", "redflag_*.deb"))
    if len(debs) == 1 and os.path.getmtime(debs[0]) >= os.path.getmtime(BINARY):
        return debs[0]
    return None


class Package(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="redflag-deb-")
        cls.deb = os.environ.get("REDFLAG_PACKAGE") or fresh_package() or build_package(os.path.join(cls.work, "out"))
        cls.root = os.path.join(cls.work, "root")
        cls.control = os.path.join(cls.work, "control")
        subprocess.run(["dpkg-deb", "-x", cls.deb, cls.root], check=True)
        subprocess.run(["dpkg-deb", "-e", cls.deb, cls.control], check=True)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.work, ignore_errors=True)

    def path(self, *parts):
        return os.path.join(self.root, *parts)

    def test_layout_and_conffiles(self):
        for p in ("usr/bin/redflag", "etc/redflag/redflag.yaml", "etc/redflag/rules/red_flags.rules",
                  "etc/redflag/rules/tests/renewal.yaml", "lib/systemd/system/redflag.service",
                  "usr/share/doc/redflag/README.md", "usr/share/doc/redflag/grafana/dashboards/redflag.json"):
            self.assertTrue(os.path.isfile(self.path(p)), p)
        self.assertTrue(os.access(self.path("usr/bin/redflag"), os.X_OK))
        with open(os.path.join(self.control, "conffiles")) as f:
            conffiles = f.read().split()
        self.assertIn("/etc/redflag/redflag.yaml", conffiles)
        self.assertIn("/etc/redflag/rules/red_flags.rules", conffiles)
        for c in conffiles:
            self.assertTrue(os.path.isfile(self.path(c.lstrip("/"))), c)
        fields = subprocess.run(["dpkg-deb", "-f", self.deb], capture_output=True, text=True, check=True).stdout
        self.assertRegex(fields, r"(?m)^Package: redflag$")
        depends = re.search(r"(?m)^Depends: (.*)$", fields).group(1)
        self.assertIn("adduser", depends)
        self.assertIn("libcurl4", depends)  # dpkg-shlibdeps found the linked libraries
        self.assertIn("libyaml-cpp", depends)

    def test_packaged_config_points_at_the_packaged_paths(self):
        with open(self.path("etc/redflag/redflag.yaml")) as f:
            text = f.read()
        self.assertIn("/etc/redflag/rules", text)
        self.assertIn("/var/lib/redflag", text)
        self.assertRegex(text, r"(?m)^listen: 127\.0\.0\.1:")

    def test_maintainer_scripts(self):
        scripts = [os.path.join(self.control, s) for s in ("postinst", "prerm", "postrm")]
        for s in scripts:
            self.assertTrue(os.access(s, os.X_OK), s)
        if shutil.which("shellcheck"):
            p = subprocess.run(["shellcheck", *scripts], capture_output=True, text=True)
            self.assertEqual(p.returncode, 0, p.stdout)
        # postinst against stand-ins of the commands it changes the system with, which record
        # their arguments: run as on a first install (no user yet) and as on an upgrade.
        bin_dir = os.path.join(self.work, "fakebin")
        os.makedirs(bin_dir, exist_ok=True)
        calls = os.path.join(self.work, "calls")
        for cmd in ("adduser", "install", "chown", "chmod", "systemctl"):
            with open(os.path.join(bin_dir, cmd), "w") as f:
                f.write('#!/bin/sh\necho "%s $*" >> %s\n' % (cmd, calls))
            os.chmod(os.path.join(bin_dir, cmd), 0o755)
        with open(os.path.join(bin_dir, "getent"), "w") as f:
            f.write("#!/bin/sh\nexit 2\n")  # no such user
        os.chmod(os.path.join(bin_dir, "getent"), 0o755)
        env = dict(os.environ, PATH=bin_dir + ":/usr/bin:/bin")
        p = subprocess.run([scripts[0], "configure", ""], env=env, capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(calls) as f:
            made = f.read()
        self.assertRegex(made, r"adduser --system --group --home /var/lib/redflag .*--shell /usr/sbin/nologin.* redflag")
        self.assertIn("install -d -m 0750 -o redflag -g redflag /var/lib/redflag", made)
        self.assertIn("chown root:redflag /etc/redflag/redflag.yaml", made)
        # The user exists now: no second adduser.
        os.remove(calls)
        with open(os.path.join(bin_dir, "getent"), "w") as f:
            f.write("#!/bin/sh\necho redflag:x:999:999::/var/lib/redflag:/usr/sbin/nologin\n")
        p = subprocess.run([scripts[0], "configure", "0.1.0"], env=env, capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(calls) as f:
            made = f.read()
        self.assertNotIn("adduser", made)
        self.assertNotIn("chown", made)  # the operator's ownership of the config is kept

    def test_unit_is_notify_and_hardened(self):
        unit = self.path("lib/systemd/system/redflag.service")
        with open(unit) as f:
            text = f.read()
        self.assertRegex(text, r"(?m)^Type=notify$")
        self.assertRegex(text, r"(?m)^User=redflag$")
        start = re.search(r"(?m)^ExecStart=(\S+) serve --config (\S+)$", text)
        self.assertTrue(os.path.isfile(self.path(start.group(1).lstrip("/"))), start.group(1))
        self.assertTrue(os.path.isfile(self.path(start.group(2).lstrip("/"))), start.group(2))
        if not shutil.which("systemd-analyze"):
            self.skipTest("systemd-analyze is not installed (deploy/install-deps.sh test)")
        p = subprocess.run(["systemd-analyze", "security", "--offline=true", "--no-pager", unit],
                           capture_output=True, text=True)
        m = re.search(r"Overall exposure level for redflag\.service: ([\d.]+) (\w+)", p.stdout)
        self.assertTrue(m, p.stdout + p.stderr)
        self.assertIn(m.group(2), ("OK", "SAFE", "PERFECT"), m.group(0))

    def test_runs_from_the_scratch_root_and_notifies_systemd_when_ready(self):
        binary = self.path("usr/bin/redflag")
        self.assertRegex(subprocess.run([binary, "--version"], capture_output=True, text=True).stdout,
                         r"^redflag \d+\.\d+\.\d+ ")
        tests = sorted(glob.glob(self.path("etc/redflag/rules/tests/*.yaml")))
        p = subprocess.run([binary, "test", *tests], capture_output=True, text=True, timeout=300)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

        # The packaged config, with a free port, a scratch data folder and the scratch rules.
        with open(self.path("etc/redflag/redflag.yaml")) as f:
            text = f.read()
        port = free_port()
        data = os.path.join(self.work, "state")
        for old, new in ((r"(?m)^listen: 127\.0\.0\.1:\d+$", "listen: 127.0.0.1:%d" % port),
                         (r"/var/lib/redflag/data", data),
                         (r"/etc/redflag/rules", self.path("etc/redflag/rules"))):
            text, n = re.subn(old, new, text)
            self.assertEqual(n, 1, old)
        config = os.path.join(self.work, "redflag.yaml")
        with open(config, "w") as f:
            f.write(text)
        p = subprocess.run([binary, "check", "--config", config], capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

        notify_path = os.path.join(self.work, "notify")
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify.bind(notify_path)
        notify.settimeout(60)
        log = open(os.path.join(self.work, "serve.log"), "wb")
        proc = subprocess.Popen([binary, "serve", "--config", config], stdout=log, stderr=subprocess.STDOUT,
                                cwd=self.work, env=dict(os.environ, NOTIFY_SOCKET=notify_path))
        try:
            self.assertEqual(notify.recv(256), b"READY=1")
            # READY=1 comes only once the service answers: /readyz is 200 right away.
            with urllib.request.urlopen("http://127.0.0.1:%d/readyz" % port, timeout=5) as r:
                self.assertEqual(r.status, 200)
            proc.send_signal(signal.SIGTERM)
            self.assertEqual(notify.recv(256), b"STOPPING=1")
            self.assertEqual(proc.wait(timeout=60), 0)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            notify.close()
            log.close()


if __name__ == "__main__":
    unittest.main()
