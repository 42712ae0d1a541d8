"""Path normalization before routing: dot segments (also percent-encoded), unreserved escapes,
merged slashes and escaped slashes by the listener's `paths` option. The route is chosen on the
normalized path and the backend receives that same path, so a route cannot be used to reach
a path that another route guards. Requests are sent raw: HTTP clients normalize dot segments
themselves."""
import pytest

from conftest import RawConn, proxy_config, request_bytes


ROUTES = ("          - match: { prefix: /admin }\n"
          "            direct_response: { status: 403, body: \"admin is private\" }\n"
          "          - match: { prefix: /fault/echo_head }\n"
          "            proxy: { cluster: app }\n")


def config(backend, paths=""):
    """/admin is refused by Portico itself; /fault/echo_head goes to the backend."""
    return proxy_config([backend], routes=ROUTES,
                        extra_listener="    %s\n" % paths if paths else "")


def get(port, target):
    conn = RawConn(port)
    try:
        conn.send(request_bytes(path=target))
        return conn.read_response()
    finally:
        conn.close()


def backend_paths(backend):
    return [r["path"] for r in backend.requests()]


@pytest.mark.parametrize("target", [
    "/fault/echo_head/../../admin",
    "/fault/echo_head/%2e%2e/%2e%2e/admin",
    "/fault/echo_head/.%2E/%2E./admin/",
    "/fault/echo_head/../../../../admin/x",
])
def test_dot_segments_cannot_reach_a_guarded_path(portico, backends, target):
    (b,) = backends(1)
    p = portico(config(b))
    r = get(p.port, target)
    assert r.status == 403 and r.body == b"admin is private"
    assert backend_paths(b) == []


def test_backend_receives_the_normalized_path_and_the_query_untouched(portico, backends):
    (b,) = backends(1)
    p = portico(config(b))
    cases = [
        ("/fault/echo_head/a/./b/../c", "/fault/echo_head/a/c"),
        ("/fault/echo_head/%7Euser/%41%62c%3f", "/fault/echo_head/~user/Abc%3F"),
        ("//fault//echo_head///x", "/fault/echo_head/x"),
        ("/fault/echo_head/x/..?q=/../a%2Fb&r=%2e%2e", "/fault/echo_head/?q=/../a%2Fb&r=%2e%2e"),
    ]
    for target, _ in cases:
        assert get(p.port, target).status == 200, target
    assert backend_paths(b) == [expected for _, expected in cases]


@pytest.mark.parametrize("target", [
    "/fault/echo_head/a%2Fb",
    "/fault/echo_head/a%5cb",
    "/fault/echo_head/%zz",
    "/fault/echo_head/a%2",
    "/fault/echo_head/a%00b",
])
def test_bad_paths_get_400_by_default(portico, backends, target):
    (b,) = backends(1)
    p = portico(config(b))
    r = get(p.port, target)
    assert r.status == 400
    assert "rejected path %s" % target in p.wait_for_log("rejected path")
    assert backend_paths(b) == []


def test_escaped_slashes_kept(portico, backends):
    (b,) = backends(1)
    p = portico(config(b, "paths: { escaped_slashes: keep }"))
    assert get(p.port, "/fault/echo_head/a%2fb").status == 200
    # Kept escaped, "..%2F.." is an ordinary segment, not a way up.
    assert get(p.port, "/fault/echo_head/..%2F..%2Fadmin").status == 200
    assert backend_paths(b) == ["/fault/echo_head/a%2Fb", "/fault/echo_head/..%2F..%2Fadmin"]


def test_escaped_slashes_unescaped(portico, backends):
    (b,) = backends(1)
    p = portico(config(b, "paths: { escaped_slashes: unescape }"))
    assert get(p.port, "/fault/echo_head/a%2fb%5Cc").status == 200
    r = get(p.port, "/fault/echo_head/x/..%2F..%2F..%2Fadmin")
    assert r.status == 403 and r.body == b"admin is private"
    assert backend_paths(b) == ["/fault/echo_head/a/b\\c"]


def test_slashes_not_merged_when_turned_off(portico, backends):
    (b,) = backends(1)
    p = portico(config(b, "paths: { merge_slashes: false }"))
    assert get(p.port, "/fault/echo_head//x//../y").status == 200
    assert get(p.port, "//fault/echo_head/x").status == 404  # no route for "//fault..."
    assert backend_paths(b) == ["/fault/echo_head//x/y"]
