"""The admin listener and GET /status: the real binary, real backend processes, real HTTP
clients. After traffic through a cluster the status document shows it counted per endpoint
(requests, responses by class, errors by class, pool reuse), health states set by active
checks and outlier detection, and the listener itself stays strict (garbage gets 400 and it
keeps serving) and apart from the proxy listener. Every wait is for a state, never a sleep."""
import http.client
import json
import signal
import socket
import subprocess
import threading

from conftest import (BIN, Backend, admin_status, free_port, proxy_config, raw_request, read_until_eof,
                      status_of, wait_for_port, wait_until)


def admin_config(backends, extra_cluster="", workers=2):
    """proxy_config with `admin:` on a free loopback port; returns (yaml, admin_port)."""
    port = free_port()
    top = "admin:\n  address: 127.0.0.1:%d\n" % port
    return proxy_config(backends, extra_cluster=extra_cluster, workers=workers, top=top), port


def start(portico, text, admin):
    """Starts Portico and waits for its admin listener too (the proxy listeners are bound
    first, so the proxy port answering says nothing about the admin port yet)."""
    p = portico(text)
    wait_for_port(admin, proc=p.proc)
    return p


def admin_get(port, path="/status", method="GET"):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path)
        resp = conn.getresponse()
        return resp.status, resp.getheader("Content-Type"), resp.read()
    finally:
        conn.close()


def status(port):
    return admin_status(port)


def cluster(port, name="app"):
    return next(c for c in status(port)["clusters"] if c["name"] == name)


def endpoint(c, backend):
    return next(e for e in c["endpoints"] if e["address"] == backend.address)


def keepalive_gets(port, path, n):
    """n GETs on one keep-alive connection; the statuses."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    out = []
    try:
        for _ in range(n):
            conn.request("GET", path)
            r = conn.getresponse()
            r.read()
            out.append(r.status)
    finally:
        conn.close()
    return out


def test_requests_are_counted_per_endpoint_with_reuse(portico, backends):
    b1, b2 = backends(2)
    text, admin = admin_config([b1, b2], workers=1)
    p = start(portico, text, admin)
    n = 40
    assert keepalive_gets(p.port, "/name", n) == [200] * n

    # Counted before the response went out; read by the main thread without a handoff, so
    # allow the workers' stores a moment to be seen.
    assert wait_until(lambda: cluster(admin)["counters"]["requests"] == n), cluster(admin)
    doc = status(admin)
    assert doc["server"]["workers"] == 1
    assert doc["server"]["draining"] is False
    assert doc["listeners"] == [{"name": "main", "address": "127.0.0.1:%d" % p.port}]
    c = next(c for c in doc["clusters"] if c["name"] == "app")
    assert c["lb"] == "round_robin"
    assert c["counters"]["responses"]["2xx"] == n
    assert c["counters"]["retries"] == 0
    assert all(v == 0 for v in c["errors"].values()), c["errors"]
    assert c["latency_ms"]["count"] == n
    assert c["latency_ms"]["p50"] <= c["latency_ms"]["p99"] <= max(c["latency_ms"]["max"], 1)
    # Split over both endpoints, as the backends themselves saw it.
    e1, e2 = endpoint(c, b1), endpoint(c, b2)
    assert e1["counters"]["requests"] + e2["counters"]["requests"] == n
    assert e1["counters"]["requests"] == len(b1.requests()) > 0
    assert e2["counters"]["requests"] == len(b2.requests()) > 0
    for e in (e1, e2):
        assert e["health"] == "healthy"
        assert e["weight"] == 1 and e["priority"] == 0
        assert e["active_requests"] == 0
        assert e["counters"]["responses"]["2xx"] == e["counters"]["requests"]
    # Keep-alive to the backends: one connection each, reused for the rest.
    assert c["counters"]["connections_opened"] == 2
    assert c["counters"]["streams_reused"] == n - 2
    assert c["gauges"]["pool_reuse_ratio"] > 0.9
    assert c["gauges"]["connections_idle"] == 2


def test_errors_are_counted_by_class(tmpdir_path, portico, backends):
    good, = backends(1)
    failing = Backend(tmpdir_path, "failing", tls=("--fail-status", "503"))
    dead = Backend(tmpdir_path, "dead")
    dead.stop()  # its port refuses connections from now on
    try:
        # No retries: every attempt is one client request, and the dead endpoint's connect
        # failures reach the client as 503s.
        text, admin = admin_config([good, failing, dead], extra_cluster="    max_retries: 0\n",
                                   workers=1)
        p = start(portico, text, admin)
        statuses = [status_of(raw_request(p.port, b"GET /name HTTP/1.1\r\nHost: x\r\n\r\n"))
                    for _ in range(9)]
        assert statuses.count(200) == 3, statuses

        assert wait_until(lambda: cluster(admin)["counters"]["requests"] == 9)
        c = cluster(admin)
        assert c["counters"]["responses"]["2xx"] == 3
        assert c["counters"]["responses"]["5xx"] == 3  # the failing backend's own 503s
        assert c["errors"]["connect_failure"] == 3
        assert endpoint(c, failing)["counters"]["responses"]["5xx"] == 3
        assert endpoint(c, failing)["errors"]["connect_failure"] == 0
        assert endpoint(c, dead)["errors"]["connect_failure"] == 3
        assert endpoint(c, dead)["counters"]["responses"]["5xx"] == 0
        assert endpoint(c, good)["errors"] == {
            "connect_failure": 0, "connect_timeout": 0, "reset": 0, "response_timeout": 0}
    finally:
        failing.stop()


def test_connect_failures_are_retried_and_both_counted(portico, backends):
    b1, b2 = backends(2)
    text, admin = admin_config([b1, b2], extra_cluster="    max_retries: 2\n", workers=1)
    p = start(portico, text, admin)
    b2.stop()
    assert keepalive_gets(p.port, "/name", 10) == [200] * 10  # retried onto b1
    assert wait_until(lambda: cluster(admin)["counters"]["responses"]["2xx"] == 10)
    c = cluster(admin)
    failures = endpoint(c, b2)["errors"]["connect_failure"]
    assert failures >= 1
    assert c["counters"]["retries"] == failures
    assert c["counters"]["requests"] == 10 + failures  # attempts, not client requests


def test_health_state_follows_active_checks(portico, backends):
    b1, b2 = backends(2)
    check = ("    health_check:\n"
             "      path: /health\n"
             "      interval: 200ms\n"
             "      jitter: 0ms\n"
             "      unhealthy_threshold: 2\n"
             "      healthy_threshold: 1\n")
    text, admin = admin_config([b1, b2], extra_cluster=check)
    p = start(portico, text, admin)
    assert wait_until(lambda: "health checks of 2 endpoint(s)" in p.error_log())
    urlopen_ok = http.client.HTTPConnection("127.0.0.1", b1.port, timeout=5)
    urlopen_ok.request("GET", "/health/fail")
    assert urlopen_ok.getresponse().status == 200
    urlopen_ok.close()
    assert wait_until(lambda: endpoint(cluster(admin), b1)["health"] == "failed_active_check",
                      timeout=10), cluster(admin)
    c = cluster(admin)
    assert endpoint(c, b1)["counters"]["active_check_failures"] >= 2
    assert endpoint(c, b2)["health"] == "healthy"
    assert endpoint(c, b2)["counters"]["active_check_failures"] == 0

    conn = http.client.HTTPConnection("127.0.0.1", b1.port, timeout=5)
    conn.request("GET", "/health/ok")
    assert conn.getresponse().status == 200
    conn.close()
    assert wait_until(lambda: endpoint(cluster(admin), b1)["health"] == "healthy", timeout=10)


def test_outlier_ejection_is_shown(tmpdir_path, portico):
    good = [Backend(tmpdir_path, "ok%d" % i) for i in range(2)]
    broken = Backend(tmpdir_path, "bad", tls=("--fail-status", "500"))
    try:
        text, admin = admin_config(good + [broken], workers=1, extra_cluster=(
            "    outlier_detection:\n"
            "      consecutive_5xx: 3\n"
            "      base_ejection_time: 30s\n"
            "      max_ejection_percent: 50\n"))
        p = start(portico, text, admin)
        keepalive_gets(p.port, "/name", 12)
        assert wait_until(lambda: endpoint(cluster(admin), broken)["health"] == "ejected")
        c = cluster(admin)
        assert endpoint(c, broken)["counters"]["ejections"] == 1
        assert c["counters"]["ejections"] == 1
        assert endpoint(c, broken)["counters"]["responses"]["5xx"] >= 3
        assert all(endpoint(c, g)["health"] == "healthy" for g in good)
    finally:
        for b in good + [broken]:
            b.stop()


def test_admin_listener_is_strict_and_keeps_serving(portico, backends):
    b1, = backends(1)
    text, admin = admin_config([b1])
    p = start(portico, text, admin)
    assert status_of(raw_request(admin, b"GARBAGE\r\n\r\n")) == 400
    assert status_of(raw_request(admin, b"GET /status HTTP/1.1\r\nHost: x\r\nX: \x01\r\n\r\n")) \
        == 400
    big = b"GET /status HTTP/1.1\r\nHost: x\r\n" + b"X-Pad: " + b"a" * 9000 + b"\r\n\r\n"
    assert status_of(raw_request(admin, big)) == 431
    assert status_of(raw_request(
        admin, b"POST /status HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")) == 413
    assert admin_get(admin, "/status", method="DELETE")[0] == 405
    assert admin_get(admin, "/nope")[0] == 404
    assert "admin: bad request from 127.0.0.1" in p.error_log()
    # Still serving, keep-alive included.
    conn = http.client.HTTPConnection("127.0.0.1", admin, timeout=10)
    for path in ("/status", "/ready", "/status"):
        conn.request("GET", path)
        r = conn.getresponse()
        r.read()
        assert r.status == 200
    conn.close()


def test_admin_is_not_reachable_through_the_proxy_listener(portico, backends):
    b1, = backends(1)
    text, admin = admin_config([b1])
    p = start(portico, text, admin)
    conn = http.client.HTTPConnection("127.0.0.1", p.port, timeout=10)
    conn.request("GET", "/ready")
    r = conn.getresponse()
    body = r.read()
    conn.close()
    # The proxy sent it to the backend, like any other path.
    assert [req["path"] for req in b1.requests()] == ["/ready"]
    assert b"ready\n" != body
    assert admin_get(admin, "/ready")[2] == b"ready\n"


def test_ready_turns_503_while_draining(portico, backends):
    b1, = backends(1)
    text, admin = admin_config([b1], workers=1)
    p = start(portico, text, admin)
    assert admin_get(admin, "/ready")[0] == 200
    # A slow request keeps the drain going while /ready is asked.
    done = threading.Event()

    def slow():
        try:
            conn = http.client.HTTPConnection("127.0.0.1", p.port, timeout=15)
            conn.request("GET", "/sleep/3000")
            conn.getresponse().read()
        finally:
            done.set()

    t = threading.Thread(target=slow)
    t.start()
    assert wait_until(lambda: len(b1.requests()) == 1)
    p.proc.send_signal(signal.SIGTERM)
    assert wait_until(lambda: "draining" in p.error_log())
    code, _, body = admin_get(admin, "/ready")
    assert (code, body) == (503, b"draining\n")
    assert status(admin)["server"]["draining"] is True
    t.join()
    assert p.proc.wait(timeout=15) == 0


def test_check_refuses_a_remote_admin_address(tmpdir_path):
    path = tmpdir_path + "/remote.yaml"
    text = proxy_config(["127.0.0.1:9"], top="admin:\n  address: 0.0.0.0:9901\n")
    with open(path, "w") as f:
        f.write(text.replace("{port}", "18080"))
    r = subprocess.run([BIN, "--check", path], capture_output=True, text=True, timeout=20)
    assert r.returncode == 1
    assert "remote.yaml:3:12: admin.address: admin address 0.0.0.0:9901 is not a loopback " \
        "address" in r.stderr, r.stderr
    assert "allow_remote: true" in r.stderr

    with open(path, "w") as f:
        f.write(text.replace("{port}", "18080").replace(
            "address: 0.0.0.0:9901\n", "address: 0.0.0.0:9901\n  allow_remote: true\n"))
    r = subprocess.run([BIN, "--check", path], capture_output=True, text=True, timeout=20)
    assert r.returncode == 0, r.stderr


def test_a_taken_admin_port_stops_the_start(portico, backends):
    b1, = backends(1)
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    try:
        text = proxy_config([b1], top="admin: { address: 127.0.0.1:%d }\n" %
                            taken.getsockname()[1])
        p = portico(text, start=False)
        p.err = open(p.error_log_path, "w")
        proc = subprocess.Popen([BIN, "--config", p.config_path], stderr=p.err,
                                stdout=subprocess.DEVNULL)
        assert proc.wait(timeout=15) == 1
        assert "admin listener 127.0.0.1:%d" % taken.getsockname()[1] in p.error_log()
    finally:
        taken.close()


def test_a_client_that_half_closes_still_gets_its_answer(portico, backends):
    b1, = backends(1)
    text, admin = admin_config([b1])
    start(portico, text, admin)
    s = socket.create_connection(("127.0.0.1", admin), timeout=10)
    s.sendall(b"GET /ready HTTP/1.1\r\nHost: x\r\n\r\n")
    s.shutdown(socket.SHUT_WR)
    got = read_until_eof(s)
    s.close()
    assert got.startswith(b"HTTP/1.1 200 OK\r\n") and got.endswith(b"\r\n\r\nready\n"), got
