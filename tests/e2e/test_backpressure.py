"""Backpressure: a slow client or a slow backend never makes Portico buffer much more than its
per-connection limit. Measured as the growth of Portico's resident memory (VmRSS) once 50 MB
are stuck between a fast side and a stalled side: the moment bytes wait unread in Portico's
receive queue from the fast side while its send queue to the stalled side is full."""
import hashlib
import json
import socket
import threading

import httpx

from conftest import (RawConn, connections_at, connections_to, proxy_config, request_bytes,
                      rss_once_stuck)

SIZE = 50 * 1024 * 1024
# The per-connection buffers are 64 KiB; allow for allocator slack and per-thread arenas,
# never for a meaningful part of the 50 MB.
MAX_GROWTH_KB = 8 * 1024


def warm_up(p):
    """Touches the code paths and buffer slabs once, so the baseline includes them."""
    with httpx.Client(timeout=30) as c:
        assert c.get(p.url("/bytes/2000000")).status_code == 200
        assert c.post(p.url("/sha256"), content=b"w" * 2000000).status_code == 200
    return p.rss_kb()


def test_slow_client_does_not_grow_memory(portico, backends):
    (b1,) = backends(1)
    p = portico(proxy_config([b1]))
    baseline = warm_up(p)
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    s.settimeout(30)
    s.connect(("127.0.0.1", p.port))
    try:
        s.sendall(request_bytes("GET", "/bytes/%d" % SIZE))
        # Read nothing: the backend keeps sending, Portico must stop reading it.
        peak = rss_once_stuck(p, lambda: connections_to(b1.port), lambda: connections_at(p.port))
        received = 0
        head = b""
        while b"\r\n\r\n" not in head:
            head += s.recv(65536)
        head, rest = head.split(b"\r\n\r\n", 1)
        assert head.startswith(b"HTTP/1.1 200")
        received = len(rest)
        while received < SIZE:
            chunk = s.recv(1 << 20)
            assert chunk, "connection closed after %d bytes" % received
            received += len(chunk)
    finally:
        s.close()
    assert received == SIZE
    assert peak - baseline < MAX_GROWTH_KB, (baseline, peak)


def test_slow_backend_reader_does_not_grow_memory(portico, backends):
    (b1,) = backends(1)
    p = portico(proxy_config([b1]))
    baseline = warm_up(p)
    conn = RawConn(p.port, timeout=60)
    body = bytes(range(256)) * (SIZE // 256)
    sent = {}

    def upload():
        # sendall blocks while nobody reads: the backend sleeps before reading its body.
        conn.send(request_bytes("POST", "/slowread/3000",
                                headers=[("Content-Length", str(len(body)))]))
        conn.send(body)
        sent["done"] = True

    t = threading.Thread(target=upload, daemon=True)
    t.start()
    peak = rss_once_stuck(p, lambda: connections_at(p.port), lambda: connections_to(b1.port))
    assert "done" not in sent  # the upload really was held back
    t.join(60)
    r = conn.read_response()
    conn.close()
    assert r.status == 200
    assert json.loads(r.body) == {"length": SIZE, "sha256": hashlib.sha256(body).hexdigest()}
    assert peak - baseline < MAX_GROWTH_KB, (baseline, peak)


def test_slow_client_on_chunked_response(portico, backends):
    """The same bound holds when the backend streams chunks as fast as it can."""
    (b1,) = backends(1)
    p = portico(proxy_config([b1]))
    baseline = warm_up(p)
    conn = RawConn(p.port, timeout=30, rcvbuf=64 * 1024)
    try:
        conn.send(request_bytes("GET", "/bigchunked/%d" % SIZE))
        peak = rss_once_stuck(p, lambda: connections_to(b1.port), lambda: connections_at(p.port))
        r = conn.read_response()
    finally:
        conn.close()
    assert r.status == 200 and len(r.body) == SIZE
    assert peak - baseline < MAX_GROWTH_KB, (baseline, peak)
