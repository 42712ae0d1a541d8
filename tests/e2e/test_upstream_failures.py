"""Upstream failures: refused, reset and invalid responses give 502 after the retries that are
safe; bodies are short, configurable and never reveal backend addresses."""
import threading
import time

import httpx
import pytest

from conftest import RawConn, free_port, proxy_config, raw_request, request_bytes, status_of


def dead_endpoint():
    """An address on loopback where nothing listens: connects are refused."""
    return "127.0.0.1:%d" % free_port()


def assert_safe_error_body(body, *addresses):
    assert len(body) < 200, body
    for a in addresses:
        text = a if isinstance(a, str) else a.address
        assert text.encode() not in body
        assert text.split(":")[1].encode() not in body  # not even the port


def test_refused_endpoint_is_retried_on_another(portico, backends):
    (b1,) = backends(1)
    dead = dead_endpoint()
    p = portico(proxy_config([dead, b1]))
    with httpx.Client(timeout=10) as c:
        for i in range(10):
            r = c.get(p.url("/r%d" % i))
            assert r.status_code == 200, r.text
            assert r.text == "ok b1 /r%d" % i
    assert len(b1.requests()) == 10
    # Each failed attempt is logged (with the address: logs are for operators).
    log = p.wait_for_log("upstream %s" % dead)
    assert "upstream %s" % dead in log


def test_without_retries_a_refused_endpoint_fails_its_share(portico, backends):
    (b1,) = backends(1)
    dead = dead_endpoint()
    p = portico(proxy_config([dead, b1], extra_cluster="    max_retries: 0\n"))
    statuses = [httpx.get(p.url("/x"), timeout=10).status_code for _ in range(6)]
    assert sorted(statuses) == [200, 200, 200, 502, 502, 502]


def test_all_endpoints_refused_gives_502(portico):
    dead1, dead2 = dead_endpoint(), dead_endpoint()
    p = portico(proxy_config([dead1, dead2]))
    r = httpx.get(p.url("/x"), timeout=10)
    assert r.status_code == 502
    assert_safe_error_body(r.content, dead1, dead2)
    assert "connection refused" in p.wait_for_log("refused").lower()


def test_reset_gives_502(portico, backends):
    (b1,) = backends(1)
    p = portico(proxy_config([b1]))
    r = httpx.get(p.url("/reset"), timeout=10)
    assert r.status_code == 502
    assert_safe_error_body(r.content, b1)
    assert "upstream %s" % b1.address in p.wait_for_log("upstream %s" % b1.address)


def test_garbage_response_gives_502(portico, backends):
    (b1,) = backends(1)
    p = portico(proxy_config([b1]))
    r = httpx.get(p.url("/garbage"), timeout=10)
    assert r.status_code == 502
    assert_safe_error_body(r.content, b1)
    assert b"this is not http" not in r.content
    # The proxy is fine afterwards, and so is the pool.
    r = httpx.get(p.url("/name"), timeout=10)
    assert r.status_code == 200 and r.text == "b1"
    assert "upstream %s" % b1.address in p.wait_for_log("upstream %s" % b1.address)


def test_post_is_never_retried_after_bytes_were_sent(portico, backends):
    b1, b2 = backends(2)
    p = portico(proxy_config([b1, b2]))
    with httpx.Client(timeout=10) as c:
        # Warm both pools so the POST goes out on a reused connection (the case where a
        # careless proxy would "retry a stale keep-alive").
        for _ in range(4):
            assert c.get(p.url("/name")).status_code == 200
        r = c.post(p.url("/reset"), content=b"pay 100 euros")
    assert r.status_code == 502
    posts = [rec for b in (b1, b2) for rec in b.requests() if rec["method"] == "POST"]
    assert len(posts) == 1
    assert posts[0]["body"] == "pay 100 euros"


def test_post_without_body_is_not_retried_either(portico, backends):
    b1, b2 = backends(2)
    p = portico(proxy_config([b1, b2]))
    for _ in range(2):
        assert httpx.get(p.url("/name"), timeout=10).status_code == 200
    r = httpx.post(p.url("/reset"), timeout=10)
    assert r.status_code == 502
    posts = [rec for b in (b1, b2) for rec in b.requests() if rec["method"] == "POST"]
    assert len(posts) == 1


def test_error_pages_replace_local_error_bodies(portico, backends):
    (b1,) = backends(1)
    dead = dead_endpoint()
    extra = ("    error_pages:\n"
             "      502: \"the shop is taking a break\\n\"\n"
             "      400: \"that request did not make sense\\n\"\n"
             "      404: \"nothing here\\n\"\n")
    routes = ("          - match: { prefix: /dead }\n"
              "            proxy: { cluster: dead }\n"
              "          - match: { prefix: /status }\n"
              "            proxy: { cluster: app }\n")
    cluster = "  - name: dead\n    endpoints:\n      - address: %s\n" % dead
    p = portico(proxy_config([b1], extra_listener=extra, routes=routes, extra_cluster=cluster))
    r = httpx.get(p.url("/dead/x"), timeout=10)
    assert r.status_code == 502
    assert r.text == "the shop is taking a break\n"
    r = httpx.get(p.url("/elsewhere"), timeout=10)
    assert r.status_code == 404
    assert r.text == "nothing here\n"
    # Rejections by the HTTP/1 codec use the pages too.
    data = raw_request(p.port, b"GET /status/200 HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n")
    assert status_of(data) == 400
    assert data.endswith(b"\r\n\r\nthat request did not make sense\n")
    # A status without a page keeps the default short body.
    data = raw_request(p.port, b"GET /status/200 HTTP/2.0\r\nHost: x\r\n\r\n")
    assert status_of(data) == 505
    assert len(data.split(b"\r\n\r\n", 1)[1]) < 100
    # And a backend's own 502 passes through untouched.
    r = httpx.get(p.url("/status/502"), timeout=10)
    assert r.status_code == 502 and r.text == "status 502"


def test_upstream_failure_keeps_client_connection_usable(portico, backends):
    (b1,) = backends(1)
    p = portico(proxy_config([b1]))
    conn = RawConn(p.port)
    try:
        conn.send(request_bytes("GET", "/garbage"))
        r = conn.read_response()
        assert r.status == 502
        conn.send(request_bytes("GET", "/name"))
        r = conn.read_response()
        assert r.status == 200 and r.body == b"b1"
    finally:
        conn.close()


def test_backend_closing_idle_keepalive_connections_is_invisible(portico, backends):
    """A backend that closes each connection after its response without saying so (a short
    keep-alive timeout) races the next request onto a dead pooled connection: a safe request
    must then be retried on a fresh connection, never answered with 502."""
    (b1,) = backends(1)
    p = portico(proxy_config([b1]))
    with httpx.Client(timeout=10) as c:
        for i in range(30):
            r = c.get(p.url("/quietclose"))
            assert r.status_code == 200 and r.text == "bye", i
    assert len(b1.requests()) >= 30


# Broken backend responses whose head never becomes valid: the client gets a clean 502.
BROKEN_HEADS = ["cl-and-te", "bad-cl", "two-cl", "status-4-digits", "status-letters", "version-2",
                "obs-fold", "nul-in-field", "space-before-colon", "truncated-head", "empty",
                "unexpected-101", "huge-head"]


@pytest.mark.parametrize("name", BROKEN_HEADS)
def test_invalid_upstream_response_gives_502(portico, backends, name):
    (b1,) = backends(1)
    p = portico(proxy_config([b1], extra_cluster="    max_retries: 0\n"))
    conn = RawConn(p.port)
    try:
        conn.send(request_bytes("GET", "/raw/" + name))
        r = conn.read_response()
        assert r.status == 502, r
        assert_safe_error_body(r.body, b1)
        # Nothing of the broken response leaked to the client.
        assert all(not k.lower().startswith("x-") for k, _ in r.headers if k.lower() != "x-request-id")
        conn.send(request_bytes("GET", "/name"))
        assert conn.read_response().body == b"b1"
    finally:
        conn.close()
    assert "upstream %s" % b1.address in p.wait_for_log("upstream %s" % b1.address)


@pytest.mark.parametrize("name", ["short-body", "bad-chunk", "chunked-no-end"])
def test_upstream_body_failure_after_head_truncates_the_response(portico, backends, name):
    """Once the head went out, the status cannot change: the client must be able to tell the
    response is incomplete (the connection closes before the framing is complete)."""
    (b1,) = backends(1)
    p = portico(proxy_config([b1]))
    conn = RawConn(p.port)
    try:
        conn.send(request_bytes("GET", "/raw/" + name))
        head = conn.read_head()
        assert head.status == 200
        conn.sock.settimeout(10)
        rest = conn.buf
        while True:
            chunk = conn.sock.recv(65536)
            if not chunk:
                break
            rest += chunk
    except ConnectionResetError:
        rest = b""
    finally:
        conn.close()
    if head.header("Content-Length"):
        assert len(rest) < int(head.header("Content-Length"))
    else:
        assert not rest.endswith(b"0\r\n\r\n")
    assert "upstream %s" % b1.address in p.wait_for_log("upstream %s" % b1.address)


def test_pipelined_request_after_an_upstream_failure(portico, backends):
    (b1,) = backends(1)
    p = portico(proxy_config([b1]))
    conn = RawConn(p.port)
    try:
        conn.send(request_bytes("GET", "/garbage") + request_bytes("GET", "/name") +
                  request_bytes("GET", "/reset") + request_bytes("GET", "/peer"))
        assert conn.read_response().status == 502
        r = conn.read_response()
        assert r.status == 200 and r.body == b"b1"
        assert conn.read_response().status == 502
        assert conn.read_response().status == 200
    finally:
        conn.close()


def test_request_body_survives_a_retry(portico, backends):
    """The body that arrived while the first endpoint was refusing goes, whole, to the next."""
    import hashlib
    import os
    (b1,) = backends(1)
    dead = dead_endpoint()
    p = portico(proxy_config([dead, b1]))
    with httpx.Client(timeout=20) as c:
        for i in range(6):
            body = os.urandom(300000 + i)
            r = c.post(p.url("/sha256"), content=body)
            assert r.status_code == 200
            assert r.json() == {"length": len(body), "sha256": hashlib.sha256(body).hexdigest()}
    # And with a chunked upload from a raw client, sent in pieces.
    conn = RawConn(p.port, timeout=20)
    try:
        for _ in range(2):
            conn.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
            conn.send(b"4\r\nabcd\r\n")
            conn.send(b"3\r\nefg\r\n0\r\n\r\n")
            r = conn.read_response()
            assert r.status == 200 and r.body and b'"body": "abcdefg"' in r.body
    finally:
        conn.close()


def slow_request_in_background(port, path):
    """Sends a request on its own connection; returns (thread, result list)."""
    result = []

    def run():
        conn = RawConn(port, timeout=20)
        conn.send(request_bytes("GET", path))
        result.append(conn.read_response())
        conn.close()
    t = threading.Thread(target=run)
    t.start()
    return t, result


def test_503_when_every_endpoint_is_at_its_connection_limit_and_queueing_is_off(portico, backends):
    # queue_timeout: 0s turns the queue off (tests/e2e/test_request_queue.py has the queue).
    b1, b2 = backends(2)
    p = portico(proxy_config([b1, b2], extra_cluster="    max_connections_per_endpoint: 1\n"
                                                     "    queue_timeout: 0s\n"))
    # Two slow requests take the one connection each endpoint may have.
    busy = [slow_request_in_background(p.port, "/sleep/1500") for _ in range(2)]
    assert wait_until_both_backends_busy(b1, b2)
    r = raw_request(p.port, request_bytes("GET", "/third", headers=[("Connection", "close")]))
    assert status_of(r) == 503
    assert_safe_error_body(r.split(b"\r\n\r\n", 1)[1], b1, b2)
    assert "every endpoint is at its connection limit" in p.wait_for_log("connection limit")
    for t, result in busy:
        t.join()
        assert result and result[0].status == 200
    # The limit counts open connections, not requests: with the slow ones done, the idle
    # connections serve new requests again.
    with httpx.Client(timeout=10) as c:
        for i in range(4):
            assert c.get(p.url("/after/%d" % i)).status_code == 200
    assert not [r for r in b1.requests() + b2.requests() if r["path"] == "/third"]


def wait_until_both_backends_busy(b1, b2, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        paths = [r["path"] for r in b1.requests() + b2.requests()]
        if paths.count("/sleep/1500") == 2:
            return True
        time.sleep(0.02)
    return False
