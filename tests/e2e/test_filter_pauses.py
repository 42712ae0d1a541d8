"""The fault filter through the real binary: pauses on a timer at every phase of both
directions, with bodies split at random points on both sides, must deliver every byte to the
backend and to the client intact; an abort answers from the filter's position (the backend
never sees the request, the route's header rules never see the answer); and a delayed upload
stays within the listener's buffer limit.

The backend (backend.py /split/N/SEED/FRAMING) reports the digest, length and trailers of the
request body it read, and answers with N seeded random bytes written in randomly split pieces
with small random pauses (chunked with trailers, or with a Content-Length)."""
import hashlib
import json
import random
import socket
import struct
import threading
import time

import pytest

from conftest import RawConn, proxy_config, request_bytes, wait_until

ALL_PHASES = ("[request_headers, request_body, request_trailers, response_headers, "
              "response_body, response_trailers]")


def route(prefix, lines):
    text = "          - match: { prefix: %s }\n            rewrite_prefix: /\n" % prefix
    return text + "".join("            %s\n" % line for line in lines) + \
        "            proxy: { cluster: app }\n"


ROUTES = "".join([
    # Short delays: each body chunk waits, so a 4 MiB body through 64 KiB of buffer pauses
    # dozens of times.
    route("/delay/", ["fault: { delay: { duration: 2ms, phases: %s } }" % ALL_PHASES]),
    # Two filters: the fault filter and the header rules, both on the path of every byte.
    route("/two/", ["fault: { delay: { duration: 3ms, phases: %s } }" % ALL_PHASES,
                    "response_headers: { set: { X-Rules: applied } }"]),
    # Long enough to measure: six phases, 100 ms each.
    route("/slow/", ["fault: { delay: { duration: 100ms, phases: %s } }" % ALL_PHASES]),
    route("/abort/", ["fault: { abort: { status: 503, body: fault injected } }",
                      "response_headers: { set: { X-Rules: applied } }"]),
    route("/never/", ["fault: { abort: { status: 503, percent: 0 } }",
                      "response_headers: { set: { X-Rules: applied } }"]),
    route("/slowabort/", ["fault: { delay: { duration: 200ms }, abort: { status: 429 } }"]),
    route("/override/", ["fault: { allow_header_override: true }"]),
    route("/", []),
])


@pytest.fixture
def setup(portico, backends):
    (b1,) = backends(1)
    p = portico(proxy_config([b1], routes=ROUTES))
    return p, b1


def send_in_pieces(conn, data, rng):
    """Writes `data` in random-sized pieces, sometimes pausing so they leave as separate
    segments."""
    sent = 0
    while sent < len(data):
        n = rng.choice((1, rng.randint(1, 2000), rng.randint(1, 200000)))
        conn.send(data[sent:sent + n])
        sent += n
        if rng.random() < 0.1:
            time.sleep(rng.random() * 0.002)


def chunked(data, rng, trailers):
    """`data` in chunked encoding with random chunk sizes, ending with `trailers`."""
    out = []
    i = 0
    while i < len(data):
        n = rng.randint(1, 100000)
        out.append(b"%x\r\n%s\r\n" % (len(data[i:i + n]), data[i:i + n]))
        i += n
    out.append(b"0\r\n" + b"".join(b"%s: %s\r\n" % kv for kv in trailers) + b"\r\n")
    return b"".join(out)


def exchange(conn, prefix, seed, framing, rng, req_len=None, resp_len=None):
    """One POST of a random body in random pieces; checks both bodies byte for byte."""
    if req_len is None:
        req_len = rng.choice((0, rng.randint(1, 1000), rng.randint(0, 2 << 20)))
    if resp_len is None:
        resp_len = rng.choice((0, rng.randint(1, 1000), rng.randint(0, 4 << 20)))
    body = random.Random(seed * 7919).randbytes(req_len)
    digest = hashlib.sha256(body).hexdigest()
    path = "%ssplit/%d/%d/%s" % (prefix, resp_len, seed, framing)
    if framing == "chunked":
        trailers = [(b"X-Client-Sha256", digest.encode())]
        head = request_bytes("POST", path, headers=[("Transfer-Encoding", "chunked"),
                                                    ("TE", "trailers")])
        payload = chunked(body, rng, trailers)
    else:
        head = request_bytes("POST", path, headers=[("Content-Length", str(req_len))])
        payload = body
    send_in_pieces(conn, head + payload, rng)
    r = conn.read_response()
    what = (prefix, seed, framing, req_len, resp_len)
    assert r.status == 200, what
    assert r.header("X-Request-Length") == str(req_len), what
    assert r.header("X-Request-Sha256") == digest, what
    expected = random.Random(seed).randbytes(resp_len)
    assert len(r.body) == resp_len, what
    assert r.body == expected, what
    if framing == "chunked":
        assert json.loads(r.header("X-Request-Trailers")) == [["X-Client-Sha256", digest]], what
        assert dict(r.trailers) == {"X-Sha256": hashlib.sha256(expected).hexdigest(),
                                    "X-Length": str(resp_len)}, what
    return r


@pytest.mark.parametrize("prefix", ["/delay/", "/two/"])
def test_random_bodies_arrive_intact_through_pauses(setup, prefix):
    p, _ = setup
    sizes = []
    for seed in range(1, 9):
        rng = random.Random(seed)
        conn = RawConn(p.port, timeout=30)
        try:
            # Keep-alive: both framings on one connection, so the filter's state per stream
            # (timers, paused inboxes) must not leak into the next exchange.
            for framing in ("chunked", "length"):
                r = exchange(conn, prefix, seed, framing, rng)
                sizes.append((int(r.header("X-Request-Length")), len(r.body)))
                assert (r.header("X-Rules") == "applied") == (prefix == "/two/")
        finally:
            conn.close()
    # The seeds cover empty, small and large bodies both ways.
    assert {0, 1} <= {min(1, req) for req, _ in sizes} and max(s[0] for s in sizes) > 1 << 20
    assert {0, 1} <= {min(1, resp) for _, resp in sizes} and max(s[1] for s in sizes) > 2 << 20


def test_every_phase_is_delayed(setup):
    p, b1 = setup
    conn = RawConn(p.port, timeout=30)
    start = time.monotonic()
    # Bodies of one piece each way: every phase occurs, the body phases once or a few times.
    r = exchange(conn, "/slow/", 99, "chunked", random.Random(99), req_len=1000, resp_len=1000)
    elapsed = time.monotonic() - start
    conn.close()
    # Request head, body, trailers, response head, body, trailers: at least 100 ms each.
    assert elapsed >= 0.6, elapsed
    assert r.status == 200
    # A route without the fault filter is not slowed down (the sum above is the filter's).
    conn = RawConn(p.port, timeout=30)
    start = time.monotonic()
    exchange(conn, "/", 99, "chunked", random.Random(99), req_len=1000, resp_len=1000)
    conn.close()
    assert time.monotonic() - start < 0.5


def test_abort_answers_from_the_filter_position(setup):
    p, b1 = setup
    conn = RawConn(p.port)
    conn.send(request_bytes("POST", "/abort/split/10/1/length", body=b"never forwarded"))
    r = conn.read_response()
    conn.close()
    assert r.status == 503
    assert r.body == b"fault injected"
    # The header rules sit behind the fault filter: its answer does not pass them.
    assert r.header("X-Rules") is None
    # The same rules do apply to a response that passes them, on a route whose abort never
    # fires (percent: 0).
    conn = RawConn(p.port)
    conn.send(request_bytes("GET", "/never/split/10/1/length"))
    r = conn.read_response()
    conn.close()
    assert r.status == 200 and r.header("X-Rules") == "applied"
    assert [req["path"] for req in b1.requests()] == ["/split/10/1/length"]


def test_delay_then_abort(setup):
    p, b1 = setup
    for body in (b"", b"z" * (256 << 10)):
        # With a body larger than the buffer limit, too: the answer must not wait for it.
        conn = RawConn(p.port)
        start = time.monotonic()
        conn.send(request_bytes("POST", "/slowabort/split/10/1/length", body=body,
                                headers=[("Content-Length", str(len(body)))]))
        r = conn.read_response()
        elapsed = time.monotonic() - start
        conn.close()
        assert r.status == 429
        assert elapsed >= 0.2, elapsed
    assert b1.requests() == []


def test_header_override_only_where_allowed(setup):
    p, b1 = setup
    conn = RawConn(p.port)
    conn.send(request_bytes("GET", "/override/a", headers=[("X-Portico-Fault-Abort", "418")]))
    assert conn.read_response().status == 418
    start = time.monotonic()
    conn.send(request_bytes("GET", "/override/b", headers=[("X-Portico-Fault-Delay", "300ms")]))
    r = conn.read_response()
    assert r.status == 200
    assert time.monotonic() - start >= 0.3
    # Not allowed on /delay/: the headers do nothing and go on to the backend untouched.
    conn.send(request_bytes("GET", "/delay/c", headers=[("X-Portico-Fault-Abort", "418")]))
    assert conn.read_response().status == 200
    conn.close()
    seen = {req["path"]: [k.lower() for k, _ in req["headers"]] for req in b1.requests()}
    assert set(seen) == {"/b", "/c"}
    assert not any(k.startswith("x-portico-fault") for k in seen["/b"])
    assert "x-portico-fault-abort" in seen["/c"]


def test_delayed_upload_keeps_memory_bounded(setup):
    p, _ = setup
    size = 64 << 20
    # Warm up the code paths and buffer slabs, so the baseline includes them.
    conn = RawConn(p.port, timeout=60)
    exchange(conn, "/delay/", 7, "length", random.Random(7))
    baseline = p.rss_kb()
    body = bytes(range(256)) * (size // 256)
    result = {}

    def upload():
        conn.send(request_bytes("POST", "/delay/split/0/1/length",
                                headers=[("Content-Length", str(size))]))
        conn.send(body)
        result["response"] = conn.read_response()

    t = threading.Thread(target=upload, daemon=True)
    t.start()
    peak = baseline
    while t.is_alive():
        peak = max(peak, p.rss_kb())
        t.join(0.01)
    conn.close()
    r = result["response"]
    assert r.status == 200
    assert r.header("X-Request-Length") == str(size)
    assert r.header("X-Request-Sha256") == hashlib.sha256(body).hexdigest()
    # Every 2 ms pause lets the client fill the buffer again: without the limit the whole
    # 64 MiB would pile up in Portico.
    assert peak - baseline < 8 * 1024, (baseline, peak)


def reset(conn):
    """Closes with a reset: the client is gone, not merely done sending."""
    conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


def test_client_gone_while_paused(setup):
    """A stream that ends while the filter waits on a timer (request side, then response
    side) is torn down cleanly: the timer never fires into a freed stream."""
    p, b1 = setup
    conn = RawConn(p.port)
    conn.send(request_bytes("GET", "/slow/split/10/1/length"))
    reset(conn)  # during the 100 ms request-headers delay
    conn = RawConn(p.port)
    conn.send(request_bytes("POST", "/slow/split/100000/1/chunked", body=b"x"))
    # The backend has the request: the response is now in its delayed phases.
    assert wait_until(lambda: len(b1.requests()) == 1)
    reset(conn)
    conn = RawConn(p.port)
    conn.send(request_bytes("GET", "/delay/split/10/2/length"))
    assert conn.read_response().status == 200
    conn.close()
    # Past every timer the closed streams could have armed.
    conn = RawConn(p.port)
    start = time.monotonic()
    conn.send(request_bytes("GET", "/slowabort/x"))
    assert conn.read_response().status == 429
    assert time.monotonic() - start >= 0.2
    conn.close()
    assert p.alive()
    assert [r["path"] for r in b1.requests()] == ["/split/100000/1/chunked",
                                                  "/split/10/2/length"]
