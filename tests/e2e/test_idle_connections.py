"""Idle keep-alive connections are parked: after `keepalive_release` their per-request state is
freed and a small record keeps the socket. A parked connection must behave exactly like a live
one: it serves its next request (and pipelined ones), keeps its peer address and request count,
closes at its keep-alive deadline, on a client hang-up and on drain. The error log (debug
level) says when a connection was parked and resumed, which is how these tests know the path
they exercise was taken. The listening socket's options (`socket:`) are checked with ss(8)."""
import signal
import socket
import subprocess
import time

from conftest import RawConn, accept_queue, proxy_config, request_bytes, wait_until

PARK_FAST = ("    timeouts: { keepalive_release: 10ms, keepalive_idle: %s }\n"
             "    limits: { max_requests_per_connection: %d }\n")
DEBUG_LOG = "error_log: { level: debug }\n"


def parked_portico(portico, backend, keepalive="60s", max_requests=0, top=""):
    return portico(proxy_config([backend], extra_listener=PARK_FAST % (keepalive, max_requests),
                                top=DEBUG_LOG + top))


def portico_releasing_after(portico, backend, release):
    return portico(proxy_config(
        [backend], extra_listener="    timeouts: { keepalive_release: %s }\n" % release,
        top=DEBUG_LOG))


def get(conn, path="/name"):
    conn.send(request_bytes("GET", path))
    return conn.read_response()


def wait_parked(p, count):
    assert wait_until(lambda: p.error_log().count("parked idle keep-alive connection") >= count,
                      timeout=10), p.error_log()


def test_parked_connections_serve_their_next_requests(portico, backends):
    (b1,) = backends(1)
    p = parked_portico(portico, b1)
    conns = [RawConn(p.port) for _ in range(20)]
    for c in conns:
        assert get(c).body == b"b1"
    wait_parked(p, 20)
    for round_ in range(2):
        for c in conns:
            r = get(c, "/echo-path/%d" % round_)
            assert r.status == 200
            assert r.header("Connection", "").lower() != "close"
        wait_parked(p, 20 * (round_ + 2))
    assert p.error_log().count("resumed parked connection") >= 40
    for c in conns:
        c.close()


def test_pipelined_requests_after_parking_answer_in_order(portico, backends):
    (b1,) = backends(1)
    p = parked_portico(portico, b1)
    c = RawConn(p.port)
    assert get(c).body == b"b1"
    wait_parked(p, 1)
    c.send(b"".join(request_bytes("GET", "/echo-path/%d" % i) for i in range(5)))
    bodies = [c.read_response().body for _ in range(5)]
    assert bodies == [b"ok b1 /echo-path/%d" % i for i in range(5)]


def test_parked_connection_keeps_its_request_count(portico, backends):
    (b1,) = backends(1)
    p = parked_portico(portico, b1, max_requests=3)
    c = RawConn(p.port)
    for i in range(2):
        r = get(c)
        assert r.status == 200 and r.header("Connection", "").lower() != "close"
        wait_parked(p, i + 1)
    # The third request is the last one this connection may carry, parked or not.
    r = get(c)
    assert r.status == 200
    assert r.header("Connection", "").lower() == "close"
    assert c.closed_by_peer(timeout=5)


def test_parked_connection_keeps_the_peer_address(portico, backends):
    (b1,) = backends(1)
    p = parked_portico(portico, b1)
    c = RawConn(p.port)
    get(c)
    wait_parked(p, 1)
    get(c, "/after-parking")
    recorded = [r for r in b1.requests() if r["path"] == "/after-parking"]
    assert len(recorded) == 1
    xff = [v for k, v in recorded[0]["headers"] if k.lower() == "x-forwarded-for"]
    assert xff == ["127.0.0.1"]


def test_parked_connection_closes_at_its_keepalive_deadline(portico, backends):
    (b1,) = backends(1)
    p = parked_portico(portico, b1, keepalive="1s")
    c = RawConn(p.port)
    get(c)
    wait_parked(p, 1)
    assert c.closed_by_peer(timeout=10)
    assert "closing idle keep-alive connection" in p.wait_for_log("closing idle keep-alive")
    # The listener still works after the parked record was freed.
    c2 = RawConn(p.port)
    assert get(c2).body == b"b1"


def test_client_hang_up_while_parked(portico, backends):
    (b1,) = backends(1)
    p = parked_portico(portico, b1)
    closers = [RawConn(p.port) for _ in range(5)]
    half_closers = [RawConn(p.port) for _ in range(5)]
    for c in closers + half_closers:
        get(c)
    wait_parked(p, 10)
    for c in closers:
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        c.close()  # RST
    for c in half_closers:
        c.sock.shutdown(socket.SHUT_WR)  # FIN: Portico closes its side too
    for c in half_closers:
        assert c.closed_by_peer(timeout=10)
    fresh = RawConn(p.port)
    assert get(fresh).body == b"b1"
    assert p.alive()


def test_drain_closes_parked_connections_at_once(portico, backends):
    (b1,) = backends(1)
    p = parked_portico(portico, b1, top="drain_timeout: 60s\n")
    conns = [RawConn(p.port) for _ in range(5)]
    for c in conns:
        get(c)
    wait_parked(p, 5)
    start = time.time()
    p.proc.send_signal(signal.SIGTERM)
    for c in conns:
        assert c.closed_by_peer(timeout=10)
    assert p.proc.wait(timeout=15) == 0
    assert time.time() - start < 15


def test_release_zero_parks_after_every_response(portico, backends):
    (b1,) = backends(1)
    p = portico_releasing_after(portico, b1, "0s")
    c = RawConn(p.port)
    for i in range(5):
        assert get(c).body == b"b1"
        wait_parked(p, i + 1)


def test_release_at_or_above_keepalive_idle_never_parks(portico, backends):
    (b1,) = backends(1)
    p = portico(proxy_config(
        [b1], extra_listener="    timeouts: { keepalive_release: 1h, keepalive_idle: 300ms }\n",
        top=DEBUG_LOG))
    c = RawConn(p.port)
    for _ in range(3):
        assert get(c).body == b"b1"
    # The connection stays whole until its keep-alive deadline closes it: never parked.
    assert c.closed_by_peer(timeout=10)
    assert "closing idle keep-alive connection" in p.wait_for_log("closing idle keep-alive")
    assert "parked idle" not in p.error_log()


def ss_listening(port):
    out = subprocess.run(["ss", "-Htln", "sport = :%d" % port], capture_output=True, text=True,
                         check=True).stdout
    return out.split()


def syn_recv_count(port):
    out = subprocess.run(["ss", "-Htn", "state", "syn-recv", "sport = :%d" % port],
                         capture_output=True, text=True, check=True).stdout
    return len([l for l in out.splitlines() if l.strip()])


def test_backlog_is_configurable(portico, backends):
    (b1,) = backends(1)
    p = portico(proxy_config([b1], extra_listener="    socket: { backlog: 77 }\n"))
    # ss shows a listening socket's backlog in its Send-Q column.
    assert ss_listening(p.port)[2] == "77"


def test_defer_accept_keeps_silent_connections_in_the_kernel(portico, backends):
    (b1,) = backends(1)
    p = portico(proxy_config([b1]))  # defer_accept defaults to true
    silent = RawConn(p.port)
    # The handshake is done for the client, but the kernel holds the connection until its
    # first bytes arrive: Portico has not accepted it.
    assert wait_until(lambda: syn_recv_count(p.port) == 1, timeout=5)
    silent.send(request_bytes("GET", "/name"))
    assert silent.read_response().body == b"b1"


def test_defer_accept_off_accepts_silent_connections(portico, backends):
    (b1,) = backends(1)
    p = portico(proxy_config([b1], extra_listener="    socket: { defer_accept: false }\n"))
    silent = RawConn(p.port)
    # Established at once, not held in SYN-RECV, and taken from the accept queue by Portico.
    assert syn_recv_count(p.port) == 0
    assert wait_until(lambda: accept_queue(p.port) == 0)
    silent.send(request_bytes("GET", "/name"))
    assert silent.read_response().body == b"b1"
