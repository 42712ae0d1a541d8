"""A request is never replayed or desynchronized on an upstream connection: retried only when
no response byte came back and the whole request can be sent again; connections that saw an
error, a partial request or a partial response are closed, never pooled; retries are logged."""
import contextlib
import os
import re
import signal

import httpx

from conftest import RawConn, free_port, proxy_config, request_bytes, wait_until


@contextlib.contextmanager
def frozen(p):
    """Stops the proxy process: what happens meanwhile waits in its sockets, and it sees it all
    at once, in the order it happened, when it goes on."""
    os.kill(p.proc.pid, signal.SIGSTOP)
    try:
        def state():
            with open("/proc/%d/stat" % p.proc.pid) as f:
                return f.read().rsplit(")", 1)[1].split()[0]
        assert wait_until(lambda: state() in ("T", "t"), timeout=5)
        yield
    finally:
        os.kill(p.proc.pid, signal.SIGCONT)


def send_as_the_pooled_connection_goes_stale(p, backend, data):
    """Sends `data` on a client connection whose first request left an idle upstream
    connection in the pool; the backend closes that one while the proxy is frozen, so the
    proxy hands the request to it before it notices the close. Returns the response."""
    conn = RawConn(p.port)
    try:
        conn.send(request_bytes("GET", "/closable"))
        assert conn.read_response().body == b"closable"
        with frozen(p):
            conn.send(data)
            assert httpx.get("http://%s/closeidle" % backend.address, timeout=5).text == "1"
        return conn.read_response()
    finally:
        conn.close()


def records(backend, path, method=None):
    return [r for r in backend.requests()
            if r["path"] == path and (method is None or r["method"] == method)]


def test_get_is_not_sent_again_after_a_malformed_response_on_a_reused_connection(portico,
                                                                                 backends):
    """Bytes came back, so the backend read the request and acted on it: a retry on a fresh
    connection (which this backend would answer well) would run it twice."""
    (b1,) = backends(1)
    p = portico(proxy_config([b1]))
    conn = RawConn(p.port)
    try:
        conn.send(request_bytes("GET", "/name"))
        assert conn.read_response().body == b"b1"
        conn.send(request_bytes("GET", "/garbagereused"))
        r = conn.read_response()
        assert r.status == 502, r
        rid = r.header("X-Request-Id")
    finally:
        conn.close()
    got = records(b1, "/garbagereused")
    assert len(got) == 1, got
    assert got[0]["peer_port"] == records(b1, "/name")[0]["peer_port"]  # it was reused
    log = p.wait_for_log("(request %s)" % rid)
    assert "upstream %s" % b1.address in log and "(request %s)" % rid in log
    assert "request %s: retrying" % rid not in log


def test_post_body_given_to_a_stale_connection_is_not_replayed_without_it(portico, backends):
    """The backend closes a pooled connection just as a POST is handed to it, before any byte
    was written. The body went with that connection: a retry would send the head alone, and
    this backend answers before reading a body, then takes the next request for it."""
    (b1,) = backends(1)
    p = portico(proxy_config([b1], extra_cluster="    timeouts: { response_header: 3s }\n"))
    body = bytes(range(256)) * 4
    r = send_as_the_pooled_connection_goes_stale(
        p, b1, request_bytes("POST", "/answerfirst", body=body))
    # Two honest outcomes: 502 with nothing of the POST at the backend, or (if the proxy saw
    # the close first) an answer to a POST the backend received whole.
    if r.status == 200:
        posts = wait_until(lambda: records(b1, "/answerfirst", "POST"), timeout=5)
        assert posts and posts[0]["body_len"] == len(body), posts
    else:
        assert r.status == 502, r
        assert not records(b1, "/answerfirst", "POST")
        rid = r.header("X-Request-Id")
        log = p.wait_for_log("request %s: not retried" % rid)
        assert "request %s: not retried" % rid in log
    # No connection was left owing body bytes: the next request gets its own answer.
    with httpx.Client(timeout=10) as c:
        for _ in range(3):
            r = c.get(p.url("/name"))
            assert r.status_code == 200 and r.text == "b1"


def test_get_on_a_connection_gone_stale_is_retried_and_logged(portico, backends):
    (b1,) = backends(1)
    p = portico(proxy_config([b1]))
    r = send_as_the_pooled_connection_goes_stale(p, b1, request_bytes("GET", "/name"))
    assert r.status == 200 and r.body == b"b1"
    rid = r.header("X-Request-Id")
    log = p.wait_for_log("request %s: retrying" % rid)
    assert "request %s: retrying" % rid in log
    assert len(records(b1, "/name")) == 1


def test_a_retried_request_is_in_the_error_log(portico, backends):
    (b1,) = backends(1)
    dead = "127.0.0.1:%d" % free_port()
    p = portico(proxy_config([dead, b1]))
    with httpx.Client(timeout=10) as c:
        for i in range(4):
            assert c.get(p.url("/r%d" % i)).status_code == 200
    log = p.wait_for_log("retrying")
    failed = set(re.findall(r"upstream %s: .* of request (\S+)\)" % re.escape(dead), log))
    retried = set(re.findall(r"request (\S+): retrying after .* \(attempt 2 of at most 3\)",
                             log))
    assert failed and retried == failed, log


def test_early_response_is_forwarded_and_its_connection_closed(portico, backends):
    """A backend may answer before it read the whole body (RFC 9112 9.3 lets it). The client
    gets that answer; the connection still owes body bytes, so it must not serve another."""
    (b1,) = backends(1)
    p = portico(proxy_config([b1]))
    conn = RawConn(p.port)
    try:
        conn.send(request_bytes("GET", "/peer"))
        first_port = conn.read_response().body
        conn.send(request_bytes("POST", "/answerfirst", headers=[("Content-Length", "100000")]) +
                  b"x" * 1000)
        r = conn.read_response()
        assert r.status == 200 and r.body == b"answered early"
    finally:
        conn.close()
    with httpx.Client(timeout=10) as c:
        r = c.get(p.url("/peer"))
    assert r.status_code == 200
    assert r.text.encode() != first_port
