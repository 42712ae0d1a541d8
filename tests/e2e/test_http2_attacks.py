"""HTTP/2 attack limits (listener `http2.attack_limits`, docs/http2-grpc-websocket.md).

Each attack is sent frame by frame over a real socket, over h2c (prior knowledge) and over TLS
(ALPN h2), against the real binary with the default limits. For each one:
  - the attacking connection gets GOAWAY (ENHANCE_YOUR_CALM for the floods) and is closed;
  - a well-behaved HTTP/2 client on another connection is served during and after the attack;
  - Portico's resident memory stays bounded;
  - the error log says which connection was closed and why.
Normal traffic (h2load, a client that pings at a normal pace) never trips a limit.
"""
import select
import socket
import ssl
import struct
import subprocess
import threading
import time

import hpack
import pytest

from conftest import SANITIZED, proxy_config, tls_connect, tls_listener, wait_until
from h2_client import H2Client

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, \
    CONTINUATION = range(10)
END_STREAM, ACK, END_HEADERS = 0x1, 0x1, 0x4
ENHANCE_YOUR_CALM = 0xB
CANCEL = 0x8

# Memory an attack may leave behind in Portico, however long it lasted: buffer blocks and
# allocator caches, well below what any of these attacks would cost if unbounded.
RSS_GROWTH_LIMIT_KB = 64 * 1024


def frame(ftype, flags, stream_id, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + \
        struct.pack(">I", stream_id) + payload


def settings_frame(*pairs):
    return frame(SETTINGS, 0, 0, b"".join(struct.pack(">HI", k, v) for k, v in pairs))


def hpack_int(value, prefix_bits, flags):
    """RFC 7541 5.1 integer with an N-bit prefix, OR-ed with the first byte's `flags`."""
    top = (1 << prefix_bits) - 1
    if value < top:
        return bytes([flags | value])
    out = [flags | top]
    value -= top
    while value >= 128:
        out.append(value % 128 + 128)
        value //= 128
    out.append(value)
    return bytes(out)


def literal(name, value, indexing=False):
    """A literal field with a new name, not Huffman-coded (RFC 7541 6.2)."""
    return (b"\x40" if indexing else b"\x00") + hpack_int(len(name), 7, 0) + name + \
        hpack_int(len(value), 7, 0) + value


class FrameConn:
    """A raw HTTP/2 client connection: sends frames as bytes, parses the frames it gets.

    `ca`: connect with TLS and ALPN h2, verifying the certificate with this CA file; None:
    h2c with prior knowledge. `settings`: (id, value) pairs of the client's SETTINGS."""

    def __init__(self, port, ca=None, settings=()):
        if ca is not None:
            self.sock = tls_connect(port, cafile=ca, alpn=["h2"])
            assert self.sock.selected_alpn_protocol() == "h2"
        else:
            self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.scheme = b"https" if ca else b"http"
        self.encoder = hpack.Encoder()
        self.buf = b""
        self.frames = []  # (type, flags, stream_id, payload)
        self.closed = False  # EOF or reset from Portico
        self.send(PREFACE + settings_frame(*settings))

    def request_block(self, path=b"/name", method=b"GET"):
        return self.encoder.encode([(b":method", method), (b":scheme", self.scheme),
                                    (b":path", path), (b":authority", b"localhost")])

    def send(self, data):
        """Sends bytes; False once Portico has closed (or reset) the connection."""
        if self.closed:
            return False
        try:
            self.sock.settimeout(10)
            self.sock.sendall(data)
            return True
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, socket.timeout, OSError):
            self.closed = True
            return False

    def poll(self, timeout=0.0):
        """Reads what has arrived (waiting up to `timeout` for the first bytes)."""
        if self.closed:
            return
        pending = isinstance(self.sock, ssl.SSLSocket) and self.sock.pending()
        if not pending and not select.select([self.sock], [], [], timeout)[0]:
            return
        try:
            self.sock.settimeout(1)
            chunk = self.sock.recv(1 << 20)
        except (ConnectionResetError, ssl.SSLError, OSError):
            chunk = b""
        if not chunk:
            self.closed = True
            return
        self.buf += chunk
        while len(self.buf) >= 9:
            length = int.from_bytes(self.buf[:3], "big")
            if len(self.buf) < 9 + length:
                break
            ftype, flags = self.buf[3], self.buf[4]
            sid = int.from_bytes(self.buf[5:9], "big") & 0x7FFFFFFF
            self.frames.append((ftype, flags, sid, self.buf[9:9 + length]))
            self.buf = self.buf[9 + length:]

    def goaway(self):
        """(last stream id, error code) of the first GOAWAY received, or None."""
        for ftype, _, _, payload in self.frames:
            if ftype == GOAWAY:
                return (int.from_bytes(payload[:4], "big") & 0x7FFFFFFF,
                        int.from_bytes(payload[4:8], "big"))
        return None

    def of_type(self, ftype):
        return [f for f in self.frames if f[0] == ftype]

    def wait_closed(self, timeout=10.0):
        """Reads until Portico closes; True if it did within `timeout`."""
        deadline = time.time() + timeout
        while not self.closed and time.time() < deadline:
            self.poll(0.1)
        return self.closed

    def close(self):
        self.sock.close()


class GoodClient(threading.Thread):
    """A well-behaved HTTP/2 client (h2_client.H2Client, python3-h2) on its own connection:
    GET /name again and again until stopped, recording each status."""

    def __init__(self, port, ca=None):
        super().__init__(daemon=True)
        self.port, self.ca = port, ca
        self.statuses = []
        self.errors = []
        self.stop = threading.Event()

    def run(self):
        try:
            with client(self.port, self.ca) as c:
                while not self.stop.is_set():
                    self.statuses.append(c.get("/name").status)
        except Exception as e:  # recorded for the test's assertion
            self.errors.append(repr(e))

    def finish(self):
        self.stop.set()
        self.join(timeout=20)
        assert not self.is_alive(), "the good client hung"


def client(port, ca=None):
    """An h2_client.H2Client: TLS (ALPN h2) verified by `ca`, or h2c when `ca` is None."""
    return H2Client(port, tls=ca is not None, cafile=ca)


def get_name(port, ca):
    """(status, body) of GET /name on a new connection."""
    with client(port, ca) as c:
        r = c.get("/name")
        return r.status, r.body


# ---- set-up ----------------------------------------------------------------------------------

@pytest.fixture(params=["h2c", "h2"])
def setup(request, portico, backends, test_ca, server_cert):
    """start(extra_listener="") starts Portico (h2c, or TLS with ALPN h2) in front of one
    backend; returns (portico, ca): `ca` is the CA file for TLS clients, None for h2c."""
    tls = request.param == "h2"

    def start(extra=""):
        (b1,) = backends(1)
        listener = tls_listener([server_cert], alpn=["h2", "http/1.1"]) if tls else ""
        p = portico(proxy_config([b1], extra_listener=listener + extra))
        return p, (test_ca.cert if tls else None)
    return start


def flood(conn, chunk, max_seconds=15.0):
    """Sends `chunk()` (a batch of attack frames) again and again, reading what comes back,
    until Portico says GOAWAY or closes; returns how many batches went out."""
    deadline = time.time() + max_seconds
    batches = 0
    while time.time() < deadline and not conn.closed and conn.goaway() is None:
        if not conn.send(chunk()):
            break
        batches += 1
        conn.poll(0.0)
    conn.wait_closed(10)
    return batches


CLOSED = "closing HTTP/2 connection from 127.0.0.1:"  # the error-log line of a closed attacker
# The error-log line of a stream reset because its window stayed shut (send_idle).
STALLED_STREAM_LOG = ("stopped reading the response", "did not open the window of a stream")


def run_attack(p, ca, attack, expect_logs, code=ENHANCE_YOUR_CALM, closes=True, settings=()):
    """Runs `attack(conn)` on one connection while a good client is served on another, and
    checks what every attack case shares (see the module docstring). `closes`: the attack ends
    with GOAWAY (with error `code`, unless None) and the connection closed."""
    assert get_name(p.port, ca) == (200, b"b1")
    rss_before = p.rss_kb()
    good = GoodClient(p.port, ca)
    good.start()
    assert wait_until(lambda: len(good.statuses) >= 3 or good.errors), good.errors
    conn = FrameConn(p.port, ca, settings)
    try:
        attack(conn)
        if closes:
            goaway = conn.goaway()
            assert goaway is not None, "no GOAWAY; got frame types %s" % \
                sorted({f[0] for f in conn.frames})
            if code is not None:
                assert goaway[1] == code, goaway
            assert conn.wait_closed(10), "the attacking connection was not closed"
    finally:
        conn.close()
    served_during = len(good.statuses)
    # The good client keeps being served after the attack, on its connection and a new one.
    assert wait_until(lambda: len(good.statuses) >= served_during + 20 or good.errors)
    good.finish()
    assert good.errors == []
    assert set(good.statuses) == {200}
    assert get_name(p.port, ca) == (200, b"b1")
    growth = p.rss_kb() - rss_before
    assert growth < RSS_GROWTH_LIMIT_KB, "RSS grew by %d kB" % growth
    for needle in expect_logs:
        assert needle in p.wait_for_log(needle), needle


# ---- the floods ------------------------------------------------------------------------------

def test_rapid_reset(setup):
    """CVE-2023-44487: open a stream and cancel it at once, over and over."""
    p, ca = setup()

    def attack(conn):
        next_id = 1

        def batch():
            nonlocal next_id
            out = b""
            for _ in range(50):
                out += frame(HEADERS, END_STREAM | END_HEADERS, next_id, conn.request_block())
                out += frame(RST_STREAM, 0, next_id, struct.pack(">I", CANCEL))
                next_id += 2
            return out
        flood(conn, batch)
        # Closed long before an unlimited attacker would have opened this many streams. Under
        # ASan Portico reads several times slower, so more of the flood is written before the
        # client sees the close: the bound grows with it and still proves the attacker stopped.
        assert next_id // 2 < (20000 if SANITIZED else 5000)
    run_attack(p, ca, attack, [CLOSED, "rapid reset"])


def test_ping_flood(setup):
    p, ca = setup()
    run_attack(p, ca, lambda conn: flood(conn, lambda: frame(PING, 0, 0, b"12345678") * 100),
               [CLOSED, "PING flood"])


def test_settings_flood(setup):
    p, ca = setup()
    run_attack(p, ca, lambda conn: flood(conn, lambda: settings_frame((0x2, 0)) * 50),
               [CLOSED, "SETTINGS flood"])


def test_empty_data_flood(setup):
    """DATA frames with no payload and no END_STREAM on a request body that never ends."""
    p, ca = setup()

    def attack(conn):
        conn.send(frame(HEADERS, END_HEADERS, 1, conn.request_block(b"/echo", b"POST")))
        flood(conn, lambda: frame(DATA, 0, 1) * 100)
    run_attack(p, ca, attack, [CLOSED, "empty DATA frame flood"])


def test_window_update_flood(setup):
    p, ca = setup()
    run_attack(p, ca, lambda conn: flood(
        conn, lambda: frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", 1)) * 100),
        [CLOSED, "WINDOW_UPDATE flood"])


def test_priority_flood(setup):
    """PRIORITY frames for idle streams (CVE-2019-9513)."""
    p, ca = setup()
    next_id = [1]

    def batch():
        out = b""
        for _ in range(100):
            out += frame(PRIORITY, 0, next_id[0], struct.pack(">IB", 0, 15))
            next_id[0] += 2
        return out
    run_attack(p, ca, lambda conn: flood(conn, batch), [CLOSED, "PRIORITY flood"])


def test_continuation_flood(setup):
    """A header block that never ends: CONTINUATION frames, empty or with one more field each,
    and never END_HEADERS (CVE-2024-27316)."""
    p, ca = setup()
    count = [0]

    def batch():
        out = b""
        for _ in range(10):
            count[0] += 1
            out += frame(CONTINUATION, 0, 1,
                         b"" if count[0] % 2 else literal(b"x-c%d" % count[0], b"v"))
        return out

    def attack(conn):
        conn.send(frame(HEADERS, END_STREAM, 1, conn.request_block()))
        flood(conn, batch)
    run_attack(p, ca, attack, [CLOSED, "CONTINUATION flood"])


def test_hpack_bomb(setup):
    """One 4000-byte field in the dynamic table, then 16,000 one-byte references to it: 16 KiB
    on the wire that decode to 64 MB."""
    p, ca = setup()

    def attack(conn):
        block = conn.request_block() + literal(b"x-bomb", b"a" * 4000, indexing=True) + \
            b"\xbe" * 16000  # indexed field 62: the newest dynamic table entry
        first, rest = block[:16384], block[16384:]
        conn.send(frame(HEADERS, END_STREAM, 1, first) +
                  frame(CONTINUATION, END_HEADERS, 1, rest))
        conn.wait_closed(10)
    run_attack(p, ca, attack, [CLOSED, "HPACK bomb"])


# ---- slow attacks: the timeouts close them -------------------------------------------------

def test_headers_never_finished(setup):
    """A HEADERS frame whose block never gets END_HEADERS: header_read closes the connection."""
    p, ca = setup("    timeouts: { header_read: 1s }\n")

    def attack(conn):
        start = time.time()
        conn.send(frame(HEADERS, END_STREAM, 1, conn.request_block()))
        assert conn.wait_closed(15)
        assert time.time() - start < 15
    run_attack(p, ca, attack, ["header read timeout"], code=None)


def test_client_never_opens_its_window(setup):
    """A client downloads a large body with a zero window and never sends WINDOW_UPDATE:
    send_idle ends the stream, and Portico does not buffer the body meanwhile."""
    p, ca = setup("    timeouts: { send_idle: 1s }\n")

    def attack(conn):
        # SETTINGS_INITIAL_WINDOW_SIZE = 0: no stream may receive a byte of DATA.
        conn.send(settings_frame((0x4, 0)) +
                  frame(HEADERS, END_STREAM | END_HEADERS, 1,
                        conn.request_block(b"/bigchunked/200000000")))
        ended = wait_until(lambda: (conn.poll(0.1), conn.of_type(RST_STREAM) or
                                    conn.goaway() or conn.closed)[1], timeout=15)
        assert ended, "the stalled stream was never ended"
        assert [f for f in conn.of_type(DATA) if f[3]] == []
    # The stream is reset, or the connection closed: either ends what the client held up.
    run_attack(p, ca, attack, [], closes=False)
    assert wait_until(lambda: any(line in p.error_log() for line in STALLED_STREAM_LOG))


# ---- legitimate traffic ----------------------------------------------------------------------

def test_normal_traffic_never_trips_a_limit(setup):
    """h2load's burst of multiplexed requests, and a client that pings at a normal pace while
    it runs, are served in full and close nothing."""
    p, ca = setup()
    pinger = FrameConn(p.port, ca)
    stop = threading.Event()
    acks = []

    def ping_loop():
        n = 0
        while not stop.is_set():
            if n % 20 == 0:  # and a request a second, as a client that pings is not idle
                pinger.send(frame(HEADERS, END_STREAM | END_HEADERS, 2 * (n // 20) + 1,
                                  pinger.request_block()))
            n += 1
            pinger.send(frame(PING, 0, 0, struct.pack(">Q", n)))
            stop.wait(0.05)  # about 20 a second
            pinger.poll(0.0)
        acks.extend(f for f in pinger.of_type(PING) if f[1] & ACK)
    thread = threading.Thread(target=ping_loop, daemon=True)
    thread.start()
    scheme = "https" if ca else "http"
    try:
        for _ in range(2):
            r = subprocess.run(["h2load", "-c", "4", "-m", "50", "-n", "5000",
                                "%s://127.0.0.1:%d/name" % (scheme, p.port)],
                               capture_output=True, text=True, timeout=120)
            assert r.returncode == 0, r.stdout + r.stderr
            assert "5000 succeeded, 0 failed, 0 errored" in r.stdout, r.stdout
            assert "status codes: 5000 2xx" in r.stdout, r.stdout
    finally:
        stop.set()
        thread.join(timeout=10)
    assert pinger.goaway() is None and not pinger.closed
    assert len(acks) >= 10
    pinger.close()
    assert "closing HTTP/2 connection" not in p.error_log()
