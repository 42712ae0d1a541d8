"""Active health checks: the real binary probing real backends (backend.py's /health, which
/health/fail and /health/ok flip). An endpoint that fails its checks stops getting traffic, and
gets it back once it passes again; a TCP check notices a killed backend; with every endpoint
failing, panic still spreads traffic (or, with panic_threshold 0, the cluster answers 503).
Checks run every 200 ms here so that waiting for a transition is short; every wait is for a
log line or a state, never a fixed sleep."""
import time
import urllib.request

import httpx
import pytest

from conftest import proxy_config, wait_until

INTERVAL = 0.2
# What the timing assertions allow on top of the configured bound: the test polls the log
# every 20 ms, and the machine is shared with other builds.
SCHEDULING_SLACK = 0.3


def checked_config(backends, check, extra="", workers=2):
    """A proxy config whose cluster has `health_check:` with `check` (YAML lines at 6 spaces)."""
    return proxy_config(backends, workers=workers,
                        extra_cluster="    health_check:\n%s\n%s" % (check, extra))


def http_check(unhealthy=3, healthy=2, more=""):
    return ("      path: /health\n"
            "      interval: 200ms\n"
            "      jitter: 0ms\n"
            "      timeout: 1s\n"
            "      unhealthy_threshold: %d\n"
            "      healthy_threshold: %d%s" % (unhealthy, healthy, more))


def flip(backend, state):
    with urllib.request.urlopen("http://%s/health/%s" % (backend.address, state), timeout=5) as r:
        assert r.status == 200


def unhealthy_line(backend, threshold, why):
    return "cluster app: endpoint %s is unhealthy after %d failed health checks (last: %s" % (
        backend.address, threshold, why)


def healthy_line(backend, threshold):
    return "cluster app: endpoint %s is healthy again after %d passed health checks" % (
        backend.address, threshold)


def served_by(p, n):
    """Sends n requests on fresh connections (so both workers serve some); the backend names."""
    names = []
    for i in range(n):
        r = httpx.get(p.url("/req%d" % i), timeout=10)
        assert r.status_code == 200, r.text
        names.append(r.text.split()[1])
    return names


def wait_for_log(p, needle, timeout=10.0):
    assert wait_until(lambda: needle in p.error_log(), timeout=timeout), p.error_log()


def test_failing_endpoint_loses_traffic_and_gets_it_back(portico, backends):
    b1, b2 = backends(2)
    p = portico(checked_config([b1, b2], http_check(unhealthy=3, healthy=2)))
    wait_for_log(p, "cluster app: http health checks of 2 endpoint(s) every 200 ms")
    assert set(served_by(p, 8)) == {"b1", "b2"}

    started = time.monotonic()
    flip(b1, "fail")
    wait_for_log(p, unhealthy_line(b1, 3, "status 503)"))
    took = time.monotonic() - started
    # Three checks at most one interval apart, plus one interval of slack.
    assert took <= INTERVAL * (3 + 1) + SCHEDULING_SLACK, took
    wait_for_log(p, "cluster app: 1 of 2 endpoints healthy, 1 taking traffic")
    # Every worker took the new host set: no request reaches b1 any more.
    assert set(served_by(p, 12)) == {"b2"}
    # The healthy one was never reported.
    assert "endpoint %s is unhealthy" % b2.address not in p.error_log()

    flip(b1, "ok")
    wait_for_log(p, healthy_line(b1, 2))
    wait_for_log(p, "cluster app: 2 of 2 endpoints healthy, 2 taking traffic")
    assert set(served_by(p, 8)) == {"b1", "b2"}
    # One line per transition, not one per check.
    log = p.error_log()
    assert log.count("endpoint %s is unhealthy" % b1.address) == 1, log
    assert log.count("endpoint %s is healthy again" % b1.address) == 1, log


def test_tcp_check_notices_a_killed_backend(portico, backends):
    b1, b2 = backends(2)
    check = ("      type: tcp\n"
             "      interval: 200ms\n"
             "      jitter: 0ms\n"
             "      unhealthy_threshold: 2")
    # No retries: without the check, requests sent to the dead endpoint would fail.
    p = portico(checked_config([b1, b2], check, extra="    max_retries: 0\n"))
    wait_for_log(p, "cluster app: tcp health checks of 2 endpoint(s) every 200 ms")
    b1.stop()
    wait_for_log(p, unhealthy_line(b1, 2, "connect failed"))
    assert set(served_by(p, 12)) == {"b2"}


def test_body_contains_and_the_reason_logged(portico, backends):
    b1, b2 = backends(2)
    # /health answers "healthy <name>": only b2's body contains "healthy b2".
    p = portico(checked_config([b1, b2], http_check(unhealthy=2, more="\n      body_contains: healthy b2")))
    wait_for_log(p, unhealthy_line(b1, 2, "body mismatch)"))
    assert set(served_by(p, 8)) == {"b2"}
    assert "endpoint %s is unhealthy" % b2.address not in p.error_log()


def test_a_check_that_does_not_answer_in_time_fails(portico, backends):
    (b1,) = backends(1)
    check = ("      path: /sleep/2000\n"
             "      interval: 200ms\n"
             "      jitter: 0ms\n"
             "      timeout: 100ms\n"
             "      unhealthy_threshold: 1")
    p = portico(checked_config([b1], check))
    wait_for_log(p, unhealthy_line(b1, 1, "timeout after 100 ms)"))


def test_every_endpoint_failing_panics_and_traffic_still_flows(portico, backends):
    b1, b2 = backends(2)
    p = portico(checked_config([b1, b2], http_check(unhealthy=2)))
    flip(b1, "fail")
    flip(b2, "fail")
    wait_for_log(p, unhealthy_line(b1, 2, "status 503)"))
    wait_for_log(p, unhealthy_line(b2, 2, "status 503)"))
    wait_for_log(p, "cluster app: only 0 of 2 endpoints healthy, below panic_threshold 50%")
    # Panic: both endpoints take traffic rather than none.
    assert set(served_by(p, 8)) == {"b1", "b2"}


def test_every_endpoint_failing_without_panic_answers_503(portico, backends):
    b1, b2 = backends(2)
    p = portico(checked_config([b1, b2], http_check(unhealthy=2), extra="    panic_threshold: 0\n"))
    flip(b1, "fail")
    flip(b2, "fail")
    wait_for_log(p, "cluster app: no healthy endpoint (panic_threshold 0): requests get 503")
    for i in range(4):
        assert httpx.get(p.url("/x%d" % i), timeout=10).status_code == 503
    served = [r for b in (b1, b2) for r in b.requests() if r["path"].startswith("/x")]
    assert served == []
    # It comes back as soon as one endpoint passes again.
    flip(b2, "ok")
    wait_for_log(p, healthy_line(b2, 2))
    assert set(served_by(p, 4)) == {"b2"}


# ---- gRPC health (grpc.health.v1.Health/Check over the cluster's HTTP/2) --------------------

def grpc_checked_config(server, back, test_ca, service=""):
    cluster = "    protocol: h2c\n"
    if back == "tls":
        cluster = ("    protocol: h2\n"
                   "    tls: { ca: %s, verify_name: localhost }\n" % test_ca.cert)
    check = ("      type: grpc\n"
             "      interval: 200ms\n"
             "      jitter: 0ms\n"
             "      unhealthy_threshold: 2\n"
             "      healthy_threshold: 2\n"
             "      service: '%s'" % service)
    return proxy_config([server.address], workers=2,
                        extra_cluster=cluster + "    panic_threshold: 0\n"
                        "    health_check:\n" + check + "\n")


def set_serving(server, service, serving, test_ca, back):
    import json
    from grpc_support import channel
    ca = test_ca.cert if back == "tls" else None
    with channel(server.address, ca) as chan:
        call = chan.unary_unary("/test.Echo/SetServing")
        assert call(json.dumps({"service": service, "serving": serving}).encode(),
                    timeout=5) == b"done"


@pytest.mark.parametrize("back", ["h2c", "tls"])
def test_grpc_check_follows_the_serving_status(portico, test_ca, server_cert, back):
    import grpc
    from grpc_support import EchoClient, GrpcServer, channel
    server = GrpcServer(server_cert if back == "tls" else None)
    try:
        p = portico(grpc_checked_config(server, back, test_ca, service="api.Users"))
        wait_for_log(p, "cluster app: grpc health checks of 1 endpoint(s) every 200 ms")
        with channel("127.0.0.1:%d" % p.port) as chan:
            client = EchoClient(chan)
            assert client.echo(b"before", timeout=10) == b"before"
            set_serving(server, "api.Users", False, test_ca, back)
            wait_for_log(p, "endpoint %s is unhealthy after 2 failed health checks "
                            "(last: serving status NOT_SERVING)" % server.address)
            wait_for_log(p, "cluster app: no healthy endpoint (panic_threshold 0)")
            # The only endpoint is out: calls fail at Portico, as UNAVAILABLE.
            with pytest.raises(grpc.RpcError) as failed:
                client.echo(b"during", timeout=10)
            assert failed.value.code() == grpc.StatusCode.UNAVAILABLE
            set_serving(server, "api.Users", True, test_ca, back)
            wait_for_log(p, "endpoint %s is healthy again after 2 passed health checks"
                         % server.address)
            assert client.echo(b"after", timeout=10) == b"after"
    finally:
        server.stop()


def test_grpc_check_of_a_killed_server(portico, test_ca):
    from grpc_support import GrpcServer
    server = GrpcServer()
    p = portico(grpc_checked_config(server, "h2c", test_ca))
    wait_for_log(p, "cluster app: grpc health checks of 1 endpoint(s) every 200 ms")
    server.stop()
    wait_for_log(p, "endpoint %s is unhealthy after 2 failed health checks (last: connect failed"
                 % server.address)
