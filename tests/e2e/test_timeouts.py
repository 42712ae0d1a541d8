"""Every timeout is a config key; each expiry gives the right status (408/504) or a clean close,
and an error-log line. Timeouts are set to 1 s; assertions on time are upper bounds only."""
import json
import socket
import time

import pytest

from conftest import RawConn, accept_queue, proxy_config, request_bytes, status_of, wait_until


def listener_timeouts(**keys):
    return "    timeouts:\n" + "".join("      %s: %s\n" % kv for kv in keys.items())


def cluster_timeouts(max_retries=0, **keys):
    return ("    max_retries: %d\n    timeouts:\n" % max_retries +
            "".join("      %s: %s\n" % kv for kv in keys.items()))


def read_until_close(conn, timeout):
    """Everything the server sends until it closes; raises if it does not close in time."""
    conn.sock.settimeout(timeout)
    data = conn.buf
    try:
        while True:
            chunk = conn.sock.recv(65536)
            if not chunk:
                return data
            data += chunk
    except ConnectionResetError:
        return data


def test_header_read_timeout_gives_408(portico, backends):
    (b1,) = backends(1)
    p = portico(proxy_config([b1], extra_listener=listener_timeouts(header_read="1s")))
    conn = RawConn(p.port)
    try:
        start = time.time()
        conn.send(b"GET /name HTTP/1.1\r\nHost: x\r\n")  # the head never ends
        data = read_until_close(conn, timeout=10)
        assert time.time() - start < 10
    finally:
        conn.close()
    assert status_of(data) == 408
    assert b"connection: close" in data.lower()
    log = p.wait_for_log("request header read timeout")
    assert "request header read timeout" in log
    assert "rejected request from 127.0.0.1" in log and ": 408 (" in log
    assert b1.requests() == []


def test_header_read_timeout_is_not_extended_by_a_trickle(portico, backends):
    """A slowloris sending one byte at a time does not keep the head deadline moving."""
    (b1,) = backends(1)
    p = portico(proxy_config([b1], extra_listener=listener_timeouts(header_read="1s")))
    conn = RawConn(p.port)
    start = time.time()
    got = b""
    try:
        conn.send(b"GET /name HTTP/1.1\r\n")
        conn.sock.settimeout(0.2)
        while time.time() - start < 10:
            try:
                conn.send(b"X")
            except (BrokenPipeError, ConnectionResetError):
                break
            try:
                chunk = conn.sock.recv(65536)
                got += chunk
                if not chunk:
                    break
            except socket.timeout:
                pass
            except ConnectionResetError:
                break
    finally:
        conn.close()
    assert time.time() - start < 10
    # Portico lingers after the 408 (reads and drops our bytes until our FIN), so the reply
    # is not destroyed by a reset that our next byte would otherwise cause.
    assert status_of(got) == 408
    assert "request header read timeout" in p.wait_for_log("request header read timeout")
    assert b1.requests() == []


def test_body_idle_timeout_gives_408(portico, backends):
    (b1,) = backends(1)
    p = portico(proxy_config([b1], extra_listener=listener_timeouts(body_idle="1s")))
    conn = RawConn(p.port)
    try:
        start = time.time()
        conn.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789")
        data = read_until_close(conn, timeout=10)
        assert time.time() - start < 10
    finally:
        conn.close()
    assert status_of(data) == 408
    assert "request body idle timeout" in p.wait_for_log("request body idle timeout")
    # The backend never got a complete request.
    assert b1.requests() == []


def test_keepalive_idle_closes_silently(portico, backends):
    (b1,) = backends(1)
    p = portico(proxy_config([b1], extra_listener=listener_timeouts(keepalive_idle="1s")))
    conn = RawConn(p.port)
    try:
        conn.send(request_bytes("GET", "/name"))
        assert conn.read_response().body == b"b1"
        start = time.time()
        data = read_until_close(conn, timeout=10)
        assert time.time() - start < 10
    finally:
        conn.close()
    assert data == b""  # no 408 for a connection that was between requests


@pytest.mark.parametrize("defer_accept", ["true", "false"])
def test_a_connection_that_never_sends_is_closed_after_header_read(portico, backends,
                                                                   defer_accept):
    """The first request of a connection is bounded by header_read (1 s here), even before its
    first byte; keepalive_idle (1 h here) is for connections between requests. Nothing was
    asked, so nothing is answered: a plain close and a log line. With defer_accept the kernel
    hands the silent connection over after about a second, and the same holds from then."""
    (b1,) = backends(1)
    p = portico(proxy_config([b1], extra_listener=(
        listener_timeouts(header_read="1s", keepalive_idle="1h") +
        "    socket: { defer_accept: %s }\n" % defer_accept)))
    conn = RawConn(p.port)
    try:
        data = read_until_close(conn, timeout=30)
    finally:
        conn.close()
    assert data == b""
    log = p.wait_for_log("no request within the header read timeout")
    assert "main: closing connection from 127.0.0.1" in log
    assert "no request within the header read timeout" in log
    assert p.access_lines() == []


def test_send_idle_closes_a_client_that_stops_reading(portico, backends):
    (b1,) = backends(1)
    p = portico(proxy_config([b1], extra_listener=listener_timeouts(send_idle="1s")))
    size = 64 * 1024 * 1024
    conn = RawConn(p.port)
    try:
        conn.send(request_bytes("GET", "/bytes/%d" % size))
        # Do not read: the proxy gives up on us after send_idle.
        log = p.wait_for_log("stopped reading the response", timeout=15)
        assert "stopped reading the response" in log
        got = len(read_until_close(conn, timeout=10))
    finally:
        conn.close()
    assert got < size


@pytest.fixture
def blackhole():
    """A local address whose accept queue is full, so new SYNs are dropped: connects to it
    neither succeed nor get refused, they time out."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(0)
    port = s.getsockname()[1]
    fillers = []
    for _ in range(3):
        c = socket.socket()
        c.setblocking(False)
        try:
            c.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        fillers.append(c)
    # A backlog of 0 holds one completed connection: once it is there, the queue is full.
    assert wait_until(lambda: accept_queue(port) == 1)
    probe = socket.socket()
    probe.settimeout(1.0)
    try:
        probe.connect(("127.0.0.1", port))
        works = False
    except socket.timeout:
        works = True
    except OSError:
        works = False
    finally:
        probe.close()
    if not works:
        pytest.skip("cannot make a local connect time out here (SYNs to a full accept queue "
                    "are not dropped)")
    yield "127.0.0.1:%d" % port
    for c in fillers:
        c.close()
    s.close()


def test_upstream_connect_timeout_gives_504(portico, blackhole):
    p = portico(proxy_config([blackhole], extra_cluster=cluster_timeouts(connect="1s")))
    start = time.time()
    data = RawConn(p.port)
    try:
        data.send(request_bytes("GET", "/name"))
        r = data.read_response()
    finally:
        data.close()
    assert time.time() - start < 10
    assert r.status == 504
    assert blackhole.encode() not in r.body
    log = p.wait_for_log("connect timed out")
    assert "connect timed out" in log


def test_upstream_response_header_timeout_gives_504(portico, backends):
    (b1,) = backends(1)
    p = portico(proxy_config([b1], extra_cluster=cluster_timeouts(response_header="1s")))
    conn = RawConn(p.port)
    try:
        start = time.time()
        conn.send(request_bytes("GET", "/sleep/3000"))
        r = conn.read_response()
        assert time.time() - start < 10
        assert r.status == 504
        assert b"slept" not in r.body
        # The client connection survives a 504 and serves the next request.
        conn.send(request_bytes("GET", "/name"))
        r = conn.read_response()
        assert r.status == 200 and r.body == b"b1"
    finally:
        conn.close()
    log = p.wait_for_log("upstream response header timeout")
    assert "upstream response header timeout" in log
    # A timed out request is not retried: the backend saw the sleep once.
    assert [rec["path"] for rec in b1.requests()].count("/sleep/3000") == 1


def test_upstream_idle_timeout_during_body_truncates(portico, backends):
    (b1,) = backends(1)
    p = portico(proxy_config([b1], extra_cluster=cluster_timeouts(idle="1s")))
    conn = RawConn(p.port)
    try:
        start = time.time()
        conn.send(request_bytes("GET", "/slowbody/10/2000"))
        head = conn.read_head()
        assert head.status == 200  # the head was already sent when the body stalled
        body = read_until_close(conn, timeout=10)
        assert time.time() - start < 10
    finally:
        conn.close()
    # Content-Length 10 promised, fewer bytes arrived, then the close: the client can tell the
    # response is incomplete.
    assert head.header("Content-Length") == "10"
    assert len(body) < 10
    log = p.wait_for_log("upstream idle timeout")
    assert "upstream idle timeout" in log


def test_body_idle_does_not_blame_a_client_held_back_by_a_slow_backend(portico, backends):
    """While Portico itself stops reading the upload (the backend is not reading yet), the
    client is not idle: no 408. The backend reads after 3 s; body_idle is 1 s."""
    import threading
    (b1,) = backends(1)
    p = portico(proxy_config([b1], extra_listener=listener_timeouts(body_idle="1s"),
                             extra_cluster=cluster_timeouts(idle="20s")))
    body = b"u" * (32 * 1024 * 1024)
    conn = RawConn(p.port, timeout=30)
    errors = []

    def upload():
        try:
            conn.send(request_bytes("POST", "/slowread/3000",
                                    headers=[("Content-Length", str(len(body)))]))
            conn.send(body)
        except OSError as e:
            errors.append(e)

    t = threading.Thread(target=upload, daemon=True)
    t.start()
    try:
        r = conn.read_response()
    finally:
        t.join(30)
        conn.close()
    assert r.status == 200, (r, errors)
    assert json.loads(r.body)["length"] == len(body)
    assert "request body idle timeout" not in p.error_log()


def test_upstream_idle_does_not_blame_the_backend_for_a_slow_uploader(portico, backends):
    """A client that sends its body slowly (within body_idle) is the client's business: the
    upstream idle timeout (1 s) must not turn it into a 504."""
    (b1,) = backends(1)
    p = portico(proxy_config([b1], extra_listener=listener_timeouts(body_idle="10s"),
                             extra_cluster=cluster_timeouts(idle="1s")))
    conn = RawConn(p.port, timeout=20)
    try:
        conn.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n")
        for byte in (b"a", b"b", b"c"):
            time.sleep(1.5)
            conn.send(byte)
        r = conn.read_response()
    finally:
        conn.close()
    assert r.status == 200, r
    assert json.loads(r.body)["body"] == "abc"


def test_upstream_idle_timeout_when_the_backend_stops_taking_the_body(portico, backends):
    """The other side of the previous test: the backend does not read the upload (it sleeps
    3 s first) and the upstream idle timeout is 1 s: 504."""
    import threading
    (b1,) = backends(1)
    p = portico(proxy_config([b1], extra_cluster=cluster_timeouts(idle="1s")))
    body = b"u" * (64 * 1024 * 1024)  # more than the kernel buffers on the way can hold
    conn = RawConn(p.port, timeout=30)

    def upload():
        try:
            conn.send(request_bytes("POST", "/slowread/3000",
                                    headers=[("Content-Length", str(len(body)))]))
            conn.send(body)
        except OSError:
            pass  # the proxy gives up on the upload; expected

    t = threading.Thread(target=upload, daemon=True)
    start = time.time()
    t.start()
    try:
        r = conn.read_response()
    finally:
        conn.close()
        t.join(30)
    assert time.time() - start < 10
    assert r.status == 504
    assert "upstream idle timeout" in p.wait_for_log("upstream idle timeout")
