"""Slow start: an endpoint that comes back from a failed health check gets a growing share of
traffic over slow_start.window instead of its full share at once. Two real backends, the
real health checker, shares measured by which backend answered."""
import urllib.request

import httpx

from conftest import proxy_config, wait_until

WINDOW_MS = 4000


def config(backends, lb="weighted_round_robin"):
    return proxy_config(backends, workers=1, extra_cluster=(
        "    lb: %s\n"
        "    health_check:\n"
        "      path: /health\n"
        "      interval: 200ms\n"
        "      jitter: 0ms\n"
        "      timeout: 1s\n"
        "      unhealthy_threshold: 1\n"
        "      healthy_threshold: 1\n"
        "    slow_start: { window: %dms, aggression: 1.0, min_weight_percent: 10 }\n"
        % (lb, WINDOW_MS)))


def flip(backend, state):
    with urllib.request.urlopen("http://%s/health/%s" % (backend.address, state), timeout=5) as r:
        assert r.status == 200


def wait_for_log(p, needle, timeout=10.0):
    assert wait_until(lambda: needle in p.error_log(), timeout=timeout), p.error_log()


def share_of(client, p, name, n):
    """Sends n requests; the share the backend called `name` answered."""
    names = []
    for i in range(n):
        r = client.get(p.url("/s%d" % i))
        assert r.status_code == 200, r.text
        names.append(r.text.split()[1])
    return names.count(name) / n


def recovery_ramps(portico, backends, lb):
    b1, b2 = backends(2)
    p = portico(config([b1, b2], lb))
    wait_for_log(p, "cluster app: http health checks of 2 endpoint(s)")
    with httpx.Client(timeout=10) as c:
        # Start-up endpoints are not ramped: an even split from the first request.
        assert 0.4 <= share_of(c, p, "b1", 40) <= 0.6
        assert "slow start" not in p.error_log()
        flip(b1, "fail")
        wait_for_log(p, "cluster app: 1 of 2 endpoints healthy, 1 taking traffic")
        flip(b1, "ok")
        wait_for_log(p, "cluster app: slow start: 1 ramping up over %d ms" % WINDOW_MS)
        # Just back: well under half (about 10-15% early in the window).
        early = share_of(c, p, "b1", 60)
        assert early <= 0.3, early
        if lb == "weighted_round_robin":
            assert early > 0, "a ramping endpoint still gets its min_weight_percent share"
        wait_for_log(p, "cluster app: slow start over", timeout=WINDOW_MS / 1000.0 + 5)
        late = share_of(c, p, "b1", 100)
        # Even again (least_request breaks ties at random: a generous band).
        assert 0.3 <= late <= 0.7, late
    return early, late


def test_recovered_endpoint_ramps_up_weighted_round_robin(portico, backends):
    recovery_ramps(portico, backends, "weighted_round_robin")


def test_recovered_endpoint_ramps_up_least_request(portico, backends):
    # Sequential requests leave nothing in flight: least_request then follows the weights
    # alone, which is where the ramp shows.
    recovery_ramps(portico, backends, "least_request")
