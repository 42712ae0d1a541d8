"""Consistent hashing (lb: ring_hash and lb: maglev) with a route's hash_policy: the same key
reaches the same backend, across workers and across Portico processes; removing one of five
endpoints moves only about a fifth of the keys, and adding it back restores their mapping."""
import os

import httpx
import pytest

from conftest import proxy_config, tls_proxy_config

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


def sticky_config(tmpdir, endpoints, secret="s3cret-for-the-sticky-tests-0123456789"):
    path = os.path.join(tmpdir, "sticky.secret")
    with open(path, "w") as f:
        f.write(secret + "\n")
    return proxy_config(endpoints, workers=2,
                        extra_cluster=("    sticky: { cookie: srv, ttl: 1h, secret_file: %s }\n"
                                       % path))


def test_sticky_cookie_keeps_a_client_on_its_backend(backends, portico, tmpdir_path):
    bs = backends(3)
    p = portico(sticky_config(tmpdir_path, bs))
    with httpx.Client(timeout=10) as c:
        first = c.get(p.url("/name"))
        assert first.status_code == 200
        set_cookie = first.headers.get("set-cookie")
        assert set_cookie is not None
        attributes = [a.strip() for a in set_cookie.split(";")]
        assert attributes[0].startswith("srv=")
        assert {"Path=/", "Max-Age=3600", "HttpOnly", "SameSite=Lax"} <= set(attributes)
        assert "Secure" not in attributes  # the listener is plain HTTP
        cookie = attributes[0][len("srv="):]
        # The backend's address is not in the cookie.
        assert all(str(b.port) not in cookie for b in bs)

    # Round robin would spread these; the cookie keeps them on one backend, over fresh
    # connections (both workers), and needs no new cookie.
    no_reuse = httpx.Limits(max_keepalive_connections=0)
    with httpx.Client(timeout=10, limits=no_reuse) as c:
        answers = [c.get(p.url("/name"), headers={"Cookie": "a=1; srv=" + cookie})
                   for _ in range(20)]
    assert {r.text for r in answers} == {first.text}
    assert all("set-cookie" not in r.headers for r in answers)

    # Another Portico process with the same secret and endpoints honours it too.
    other = portico(sticky_config(tmpdir_path, list(reversed(bs))))
    with httpx.Client(timeout=10) as c:
        assert {c.get(other.url("/name"), headers={"Cookie": "srv=" + cookie}).text
                for _ in range(10)} == {first.text}


def test_forged_or_stale_sticky_cookie_is_ignored(backends, portico, tmpdir_path):
    bs = backends(3)
    p = portico(sticky_config(tmpdir_path, bs))
    with httpx.Client(timeout=10) as c:
        cookie = c.get(p.url("/name")).headers["set-cookie"].split(";")[0][len("srv="):]
    # Point the cookie at other host ids, or sign it with another secret: each request still
    # succeeds, balanced as if there were no cookie, and gets a fresh, valid cookie.
    forged = ["%016x" % i + cookie[16:] for i in range(1, 4)] + ["garbage", cookie[:-1] + "0"]
    forged = [f for f in forged if f != cookie]
    with httpx.Client(timeout=10) as c:
        seen = set()
        for f in forged * 4:
            r = c.get(p.url("/name"), headers={"Cookie": "srv=" + f})
            assert r.status_code == 200
            assert r.headers["set-cookie"].startswith("srv=")
            seen.add(r.text)
        assert len(seen) > 1  # not pinned by the forgery
    stranger = portico(sticky_config(tmpdir_path, bs, secret="another-secret-entirely-000000"))
    with httpx.Client(timeout=10) as c:
        answers = {c.get(stranger.url("/name"), headers={"Cookie": "srv=" + cookie}).text
                   for _ in range(9)}
    assert len(answers) > 1


def test_sticky_backend_down_moves_the_client_and_renews_the_cookie(backends, portico,
                                                                    tmpdir_path):
    bs = backends(3)
    p = portico(sticky_config(tmpdir_path, bs))
    with httpx.Client(timeout=10) as c:
        first = c.get(p.url("/name"))
        cookie = first.headers["set-cookie"].split(";")[0][len("srv="):]
        next(b for b in bs if b.name == first.text).stop()
        moved = c.get(p.url("/name"), headers={"Cookie": "srv=" + cookie})
        assert moved.status_code == 200 and moved.text != first.text
        renewed = moved.headers["set-cookie"].split(";")[0][len("srv="):]
        assert renewed != cookie
        # The new cookie holds.
        assert {c.get(p.url("/name"), headers={"Cookie": "srv=" + renewed}).text
                for _ in range(10)} == {moved.text}


def test_sticky_cookie_is_secure_on_a_tls_listener(backends, portico, tmpdir_path, test_ca,
                                                  server_cert):
    bs = backends(2)
    secret = os.path.join(tmpdir_path, "tls-sticky.secret")
    with open(secret, "w") as f:
        f.write("another-secret-for-the-tls-test-0123\n")
    p = portico(tls_proxy_config(
        bs, [server_cert],
        extra_cluster="    sticky: { cookie: srv, secret_file: %s }\n" % secret))
    with httpx.Client(timeout=10, verify=test_ca.cert) as c:
        r = c.get("https://localhost:%d/name" % p.port)
    assert r.status_code == 200
    attributes = [a.strip() for a in r.headers["set-cookie"].split(";")]
    assert "Secure" in attributes and "HttpOnly" in attributes
    assert not any(a.startswith("Max-Age") for a in attributes)  # no ttl: a session cookie
