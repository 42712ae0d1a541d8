"""Consistent hashing (lb: ring_hash and lb: maglev) with a route's hash_policy: the same key
reaches the same backend, across workers and across Portico processes; removing one of five
endpoints moves only about a fifth of the keys, and adding it back restores their mapping."""
import httpx
import pytest

from conftest import proxy_config

POLICIES = ["ring_hash", "maglev"]
KEYS = ["user-%d" % i for i in range(1000)]


def hashed_config(endpoints, lb, hash_policy, workers=2):
    routes = ("          - match: { prefix: / }\n"
              "            proxy:\n"
              "              cluster: app\n"
              "              hash_policy:\n" +
              "".join("                - %s\n" % item for item in hash_policy))
    return proxy_config(endpoints, routes=routes, workers=workers,
                        extra_cluster="    lb: %s\n" % lb)


def backend_of_each_key(p, keys, header="X-User"):
    """Which backend answered /name for each key (sent as `header`), over one connection."""
    with httpx.Client(timeout=10) as c:
        out = {}
        for key in keys:
            r = c.get(p.url("/name"), headers={header: key})
            assert r.status_code == 200, r.text
            out[key] = r.text
        return out


@pytest.mark.parametrize("lb", POLICIES)
def test_removing_an_endpoint_moves_few_keys_and_adding_it_back_restores_them(
        backends, portico, lb):
    bs = backends(5)
    everyone = portico(hashed_config(bs, lb, ["header: X-User"]))
    before = backend_of_each_key(everyone, KEYS)
    # All five take a fair part of the keys (equal weights).
    counts = {b.name: list(before.values()).count(b.name) for b in bs}
    assert all(100 <= n <= 300 for n in counts.values()), counts

    # A second Portico process without b3: only b3's keys move (plus at most 5 points).
    without_b3 = portico(hashed_config([b for b in bs if b.name != "b3"], lb,
                                       ["header: X-User"]))
    after = backend_of_each_key(without_b3, KEYS)
    assert "b3" not in after.values()
    moved = sum(1 for k in KEYS if before[k] != after[k])
    assert moved <= len(KEYS) * (1 / 5 + 0.05), (moved, counts)
    assert moved >= counts["b3"]  # every key of b3 had to move
    stayed_put = [k for k in KEYS if before[k] != "b3"]
    moved_elsewhere = sum(1 for k in stayed_put if after[k] != before[k])
    assert moved_elsewhere <= len(KEYS) * 0.05, moved_elsewhere

    # b3 back (in a third process, endpoints listed in another order): the same mapping as
    # the first process, key for key.
    back = portico(hashed_config(list(reversed(bs)), lb, ["header: X-User"]))
    assert backend_of_each_key(back, KEYS) == before


@pytest.mark.parametrize("lb", POLICIES)
def test_same_key_same_backend_on_every_connection_and_worker(backends, portico, lb):
    bs = backends(4)
    p = portico(hashed_config(bs, lb, ["cookie: sid", "query_parameter: uid"], workers=2))
    # Fresh connections, so both workers answer some of them.
    no_reuse = httpx.Limits(max_keepalive_connections=0)
    with httpx.Client(timeout=10, limits=no_reuse) as c:
        for sid in ("alpha", "beta", "gamma", "delta"):
            seen = {c.get(p.url("/name"), headers={"Cookie": "theme=dark; sid=" + sid}).text
                    for _ in range(20)}
            assert len(seen) == 1, (sid, seen)
        # The query parameter is the fallback when the cookie is absent...
        by_query = {c.get(p.url("/name?uid=42&x=%d" % i)).text for i in range(20)}
        assert len(by_query) == 1, by_query
        # ...and the cookie wins when both are there: the key is the cookie's value.
        by_cookie = {c.get(p.url("/name?uid=%d" % i), headers={"Cookie": "sid=alpha"}).text
                     for i in range(20)}
        assert len(by_cookie) == 1, by_cookie
        # Without any key the balancer picks at random: over 200 requests every backend.
        keyless = {c.get(p.url("/name")).text for _ in range(200)}
        assert keyless == {b.name for b in bs}


def test_client_ip_keys_spread_and_stick(backends, portico):
    bs = backends(3)
    p = portico(hashed_config(bs, "maglev", ["client_ip"]))
    chosen = {}
    for last in range(1, 41):
        ip = "127.0.0.%d" % last
        transport = httpx.HTTPTransport(local_address=ip)
        with httpx.Client(timeout=10, transport=transport) as c:
            seen = {c.get(p.url("/name")).text for _ in range(3)}
        assert len(seen) == 1, (ip, seen)
        chosen[ip] = seen.pop()
    # 40 client addresses land on every one of three backends.
    assert set(chosen.values()) == {b.name for b in bs}, chosen


@pytest.mark.parametrize("lb", POLICIES)
def test_a_down_endpoint_is_retried_on_the_next_and_the_key_stays_there(backends, portico, lb):
    bs = backends(3)
    p = portico(hashed_config(bs, lb, ["header: X-User"], workers=1))
    before = backend_of_each_key(p, KEYS[:200])
    victim = bs[0]
    victim.stop()
    # The key's endpoint refuses connections: the request goes on to another endpoint (a
    # retry after a connect failure), and every such key lands on the same one each time.
    first = backend_of_each_key(p, KEYS[:200])
    second = backend_of_each_key(p, KEYS[:200])
    assert first == second
    assert victim.name not in first.values()
    assert all(first[k] == before[k] for k in first if before[k] != victim.name)
