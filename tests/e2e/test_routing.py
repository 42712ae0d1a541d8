"""Routing: virtual hosts (exact, wildcard, default), route matching by path, method, headers
and query, first match wins; direct responses, redirects, header rules, prefix rewrite, 404."""
import httpx
import pytest

from conftest import RawConn, request_bytes

CONFIG = """
workers: 1
listeners:
  - name: main
    address: 127.0.0.1:{port}
    virtual_hosts:
      - name: api
        domains: [api.example.com]
        routes:
          - direct_response: { status: 200, body: "vhost api" }
      - name: wildcard
        domains: ["*.example.com"]
        routes:
          - direct_response: { status: 200, body: "vhost wildcard" }
      - name: deeper
        domains: ["*.eu.example.com"]
        routes:
          - direct_response: { status: 200, body: "vhost deeper wildcard" }
      - name: nomatch
        domains: [only-some.test]
        routes:
          - match: { path: /only }
            direct_response: { status: 200, body: "only" }
      - name: default
        domains: ["*"]
        routes:
          - name: exact
            match: { path: /exact }
            direct_response: { status: 200, body: "exact" }
          - name: regex
            match: { regex: "/items/[0-9]+" }
            direct_response: { status: 200, body: "regex" }
          - name: post-only
            match: { path: /m, methods: [POST, put] }
            direct_response: { status: 200, body: "post or put" }
          - name: any-method
            match: { path: /m }
            direct_response: { status: 200, body: "any method" }
          - name: canary
            match:
              path: /h
              headers:
                - { name: X-Canary, value: "1" }
            direct_response: { status: 200, body: "canary" }
          - name: header-regex
            match:
              path: /h
              headers:
                - { name: User-Agent, regex: ".*[Mm]obile.*" }
            direct_response: { status: 200, body: "mobile" }
          - name: header-present
            match:
              path: /h
              headers:
                - { name: X-Debug, present: true }
            direct_response: { status: 200, body: "debug header" }
          - name: header-absent
            match:
              path: /h
              headers:
                - { name: Authorization, present: true, invert: true }
            direct_response: { status: 200, body: "anonymous" }
          - name: header-fallback
            match: { path: /h }
            direct_response: { status: 200, body: "authorized" }
          - name: query-exact
            match:
              path: /q
              query:
                - { name: debug, value: "1" }
            direct_response: { status: 200, body: "query debug" }
          - name: query-present
            match:
              path: /q
              query:
                - { name: page, present: true }
            direct_response: { status: 200, body: "query page" }
          - name: query-regex
            match:
              path: /q
              query:
                - { name: id, regex: "[a-f0-9]{4}" }
            direct_response: { status: 200, body: "query id" }
          - name: first
            match: { prefix: /first }
            direct_response: { status: 200, body: "first wins" }
          - name: second
            match: { prefix: /first/second }
            direct_response: { status: 200, body: "second never" }
          - name: teapot
            match: { path: /teapot }
            direct_response:
              status: 418
              body: "short and stout\\n"
              headers: { X-Tea: earl-grey, Content-Type: text/x-tea, Cache-Control: no-store }
          - name: empty
            match: { path: /empty }
            direct_response: { status: 204 }
          - name: redir-https
            match: { prefix: /secure }
            redirect: { scheme: https }
          - name: redir-host
            match: { prefix: /moved }
            redirect: { host: new.example.org, status: 302 }
          - name: redir-port
            match: { prefix: /port }
            redirect: { port: 8443, scheme: https, status: 307 }
          - name: redir-path
            match: { prefix: /old-page }
            redirect: { path: /new-page, status: 308 }
          - name: redir-prefix
            match: { prefix: /docs/v1/ }
            redirect: { prefix_rewrite: /docs/v2/, status: 301 }
          - name: redir-strip
            match: { prefix: /strip }
            redirect: { path: /stripped, strip_query: true, status: 303 }
          - name: rules
            match: { prefix: /rules }
            rewrite_prefix: /echo
            request_headers:
              add: { X-Added: one }
              set: { X-Set: forced }
              remove: [X-Remove-Me]
            response_headers:
              add: { X-Resp-Added: yes }
              set: { X-Resp-Set: forced }
              remove: [X-Resp-Remove]
            proxy: { cluster: app }
          - name: rules-direct
            match: { path: /direct-rules }
            response_headers:
              add: { X-Resp-Added: direct }
            direct_response: { status: 200, body: "direct" }
          - name: rewrite
            match: { prefix: /api/v1/ }
            rewrite_prefix: /
            proxy: { cluster: app }
          - name: rewrite-deeper
            match: { prefix: /legacy }
            rewrite_prefix: /modern
            proxy: { cluster: app }
          - name: backend
            match: { prefix: /app/ }
            proxy: { cluster: app }
          - name: pre
            match: { prefix: /pre }
            direct_response: { status: 200, body: "prefix" }
clusters:
  - name: app
    endpoints:
      - address: {backend}
"""


@pytest.fixture
def routed(portico, backends):
    (b1,) = backends(1)
    p = portico(CONFIG.replace("{backend}", b1.address))
    client = httpx.Client(timeout=10, follow_redirects=False)
    yield p, b1, client
    client.close()


def get(routed, path, host=None, **kw):
    p, _, client = routed
    headers = kw.pop("headers", {})
    if host:
        headers["Host"] = host
    return client.request(kw.pop("method", "GET"), p.url(path), headers=headers, **kw)


@pytest.mark.parametrize("host,body", [
    ("api.example.com", "vhost api"),
    ("API.Example.COM", "vhost api"),
    ("api.example.com:8080", "vhost api"),
    ("www.example.com", "vhost wildcard"),
    ("a.b.example.com", "vhost wildcard"),
    ("x.eu.example.com", "vhost deeper wildcard"),   # the longest wildcard wins
])
def test_virtual_hosts(routed, host, body):
    r = get(routed, "/anything", host=host)
    assert r.status_code == 200 and r.text == body


def test_default_virtual_host(routed):
    # "example.com" itself is not matched by "*.example.com".
    assert get(routed, "/exact", host="example.com").text == "exact"
    assert get(routed, "/exact", host="unknown.org").text == "exact"


def test_virtual_host_without_matching_route_is_404(routed):
    assert get(routed, "/only", host="only-some.test").text == "only"
    r = get(routed, "/exact", host="only-some.test")  # its own routes only, no fallback
    assert r.status_code == 404


def test_path_matching(routed):
    assert get(routed, "/exact").text == "exact"
    assert get(routed, "/exact/").status_code == 404     # exact is exact
    assert get(routed, "/items/42").text == "regex"
    assert get(routed, "/items/42x").status_code == 404  # regex must match the whole path
    assert get(routed, "/items/").status_code == 404
    assert get(routed, "/pre").text == "prefix"
    assert get(routed, "/prefix/and/more").text == "prefix"
    # The query is not part of the path.
    assert get(routed, "/exact?x=1").text == "exact"


def test_method_matching(routed):
    assert get(routed, "/m", method="POST").text == "post or put"
    assert get(routed, "/m", method="PUT").text == "post or put"
    assert get(routed, "/m").text == "any method"
    assert get(routed, "/m", method="DELETE").text == "any method"


def test_header_matching(routed):
    assert get(routed, "/h", headers={"X-Canary": "1"}).text == "canary"
    assert get(routed, "/h", headers={"X-Canary": "2", "Authorization": "x"}).text == "authorized"
    assert get(routed, "/h", headers={"User-Agent": "Foo Mobile/1.0"}).text == "mobile"
    assert get(routed, "/h", headers={"X-Debug": "", "Authorization": "x"}).text == \
        "debug header"
    assert get(routed, "/h").text == "anonymous"
    assert get(routed, "/h", headers={"Authorization": "Bearer t"}).text == "authorized"


def test_query_matching(routed):
    assert get(routed, "/q?debug=1").text == "query debug"
    assert get(routed, "/q?a=b&debug=1&c").text == "query debug"
    assert get(routed, "/q?page").text == "query page"
    assert get(routed, "/q?id=beef").text == "query id"
    assert get(routed, "/q?id=beefy").status_code == 404
    assert get(routed, "/q?debug=2").status_code == 404


def test_first_match_wins(routed):
    assert get(routed, "/first/second/third").text == "first wins"


def test_direct_response(routed):
    r = get(routed, "/teapot")
    assert r.status_code == 418
    assert r.text == "short and stout\n"
    assert r.headers["x-tea"] == "earl-grey"
    assert r.headers["content-type"] == "text/x-tea"
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["content-length"] == str(len("short and stout\n"))
    r = get(routed, "/empty")
    assert r.status_code == 204 and r.content == b""
    # Keep-alive survives a direct response.
    p, _, _ = routed
    conn = RawConn(p.port)
    try:
        conn.send(request_bytes("GET", "/teapot") + request_bytes("GET", "/empty") +
                  request_bytes("HEAD", "/teapot") + request_bytes("GET", "/exact"))
        assert conn.read_response().body == b"short and stout\n"
        assert conn.read_response().status == 204
        head = conn.read_response(head_request=True)
        assert head.status == 418 and head.header("Content-Length") == "16"
        assert conn.read_response().body == b"exact"
    finally:
        conn.close()


def test_redirects(routed):
    p, _, _ = routed
    host = "127.0.0.1:%d" % p.port
    r = get(routed, "/secure/page?x=1")
    assert r.status_code == 301
    assert r.headers["location"] == "https://127.0.0.1/secure/page?x=1"
    r = get(routed, "/moved/a", host="shop.test")
    assert r.status_code == 302
    assert r.headers["location"] == "http://new.example.org/moved/a"
    r = get(routed, "/port/x", host="shop.test:8080")
    assert r.status_code == 307
    assert r.headers["location"] == "https://shop.test:8443/port/x"
    r = get(routed, "/old-page?keep=1")
    assert r.status_code == 308
    assert r.headers["location"] == "http://%s/new-page?keep=1" % host
    r = get(routed, "/docs/v1/guide/intro.html")
    assert r.status_code == 301
    assert r.headers["location"] == "http://%s/docs/v2/guide/intro.html" % host
    r = get(routed, "/strip/me?secret=1")
    assert r.status_code == 303
    assert r.headers["location"] == "http://%s/stripped" % host
    assert r.content == b""


def test_redirect_followed_by_curl(routed):
    import subprocess
    p, _, _ = routed
    out = subprocess.run(["curl", "-sS", "-L", "--max-time", "10", "-o", "/dev/null",
                          "-w", "%{url_effective} %{http_code}",
                          p.url("/docs/v1/x")], capture_output=True, check=True)
    # /docs/v2/x has no route: the redirect was followed to a 404.
    assert out.stdout.decode() == p.url("/docs/v2/x") + " 404"


def test_header_rules(routed):
    p, b1, _ = routed
    r = get(routed, "/rules", headers={"X-Set": "client", "X-Remove-Me": "gone",
                                            "X-Added": "zero"})
    assert r.status_code == 200
    got = {}
    for k, v in r.json()["headers"]:
        got.setdefault(k.lower(), []).append(v)
    assert got["x-added"] == ["zero", "one"]       # add keeps what was there
    assert got["x-set"] == ["forced"]              # set replaces
    assert "x-remove-me" not in got
    assert r.headers.get_list("x-resp-added") == ["yes"]
    assert r.headers["x-resp-set"] == "forced"
    r = get(routed, "/direct-rules")
    assert r.text == "direct" and r.headers["x-resp-added"] == "direct"


def test_response_header_rules_remove_and_set_backend_fields(portico, backends):
    (b1,) = backends(1)
    config = """
workers: 1
listeners:
  - name: main
    address: 127.0.0.1:{port}
    virtual_hosts:
      - name: all
        domains: ["*"]
        routes:
          - response_headers:
              set: { Content-Type: text/x-forced }
              remove: [X-Sha256]
            proxy: { cluster: app }
clusters:
  - name: app
    endpoints:
      - address: %s
""" % b1.address
    p = portico(config)
    r = httpx.get(p.url("/random/100"), timeout=10)
    assert r.status_code == 200 and len(r.content) == 100
    assert "x-sha256" not in r.headers
    assert r.headers["content-type"] == "text/x-forced"


def test_rewrite_prefix(routed):
    p, b1, _ = routed
    assert get(routed, "/api/v1/users?id=7").text == "ok b1 /users?id=7"
    assert get(routed, "/legacy/a/b").text == "ok b1 /modern/a/b"
    assert get(routed, "/legacy").text == "ok b1 /modern"
    assert get(routed, "/app/x").text == "ok b1 /app/x"
    assert [r["path"] for r in b1.requests()] == ["/users?id=7", "/modern/a/b", "/modern",
                                                  "/app/x"]


def test_no_route_is_404(routed):
    p, b1, _ = routed
    r = get(routed, "/nowhere")
    assert r.status_code == 404
    assert len(r.content) < 100
    assert b1.requests() == []


def test_absolute_form_target_routes_by_its_authority(routed):
    p, _, _ = routed
    conn = RawConn(p.port)
    try:
        conn.send(b"GET http://api.example.com/x HTTP/1.1\r\nHost: other.test\r\n\r\n")
        r = conn.read_response()
        assert r.status == 200 and r.body == b"vhost api"
    finally:
        conn.close()
