"""HTTP/2 to backends: HTTP/1.1 clients through Portico to real HTTP/2 backends
(h2_backend.py, python3-h2) over h2c and over TLS with ALPN; `protocol: auto`; many client
requests multiplexed on few upstream connections; bodies and trailers both ways; and the
failures a backend can cause (GOAWAY, RST_STREAM, a malformed response, a crash, slowness)."""
import concurrent.futures
import hashlib
import math
import os
import time

import httpx
import pytest

from conftest import (Backend, Portico, RawConn, assert_no_sanitizer_reports, free_port,
                      proxy_config)

_STARTED = []


@pytest.fixture(autouse=True)
def no_sanitizer_reports(tmpdir_path):
    """Every Portico a test started is stopped after it (LeakSanitizer reports at exit) and
    its error log must hold no sanitizer report (under an ASan build)."""
    _STARTED.clear()
    yield
    for p in _STARTED:
        p.stop()
        assert_no_sanitizer_reports(p)


@pytest.fixture
def h2_backend(tmpdir_path):
    started = []

    def make(*args, name=None):
        b = Backend(tmpdir_path, name or "h2-%d" % (len(started) + 1), tls=args,
                    script="h2_backend.py")
        started.append(b)
        return b

    yield make
    for b in started:
        b.stop()


def start(tmpdir_path, backend, cluster_lines, routes=None, workers=1):
    port = free_port()
    config = proxy_config([backend], extra_cluster=cluster_lines, routes=routes,
                          workers=workers).replace("{port}", str(port))
    p = Portico(tmpdir_path, config, port).start()
    _STARTED.append(p)
    return p


def tls_cluster(ca, protocol):
    return "    protocol: %s\n    tls: {ca: %s}\n" % (protocol, ca.cert)


def test_h2c_request_reaches_the_backend_as_http2(tmpdir_path, h2_backend):
    b = h2_backend()
    p = start(tmpdir_path, b, "    protocol: h2c\n")
    r = httpx.get(p.url("/info?x=1"), headers={"Host": "app.test", "X-Custom": "yes",
                                                "Connection": "keep-alive, X-Drop",
                                                "X-Drop": "1", "TE": "trailers"}, timeout=10)
    assert r.status_code == 200, r.text
    seen = r.json()
    assert seen["method"] == "GET"
    assert seen["path"] == "/info?x=1"
    assert seen["scheme"] == "http"
    assert seen["authority"] == "app.test"
    names = [k for k, _ in seen["headers"]]
    assert "x-custom" in names
    # Connection-specific fields never reach an HTTP/2 backend; TE only as "trailers".
    for gone in ("host", "connection", "keep-alive", "x-drop"):
        assert gone not in names
    assert ["te", "trailers"] in seen["headers"]
    assert p.alive()


def test_h2_over_tls_with_alpn(tmpdir_path, h2_backend, test_ca, server_cert):
    b = h2_backend("--tls-cert", server_cert.cert, "--tls-key", server_cert.key)
    p = start(tmpdir_path, b, tls_cluster(test_ca, "h2"))
    r = httpx.get(p.url("/info"), timeout=10)
    assert r.status_code == 200, p.error_log()
    assert r.json()["scheme"] == "https"


def test_auto_uses_h2_when_the_backend_selects_it(tmpdir_path, h2_backend, test_ca,
                                                  server_cert):
    b = h2_backend("--tls-cert", server_cert.cert, "--tls-key", server_cert.key)
    p = start(tmpdir_path, b, tls_cluster(test_ca, "auto"))
    r = httpx.get(p.url("/info"), timeout=10)
    assert r.status_code == 200, p.error_log()
    assert b.requests()[0]["stream_id"] == 1  # an HTTP/2 stream, on the h2 backend


def test_auto_falls_back_to_http1_when_the_backend_offers_only_http1(tmpdir_path, test_ca,
                                                                    server_cert):
    b = Backend(tmpdir_path, "h1tls", tls=("--tls-cert", server_cert.cert,
                                           "--tls-key", server_cert.key))
    try:
        p = start(tmpdir_path, b, tls_cluster(test_ca, "auto"))
        r = httpx.get(p.url("/name"), timeout=10)
        assert r.status_code == 200, p.error_log()
        assert r.text == "h1tls"
        assert b.requests()[0]["tls_version"].startswith("TLSv1")
    finally:
        b.stop()


def test_h2_cluster_refuses_a_backend_without_h2(tmpdir_path, test_ca, server_cert):
    b = Backend(tmpdir_path, "h1only", tls=("--tls-cert", server_cert.cert,
                                            "--tls-key", server_cert.key))
    try:
        p = start(tmpdir_path, b, tls_cluster(test_ca, "h2"))
        assert httpx.get(p.url("/name"), timeout=10).status_code == 502
        assert "did not select h2" in p.wait_for_log("did not select h2")
    finally:
        b.stop()


def test_concurrent_requests_share_few_connections(tmpdir_path, h2_backend):
    b = h2_backend()
    max_streams = 10
    p = start(tmpdir_path, b, "    protocol: h2c\n    http2: {max_streams_per_connection: %d}\n"
              % max_streams)
    with httpx.Client(timeout=20, limits=httpx.Limits(max_connections=60)) as c:
        with concurrent.futures.ThreadPoolExecutor(50) as pool:
            results = list(pool.map(lambda i: c.get(p.url("/sleep/300?i=%d" % i)), range(50)))
    assert [r.status_code for r in results] == [200] * 50
    conns = {r["conn"] for r in b.requests()}
    assert len(b.requests()) == 50
    assert 1 <= len(conns) <= math.ceil(50 / max_streams), conns


def test_large_bodies_both_ways(tmpdir_path, h2_backend):
    b = h2_backend()
    p = start(tmpdir_path, b, "    protocol: h2c\n")
    body = os.urandom(3 * 1024 * 1024 + 17)
    r = httpx.post(p.url("/echo"), content=body, timeout=30)
    assert r.status_code == 200
    assert hashlib.sha256(r.content).hexdigest() == hashlib.sha256(body).hexdigest()
    r = httpx.get(p.url("/bytes/%d" % (8 * 1024 * 1024)), timeout=30)
    assert r.status_code == 200 and len(r.content) == 8 * 1024 * 1024


def test_trailers_both_ways(tmpdir_path, h2_backend):
    b = h2_backend()
    p = start(tmpdir_path, b, "    protocol: h2c\n")
    c = RawConn(p.port)
    c.send(b"GET /trailers HTTP/1.1\r\nHost: x\r\nTE: trailers\r\n\r\n")
    r = c.read_response()
    assert r.status == 200 and r.body == b"hello"
    assert ("x-checksum", "abc") in [(k.lower(), v) for k, v in r.trailers]
    c.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTE: trailers\r\n\r\n"
           b"5\r\nhello\r\n0\r\nX-Sum: 42\r\n\r\n")
    r = c.read_response()
    assert r.status == 200 and r.body == b"hello"
    c.close()
    assert b.requests()[-1]["trailers"] == [["x-sum", "42"]]


def test_goaway_mid_traffic_loses_no_request(tmpdir_path, h2_backend):
    b = h2_backend("--goaway-after", "4")
    p = start(tmpdir_path, b, "    protocol: h2c\n    max_retries: 3\n")
    with httpx.Client(timeout=20) as c:
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            results = list(pool.map(lambda i: c.post(p.url("/echo"), content=b"n%d" % i),
                                    range(40)))
    assert [r.status_code for r in results] == [200] * 40, p.error_log()
    assert sorted(r.content for r in results) == sorted(b"n%d" % i for i in range(40))
    # Each request was processed exactly once: those the GOAWAYs left out were sent again on
    # new connections, and none twice.
    assert len(b.requests()) == 40
    assert len({r["conn"] for r in b.requests()}) >= 2
    assert p.alive()


def test_refused_stream_is_retried_with_its_body(tmpdir_path, h2_backend):
    b = h2_backend()
    p = start(tmpdir_path, b, "    protocol: h2c\n")
    r = httpx.post(p.url("/refuse-once/k1"), content=b"payload", timeout=10)
    assert r.status_code == 200 and r.text == "ok k1", p.error_log()
    seen = [x for x in b.requests() if x["path"] == "/refuse-once/k1"]
    assert len(seen) == 2  # refused, then sent again
    assert seen[0]["body_sha256"] == seen[1]["body_sha256"] == hashlib.sha256(b"payload").hexdigest()


def test_rst_stream_internal_error_is_502(tmpdir_path, h2_backend):
    b = h2_backend()
    p = start(tmpdir_path, b, "    protocol: h2c\n")
    assert httpx.get(p.url("/rst/2"), timeout=10).status_code == 502
    assert len([x for x in b.requests() if x["path"] == "/rst/2"]) == 1  # not retried
    assert httpx.get(p.url("/info"), timeout=10).status_code == 200


@pytest.mark.parametrize("path", ["/badheader", "/badlength"])
def test_malformed_response_is_502(tmpdir_path, h2_backend, path):
    b = h2_backend()
    p = start(tmpdir_path, b, "    protocol: h2c\n")
    if path == "/badheader":
        assert httpx.get(p.url(path), timeout=10).status_code == 502
    else:
        # The head was fine and went on; the body broke its Content-Length, so the client's
        # response is cut short rather than completed with the wrong length.
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.get(p.url(path), timeout=10)
    assert "malformed response" in p.wait_for_log("malformed response")
    assert httpx.get(p.url("/info"), timeout=10).status_code == 200


def test_backend_killed_mid_traffic_gives_502_not_hangs(tmpdir_path, h2_backend):
    b = h2_backend()
    p = start(tmpdir_path, b, "    protocol: h2c\n    max_retries: 0\n")
    with httpx.Client(timeout=20) as c:
        with concurrent.futures.ThreadPoolExecutor(10) as pool:
            futures = [pool.submit(c.get, p.url("/sleep/5000?i=%d" % i)) for i in range(10)]
            # Every request reached the backend before it dies.
            deadline = time.time() + 10
            while len(b.requests()) < 10 and time.time() < deadline:
                time.sleep(0.02)
            assert len(b.requests()) == 10
            b.stop()
            statuses = [f.result().status_code for f in futures]
    assert statuses == [502] * 10
    assert p.alive()


def test_slow_stream_times_out_alone(tmpdir_path, h2_backend):
    b = h2_backend()
    p = start(tmpdir_path, b, "    protocol: h2c\n    timeouts: {response_header: 500ms}\n")
    with httpx.Client(timeout=20) as c:
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            slow = pool.submit(c.get, p.url("/sleep/3000"))
            fast = pool.submit(c.get, p.url("/sleep/100"))
            assert fast.result().status_code == 200
            assert slow.result().status_code == 504
    seen = {x["path"]: x["conn"] for x in b.requests()}
    assert seen["/sleep/3000"] == seen["/sleep/100"]  # one connection, two streams
    assert httpx.get(p.url("/info"), timeout=10).status_code == 200


def test_tunnel_to_an_h2_cluster_is_a_clear_error(tmpdir_path, h2_backend):
    b = h2_backend()
    p = start(tmpdir_path, b, "    protocol: h2c\n")
    c = RawConn(p.port)
    c.send(b"GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
           b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
    assert c.read_response().status == 502
    c.close()
    assert "route it to a cluster with protocol: http1" in p.wait_for_log("protocol: http1")
    assert b.requests() == []


def test_refused_stream_with_a_body_too_long_to_keep_is_502(tmpdir_path, h2_backend):
    b = h2_backend()
    p = start(tmpdir_path, b, "    protocol: h2c\n")
    r = httpx.post(p.url("/refuse-once/big"), content=b"y" * (100 * 1024), timeout=10)
    assert r.status_code == 502
    assert "past the 65536 bytes kept for a replay" in p.wait_for_log("kept for a replay")
    assert len([x for x in b.requests() if x["path"] == "/refuse-once/big"]) == 1


def test_slow_client_stops_only_its_own_stream(tmpdir_path, h2_backend):
    b = h2_backend()
    p = start(tmpdir_path, b, "    protocol: h2c\n")
    big = 8 * 1024 * 1024
    slow = RawConn(p.port, rcvbuf=16384)
    slow.send(b"GET /bytes/%d HTTP/1.1\r\nHost: x\r\n\r\n" % big)
    head = slow.read_head()  # its response started and then stalls: the client reads nothing
    assert head.status == 200
    # Another client's stream on the same upstream connection is not held up.
    r = httpx.get(p.url("/bytes/%d" % (4 * 1024 * 1024)), timeout=10)
    assert r.status_code == 200 and len(r.content) == 4 * 1024 * 1024
    assert len({x["conn"] for x in b.requests()}) == 1
    # The slow client still gets every byte once it reads.
    received = len(slow.buf)
    while received < big:
        chunk = slow.sock.recv(1 << 20)
        assert chunk
        received += len(chunk)
    assert received == big
    slow.close()

