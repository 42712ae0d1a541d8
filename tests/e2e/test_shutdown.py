"""Graceful shutdown: SIGTERM/SIGINT stop accepting, let in-flight requests finish up to
drain_timeout, close idle keep-alive connections, and exit 0."""
import signal
import socket
import threading
import time

import httpx

from conftest import RawConn, accept_queue, proxy_config, request_bytes, wait_until


def connect_refused(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return False
    except ConnectionRefusedError:
        return True
    except OSError:
        return False


def start_in_background(fn):
    result = {}

    def run():
        try:
            result["value"] = fn()
        except Exception as e:  # reported by the test
            result["error"] = e

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, result


def test_sigterm_lets_in_flight_request_finish(portico, backends):
    (b1,) = backends(1)
    p = portico(proxy_config([b1]))
    conn = RawConn(p.port, timeout=15)

    def slow():
        conn.send(request_bytes("GET", "/sleep/1500"))
        return conn.read_response()

    t, result = start_in_background(slow)
    assert wait_until(lambda: any(r["path"] == "/sleep/1500" for r in b1.requests()))
    p.proc.send_signal(signal.SIGTERM)
    # New connections are refused while the in-flight request drains.
    assert wait_until(lambda: connect_refused(p.port), timeout=5)
    t.join(15)
    conn.close()
    assert "error" not in result, result
    r = result["value"]
    assert r.status == 200 and r.body == b"slept"
    # The drained connection is not kept alive.
    assert r.header("Connection", "").lower() == "close"
    assert p.proc.wait(timeout=15) == 0
    assert "draining" in p.error_log()


def test_sigterm_closes_idle_keepalive_connections(portico, backends):
    (b1,) = backends(1)
    # A long drain timeout: exiting promptly proves idle connections did not hold it up.
    # defer_accept off: the never-used connection must be one Portico accepted (with it on,
    # the kernel would still hold it, waiting for its first bytes).
    p = portico(proxy_config([b1], top="drain_timeout: 60s\n",
                             extra_listener="    socket: { defer_accept: false }\n"))
    idle = []
    for _ in range(3):
        c = RawConn(p.port)
        c.send(request_bytes("GET", "/name"))
        assert c.read_response().body == b"b1"
        idle.append(c)
    never_used = RawConn(p.port)
    start = time.time()
    p.proc.send_signal(signal.SIGTERM)
    for c in idle + [never_used]:
        assert c.closed_by_peer(timeout=10)
        c.close()
    assert p.proc.wait(timeout=15) == 0
    assert time.time() - start < 15


def test_drain_timeout_bounds_a_long_request(portico, backends):
    (b1,) = backends(1)
    p = portico(proxy_config([b1], top="drain_timeout: 1s\n"))
    conn = RawConn(p.port, timeout=20)

    def slow():
        conn.send(request_bytes("GET", "/sleep/8000"))
        try:
            return conn.read_response()
        except (EOFError, ConnectionResetError) as e:
            return e

    t, result = start_in_background(slow)
    assert wait_until(lambda: any(r["path"] == "/sleep/8000" for r in b1.requests()))
    start = time.time()
    p.proc.send_signal(signal.SIGTERM)
    code = p.proc.wait(timeout=15)
    elapsed = time.time() - start
    t.join(15)
    conn.close()
    assert code == 0
    # drain_timeout (1 s) plus slack; well before the 8 s the backend would take.
    assert elapsed < 6, elapsed
    # The client did not get a made-up success.
    assert not (hasattr(result.get("value"), "status") and result["value"].status == 200)
    assert "drain timeout reached" in p.error_log()


def test_sigint_drains_too(portico, backends):
    (b1,) = backends(1)
    p = portico(proxy_config([b1]))
    assert httpx.get(p.url("/name"), timeout=10).text == "b1"
    p.proc.send_signal(signal.SIGINT)
    assert p.proc.wait(timeout=15) == 0
    assert "shutdown complete" in p.error_log()


def test_second_signal_closes_at_once(portico, backends):
    (b1,) = backends(1)
    p = portico(proxy_config([b1], top="drain_timeout: 60s\n"))
    conn = RawConn(p.port, timeout=20)
    conn.send(request_bytes("GET", "/sleep/8000"))
    assert wait_until(lambda: any(r["path"] == "/sleep/8000" for r in b1.requests()))
    start = time.time()
    p.proc.send_signal(signal.SIGTERM)
    assert "draining" in p.wait_for_log("draining")
    assert p.alive()  # still draining the in-flight request
    p.proc.send_signal(signal.SIGTERM)
    assert p.proc.wait(timeout=15) == 0
    assert time.time() - start < 6
    assert conn.closed_by_peer(timeout=5)
    conn.close()


def test_idle_connection_accepted_before_the_signal_is_not_left_hanging(portico, backends):
    """A connection accepted before the signal that has not sent a request yet is closed at
    once (it has nothing in flight); the in-flight request on another connection still
    completes."""
    (b1,) = backends(1)
    # Without TCP_DEFER_ACCEPT a silent connection is accepted at once, so it exists in
    # Portico (not only in the kernel) when the signal comes.
    p = portico(proxy_config([b1], extra_listener="    socket: { defer_accept: false }\n"))
    busy = RawConn(p.port, timeout=15)
    busy.send(request_bytes("GET", "/sleep/1500"))
    assert wait_until(lambda: any(r["path"] == "/sleep/1500" for r in b1.requests()))
    other = RawConn(p.port, timeout=15)
    assert wait_until(lambda: accept_queue(p.port) == 0)  # Portico accepted it
    p.proc.send_signal(signal.SIGTERM)
    assert "draining" in p.wait_for_log("draining")
    assert other.closed_by_peer(timeout=10)
    assert other.buf == b""  # closed, not answered half-way
    other.close()
    r = busy.read_response()
    assert r.status == 200 and r.body == b"slept"
    busy.close()
    assert p.proc.wait(timeout=15) == 0


def test_drain_with_several_workers_and_an_open_tunnel(portico, backends, ws_server):
    """Two workers, slow requests in flight and a WebSocket tunnel held open: in-flight
    requests complete, the tunnel is cut at drain_timeout, exit 0."""
    (b1,) = backends(1)
    routes = ("          - match: { prefix: /echo }\n"
              "            proxy: { cluster: ws }\n"
              "          - match: { prefix: / }\n"
              "            proxy: { cluster: app }\n")
    p = portico(proxy_config([b1], workers=2, top="drain_timeout: 3s\n", routes=routes,
                             extra_cluster="  - name: ws\n    endpoints:\n"
                                           "      - address: %s\n" % ws_server))
    tunnel = RawConn(p.port, timeout=15)
    tunnel.send(b"GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    assert tunnel.read_head().status == 101
    conns = []
    for i in range(4):
        c = RawConn(p.port, timeout=15)
        c.send(request_bytes("GET", "/sleep/1000"))
        conns.append(c)
    assert wait_until(lambda: sum(r["path"] == "/sleep/1000" for r in b1.requests()) == 4)
    start = time.time()
    p.proc.send_signal(signal.SIGTERM)
    for c in conns:
        r = c.read_response()
        assert r.status == 200 and r.body == b"slept"
        c.close()
    # The tunnel has no end of its own: drain_timeout ends it.
    assert tunnel.closed_by_peer(timeout=10)
    tunnel.close()
    assert p.proc.wait(timeout=15) == 0
    assert time.time() - start < 10
