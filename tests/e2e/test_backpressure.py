"""Backpressure: a slow client or a slow backend never makes Portico buffer much more than its
per-connection limit. Measured as the growth of Portico's resident memory (VmRSS) while 50 MB
are stuck between a fast side and a stalled side."""
import hashlib
import json
import socket
import threading
import time

import httpx

from conftest import RawConn, proxy_config, request_bytes

SIZE = 50 * 1024 * 1024
# The per-connection buffers are 64 KiB; allow for allocator slack and per-thread arenas,
# never for a meaningful part of the 50 MB.
MAX_GROWTH_KB = 8 * 1024


def warm_up(p):
    """Touches the code paths and buffer slabs once, so the baseline includes them."""
    with httpx.Client(timeout=30) as c:
        assert c.get(p.url("/bytes/2000000")).status_code == 200
        assert c.post(p.url("/sha256"), content=b"w" * 2000000).status_code == 200
    time.sleep(0.2)
    return p.rss_kb()


def peak_rss_kb(p, seconds):
    peak = 0
    deadline = time.time() + seconds
    while time.time() < deadline:
        peak = max(peak, p.rss_kb())
        time.sleep(0.05)
    return peak


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
        # Read nothing for a while: the backend keeps sending, Portico must stop reading it.
        peak = peak_rss_kb(p, 2.5)
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
    peak = peak_rss_kb(p, 2.5)
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
        peak = peak_rss_kb(p, 2.5)
        r = conn.read_response()
    finally:
        conn.close()
    assert r.status == 200 and len(r.body) == SIZE
    assert peak - baseline < MAX_GROWTH_KB, (baseline, peak)
