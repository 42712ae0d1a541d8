"""Proxy semantics (RFC 9110): hop-by-hop fields, X-Forwarded-*, Forwarded, Via, request ids,
the backend's Server header. What the backend receives is read from its /echo answer."""
import json
import time
import re

import httpx
import pytest

from conftest import RawConn, proxy_config, request_bytes

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def forwarding(**keys):
    lines = ["    forwarding:"]
    for k, v in keys.items():
        lines.append("      %s: %s" % (k, v))
    return "\n".join(lines) + "\n"


def echo(p, headers=None, path="/echo"):
    """The headers the backend received, as a dict of lower-case name -> list of values."""
    r = httpx.get(p.url(path), headers=headers or {}, timeout=10)
    assert r.status_code == 200, r.text
    got = {}
    for k, v in r.json()["headers"]:
        got.setdefault(k.lower(), []).append(v)
    return got, r


def test_hop_by_hop_request_fields_are_removed(portico, backends):
    (b1,) = backends(1)
    p = portico(proxy_config([b1]))
    conn = RawConn(p.port)
    try:
        conn.send(request_bytes("GET", "/echo", headers=[
            ("Connection", "keep-alive, X-Custom-Hop"),
            ("X-Custom-Hop", "secret"),
            ("Keep-Alive", "timeout=5"),
            ("Proxy-Connection", "keep-alive"),
            ("TE", "trailers"),
            ("Trailer", "X-Checksum"),
            ("Upgrade", "h2c"),   # no "Connection: upgrade": not a tunnel request
            ("X-End-To-End", "kept"),
        ]))
        r = conn.read_response()
    finally:
        conn.close()
    assert r.status == 200
    names = {k.lower(): v for k, v in json.loads(r.body)["headers"]}
    for hop in ("x-custom-hop", "keep-alive", "proxy-connection", "te", "trailer", "upgrade",
                "transfer-encoding"):
        assert hop not in names, (hop, names)
    # The upstream Connection field is Portico's own, never the client's list.
    assert "x-custom-hop" not in names.get("connection", "").lower()
    assert names["x-end-to-end"] == "kept"


def test_upgrade_without_connection_upgrade_is_not_forwarded(portico, backends):
    (b1,) = backends(1)
    p = portico(proxy_config([b1]))
    got, _ = echo(p, {"Upgrade": "websocket"})
    assert "upgrade" not in got


def test_hop_by_hop_response_fields_are_removed(portico, backends):
    (b1,) = backends(1)
    p = portico(proxy_config([b1]))
    conn = RawConn(p.port)
    try:
        conn.send(request_bytes("GET", "/hop"))
        r = conn.read_response()
        assert r.status == 200 and r.body == b"hop"
        names = [k.lower() for k, _ in r.headers]
        assert "x-secret-hop" not in names
        assert "keep-alive" not in names
        assert "proxy-connection" not in names
        for value in r.header_all("Connection"):
            assert value.lower() in ("close", "keep-alive"), r.headers
        # The connection is still usable: the backend's Connection list did not leak into ours.
        conn.send(request_bytes("GET", "/name"))
        assert conn.read_response().body == b"b1"
    finally:
        conn.close()


def test_x_forwarded_defaults(portico, backends):
    (b1,) = backends(1)
    p = portico(proxy_config([b1]))
    got, _ = echo(p, {"Host": "shop.example:8443", "X-Forwarded-Proto": "https",
                      "X-Forwarded-Host": "forged.example"})
    # Default: append (but the client is not a trusted proxy, so its list is replaced).
    assert got["x-forwarded-for"] == ["127.0.0.1"]
    assert got["x-forwarded-proto"] == ["http"]
    assert got["x-forwarded-host"] == ["shop.example:8443"]
    assert "forwarded" not in got  # RFC 7239 is off by default


def test_no_empty_x_forwarded_host_for_http10_without_host(portico, backends):
    (b1,) = backends(1)
    p = portico(proxy_config([b1]))
    conn = RawConn(p.port)
    conn.send(request_bytes("GET", "/anything", host=None, version="HTTP/1.0",
                            headers=[("X-Forwarded-Host", "forged.example")]))
    assert conn.read_response().status == 200
    recorded = [r for r in b1.requests() if r["path"] == "/anything"]
    names = [k.lower() for k, _ in recorded[0]["headers"]]
    assert "x-forwarded-host" not in names  # neither empty nor the client's forged value
    assert "x-forwarded-for" in names


def test_x_forwarded_for_append_from_trusted_proxy(portico, backends):
    (b1,) = backends(1)
    p = portico(proxy_config([b1], extra_listener=forwarding(
        x_forwarded_for="append", trusted_proxies="[127.0.0.1/32]")))
    got, _ = echo(p, {"X-Forwarded-For": "203.0.113.7, 10.1.1.1"})
    assert got["x-forwarded-for"] == ["203.0.113.7, 10.1.1.1, 127.0.0.1"]
    got, _ = echo(p)
    assert got["x-forwarded-for"] == ["127.0.0.1"]


def test_x_forwarded_for_append_from_untrusted_peer_replaces(portico, backends):
    (b1,) = backends(1)
    p = portico(proxy_config([b1], extra_listener=forwarding(
        x_forwarded_for="append", trusted_proxies="['10.0.0.0/8', '::1']")))
    got, _ = echo(p, {"X-Forwarded-For": "203.0.113.7"})
    assert got["x-forwarded-for"] == ["127.0.0.1"]


def test_x_forwarded_replace_and_off(portico, backends):
    (b1,) = backends(1)
    p = portico(proxy_config([b1], extra_listener=forwarding(
        x_forwarded_for="replace", x_forwarded_proto="off", x_forwarded_host="off",
        trusted_proxies="[127.0.0.1]")))
    got, _ = echo(p, {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"})
    # replace ignores trust: only the peer address.
    assert got["x-forwarded-for"] == ["127.0.0.1"]
    # off: Portico neither adds nor touches the field.
    assert got["x-forwarded-proto"] == ["https"]
    assert "x-forwarded-host" not in got
    got, _ = echo(p)
    assert "x-forwarded-proto" not in got


def test_x_forwarded_for_off(portico, backends):
    (b1,) = backends(1)
    p = portico(proxy_config([b1], extra_listener=forwarding(x_forwarded_for="off")))
    got, _ = echo(p)
    assert "x-forwarded-for" not in got


def test_forwarded_rfc7239(portico, backends):
    (b1,) = backends(1)
    p = portico(proxy_config([b1], extra_listener=forwarding(
        forwarded="append", trusted_proxies="[127.0.0.1/32]")))
    got, _ = echo(p, {"Host": "app.example", "Forwarded": "for=198.51.100.9;proto=https"})
    assert got["forwarded"] == [
        'for=198.51.100.9;proto=https, for=127.0.0.1;proto=http;host="app.example"']


def test_forwarded_replace(portico, backends):
    (b1,) = backends(1)
    p = portico(proxy_config([b1], extra_listener=forwarding(forwarded="replace")))
    got, _ = echo(p, {"Host": "app.example:81", "Forwarded": "for=198.51.100.9"})
    assert got["forwarded"] == ['for=127.0.0.1;proto=http;host="app.example:81"']


def test_forwarded_append_untrusted_replaces(portico, backends):
    (b1,) = backends(1)
    p = portico(proxy_config([b1], extra_listener=forwarding(forwarded="append")))
    got, _ = echo(p, {"Host": "h", "Forwarded": "for=198.51.100.9"})
    assert got["forwarded"] == ['for=127.0.0.1;proto=http;host="h"']


def test_via_on_request_and_response(portico, backends):
    (b1,) = backends(1)
    p = portico(proxy_config([b1]))
    got, r = echo(p, {"Via": "1.1 cdn"})
    assert got["via"] == ["1.1 cdn, 1.1 portico"]
    assert r.headers["via"] == "1.1 portico"


def test_via_off(portico, backends):
    (b1,) = backends(1)
    p = portico(proxy_config([b1], extra_listener=forwarding(via="false")))
    got, r = echo(p)
    assert "via" not in got
    assert "via" not in r.headers


def test_request_id_generated_kept_and_returned(portico, backends):
    (b1,) = backends(1)
    p = portico(proxy_config([b1]))
    got, r = echo(p)
    (sent,) = got["x-request-id"]
    assert UUID_RE.match(sent), sent
    assert r.headers["x-request-id"] == sent
    # Distinct per request.
    got2, _ = echo(p)
    assert got2["x-request-id"] != [sent]
    # Kept when the client sends a sane one.
    got, r = echo(p, {"X-Request-Id": "client-id-42"})
    assert got["x-request-id"] == ["client-id-42"]
    assert r.headers["x-request-id"] == "client-id-42"
    # Replaced when it is not a sane token (it ends up in logs).
    got, r = echo(p, {"X-Request-Id": "bad id \"quoted\""})
    assert UUID_RE.match(got["x-request-id"][0])
    assert r.headers["x-request-id"] == got["x-request-id"][0]


def test_request_id_on_local_replies(portico, backends):
    (b1,) = backends(1)
    routes = ("          - match: { path: /direct }\n"
              "            direct_response: { status: 200, body: hi }\n")
    p = portico(proxy_config([b1], routes=routes))
    r = httpx.get(p.url("/direct"), timeout=10)
    assert r.status_code == 200 and UUID_RE.match(r.headers["x-request-id"])
    r = httpx.get(p.url("/nothing-here"), timeout=10)
    assert r.status_code == 404 and UUID_RE.match(r.headers["x-request-id"])


def test_request_id_off(portico, backends):
    (b1,) = backends(1)
    p = portico(proxy_config([b1], extra_listener=forwarding(request_id="false")))
    got, r = echo(p)
    assert "x-request-id" not in got
    assert "x-request-id" not in r.headers


@pytest.mark.parametrize("mode,expected", [
    ("replace", "portico"),
    ("remove", None),
    ("pass", "secret-backend/1.0"),
])
def test_server_header_modes(portico, backends, mode, expected):
    (b1,) = backends(1)
    p = portico(proxy_config([b1], extra_listener=forwarding(server_header=mode)))
    r = httpx.get(p.url("/server"), timeout=10)
    assert r.status_code == 200 and r.text == "hidden"
    assert r.headers.get("server") == expected
    assert "secret-backend" not in str(r.headers) or mode == "pass"


def test_server_name_is_configurable(portico, backends):
    (b1,) = backends(1)
    p = portico(proxy_config([b1], extra_listener=forwarding(server_name="edge-7")))
    r = httpx.get(p.url("/server"), timeout=10)
    assert r.headers["server"] == "edge-7"
    r = httpx.get(p.url("/name"), timeout=10)
    assert r.headers["server"] == "edge-7"


def test_every_field_named_by_connection_is_removed(portico, backends):
    """However long the Connection list is, each field it names is hop-by-hop."""
    (b1,) = backends(1)
    p = portico(proxy_config([b1]))
    names = ["X-Hop-%d" % i for i in range(40)]
    conn = RawConn(p.port)
    try:
        conn.send(request_bytes("GET", "/echo", headers=[("Connection", ", ".join(names))] +
                                [(n, "secret") for n in names] + [("X-Kept", "yes")]))
        r = conn.read_response()
    finally:
        conn.close()
    assert r.status == 200
    got = {k.lower() for k, _ in json.loads(r.body)["headers"]}
    assert not got & {n.lower() for n in names}, sorted(got)
    assert "x-kept" in got


def test_ipv6_client_address_in_forwarding_fields(portico, backends):
    import socket
    try:
        s = socket.socket(socket.AF_INET6)
        s.bind(("::1", 0))
        s.close()
    except OSError:
        pytest.skip("no IPv6 loopback here")
    (b1,) = backends(1)
    text = proxy_config([b1], extra_listener=forwarding(forwarded="replace"))
    text = text.replace("address: 127.0.0.1:{port}", "address: '[::1]:{port}'")
    p = portico(text, start=False)
    p.proc = None
    import subprocess
    from conftest import BIN
    p.err = open(p.error_log_path, "w")
    p.out = open(p.access_log, "w")
    p.proc = subprocess.Popen([BIN, "--config", p.config_path], stdout=p.out, stderr=p.err)
    deadline = time.time() + 10
    while True:
        try:
            socket.create_connection(("::1", p.port), timeout=0.2).close()
            break
        except OSError:
            assert time.time() < deadline and p.proc.poll() is None, p.error_log()
            time.sleep(0.02)
    r = httpx.get("http://[::1]:%d/echo" % p.port, timeout=10)
    assert r.status_code == 200
    got = {k.lower(): v for k, v in r.json()["headers"]}
    assert got["x-forwarded-for"] == "::1"
    assert got["forwarded"] == 'for="[::1]";proto=http;host="[::1]:%d"' % p.port


def test_connection_split_over_several_lines(portico, backends):
    """"Connection: a" and "Connection: b" on two lines are one list (RFC 9110 5.3)."""
    (b1,) = backends(1)
    p = portico(proxy_config([b1]))
    conn = RawConn(p.port)
    try:
        conn.send(request_bytes("GET", "/echo", headers=[
            ("Connection", "keep-alive"), ("Connection", "X-Second-Hop"),
            ("X-Second-Hop", "secret"), ("X-Kept", "yes")]))
        r = conn.read_response()
        assert r.status == 200
        got = {k.lower() for k, _ in json.loads(r.body)["headers"]}
        assert "x-second-hop" not in got and "x-kept" in got
        # The response side: a backend's split Connection list.
        conn.send(request_bytes("GET", "/name"))
        assert conn.read_response().body == b"b1"
    finally:
        conn.close()


def test_absolute_form_target_decides_the_upstream_host(portico, backends):
    """RFC 9112 3.2.2: the authority of an absolute-form target replaces Host; the backend
    must see the host the request was routed by, not the one in the Host field."""
    (b1,) = backends(1)
    p = portico(proxy_config([b1]))
    conn = RawConn(p.port)
    try:
        conn.send(b"GET http://abs.example:8081/echo?q=1 HTTP/1.1\r\nHost: other.example\r\n\r\n")
        r = conn.read_response()
    finally:
        conn.close()
    assert r.status == 200
    doc = json.loads(r.body)
    hosts = [v for k, v in doc["headers"] if k.lower() == "host"]
    assert hosts == ["abs.example:8081"]
    assert doc["path"] == "/echo" and doc["query"] == "q=1"


def test_http10_request_without_host_gets_one_upstream(portico, backends):
    """HTTP/1.1 requires Host (RFC 9112 3.2); a 1.0 client need not send one, so the proxy
    supplies it for its own HTTP/1.1 request."""
    (b1,) = backends(1)
    p = portico(proxy_config([b1]))
    conn = RawConn(p.port)
    try:
        conn.send(b"GET /echo HTTP/1.0\r\n\r\n")
        r = conn.read_response()
    finally:
        conn.close()
    assert r.status == 200
    hosts = [v for k, v in json.loads(r.body)["headers"] if k.lower() == "host"]
    assert len(hosts) == 1 and hosts[0]


CLIENT_FORWARDING_FIELDS = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https",
                            "X-Forwarded-Port": "443", "X-Forwarded-Prefix": "/admin",
                            "Forwarded": "for=203.0.113.7;proto=https"}


def test_forwarding_fields_from_an_untrusted_client_are_replaced(portico, backends):
    """Whatever the modes (here: Forwarded and X-Forwarded-Proto off), what a client that is not
    a trusted proxy claims about earlier hops never reaches the backend."""
    (b1,) = backends(1)
    p = portico(proxy_config([b1], extra_listener=forwarding(
        x_forwarded_proto="off", trusted_proxies="['10.0.0.0/8']")))
    got, _ = echo(p, CLIENT_FORWARDING_FIELDS)
    assert got["x-forwarded-for"] == ["127.0.0.1"]
    for name in ("x-forwarded-proto", "x-forwarded-port", "x-forwarded-prefix", "forwarded"):
        assert name not in got, got


def test_forwarding_fields_from_a_trusted_proxy_are_kept(portico, backends):
    (b1,) = backends(1)
    p = portico(proxy_config([b1], extra_listener=forwarding(
        x_forwarded_proto="off", trusted_proxies="[127.0.0.1]")))
    got, _ = echo(p, CLIENT_FORWARDING_FIELDS)
    assert got["x-forwarded-for"] == ["203.0.113.7, 127.0.0.1"]
    assert got["x-forwarded-proto"] == ["https"]
    assert got["x-forwarded-port"] == ["443"]
    assert got["x-forwarded-prefix"] == ["/admin"]
    assert got["forwarded"] == ["for=203.0.113.7;proto=https"]


TRACE_ROUTES = """          - match: { prefix: /debug, methods: [GET, TRACE] }
            proxy: { cluster: app }
          - match: { prefix: / }
            proxy: { cluster: app }
"""


@pytest.mark.parametrize("request_line", [b"TRACE /echo HTTP/1.1",
                                          b"CONNECT example.com:443 HTTP/1.1"])
def test_trace_and_connect_get_405_unless_a_route_names_them(portico, backends, request_line):
    (b1,) = backends(1)
    p = portico(proxy_config([b1], routes=TRACE_ROUTES))
    conn = RawConn(p.port)
    try:
        conn.send(request_line + b"\r\nHost: example.com\r\nCookie: session=secret\r\n\r\n")
        r = conn.read_response()
    finally:
        conn.close()
    assert r.status == 405
    assert r.header("Allow") == "GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH"
    assert b"secret" not in r.body
    assert b1.requests() == []
    assert "no route names the method" in p.wait_for_log("no route names the method")


def test_trace_reaches_the_backend_on_a_route_that_names_it(portico, backends):
    (b1,) = backends(1)
    p = portico(proxy_config([b1], routes=TRACE_ROUTES))
    conn = RawConn(p.port)
    try:
        conn.send(request_bytes("TRACE", "/debug/x"))
        r = conn.read_response()
    finally:
        conn.close()
    assert r.status == 200
    assert [q["method"] for q in b1.requests()] == ["TRACE"]
