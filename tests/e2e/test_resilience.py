"""Upstream resilience end to end: retries that hide a backend dying under steady traffic,
retries on a listed status, circuit breakers and the retry budget. Real Portico, real backend
processes (backend.py for HTTP/1.1, h2_backend.py for HTTP/2), real HTTP clients."""
import http.client
import signal
import threading

import pytest

from conftest import Backend, proxy_config, wait_until

RETRY_ALL = ("    max_retries: 3\n"
             "    retry:\n"
             "      on: [connect-failure, refused-stream, reset, timeout]\n"
             "      backoff: { base: 5ms, max: 20ms }\n")


def get(port, path, method="GET", body=None, timeout=15):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def steady_traffic(port, path, total, workers, on_progress=None):
    """`total` GETs from `workers` threads, each on its own keep-alive connection; returns
    (statuses, errors). on_progress(done) runs after each answer."""
    statuses, errors = [], []
    lock = threading.Lock()
    next_index = [0]

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
        while True:
            with lock:
                if next_index[0] >= total:
                    break
                next_index[0] += 1
            try:
                conn.request("GET", path)
                resp = conn.getresponse()
                resp.read()
                with lock:
                    statuses.append(resp.status)
                    done = len(statuses)
            except (OSError, http.client.HTTPException) as e:
                with lock:
                    errors.append(repr(e))
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
                continue
            if on_progress:
                on_progress(done)
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return statuses, errors


@pytest.mark.parametrize("upstream", ["http1", "h2c"])
def test_killing_one_of_three_backends_fails_no_request(tmpdir_path, portico, upstream):
    script = "backend.py" if upstream == "http1" else "h2_backend.py"
    bs = [Backend(tmpdir_path, "k%d" % i, script=script) for i in range(3)]
    try:
        extra = RETRY_ALL + ("    protocol: h2c\n" if upstream == "h2c" else "")
        p = portico(proxy_config(bs, extra_cluster=extra))
        killed = threading.Event()

        def kill_midway(done):
            if done >= 150 and not killed.is_set():
                killed.set()
                bs[1].proc.send_signal(signal.SIGKILL)

        statuses, errors = steady_traffic(p.port, "/sleep/5", total=600, workers=8,
                                          on_progress=kill_midway)
        assert killed.is_set()
        assert errors == []
        assert len(statuses) == 600 and set(statuses) == {200}, \
            {s: statuses.count(s) for s in set(statuses)}
        # The dying backend was really in the rotation, and the others carried on after it.
        assert len(bs[1].requests()) > 0
        assert len(bs[0].requests()) + len(bs[2].requests()) > 400
        assert p.alive()
    finally:
        for b in bs:
            b.stop()


def test_retry_on_listed_status_hides_a_broken_backend(tmpdir_path, portico):
    good = Backend(tmpdir_path, "good")
    broken = Backend(tmpdir_path, "broken", tls=("--fail-status", "503"))
    try:
        p = portico(proxy_config([good, broken], extra_cluster=(
            "    retry: { on: [connect-failure, 503], backoff: { base: 1ms, max: 5ms } }\n")))
        for _ in range(20):
            status, body = get(p.port, "/name")
            assert (status, body) == (200, b"good")
        assert len(broken.requests()) >= 5  # it was tried, its 503 never reached the client
        assert "retrying after \"status 503\"" in p.error_log()
        # Not for a POST: the backend may have acted on it; its 503 goes to the client.
        posts = [get(p.port, "/name", method="POST", body=b"x")[0] for _ in range(6)]
        assert 503 in posts and 200 in posts
    finally:
        good.stop()
        broken.stop()


def test_max_requests_circuit_breaker(tmpdir_path, portico, backends):
    b = backends(1)[0]
    p = portico(proxy_config([b], extra_cluster="    circuit_breakers: { max_requests: 2 }\n"))
    results = []

    def slow():
        results.append(get(p.port, "/sleep/1500")[0])

    threads = [threading.Thread(target=slow) for _ in range(2)]
    for t in threads:
        t.start()
    wait_until(lambda: len([r for r in b.requests() if r["path"] == "/sleep/1500"]) == 2)
    # Over the limit: 503 at once, never sent to the backend.
    status, _ = get(p.port, "/over")
    assert status == 503
    assert "circuit_breakers.max_requests (2) reached" in p.wait_for_log("max_requests")
    assert not [r for r in b.requests() if r["path"] == "/over"]
    for t in threads:
        t.join()
    assert results == [200, 200]  # the requests under the limit succeeded
    assert get(p.port, "/after")[0] == 200  # and the breaker closed again


def attempts_with_budget(tmpdir_path, portico, budget, clients=12):
    bs = [Backend(tmpdir_path, "f%d-%d" % (budget[0], i)) for i in range(3)]
    try:
        p = portico(proxy_config(bs, extra_cluster=(
            "    max_retries: 3\n"
            "    retry:\n"
            "      on: [503]\n"
            "      backoff: { base: 1ms, max: 1ms }\n"
            "      budget: { percent: %d, min_concurrency: %d }\n" % budget)))
        statuses = []
        threads = [threading.Thread(target=lambda: statuses.append(
            get(p.port, "/slowstatus/503/300")[0])) for _ in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert statuses == [503] * clients  # every backend fails: so does every request
        return sum(len(b.requests()) for b in bs), p.error_log()
    finally:
        for b in bs:
            b.stop()


def test_retry_budget_bounds_attempts_when_every_backend_fails(tmpdir_path, portico):
    # Without a budget each of 12 requests makes 1 + 3 attempts.
    unbounded, _ = attempts_with_budget(tmpdir_path, portico, (100, 100))
    assert unbounded == 48
    # With at most one retry in flight, the first wave of failures gets one retry slot; the
    # request holding it retries alone. Allow one more chain for scheduling slack.
    bounded, log = attempts_with_budget(tmpdir_path, portico, (0, 1))
    assert bounded <= 12 + 2 * 3, bounded
    assert "the retry budget of cluster app is spent" in log


def test_outlier_detection_ejects_a_failing_backend_and_brings_it_back(tmpdir_path, portico):
    good = [Backend(tmpdir_path, "ok%d" % i) for i in range(2)]
    broken = Backend(tmpdir_path, "bad", tls=("--fail-status", "500"))
    try:
        p = portico(proxy_config(good + [broken], extra_cluster=(
            "    outlier_detection:\n"
            "      consecutive_5xx: 3\n"
            "      base_ejection_time: 3s\n"
            "      max_ejection_percent: 50\n")))
        statuses = [get(p.port, "/name")[0] for _ in range(12)]
        # Its third 5xx in a row ejects it (one more may slip through while the new host set
        # travels from the main thread to the worker).
        assert 3 <= statuses.count(500) <= 4, statuses
        assert "endpoint %s ejected for 3000 ms (consecutive_5xx, ejection 1)" % broken.address \
            in p.wait_for_log("ejected")
        seen = len(broken.requests())
        # While ejected it gets nothing, and every client request succeeds.
        for _ in range(10):
            status, body = get(p.port, "/name")
            assert status == 200 and body in (b"ok0", b"ok1")
        assert len(broken.requests()) == seen
        # It returns on its own once its ejection time is over.
        p.wait_for_log("endpoint %s back from ejection" % broken.address)
        wait_until(lambda: get(p.port, "/name")[0] == 500)
        assert len(broken.requests()) > seen
    finally:
        for b in good + [broken]:
            b.stop()
