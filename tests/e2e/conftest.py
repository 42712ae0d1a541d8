"""Shared fixtures for end-to-end tests: the real portico binary, real backend processes.

PORTICO_BIN selects the binary (default: build/portico). PORTICO_E2E_IO_URING=off runs every
test on the plain system-call path (configs that do not choose `io_uring` themselves get
`io_uring: off`). Every server listens on 127.0.0.1 on a free port; every process is stopped at
the end of its test.
"""
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import textwrap
import time

import pytest

from tls_certs import TestCA

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("PORTICO_BIN", os.path.join(ROOT, "build", "portico"))
IO_URING = os.environ.get("PORTICO_E2E_IO_URING", "")
HERE = os.path.dirname(os.path.abspath(__file__))


SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


def _built_with_asan(path):
    try:
        with open(path, "rb") as f:
            return b"__asan_init" in f.read()
    except OSError:
        return False


# ASan's redzones and its quarantine of freed memory make a process several times larger (an
# idle TLS connection measured ~9x: OpenSSL's many small allocations): memory bounds are
# multiplied by this under a sanitizer build, so they still prove memory is bounded without
# measuring the sanitizer. The release build's figures are the ones the docs quote.
SANITIZED = _built_with_asan(BIN)
MEMORY_SCALE = 10 if SANITIZED else 1


def free_port():
    return free_ports(1)[0]


def free_ports(count, avoid=()):
    """`count` distinct free ports, none of them in `avoid`. The sockets stay bound until all
    are chosen: separate free_port() calls may return the same port twice, and a process that
    needs several ports (pebble) then fails to start."""
    held, ports = [], []
    try:
        while len(ports) < count:
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            held.append(s)
            port = s.getsockname()[1]
            if port not in avoid:
                ports.append(port)
    finally:
        for s in held:
            s.close()
    return ports


def wait_for_port(port, timeout=10.0, proc=None, host="127.0.0.1"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("process exited early with %s" % proc.returncode)
        try:
            socket.create_connection((host, port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError("port %d did not open" % port)


class Backend:
    """A backend process (tests/e2e/backend.py) that records what it receives."""

    def __init__(self, tmpdir, name, tls=(), script="backend.py", args=(), host="127.0.0.1",
                 port=None):
        """`tls`: extra arguments (backend.py: --tls-cert, --tls-key, --tls-client-ca);
        `script`: the backend program (h2_backend.py for an HTTP/2 backend); `args`: more
        arguments (backend.py: --delay-ms N for a slow backend); `host` and `port`: where it
        listens (backend.py only; another loopback address such as 127.0.0.2 lets several
        backends share a port, as DNS A records need)."""
        self.name = name
        self.host = host
        self.port = port or free_port()
        if host != "127.0.0.1":
            args = ("--host", host, *args)
        self.record = os.path.join(tmpdir, "backend-%s.jsonl" % name)
        open(self.record, "w").close()
        self.proc = subprocess.Popen(
            [sys.executable if os.path.exists(sys.executable) else "/usr/bin/python3",
             os.path.join(HERE, script), "--port", str(self.port), "--name", name,
             "--record", self.record, *tls, *args],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.proc.stdout.readline()
        wait_for_port(self.port, proc=self.proc, host=host)

    @property
    def address(self):
        return "%s:%d" % (self.host, self.port)

    def requests(self):
        with open(self.record) as f:
            return [json.loads(line) for line in f if line.strip()]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class Portico:
    """The real binary on a generated config. `port` is the first listener's port."""

    def __init__(self, tmpdir, config_text, port, suffix=""):
        self.tmpdir = tmpdir
        self.port = port
        # Several instances in one test get their own files (suffix "-2", "-3", ...).
        self.config_path = os.path.join(tmpdir, "portico%s.yaml" % suffix)
        if IO_URING and "io_uring:" not in config_text:
            config_text = "io_uring: %s\n%s" % (IO_URING, config_text)
        with open(self.config_path, "w") as f:
            f.write(config_text)
        self.access_log = os.path.join(tmpdir, "access%s.log" % suffix)
        self.error_log_path = os.path.join(tmpdir, "error%s.log" % suffix)
        self.proc = None

    def start(self):
        self.err = open(self.error_log_path, "w")
        self.out = open(self.access_log, "w")
        self.proc = subprocess.Popen([BIN, "--config", self.config_path],
                                     stdout=self.out, stderr=self.err)
        try:
            wait_for_port(self.port, proc=self.proc)
        except RuntimeError as e:
            raise RuntimeError("%s; error log:\n%s" % (e, self.error_log())) from None
        return self

    def url(self, path="/"):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def error_log(self):
        with open(self.error_log_path, errors="replace") as f:
            return f.read()

    def wait_for_log(self, needle, timeout=10.0, access=False):
        """Waits until `needle` appears in the error log (or the access log); returns the text."""
        deadline = time.time() + timeout
        while True:
            text = "\n".join(self.access_lines()) if access else self.error_log()
            if needle in text or time.time() > deadline:
                return text
            time.sleep(0.05)

    def rss_kb(self):
        """Resident set size of the process, from /proc (kB)."""
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise AssertionError("no VmRSS for pid %d" % self.proc.pid)

    def holds_socket(self, local_port, peer_port):
        """True while the process has a descriptor for the IPv4 TCP socket from local_port to
        peer_port (matched by inode through /proc/net/tcp and /proc/PID/fd)."""
        sock = tcp_socket(local_port, peer_port)
        inode = sock["inode"] if sock else None
        if inode is None or inode == "0":
            return False
        fd_dir = "/proc/%d/fd" % self.proc.pid
        for name in os.listdir(fd_dir):
            try:
                if os.readlink(os.path.join(fd_dir, name)) == "socket:[%s]" % inode:
                    return True
            except OSError:
                pass
        return False

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def access_lines(self):
        with open(self.access_log, errors="replace") as f:
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


def script_server(script):
    """Runs a server script of this folder (`--port N`, prints a line when ready) as its own
    process; yields its "ip:port" and stops it afterwards."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, os.path.join(HERE, script), "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    proc.stdout.readline()
    wait_for_port(port, proc=proc)
    yield "127.0.0.1:%d" % port
    proc.kill()
    proc.wait()


@pytest.fixture
def ws_server():
    """A WebSocket server process (ws_echo_server.py); yields its "ip:port"."""
    yield from script_server("ws_echo_server.py")


@pytest.fixture
def portico(tmpdir_path):
    """portico(config_yaml, port) starts the binary; the config may use {port}."""
    started = []

    def make(config_text, port=None, start=True):
        port = port or free_port()
        suffix = "-%d" % (len(started) + 1) if started else ""
        p = Portico(tmpdir_path, textwrap.dedent(config_text).replace("{port}", str(port)), port,
                    suffix)
        started.append(p)
        return p.start() if start else p

    yield make
    for p in started:
        if p.proc is not None and p.proc.poll() is None:
            code = p.stop()
            # Every test also checks that shutdown is clean.
            assert code == 0, "portico exited with %s on SIGTERM\n%s" % (code, p.error_log())
    for p in started:
        if p.proc is not None:
            assert_no_sanitizer_reports(p)


def assert_no_sanitizer_reports(p):
    """Under an ASan/UBSan build, sanitizer reports go to stderr, which is the error log."""
    log = p.error_log()
    for marker in SANITIZER_MARKERS:
        assert marker not in log, "sanitizer report in portico's error log:\n%s" % log


def admin_status(port, timeout=10):
    """GET /status from an admin listener on `port`: the parsed JSON document."""
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", "/status")
        resp = conn.getresponse()
        body = resp.read()
        assert resp.status == 200 and resp.getheader("Content-Type") == "application/json", \
            (resp.status, body)
        return json.loads(body)
    finally:
        conn.close()


def proxy_config(backends, extra_listener="", extra_cluster="", routes=None, workers=1,
                 top="", weights=None):
    """A config with one listener on {port} proxying everything to `backends`.

    `backends` may hold Backend objects or "ip:port" strings; `weights` (a list) gives each
    endpoint a weight; `extra_listener` and `extra_cluster` are YAML lines (4-space indent)
    added to the listener and to the cluster; `top` adds top-level lines."""
    lines = []
    for i, b in enumerate(backends):
        lines.append("      - address: %s" % (b if isinstance(b, str) else b.address))
        if weights:
            lines.append("        weight: %d" % weights[i])
    endpoints = "\n".join(lines)
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
    return send_and_collect(s, data, read_all, (socket.timeout,))


def send_and_collect(s, data, read_all, stop_on):
    """Sends `data` on `s`, returns what arrives until the peer closes, an exception of
    `stop_on` (a timeout, ...) or, without `read_all`, the first chunk; closes `s`."""
    try:
        s.sendall(data)
        chunks = []
        while True:
            try:
                chunk = s.recv(65536)
            except stop_on:
                break
            if not chunk:
                break
            chunks.append(chunk)
            if not read_all:
                break
        return b"".join(chunks)
    finally:
        s.close()


def read_until_eof(sock):
    """Everything `sock` receives until the peer's FIN (raises on a reset)."""
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk


def status_of(response_bytes):
    """The status code of the first response in raw bytes (0 if none)."""
    if not response_bytes.startswith(b"HTTP/1."):
        return 0
    return int(response_bytes.split(b" ", 2)[1])


def wait_until(predicate, timeout=10.0, interval=0.02):
    """Polls predicate() until it is true or the timeout passes; returns its last value."""
    deadline = time.time() + timeout
    while True:
        value = predicate()
        if value or time.time() > deadline:
            return value
        time.sleep(interval)


TCP_STATES = {"01": "ESTABLISHED", "02": "SYN_SENT", "03": "SYN_RECV", "04": "FIN_WAIT1",
              "05": "FIN_WAIT2", "06": "TIME_WAIT", "07": "CLOSE", "08": "CLOSE_WAIT",
              "09": "LAST_ACK", "0A": "LISTEN", "0B": "CLOSING"}


def tcp_sockets():
    """Every IPv4 TCP socket on this machine, from /proc/net/tcp, as dicts with local and peer
    port, state (ESTABLISHED, FIN_WAIT2, ...), receive and send queue bytes, and inode ("0"
    once no process holds it). Both ends of a loopback connection appear, each from its side."""
    sockets = []
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            tx, rx = fields[4].split(":")
            sockets.append({"local": int(fields[1].split(":")[1], 16),
                            "peer": int(fields[2].split(":")[1], 16),
                            "state": TCP_STATES.get(fields[3], fields[3]),
                            "rx": int(rx, 16), "tx": int(tx, 16), "inode": fields[9]})
    return sockets


def tcp_socket(local_port, peer_port):
    """The socket from local_port to peer_port (see tcp_sockets()), or None."""
    for sock in tcp_sockets():
        if sock["local"] == local_port and sock["peer"] == peer_port:
            return sock
    return None


def tcp_established():
    """(local port, peer port, receive queue, send queue) of every established socket."""
    return [(t["local"], t["peer"], t["rx"], t["tx"]) for t in tcp_sockets()
            if t["state"] == "ESTABLISHED"]


def tcp_state(local_port, peer_port):
    """The state (FIN_WAIT2, TIME_WAIT, ...) of the socket from local_port to peer_port; None
    if there is none."""
    sock = tcp_socket(local_port, peer_port)
    return sock["state"] if sock else None


def tcp_queues(local_port, peer_port):
    """(receive queue, send queue) in bytes of the established socket from local_port to
    peer_port; None if there is none."""
    for local, peer, rx, tx in tcp_established():
        if local == local_port and peer == peer_port:
            return rx, tx
    return None


def connections_to(port):
    """(receive queue, send queue) of every established socket whose peer is `port`: a
    backend's port gives Portico's upstream connections to it."""
    return [(rx, tx) for local, peer, rx, tx in tcp_established() if peer == port]


def connections_at(port):
    """(receive queue, send queue) of every established socket whose local port is `port`: a
    listener's port gives Portico's accepted client connections."""
    return [(rx, tx) for local, peer, rx, tx in tcp_established() if local == port]


def accept_queue(port):
    """Connections the kernel completed on the listening socket at `port` that Portico has
    not accepted yet (ss shows it in the Recv-Q column of a listening socket)."""
    out = subprocess.run(["ss", "-Htln", "sport = :%d" % port], capture_output=True, text=True,
                         check=True).stdout.split()
    return int(out[1])


def rss_once_stuck(p, fast_side, stalled_side):
    """Waits until Portico has stopped reading `fast_side`: bytes wait in its receive queue,
    and the queue has not shrunk over three polls, while `stalled_side` does not take what it
    sends (its send queue is not empty). Returns the RSS measured then (kB)."""
    history = []

    def stuck():
        unread = sum(rx for rx, _ in fast_side())
        blocked = any(tx > 0 for _, tx in stalled_side())
        history.append(unread if blocked else 0)
        last = history[-3:]
        return len(last) == 3 and last[0] > 0 and last[0] <= last[1] <= last[2]
    assert wait_until(stuck, timeout=30), "the transfer never stalled in Portico"
    return p.rss_kb()


class Response:
    def __init__(self, status, reason, headers, body, version):
        self.status = status
        self.reason = reason
        self.headers = headers  # list of (name, value) as received
        self.body = body
        self.version = version
        self.trailers = []

    def header(self, name, default=None):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return default

    def header_all(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def __repr__(self):
        return "<Response %d %r %r>" % (self.status, self.headers, self.body[:200])


class RawConn:
    """A raw client connection: send exact bytes, read responses one at a time."""

    def __init__(self, port, timeout=10.0, rcvbuf=None):
        self.sock = socket.socket()
        if rcvbuf:
            # Before connect, so the window is negotiated for it.
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect(("127.0.0.1", port))
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def close(self):
        self.sock.close()

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("connection closed")
        self.buf += chunk

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n):
        if len(self.buf) < n:
            parts = [self.buf]
            have = len(self.buf)
            while have < n:
                chunk = self.sock.recv(max(65536, min(n - have, 1 << 20)))
                if not chunk:
                    raise EOFError("connection closed")
                parts.append(chunk)
                have += len(chunk)
            self.buf = b"".join(parts)
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def read_head(self):
        status_line = self._line()
        version, status, reason = (status_line.decode("latin-1").split(" ", 2) + [""])[:3]
        headers = []
        while True:
            line = self._line()
            if not line:
                break
            k, _, v = line.decode("latin-1").partition(":")
            headers.append((k, v.strip()))
        return Response(int(status), reason, headers, b"", version)

    def read_response(self, head_request=False):
        """Reads one final response (skipping nothing: a 1xx is returned as is)."""
        r = self.read_head()
        if head_request or r.status in (204, 304) or 100 <= r.status < 200:
            return r
        te = r.header("Transfer-Encoding")
        cl = r.header("Content-Length")
        if te and "chunked" in te.lower():
            body = []
            while True:
                size = int(self._line().split(b";")[0], 16)
                if size == 0:
                    while True:
                        line = self._line()
                        if not line:
                            break
                        k, _, v = line.decode("latin-1").partition(":")
                        r.trailers.append((k, v.strip()))
                    break
                body.append(self._exact(size))
                self._exact(2)
            r.body = b"".join(body)
        elif cl is not None:
            r.body = self._exact(int(cl))
        else:
            while True:
                try:
                    self._fill()
                except EOFError:
                    break
            r.body, self.buf = self.buf, b""
        return r

    def closed_by_peer(self, timeout=5.0):
        """True if the server closes the connection (EOF or reset) within timeout."""
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False


def request_bytes(method="GET", path="/", host="localhost", headers=(), body=b"",
                  version="HTTP/1.1"):
    lines = ["%s %s %s" % (method, path, version)]
    if host is not None:
        lines.append("Host: %s" % host)
    lines += ["%s: %s" % (k, v) for k, v in headers]
    if body and not any(k.lower() in ("content-length", "transfer-encoding") for k, _ in headers):
        lines.append("Content-Length: %d" % len(body))
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


# ---- TLS ----------------------------------------------------------------------------------
# Certificates come from one throwaway CA per session (tls_certs.py). Configs get a `tls:`
# block on their listener (tls_listener, tls_proxy_config); clients are Python's ssl module
# (tls_raw_request, TlsRawConn), curl and `openssl s_client`.


@pytest.fixture(scope="session")
def test_ca(tmp_path_factory):
    """The session's certificate authority (tls_certs.TestCA): `.cert` is its PEM for clients'
    --cacert, `.issue(...)` signs leaf certificates."""
    return TestCA(str(tmp_path_factory.mktemp("test-ca")))


@pytest.fixture(scope="session")
def server_cert(test_ca):
    """An ECDSA server certificate for localhost and 127.0.0.1."""
    return test_ca.issue("localhost", dns=["localhost"], ips=["127.0.0.1"])


def yaml_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[%s]" % ", ".join(yaml_value(v) for v in value)
    return str(value)


def tls_listener(certificates, **options):
    """The `tls:` block of a listener (4-space indent, for proxy_config's extra_listener):
    `certificates` are Leaf objects or (cert, key) paths, the first one is the default;
    options are further keys of the block (min_version="TLSv1.3", session_tickets=False,
    alpn=["http/1.1"], ...)."""
    lines = ["    tls:", "      certificates:"]
    for c in certificates:
        cert, key = (c.cert, c.key) if hasattr(c, "cert") else c
        lines += ["        - cert: %s" % cert, "          key: %s" % key]
    lines += ["      %s: %s" % (k, yaml_value(v)) for k, v in options.items()]
    return "\n".join(lines) + "\n"


def tls_proxy_config(backends, certificates, tls=None, extra_listener="", **kwargs):
    """proxy_config() whose listener on {port} terminates TLS with `certificates` (see
    tls_listener; `tls` is a dict of further keys for the tls block)."""
    return proxy_config(backends, extra_listener=tls_listener(certificates, **(tls or {})) +
                        extra_listener, **kwargs)


def client_context(cafile=None, alpn=None, min_version=None, max_version=None, ciphers=None,
                   check_hostname=True):
    """An ssl.SSLContext for a client. With `cafile` it verifies the server's certificate (and
    its name unless check_hostname=False); without, it accepts any. min_version/max_version are
    ssl.TLSVersion values; `ciphers` an OpenSSL list for TLS 1.2 and below."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if cafile:
        ctx.load_verify_locations(cafile)
        ctx.check_hostname = check_hostname
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if alpn:
        ctx.set_alpn_protocols(list(alpn))
    if min_version is not None:
        ctx.minimum_version = min_version
    if max_version is not None:
        ctx.maximum_version = max_version
    if ciphers:
        ctx.set_ciphers(ciphers)
    return ctx


def tls_connect(port, server_name="localhost", cafile=None, alpn=None, context=None,
                session=None, timeout=10.0, rcvbuf=None, suppress_ragged_eofs=True):
    """A TLS client socket to 127.0.0.1:port, handshake done. server_name is sent as SNI (and
    checked against the certificate when `cafile` is given); None sends no SNI. To resume a
    `session`, pass the `context` of the connection it came from (Python's ssl insists)."""
    if context is None:
        context = client_context(cafile, alpn=alpn)
    if server_name is None:
        context.check_hostname = False
    sock = socket.socket()
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(timeout)
    sock.connect(("127.0.0.1", port))
    try:
        return context.wrap_socket(sock, server_hostname=server_name, session=session,
                                   suppress_ragged_eofs=suppress_ragged_eofs)
    except BaseException:
        sock.close()
        raise


def tls_raw_request(port, data, server_name="localhost", cafile=None, alpn=None, context=None,
                    timeout=5.0, read_all=True):
    """raw_request() over TLS: sends raw bytes inside a TLS connection, returns everything the
    server sends until it closes (or the timeout)."""
    s = tls_connect(port, server_name, cafile, alpn, context, timeout=timeout)
    return send_and_collect(s, data, read_all, (socket.timeout, ConnectionResetError))


class TlsRawConn(RawConn):
    """RawConn over TLS: the same send / read_response / closed_by_peer helpers. `sock` is the
    ssl.SSLSocket (session_reused, selected_alpn_protocol(), getpeercert(), session, ...)."""

    def __init__(self, port, timeout=10.0, rcvbuf=None, server_name="localhost", cafile=None,
                 alpn=None, context=None, session=None, suppress_ragged_eofs=True):
        self.sock = tls_connect(port, server_name, cafile, alpn, context, session, timeout,
                                rcvbuf, suppress_ragged_eofs)
        self.buf = b""


class Transport:
    """How a test reaches a listener: "plain" TCP or "tls" (with the session CA's localhost
    certificate). The same test then runs over both (fixture `transport`)."""

    def __init__(self, name, ca=None, cert=None):
        self.name = name
        self.ca = ca
        self.cert = cert

    @property
    def tls(self):
        return self.name == "tls"

    def listener(self):
        """Lines to add to a listener (proxy_config's extra_listener)."""
        return tls_listener([self.cert]) if self.tls else ""

    def raw_request(self, port, data, **kwargs):
        if self.tls:
            return tls_raw_request(port, data, cafile=self.ca.cert, **kwargs)
        return raw_request(port, data, **kwargs)

    def conn(self, port, **kwargs):
        if self.tls:
            return TlsRawConn(port, cafile=self.ca.cert, **kwargs)
        return RawConn(port, **kwargs)

    def url(self, port, path="/"):
        return "%s://127.0.0.1:%d%s" % ("https" if self.tls else "http", port, path)

    def httpx_verify(self):
        """httpx's `verify` argument for this transport."""
        return client_context(self.ca.cert) if self.tls else True


@pytest.fixture(scope="module", params=["plain", "tls"])
def transport(request, test_ca, server_cert):
    return Transport(request.param, test_ca, server_cert)
