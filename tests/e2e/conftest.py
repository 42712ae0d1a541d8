"""Shared fixtures for end-to-end tests: the real portico binary, real backend processes.

PORTICO_BIN selects the binary (default: build/portico). Every server listens on 127.0.0.1
on a free port; every process is stopped at the end of its test.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("PORTICO_BIN", os.path.join(ROOT, "build", "portico"))
HERE = os.path.dirname(os.path.abspath(__file__))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for_port(port, timeout=10.0, proc=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("process exited early with %s" % proc.returncode)
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError("port %d did not open" % port)


class Backend:
    """A backend process (tests/e2e/backend.py) that records what it receives."""

    def __init__(self, tmpdir, name):
        self.name = name
        self.port = free_port()
        self.record = os.path.join(tmpdir, "backend-%s.jsonl" % name)
        open(self.record, "w").close()
        self.proc = subprocess.Popen(
            [sys.executable if os.path.exists(sys.executable) else "/usr/bin/python3",
             os.path.join(HERE, "backend.py"), "--port", str(self.port), "--name", name,
             "--record", self.record],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.proc.stdout.readline()
        wait_for_port(self.port, proc=self.proc)

    @property
    def address(self):
        return "127.0.0.1:%d" % self.port

    def requests(self):
        with open(self.record) as f:
            return [json.loads(line) for line in f if line.strip()]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class Portico:
    """The real binary on a generated config. `port` is the first listener's port."""

    def __init__(self, tmpdir, config_text, port):
        self.tmpdir = tmpdir
        self.port = port
        self.config_path = os.path.join(tmpdir, "portico.yaml")
        with open(self.config_path, "w") as f:
            f.write(config_text)
        self.access_log = os.path.join(tmpdir, "access.log")
        self.error_log_path = os.path.join(tmpdir, "error.log")
        self.proc = None

    def start(self):
        self.err = open(self.error_log_path, "w")
        self.out = open(self.access_log, "w")
        self.proc = subprocess.Popen([BIN, "--config", self.config_path],
                                     stdout=self.out, stderr=self.err)
        wait_for_port(self.port, proc=self.proc)
        return self

    def url(self, path="/"):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def error_log(self):
        with open(self.error_log_path) as f:
            return f.read()

    def access_lines(self):
        with open(self.access_log) as f:
            return [l for l in f.read().splitlines() if l.strip()]

    def stop(self, sig=signal.SIGTERM, timeout=15):
        """Stops the process; returns its exit code."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("portico did not exit within %ss of %s" % (timeout, sig))


@pytest.fixture
def tmpdir_path():
    with tempfile.TemporaryDirectory(prefix="portico-e2e-") as d:
        yield d


@pytest.fixture
def backends(tmpdir_path):
    """backends(n) starts n recording backends named b1..bn."""
    started = []

    def make(n=1):
        for i in range(n):
            started.append(Backend(tmpdir_path, "b%d" % (len(started) + 1)))
        return started[-n:]

    yield make
    for b in started:
        b.stop()


@pytest.fixture
def portico(tmpdir_path):
    """portico(config_yaml, port) starts the binary; the config may use {port}."""
    started = []

    def make(config_text, port=None, start=True):
        port = port or free_port()
        p = Portico(tmpdir_path, textwrap.dedent(config_text).replace("{port}", str(port)), port)
        started.append(p)
        return p.start() if start else p

    yield make
    for p in started:
        if p.proc is not None and p.proc.poll() is None:
            code = p.stop()
            # Every test also checks that shutdown is clean.
            assert code == 0, "portico exited with %s on SIGTERM\n%s" % (code, p.error_log())


def proxy_config(backends, extra_listener="", extra_cluster="", routes=None, workers=1,
                 top=""):
    """A config with one listener on {port} proxying everything to `backends`."""
    endpoints = "\n".join("      - address: %s" % b.address for b in backends)
    routes = routes or "          - match: { prefix: / }\n            proxy: { cluster: app }\n"
    return ("workers: %d\n%s"
            "listeners:\n"
            "  - name: main\n"
            "    address: 127.0.0.1:{port}\n"
            "%s"
            "    virtual_hosts:\n"
            "      - name: all\n"
            "        domains: ['*']\n"
            "        routes:\n"
            "%s"
            "clusters:\n"
            "  - name: app\n"
            "    endpoints:\n"
            "%s\n"
            "%s") % (workers, top, extra_listener, routes, endpoints, extra_cluster)


def raw_request(port, data, timeout=5.0, read_all=True):
    """Sends raw bytes, returns everything the server sends until it closes (or timeout)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        chunks = []
        while True:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            chunks.append(chunk)
            if not read_all:
                break
        return b"".join(chunks)
    finally:
        s.close()


def status_of(response_bytes):
    """The status code of the first response in raw bytes (0 if none)."""
    if not response_bytes.startswith(b"HTTP/1."):
        return 0
    return int(response_bytes.split(b" ", 2)[1])
