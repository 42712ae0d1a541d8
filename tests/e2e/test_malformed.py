"""Malformed and hostile requests over raw sockets: each gets its precise status, none reaches
the backend, each leaves one line in the error log, and the proxy keeps serving. The cases run
over plain TCP and over TLS (fixture `transport`): the parser must not care."""
import re

import pytest

from conftest import assert_no_sanitizer_reports, proxy_config, status_of

H = b"Host: x\r\n"

# Limits used by the listener below (small, so the limit cases stay small).
LIMITS = """    limits:
      max_request_line: 1024
      max_header_line: 1024
      max_header_bytes: 4096
      max_headers: 30
      max_body: 1000
"""


def post(headers, body=b""):
    return b"POST /echo HTTP/1.1\r\n" + H + headers + b"\r\n" + body


def get_with(field_lines):
    return b"GET /echo HTTP/1.1\r\n" + H + field_lines + b"\r\n"


# (id, request bytes, expected status)
CASES = [
    # --- request smuggling: Content-Length / Transfer-Encoding -------------------------------
    ("cl-and-te", post(b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", b"0\r\n\r\n"), 400),
    ("te-and-cl", post(b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", b"0\r\n\r\n"), 400),
    ("cl-and-te-gzip-chunked",
     post(b"Content-Length: 5\r\nTransfer-Encoding: gzip, chunked\r\n", b"0\r\n\r\n"), 400),
    ("te-chunked-not-last", post(b"Transfer-Encoding: chunked, gzip\r\n", b"0\r\n\r\n"), 400),
    ("te-chunked-twice", post(b"Transfer-Encoding: chunked, chunked\r\n", b"0\r\n\r\n"), 400),
    ("te-chunked-twice-two-fields",
     post(b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", b"0\r\n\r\n"), 400),
    ("te-gzip-only", post(b"Transfer-Encoding: gzip\r\n", b"abc"), 400),
    ("te-on-http10",
     b"POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    ("cl-differing", post(b"Content-Length: 5\r\nContent-Length: 6\r\n", b"hello!"), 400),
    ("cl-differing-list", post(b"Content-Length: 5, 6\r\n", b"hello!"), 400),
    ("cl-letters", post(b"Content-Length: abc\r\n"), 400),
    ("cl-negative", post(b"Content-Length: -1\r\n"), 400),
    ("cl-plus-sign", post(b"Content-Length: +5\r\n", b"hello"), 400),
    ("cl-hex", post(b"Content-Length: 0x5\r\n", b"hello"), 400),
    ("cl-decimal-point", post(b"Content-Length: 5.0\r\n", b"hello"), 400),
    ("cl-inner-space", post(b"Content-Length: 1 2\r\n", b"x" * 12), 400),
    ("cl-empty", post(b"Content-Length: \r\n"), 400),
    ("cl-overflow", post(b"Content-Length: 99999999999999999999999999\r\n"), 400),
    # --- field syntax ---------------------------------------------------------------------------
    ("obs-fold-space", get_with(b"X-A: b\r\n c\r\n"), 400),
    ("obs-fold-tab", get_with(b"X-A: b\r\n\tc\r\n"), 400),
    ("leading-ws-first-field", b"GET /echo HTTP/1.1\r\n Host: x\r\n\r\n", 400),
    ("space-before-colon", b"GET /echo HTTP/1.1\r\nHost : x\r\n\r\n", 400),
    ("tab-before-colon", get_with(b"X-A\t: b\r\n"), 400),
    ("space-before-colon-cl", post(b"Content-Length : 5\r\n", b"hello"), 400),
    ("bare-cr-in-value", get_with(b"X-A: b\rc\r\n"), 400),
    ("bare-cr-line-end", get_with(b"X-A: b\r\r\n"), 400),
    ("bare-cr-request-line", b"GET /echo\rHTTP/1.1\r\n" + H + b"\r\n", 400),
    ("bare-cr-in-name", get_with(b"X\rA: b\r\n"), 400),
    ("nul-in-value", get_with(b"X-A: b\x00c\r\n"), 400),
    ("nul-in-name", get_with(b"X\x00A: b\r\n"), 400),
    ("ctl-0x01-in-value", get_with(b"X-A: b\x01c\r\n"), 400),
    ("ctl-0x1f-in-value", get_with(b"X-A: \x1f\r\n"), 400),
    ("del-in-value", get_with(b"X-A: b\x7fc\r\n"), 400),
    ("lf-in-value-as-fold", get_with(b"X-A: b\nc\r\n"), 400),
    ("nul-in-target", b"GET /ec\x00ho HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("ctl-in-target", b"GET /ec\x01ho HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("del-in-target", b"GET /ec\x7fho HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("space-in-name", get_with(b"X A: b\r\n"), 400),
    ("paren-in-name", get_with(b"X(A): b\r\n"), 400),
    ("quote-in-name", get_with(b"X\"A: b\r\n"), 400),
    ("at-in-name", get_with(b"X@A: b\r\n"), 400),
    ("brace-in-name", get_with(b"X{A}: b\r\n"), 400),
    ("slash-in-name", get_with(b"X/A: b\r\n"), 400),
    ("empty-name", get_with(b": b\r\n"), 400),
    ("no-colon", get_with(b"X-A b\r\n"), 400),
    ("high-bit-in-name", get_with(b"X\xe9A: b\r\n"), 400),
    # --- request line -----------------------------------------------------------------------
    ("method-paren", b"GE(T /echo HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("method-at", b"G@T /echo HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("method-brackets", b"[GET] /echo HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("method-empty", b" /echo HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("method-nul", b"GET\x00 /echo HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("double-space", b"GET  /echo HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("tab-separator", b"GET\t/echo\tHTTP/1.1\r\n" + H + b"\r\n", 400),
    ("extra-token", b"GET /echo HTTP/1.1 extra\r\n" + H + b"\r\n", 400),
    ("space-in-target", b"GET /ec ho HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("http09", b"GET /echo\r\n\r\n", 400),
    ("lowercase-version", b"GET /echo http/1.1\r\n" + H + b"\r\n", 400),
    ("version-no-minor", b"GET /echo HTTP/1\r\n" + H + b"\r\n", 400),
    ("version-garbage", b"GET /echo HTTP/1.1x\r\n" + H + b"\r\n", 400),
    ("version-two-digit-major", b"GET /echo HTTP/11.1\r\n" + H + b"\r\n", 400),
    ("target-relative", b"GET echo HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("target-asterisk-get", b"GET * HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("target-fragment", b"GET /echo#frag HTTP/1.1\r\n" + H + b"\r\n", 400),
    # Binary junk (the start of a TLS ClientHello). The line end is added: without one the
    # parser waits for the rest of the line, and the header read timeout answers 408.
    ("not-http-at-all",
     b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 40 + b"\r\n\r\n", 400),
    # --- Host -------------------------------------------------------------------------------
    ("missing-host", b"GET /echo HTTP/1.1\r\nX-A: b\r\n\r\n", 400),
    ("duplicate-host", b"GET /echo HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", 400),
    ("duplicate-host-same", b"GET /echo HTTP/1.1\r\nHost: x\r\nHost: x\r\n\r\n", 400),
    ("host-with-space", b"GET /echo HTTP/1.1\r\nHost: a b\r\n\r\n", 400),
    ("host-with-slash", b"GET /echo HTTP/1.1\r\nHost: a/b\r\n\r\n", 400),
    # --- chunked body framing (the head may already be on its way to a backend; the backend
    # --- never gets a complete request) -----------------------------------------------------
    ("chunk-size-not-hex", post(b"Transfer-Encoding: chunked\r\n", b"zz\r\nhello\r\n0\r\n\r\n"),
     400),
    ("chunk-size-overflow",
     post(b"Transfer-Encoding: chunked\r\n", b"ffffffffffffffffffffff\r\nx\r\n0\r\n\r\n"), 400),
    ("chunk-data-no-crlf", post(b"Transfer-Encoding: chunked\r\n", b"5\r\nhelloXX0\r\n\r\n"), 400),
    ("chunk-size-space-inside",
     post(b"Transfer-Encoding: chunked\r\n", b"5 5\r\nhello\r\n0\r\n\r\n"), 400),
    ("chunk-bad-trailer",
     post(b"Transfer-Encoding: chunked\r\n", b"5\r\nhello\r\n0\r\nX A: b\r\n\r\n"), 400),
    # --- limits -----------------------------------------------------------------------------
    ("header-line-too-long", get_with(b"X-Long: " + b"a" * 1100 + b"\r\n"), 431),
    ("header-block-too-large",
     get_with(b"".join(b"X-F%d: %s\r\n" % (i, b"v" * 500) for i in range(12))), 431),
    ("too-many-headers", get_with(b"".join(b"X-N%d: v\r\n" % i for i in range(40))), 431),
    ("uri-too-long", b"GET /" + b"a" * 1100 + b" HTTP/1.1\r\n" + H + b"\r\n", 414),
    ("uri-too-long-query", b"GET /echo?" + b"q=1&" * 300 + b" HTTP/1.1\r\n" + H + b"\r\n", 414),
    ("body-over-max-cl", post(b"Content-Length: 1001\r\n", b"x" * 1001), 413),
    ("body-over-max-chunked",
     post(b"Transfer-Encoding: chunked\r\n", b"3e8\r\n" + b"x" * 1000 + b"\r\n5\r\nxxxxx\r\n0\r\n\r\n"),
     413),
    # --- unsupported --------------------------------------------------------------------------
    ("te-unknown", post(b"Transfer-Encoding: foo, chunked\r\n", b"0\r\n\r\n"), 501),
    # Known, but not ours to decode: forwarded without its Transfer-Encoding (hop-by-hop), the
    # gzip bytes would pass for the body.
    ("te-gzip-chunked", post(b"Transfer-Encoding: gzip, chunked\r\n", b"0\r\n\r\n"), 501),
    ("te-unknown-only", post(b"Transfer-Encoding: bogus\r\n", b"0\r\n\r\n"), 501),
    ("version-2.0", b"GET /echo HTTP/2.0\r\n" + H + b"\r\n", 505),
    ("version-1.2", b"GET /echo HTTP/1.2\r\n" + H + b"\r\n", 505),
    ("version-0.9", b"GET /echo HTTP/0.9\r\n" + H + b"\r\n", 505),
    ("version-3.0", b"GET /echo HTTP/3.0\r\n" + H + b"\r\n", 505),
    ("version-9.9", b"GET /echo HTTP/9.9\r\n" + H + b"\r\n", 505),
]

@pytest.fixture(scope="module")
def malformed_results(tmp_path_factory, transport):
    """Runs every case against one proxy and one recording backend, once for the module and
    transport."""
    from conftest import Backend, Portico, free_port
    import textwrap

    tmpdir = str(tmp_path_factory.mktemp("malformed"))
    backend = Backend(tmpdir, "b1")
    port = free_port()
    config = textwrap.dedent(proxy_config(
        [backend], extra_listener=transport.listener() + LIMITS)).replace("{port}", str(port))
    p = Portico(tmpdir, config, port).start()
    results = {}
    try:
        for name, data, _ in CASES:
            results[name] = transport.raw_request(p.port, data, timeout=5.0)
        yield p, backend, results
    finally:
        code = p.stop() if p.alive() else p.proc.returncode
        backend.stop()
        assert code == 0, p.error_log()
        assert_no_sanitizer_reports(p)


@pytest.mark.parametrize("name,data,expected", [pytest.param(*c, id=c[0]) for c in CASES])
def test_malformed_request_status(malformed_results, name, data, expected):
    _, _, results = malformed_results
    response = results[name]
    assert status_of(response) == expected, response[:300]
    head = response.split(b"\r\n\r\n", 1)[0].lower()
    # A rejected request ends its connection, and the reply is short and self-describing.
    assert b"\r\nconnection: close" in head
    assert len(response) < 1024


def test_no_malformed_request_reached_the_backend(malformed_results):
    _, backend, _ = malformed_results
    assert backend.requests() == []


def test_each_rejection_is_logged_and_the_proxy_keeps_serving(malformed_results, transport):
    p, backend, _ = malformed_results
    assert p.alive()
    import httpx
    r = httpx.get(transport.url(p.port, "/name"), verify=transport.httpx_verify(), timeout=10)
    assert r.status_code == 200 and r.text == "b1"
    assert [rec["path"] for rec in backend.requests()] == ["/name"]
    log = p.error_log()
    lines = re.findall(r"rejected request from 127\.0\.0\.1:\d+: (\d{3}) \(", log)
    # One line per rejected request, with the status it was answered with.
    assert sorted(lines) == sorted(str(c[2]) for c in CASES), log


# ---- many misbehaving clients at once ----------------------------------------------------

def sockets_in_close_wait(port):
    """Sockets on local `port` whose peer has closed but which are still open (CLOSE_WAIT):
    connections Portico failed to notice were over."""
    count = 0
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(path) as f:
                lines = f.read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if int(fields[1].split(":")[1], 16) == port and fields[3] == "08":
                count += 1
    return count


def test_mixed_misbehaving_clients(portico, backends, ws_server):
    """Twelve clients for a few seconds: pipelines of every backend behaviour, uploads cut
    short, half-closes, resets, slow readers, WebSocket tunnels dropped early. Afterwards the
    proxy serves, no connection is left half-open once the timeouts passed, and it exits at
    once on SIGTERM (under ASan/UBSan: with no report)."""
    import random
    import socket
    import struct
    import threading
    import time
    import httpx
    from conftest import request_bytes, wait_until

    b1, b2 = backends(2)
    dead = "127.0.0.1:%d" % __import__("conftest").free_port()
    routes = ("          - match: { prefix: /echo }\n            proxy: { cluster: ws }\n"
              "          - match: { prefix: /direct }\n"
              "            direct_response: { status: 200, body: d }\n"
              "          - match: { prefix: / }\n            proxy: { cluster: app }\n")
    cfg = proxy_config(
        [b1, b2, dead], routes=routes, workers=2, top="drain_timeout: 60s\n",
        extra_listener="    timeouts: { header_read: 1s, body_idle: 1s, keepalive_idle: 2s,"
                       " send_idle: 1s }\n",
        extra_cluster="    timeouts: { response_header: 1s, idle: 1s }\n"
                      "  - name: ws\n    endpoints:\n"
                      "      - address: %s\n" % ws_server)
    p = portico(cfg)
    handshake = (b"GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
                 b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58")
    paths = ["/name", "/sleep/1500", "/sleep/100", "/bytes/3000000", "/chunked/50000", "/reset",
             "/garbage", "/close/10000", "/slowbody/5/400", "/trailers", "/status/204", "/early",
             "/quietclose", "/direct/x", "/raw/short-body", "/raw/cl-and-te", "/raw/bad-chunk",
             "/random/100000"]

    def one(rng):
        s = socket.create_connection(("127.0.0.1", p.port), timeout=3)
        try:
            if rng.random() < 0.15:
                data = handshake
            else:
                data = b""
                for _ in range(rng.randint(1, 4)):
                    path = rng.choice(paths)
                    if rng.random() < 0.3:
                        body = b"x" * rng.choice([0, 10, 70000, 300000])
                        if rng.random() < 0.5 or not body:
                            data += request_bytes("POST", path, body=body)
                        else:
                            data += (b"POST %s HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked"
                                     b"\r\n\r\n%x\r\n%s\r\n0\r\n\r\n" % (path.encode(), len(body),
                                                                      body))
                    else:
                        data += request_bytes(rng.choice(["GET", "HEAD"]), path,
                                              headers=[("TE", "trailers")] * rng.randint(0, 1))
            if rng.random() < 0.2:
                data = data[:rng.randint(0, len(data))]
            s.sendall(data)
            if rng.random() < 0.3:
                s.shutdown(socket.SHUT_WR)
            end = time.time() + rng.choice([0, 0.05, 0.3, 1.5])
            s.settimeout(0.05)
            while time.time() < end:
                try:
                    if rng.random() < 0.5 and not s.recv(rng.choice([1, 100, 65536])):
                        break
                    time.sleep(0.01)
                except socket.timeout:
                    pass
            if rng.random() < 0.5:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        finally:
            s.close()

    def client(seed):
        rng = random.Random(seed)
        deadline = time.time() + 6
        while time.time() < deadline:
            one(rng)

    threads = [threading.Thread(target=client, args=(seed,), daemon=True) for seed in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert p.alive()
    with httpx.Client(timeout=10) as c:
        for _ in range(4):
            r = c.get(p.url("/name"))
            assert r.status_code == 200 and r.text in ("b1", "b2")
    # Every abandoned connection is noticed: by its end of input, or by the timeouts above
    # (at most 2 s; tunnels keep the default 60 s upstream idle timeout, so they must see it).
    assert wait_until(lambda: sockets_in_close_wait(p.port) == 0, timeout=10), \
        sockets_in_close_wait(p.port)
    start = time.time()
    assert p.stop(timeout=30) == 0
    assert time.time() - start < 10  # nothing left for the 60 s drain to wait for
