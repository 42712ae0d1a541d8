"""The per-worker request queue behind max_connections_per_endpoint: a request that finds every
endpoint at its connection limit waits (FIFO, bounded by circuit_breakers.max_pending_requests,
for at most queue_timeout) for a connection to free instead of getting 503 at once. Real
backend processes, real client connections; waits are for a state or a log line."""
import socket
import struct
import threading
import time
import urllib.request

import httpx

from conftest import (RawConn, admin_status, free_port, proxy_config, request_bytes,
                      wait_for_port, wait_until)


def queue_config(backend, extra="", admin_port=None):
    # One worker: the limit and the queue are per worker, so one worker makes the backend's
    # view (one connection) exact.
    top = "admin: { address: 127.0.0.1:%d }\n" % admin_port if admin_port else ""
    return proxy_config([backend], workers=1, top=top,
                        extra_cluster="    max_connections_per_endpoint: 1\n" + extra)


def get_in_background(url, results, timeout=20):
    """GETs `url` on a thread of its own; appends (status, seconds taken, body) to results."""

    def run():
        started = time.monotonic()
        try:
            r = httpx.get(url, timeout=timeout)
            results.append((r.status_code, time.monotonic() - started, r.text))
        except httpx.HTTPError as e:
            results.append((None, time.monotonic() - started, repr(e)))
    t = threading.Thread(target=run)
    t.start()
    return t


def paths_seen(backend, prefix):
    return [r["path"] for r in backend.requests() if r["path"].startswith(prefix)]


def wait_until_backend_has(backend, path, timeout=10):
    assert wait_until(lambda: path in paths_seen(backend, path), timeout=timeout), \
        backend.requests()


def test_requests_over_the_connection_limit_wait_their_turn(portico, backends):
    (b1,) = backends(1)
    p = portico(queue_config(b1))
    results = []
    threads = [get_in_background(p.url("/sleep/300?n=%d" % i), results) for i in range(5)]
    for t in threads:
        t.join()
    # Before the queue, four of these got 503 at once; now each waits for the one connection.
    assert sorted(r[0] for r in results) == [200] * 5, results
    # One connection served them one after another: the limit held all along.
    served = [r for r in b1.requests() if r["path"].startswith("/sleep/300")]
    assert len(served) == 5
    assert len({r["peer_port"] for r in served}) == 1, served
    # Served one at a time, so the last took about five times one request.
    assert max(r[1] for r in results) >= 5 * 0.3 - 0.05, results


def test_queue_timeout_gives_503_and_a_log_line(portico, backends):
    (b1,) = backends(1)
    admin = free_port()
    p = portico(queue_config(b1, "    queue_timeout: 300ms\n", admin_port=admin))
    wait_for_port(admin, proc=p.proc)
    results = []
    slow = get_in_background(p.url("/sleep/3000"), results)
    wait_until_backend_has(b1, "/sleep/3000")
    waiting = [get_in_background(p.url("/queued/%d" % i), results) for i in range(2)]
    for t in waiting:
        t.join()
    timed_out = [r for r in results if r[0] == 503]
    assert len(timed_out) == 2, results
    # Answered at the queue timeout, long before the slow request ends.
    assert all(r[1] < 2.0 for r in timed_out), results
    log = p.wait_for_log("queue timeout (300 ms)")
    assert log.count("queue timeout (300 ms) waiting for a connection") == 2, log
    # The status endpoint counts both: they waited, and the wait ended in a 503.
    app = next(c for c in admin_status(admin)["clusters"] if c["name"] == "app")
    assert app["counters"]["queued"] == 2 and app["refusals"]["queue_timeout"] == 2, app
    slow.join()
    assert [r[0] for r in results if r[2] == "slept"] == [200], results
    assert paths_seen(b1, "/queued") == []


def test_over_max_pending_requests_gets_503_at_once(portico, backends):
    (b1,) = backends(1)
    p = portico(queue_config(b1, "    circuit_breakers: { max_pending_requests: 2 }\n"))
    results = []
    slow = get_in_background(p.url("/sleep/2000"), results)
    wait_until_backend_has(b1, "/sleep/2000")
    others = [get_in_background(p.url("/more/%d" % i), results) for i in range(5)]
    for t in others + [slow]:
        t.join()
    statuses = sorted(r[0] for r in results)
    # The slow one, and the two the queue holds, succeed; three were over the bound.
    assert statuses == [200, 200, 200, 503, 503, 503], results
    assert all(r[1] < 1.5 for r in results if r[0] == 503), results
    log = p.wait_for_log("circuit_breakers.max_pending_requests (2) reached")
    assert log.count("circuit_breakers.max_pending_requests (2) reached") == 3, log
    assert len(paths_seen(b1, "/more")) == 2


def test_clients_that_leave_the_queue_leave_no_trace(portico, backends):
    """An attacker fills the queue and disconnects: portico stays healthy, the queue's slots
    come back, and nothing the gone clients asked for reaches the backend."""
    (b1,) = backends(1)
    p = portico(queue_config(b1, "    queue_timeout: 30s\n"
                                 "    circuit_breakers: { max_pending_requests: 40 }\n"))
    results = []
    slow = get_in_background(p.url("/sleep/2500"), results)
    wait_until_backend_has(b1, "/sleep/2500")
    gone = []
    for i in range(40):
        c = RawConn(p.port, timeout=10)
        c.send(request_bytes("GET", "/gone/%d" % i))
        gone.append(c)

    # The queue is full once a probe gets 503 at once; probes that were queued instead (an
    # earlier connection not read yet) are closed with the rest.
    def probe_refused():
        c = RawConn(p.port, timeout=10)
        c.send(request_bytes("GET", "/probe", headers=[("Connection", "close")]))
        gone.append(c)
        c.sock.settimeout(0.5)
        try:
            return c.read_response().status == 503
        except (OSError, EOFError):
            return False
    assert wait_until(probe_refused, timeout=10)
    # Gone for good: a reset, not a half-close (after a half-close portico still answers,
    # as HTTP/1.1 allows).
    for c in gone:
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()
    slow.join()
    assert results[0][0] == 200, results
    assert p.alive()
    # The slots came back: with the connection busy again, two more requests queue (not 503)
    # and are served.
    more = []
    busy = get_in_background(p.url("/sleep/500"), more)
    wait_until(lambda: paths_seen(b1, "/sleep/500"), timeout=10)
    after = [get_in_background(p.url("/after/%d" % i), more) for i in range(2)]
    for t in after + [busy]:
        t.join()
    assert sorted(r[0] for r in more) == [200, 200, 200], more
    assert paths_seen(b1, "/gone") == [] and paths_seen(b1, "/probe") == []


def test_an_endpoint_back_in_the_set_serves_the_queue(portico, backends):
    """No release announces the room of an endpoint that returns from a failed health check:
    the new host set itself gives queued requests their turn."""
    b1, b2 = backends(2)
    # Debug level: the line saying the request was queued is what the test waits for.
    p = portico(proxy_config([b1, b2], workers=1, top="error_log: { level: debug }\n", extra_cluster=(
        "    max_connections_per_endpoint: 1\n"
        "    queue_timeout: 20s\n"
        "    panic_threshold: 0\n"
        "    health_check: { path: /health, interval: 200ms, jitter: 0ms, timeout: 1s,\n"
        "                    unhealthy_threshold: 1, healthy_threshold: 1 }\n")))
    with urllib.request.urlopen("http://%s/health/fail" % b2.address, timeout=5):
        pass
    assert wait_until(lambda: "1 of 2 endpoints healthy" in p.error_log(), timeout=10)
    results = []
    slow = get_in_background(p.url("/sleep/6000"), results)
    wait_until_backend_has(b1, "/sleep/6000")
    served = []
    waiting = get_in_background(p.url("/waiting"), served)
    assert wait_until(lambda: "queued (0 ahead)" in p.error_log(), timeout=10), p.error_log()
    with urllib.request.urlopen("http://%s/health/ok" % b2.address, timeout=5):
        pass
    waiting.join()
    assert served[0][0] == 200 and served[0][2] == "ok b2 /waiting", served
    # Served by b2 as soon as it was back, not after b1's slow request.
    assert served[0][1] < 4.0, served
    slow.join()
    assert results[0][0] == 200, results
