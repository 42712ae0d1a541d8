"""Load-balancing algorithms against real backends: weighted distributions (chi-square), and
load- and latency-aware balancers steering away from a slow backend.

Each backend answers /name with its own name, so the client counts who answered."""

import collections
import concurrent.futures

import httpx
import pytest

from conftest import Backend, free_port, proxy_config

# Chi-square critical value for 2 degrees of freedom (three backends) at p = 0.001: a correct
# balancer fails this once in a thousand runs, a wrong one (weights ignored: chi-square in the
# hundreds) every time.
CHI2_2DOF_P001 = 13.82


def fetch_names(port, total, threads):
    """`total` GET /name requests from `threads` concurrent keep-alive clients; a Counter of
    the backend names that answered."""
    per_thread = [total // threads + (1 if i < total % threads else 0) for i in range(threads)]

    def run(n):
        names = collections.Counter()
        with httpx.Client(base_url="http://127.0.0.1:%d" % port, timeout=30) as c:
            for _ in range(n):
                r = c.get("/name")
                assert r.status_code == 200, r.text
                names[r.text] += 1
        return names

    counts = collections.Counter()
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        for names in pool.map(run, per_thread):
            counts.update(names)
    assert sum(counts.values()) == total
    return counts


def chi_square(counts, names, weights):
    total = sum(counts.values())
    x2 = 0.0
    for name, w in zip(names, weights):
        expected = total * w / sum(weights)
        x2 += (counts[name] - expected) ** 2 / expected
    return x2


@pytest.mark.parametrize("lb", ["weighted_round_robin", "random"])
def test_weighted_distribution_matches_the_weights(backends, portico, lb):
    bs = backends(3)
    weights = [1, 2, 5]
    p = portico(proxy_config(bs, weights=weights, workers=2, extra_cluster="    lb: %s\n" % lb))
    counts = fetch_names(p.port, 4000, threads=8)
    names = [b.name for b in bs]
    x2 = chi_square(counts, names, weights)
    assert x2 < CHI2_2DOF_P001, "lb %s: counts %s for weights %s (chi-square %.1f)" % (
        lb, dict(counts), weights, x2)
    # And as the backends saw it: every request reached the one that answered.
    assert [len(b.requests()) for b in bs] == [counts[n] for n in names]


@pytest.fixture
def one_slow_of_three(tmpdir_path):
    """Three backends: two answer in about 5 ms, "slow" in about 50 ms (10x)."""
    started = [Backend(tmpdir_path, "fast1", args=("--delay-ms", "5")),
               Backend(tmpdir_path, "fast2", args=("--delay-ms", "5")),
               Backend(tmpdir_path, "slow", args=("--delay-ms", "50"))]
    yield started
    for b in started:
        b.stop()


def slow_share(portico, backends, lb, extra=""):
    p = portico(proxy_config(backends, workers=2, extra_cluster="    lb: %s\n%s" % (lb, extra)))
    counts = fetch_names(p.port, 1200, threads=16)
    return counts["slow"] / sum(counts.values()), counts


@pytest.mark.parametrize("lb,extra", [
    ("least_request", ""),
    ("least_request", "    least_request: { choices: 3 }\n"),
    ("peak_ewma", "    peak_ewma: { decay: 5s }\n"),
])
def test_slow_backend_gets_fewer_requests(portico, one_slow_of_three, lb, extra):
    share, counts = slow_share(portico, one_slow_of_three, lb, extra)
    assert share < 0.20, "lb %s sent %.0f%% to the slow backend: %s" % (lb, share * 100,
                                                                       dict(counts))


def test_round_robin_does_not_see_the_slow_backend(portico, one_slow_of_three):
    """The control for the test above: the same load under round robin gives the slow backend
    its full third, so a share below 20% there is the balancer's doing."""
    share, counts = slow_share(portico, one_slow_of_three, "round_robin")
    assert share > 0.30, dict(counts)


@pytest.mark.parametrize("lb,most_retries", [
    # peak_ewma: the first refused connection counts as a 1 s answer, so each worker leaves
    # the dead endpoint alone after trying it about once.
    ("peak_ewma", 10),
    # The control: round robin keeps sending a third of the requests there, each one retried.
    ("round_robin", None),
])
def test_peak_ewma_stops_trying_a_dead_endpoint(backends, portico, lb, most_retries):
    live = backends(2)
    dead = "127.0.0.1:%d" % free_port()  # nothing listens: connections are refused
    p = portico(proxy_config([live[0], dead, live[1]], workers=2,
                             extra_cluster="    lb: %s\n" % lb))
    counts = fetch_names(p.port, 300, threads=1)  # every request succeeds (retried if need be)
    assert set(counts) == {"b1", "b2"}
    retries = p.error_log().count("retrying after")
    if most_retries is None:
        assert retries > 60, retries
    else:
        assert retries <= most_retries, retries
