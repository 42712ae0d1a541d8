"""Basic proxying: load balancing, keep-alive, body framing both ways, HTTP/1.0, pipelining,
100-continue, trailers. Real clients (curl, httpx, raw sockets) against real backends."""
import hashlib
import json
import os
import subprocess

import httpx

from conftest import (RawConn, connections_at, connections_to, proxy_config, request_bytes,
                      tcp_queues, wait_until)


def test_round_robin_alternates_between_two_backends(portico, backends):
    b1, b2 = backends(2)
    p = portico(proxy_config([b1, b2]))
    names = []
    for _ in range(10):
        out = subprocess.run(["curl", "-sS", "--max-time", "10", p.url("/name")],
                             capture_output=True, check=True)
        names.append(out.stdout.decode())
    # Strict alternation, whichever backend comes first.
    assert set(names) == {"b1", "b2"}
    for a, b in zip(names, names[1:]):
        assert a != b, names


def test_weighted_round_robin_follows_weights(portico, backends):
    b1, b2 = backends(2)
    p = portico(proxy_config([b1, b2], weights=[3, 1],
                             extra_cluster="    lb: weighted_round_robin\n"))
    counts = {"b1": 0, "b2": 0}
    with httpx.Client(timeout=10) as c:
        for _ in range(40):
            r = c.get(p.url("/name"))
            assert r.status_code == 200
            counts[r.text] += 1
    assert counts == {"b1": 30, "b2": 10}


def test_client_keepalive_serves_many_requests_on_one_connection(portico, backends):
    (b1,) = backends(1)
    p = portico(proxy_config([b1]))
    conn = RawConn(p.port)
    try:
        for i in range(20):
            conn.send(request_bytes("GET", "/n%d" % i))
            r = conn.read_response()
            assert r.status == 200
            assert r.body == b"ok b1 /n%d" % i
            assert (r.header("Connection") or "").lower() != "close"
    finally:
        conn.close()
    assert len(b1.requests()) == 20


def test_upstream_connections_are_reused(portico, backends):
    (b1,) = backends(1)
    p = portico(proxy_config([b1]))
    with httpx.Client(timeout=10) as c:
        for i in range(20):
            assert c.get(p.url("/r%d" % i)).status_code == 200
    # Fresh client connections each time must not matter either: the pool is per worker.
    for i in range(5):
        with httpx.Client(timeout=10) as c:
            assert c.get(p.url("/fresh%d" % i)).status_code == 200
    ports = {r["peer_port"] for r in b1.requests()}
    assert len(b1.requests()) == 25
    # Sequential requests on one worker: one pooled connection carries them all (allow one
    # spare for a keep-alive race).
    assert len(ports) <= 2, ports


def test_content_length_request_body_arrives_intact(portico, backends):
    (b1,) = backends(1)
    p = portico(proxy_config([b1]))
    body = b"hello=world&x=" + b"1" * 1000
    r = httpx.post(p.url("/echo"), content=body, timeout=10)
    assert r.status_code == 200
    assert r.json()["body"] == body.decode()
    (rec,) = b1.requests()
    assert rec["method"] == "POST" and rec["body"] == body.decode()


def test_chunked_request_body_arrives_intact(portico, backends, tmpdir_path):
    (b1,) = backends(1)
    p = portico(proxy_config([b1]))
    # Raw: chunks of different sizes, with a chunk extension (tolerated) and no trailers.
    conn = RawConn(p.port)
    try:
        conn.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                  b"5;ext=1\r\nhello\r\n1\r\n \r\n1a\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\n\r\n")
        r = conn.read_response()
    finally:
        conn.close()
    assert r.status == 200
    assert json.loads(r.body)["body"] == "hello abcdefghijklmnopqrstuvwxyz"
    # curl streaming a file with chunked framing.
    path = os.path.join(tmpdir_path, "up.bin")
    data = os.urandom(300000)
    with open(path, "wb") as f:
        f.write(data)
    out = subprocess.run(["curl", "-sS", "--max-time", "20", "-H", "Transfer-Encoding: chunked",
                          "--data-binary", "@" + path, p.url("/sha256")],
                         capture_output=True, check=True)
    doc = json.loads(out.stdout)
    assert doc == {"length": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def test_chunked_response_arrives_intact(portico, backends):
    (b1,) = backends(1)
    p = portico(proxy_config([b1]))
    conn = RawConn(p.port)
    try:
        conn.send(request_bytes("GET", "/chunked/123456"))
        r = conn.read_response()
        assert r.status == 200
        assert r.header("Transfer-Encoding", "").lower() == "chunked"
        assert r.body == b"y" * 123456
        # The connection stays usable after a chunked response.
        conn.send(request_bytes("GET", "/name"))
        assert conn.read_response().body == b"b1"
    finally:
        conn.close()
    r = httpx.get(p.url("/chunked/5000"), timeout=10)
    assert r.content == b"y" * 5000


def test_large_bodies_both_directions(portico, backends):
    (b1,) = backends(1)
    p = portico(proxy_config([b1]))
    size = 5 * 1024 * 1024
    up = os.urandom(size)
    with httpx.Client(timeout=60) as c:
        r = c.post(p.url("/sha256"), content=up)
        assert r.status_code == 200
        assert r.json() == {"length": size, "sha256": hashlib.sha256(up).hexdigest()}
        r = c.get(p.url("/random/%d" % size))
        assert r.status_code == 200
        assert len(r.content) == size
        assert hashlib.sha256(r.content).hexdigest() == r.headers["x-sha256"]
    # And with curl, streamed to a file.
    out = subprocess.run(["curl", "-sS", "--max-time", "60", p.url("/random/%d" % size)],
                         capture_output=True, check=True)
    assert len(out.stdout) == size
    assert hashlib.sha256(out.stdout).hexdigest() == hashlib.sha256(r.content).hexdigest()


def test_head_response_has_no_body(portico, backends):
    (b1,) = backends(1)
    p = portico(proxy_config([b1]))
    conn = RawConn(p.port)
    try:
        conn.send(request_bytes("HEAD", "/bytes/100"))
        r = conn.read_response(head_request=True)
        assert r.status == 200
        assert r.header("Content-Length") == "100"
        # If any body byte had been sent, this next response would be garbled.
        conn.send(request_bytes("GET", "/name"))
        r = conn.read_response()
        assert r.status == 200 and r.body == b"b1"
        # HEAD of a chunked resource: no body, no chunk terminator either.
        conn.send(request_bytes("HEAD", "/chunked/10"))
        r = conn.read_response(head_request=True)
        assert r.status == 200
        conn.send(request_bytes("GET", "/name"))
        r = conn.read_response()
        assert r.status == 200 and r.body == b"b1"
    finally:
        conn.close()
    out = subprocess.run(["curl", "-sS", "-I", "--max-time", "10", p.url("/bytes/5")],
                         capture_output=True, check=True)
    assert out.stdout.startswith(b"HTTP/1.1 200")
    assert out.stdout.endswith(b"\r\n\r\n")


def test_204_and_304_have_no_body(portico, backends):
    (b1,) = backends(1)
    p = portico(proxy_config([b1]))
    conn = RawConn(p.port)
    try:
        for code in (204, 304):
            conn.send(request_bytes("GET", "/status/%d" % code))
            r = conn.read_response()
            assert r.status == code
            assert r.header("Transfer-Encoding") is None
            assert r.header("Content-Length") in (None, "0")
            conn.send(request_bytes("GET", "/name"))
            r = conn.read_response()
            assert r.status == 200 and r.body == b"b1"
    finally:
        conn.close()


def test_http10_request_gets_a_complete_response_and_close(portico, backends):
    (b1,) = backends(1)
    p = portico(proxy_config([b1]))
    conn = RawConn(p.port)
    try:
        conn.send(b"GET /name HTTP/1.0\r\n\r\n")
        r = conn.read_response()
        assert r.status == 200 and r.body == b"b1"
        assert conn.closed_by_peer()
    finally:
        conn.close()
    # A body of unknown length goes to a 1.0 client delimited by the close, not chunked.
    conn = RawConn(p.port)
    try:
        conn.send(b"GET /chunked/5000 HTTP/1.0\r\n\r\n")
        r = conn.read_response()
        assert r.status == 200
        assert r.header("Transfer-Encoding") is None
        assert r.body == b"y" * 5000
    finally:
        conn.close()
    (rec, _) = b1.requests()
    # The backend gets an HTTP/1.1 request (Portico speaks 1.1 upstream) marked as via 1.0.
    assert any(k.lower() == "via" and "1.0" in v for k, v in rec["headers"])


def test_http10_keepalive(portico, backends):
    (b1,) = backends(1)
    p = portico(proxy_config([b1]))
    conn = RawConn(p.port)
    try:
        for i in range(3):
            conn.send(b"GET /k%d HTTP/1.0\r\nConnection: keep-alive\r\n\r\n" % i)
            r = conn.read_response()
            assert r.status == 200 and r.body == b"ok b1 /k%d" % i
            assert r.header("Connection", "").lower() == "keep-alive"
        # Without keep-alive the server closes after the response.
        conn.send(b"GET /last HTTP/1.0\r\n\r\n")
        assert conn.read_response().body == b"ok b1 /last"
        assert conn.closed_by_peer()
    finally:
        conn.close()


def test_pipelined_requests_answered_in_order(portico, backends):
    (b1,) = backends(1)
    p = portico(proxy_config([b1]))
    conn = RawConn(p.port)
    try:
        data = (request_bytes("GET", "/sleep/300") +
                request_bytes("POST", "/echo", body=b"middle") +
                request_bytes("GET", "/third"))
        conn.send(data)
        r1 = conn.read_response()
        r2 = conn.read_response()
        r3 = conn.read_response()
    finally:
        conn.close()
    assert (r1.status, r1.body) == (200, b"slept")
    assert r2.status == 200 and json.loads(r2.body)["body"] == "middle"
    assert (r3.status, r3.body) == (200, b"ok b1 /third")
    assert [r["path"] for r in b1.requests()] == ["/sleep/300", "/echo", "/third"]


def test_expect_100_continue(portico, backends):
    (b1,) = backends(1)
    p = portico(proxy_config([b1]))
    conn = RawConn(p.port)
    try:
        conn.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n"
                  b"Expect: 100-continue\r\n\r\n")
        # The client waits for the interim response before sending the body.
        interim = conn.read_response()
        assert interim.status == 100
        conn.send(b"hello world")
        r = conn.read_response()
        assert r.status == 200
        assert json.loads(r.body)["body"] == "hello world"
    finally:
        conn.close()
    # curl sends Expect: 100-continue for bodies over 1 MiB and must not stall.
    body = b"e" * (2 * 1024 * 1024)
    out = subprocess.run(["curl", "-sS", "--max-time", "20", "-H", "Expect: 100-continue",
                          "--data-binary", "@-", p.url("/sha256")],
                         input=body, capture_output=True, check=True)
    assert json.loads(out.stdout)["length"] == len(body)


def test_trailers_forwarded_only_when_client_accepts_them(portico, backends):
    (b1,) = backends(1)
    p = portico(proxy_config([b1]))
    conn = RawConn(p.port)
    try:
        conn.send(request_bytes("GET", "/trailers", headers=[("TE", "trailers")]))
        r = conn.read_response()
        assert r.status == 200 and r.body == b"hello"
        assert ("X-Checksum", "abc") in r.trailers
        conn.send(request_bytes("GET", "/trailers"))
        r = conn.read_response()
        assert r.status == 200 and r.body == b"hello"
        assert r.trailers == []
    finally:
        conn.close()


def test_close_delimited_upstream_body_arrives_whole(portico, backends):
    (b1,) = backends(1)
    p = portico(proxy_config([b1]))
    conn = RawConn(p.port)
    try:
        conn.send(request_bytes("GET", "/close/200000"))
        r = conn.read_response()
        assert r.status == 200
        assert r.body == b"z" * 200000
        # Re-framed for the client, so its connection survives the backend's close.
        conn.send(request_bytes("GET", "/name"))
        assert conn.read_response().body == b"b1"
    finally:
        conn.close()
    r = httpx.get(p.url("/close/70000"), timeout=10)
    assert r.content == b"z" * 70000


def test_close_delimited_bodies_end_promptly(portico, backends):
    """The backend's last bytes and its FIN often arrive together; the end of the body must be
    seen at once, not after an idle timeout (idle is 60 s by default; the client waits 10 s)."""
    (b1,) = backends(1)
    p = portico(proxy_config([b1]))
    with httpx.Client(timeout=10) as c:
        for i in range(30):
            r = c.get(p.url("/close/%d" % (i * 7)))
            assert r.status_code == 200 and r.content == b"z" * (i * 7)


def test_interim_1xx_is_forwarded_without_body(portico, backends):
    (b1,) = backends(1)
    p = portico(proxy_config([b1]))
    conn = RawConn(p.port)
    try:
        conn.send(request_bytes("GET", "/early"))
        interim = conn.read_response()
        assert interim.status == 103
        assert interim.header("Link") == "</style.css>; rel=preload"
        r = conn.read_response()
        assert r.status == 200 and r.body == b"after hints"
        conn.send(request_bytes("GET", "/name"))
        assert conn.read_response().body == b"b1"
    finally:
        conn.close()


def test_connection_close_from_client_is_honoured(portico, backends):
    (b1,) = backends(1)
    p = portico(proxy_config([b1]))
    conn = RawConn(p.port)
    try:
        conn.send(request_bytes("GET", "/name", headers=[("Connection", "close")]))
        r = conn.read_response()
        assert r.status == 200 and r.body == b"b1"
        assert r.header("Connection", "").lower() == "close"
        assert conn.closed_by_peer()
    finally:
        conn.close()


def test_client_half_close_still_gets_its_response(portico, backends):
    import socket
    (b1,) = backends(1)
    p = portico(proxy_config([b1]))
    conn = RawConn(p.port)
    try:
        conn.send(request_bytes("GET", "/sleep/200"))
        conn.sock.shutdown(socket.SHUT_WR)
        r = conn.read_response()
        assert r.status == 200 and r.body == b"slept"
        assert conn.closed_by_peer()
    finally:
        conn.close()


def test_max_requests_per_connection(portico, backends):
    (b1,) = backends(1)
    p = portico(proxy_config([b1], extra_listener="    limits: { max_requests_per_connection: 3 }\n"))
    conn = RawConn(p.port)
    try:
        for i in range(3):
            conn.send(request_bytes("GET", "/name"))
            r = conn.read_response()
            assert r.status == 200
        assert r.header("Connection", "").lower() == "close"
        assert conn.closed_by_peer()
    finally:
        conn.close()


def test_concurrent_clients_on_several_workers(portico, backends):
    from concurrent.futures import ThreadPoolExecutor
    b1, b2 = backends(2)
    p = portico(proxy_config([b1, b2], workers=2))

    def client(i):
        with httpx.Client(timeout=20) as c:
            out = []
            for j in range(5):
                r = c.post(p.url("/echo"), content=b"%d-%d" % (i, j))
                out.append((r.status_code, r.json()["body"]))
            return out

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(client, range(40)))
    for i, out in enumerate(results):
        assert out == [(200, "%d-%d" % (i, j)) for j in range(5)]
    assert len(b1.requests()) + len(b2.requests()) == 200
    assert len(b1.requests()) > 0 and len(b2.requests()) > 0


def test_expect_100_continue_is_not_sent_when_the_answer_is_already_known(portico, backends):
    (b1,) = backends(1)
    routes = ("          - match: { path: /direct }\n"
              "            direct_response: { status: 403, body: no }\n"
              "          - match: { prefix: / }\n"
              "            proxy: { cluster: app }\n")
    p = portico(proxy_config([b1], routes=routes))
    conn = RawConn(p.port)
    try:
        conn.send(b"POST /direct HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                  b"Expect: 100-continue\r\n\r\n")
        r = conn.read_response()
        # The final answer straight away; the unsent body would be read as the next request,
        # so the connection closes.
        assert r.status == 403 and r.body == b"no"
        assert r.header("Connection", "").lower() == "close"
    finally:
        conn.close()
    assert b1.requests() == []


def _abort(sock):
    import struct
    import socket as s
    sock.setsockopt(s.SOL_SOCKET, s.SO_LINGER, struct.pack("ii", 1, 0))  # RST on close
    sock.close()


def test_client_aborts_at_any_point_leave_the_proxy_healthy(portico, backends):
    (b1,) = backends(1)
    p = portico(proxy_config([b1]))

    def read_by_portico(c):
        """Portico has read everything the client sent so far."""
        q = tcp_queues(p.port, c.sock.getsockname()[1])
        return q is not None and q[0] == 0

    # 1. while the backend is still working on the answer
    c = RawConn(p.port)
    c.send(request_bytes("GET", "/sleep/300"))
    assert wait_until(lambda: any(r["path"] == "/sleep/300" for r in b1.requests()))
    _abort(c.sock)
    # 2. in the middle of the request body
    c = RawConn(p.port)
    c.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" + b"x" * 5000)
    assert wait_until(lambda: read_by_portico(c))
    _abort(c.sock)
    # 3. in the middle of a large response
    c = RawConn(p.port)
    c.send(request_bytes("GET", "/bytes/20000000"))
    c.read_head()
    c.sock.recv(100000)
    _abort(c.sock)
    # 4. in the middle of a chunked request body
    c = RawConn(p.port)
    c.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel")
    assert wait_until(lambda: read_by_portico(c))
    _abort(c.sock)
    # 5. half way through the head
    c = RawConn(p.port)
    c.send(b"GET /name HTTP/1.1\r\nHo")
    assert wait_until(lambda: read_by_portico(c))
    _abort(c.sock)
    # Portico has closed its side of every aborted connection.
    assert wait_until(lambda: not connections_at(p.port))
    assert p.alive()
    # The pool did not keep any of the abandoned upstream connections for reuse.
    with httpx.Client(timeout=10) as client:
        for i in range(5):
            r = client.get(p.url("/name"))
            assert r.status_code == 200 and r.text == "b1"
    # None of the incomplete uploads reached the backend as a request.
    assert not any(r["method"] == "POST" for r in b1.requests())


def test_deep_pipeline_larger_than_the_buffer(portico, backends):
    """More pipelined requests than the per-connection buffer holds: Portico stops reading
    for a while (backpressure) but answers every one, in order."""
    import threading
    (b1,) = backends(1)
    routes = ("          - match: { prefix: /direct }\n"
              "            direct_response: { status: 200, body: d }\n"
              "          - match: { prefix: / }\n"
              "            proxy: { cluster: app }\n")
    p = portico(proxy_config([b1], routes=routes))
    for path, count in (("/direct/%d", 3000), ("/p%d", 300)):
        reqs = [request_bytes("GET", path % i, headers=[("X-Pad", "p" * 200)])
                for i in range(count)]
        data = b"".join(reqs)
        assert len(data) > 64 * 1024
        conn = RawConn(p.port, timeout=20)
        try:
            sender = threading.Thread(target=conn.send, args=(data,), daemon=True)
            sender.start()
            for i in range(count):
                r = conn.read_response()
                assert r.status == 200, (path, i)
                if path.startswith("/p"):
                    assert r.body == b"ok b1 /p%d" % i
            sender.join(20)
        finally:
            conn.close()


def test_upstream_pool_idle_cap_zero_disables_reuse(portico, backends):
    (b1,) = backends(1)
    p = portico(proxy_config([b1], extra_cluster="    keepalive: { max_idle: 0 }\n"))
    with httpx.Client(timeout=10) as c:
        for i in range(5):
            assert c.get(p.url("/n%d" % i)).status_code == 200
    assert len({r["peer_port"] for r in b1.requests()}) == 5


def test_upstream_pool_idle_timeout_closes_pooled_connections(portico, backends):
    (b1,) = backends(1)
    p = portico(proxy_config([b1], extra_cluster="    keepalive: { idle_timeout: 1s }\n"))
    with httpx.Client(timeout=10) as c:
        assert c.get(p.url("/a")).status_code == 200
        assert c.get(p.url("/b")).status_code == 200
        assert len(connections_to(b1.port)) == 1  # pooled
        # Portico closes the pooled connection once it has been idle for a second.
        assert wait_until(lambda: not connections_to(b1.port), timeout=10)
        assert c.get(p.url("/c")).status_code == 200
    ports = [r["peer_port"] for r in b1.requests()]
    assert ports[0] == ports[1]
    assert ports[2] != ports[1]


def test_upstream_connection_not_reused_after_an_unfinished_response(portico, backends):
    """A response the client abandoned half-way leaves bytes on the upstream connection; it
    must not carry the next request."""
    (b1,) = backends(1)
    p = portico(proxy_config([b1]))
    c = RawConn(p.port)
    c.send(request_bytes("GET", "/bytes/5000000"))
    c.read_head()
    c.close()
    with httpx.Client(timeout=10) as client:
        for i in range(5):
            r = client.get(p.url("/n%d" % i))
            assert r.status_code == 200 and r.text == "ok b1 /n%d" % i


def test_chunked_request_with_trailers(portico, backends):
    (b1,) = backends(1)
    p = portico(proxy_config([b1]))
    conn = RawConn(p.port)
    try:
        for _ in range(2):  # twice: the framing after the trailers must be right
            conn.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                      b"Trailer: X-Sum\r\n\r\n4\r\nwxyz\r\n0\r\nX-Sum: 42\r\n\r\n")
            r = conn.read_response()
            assert r.status == 200
            assert json.loads(r.body)["body"] == "wxyz"
    finally:
        conn.close()
