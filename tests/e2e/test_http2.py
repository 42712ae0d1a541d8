"""Downstream HTTP/2 with real clients against the real binary and real backends: curl --http2
over TLS (ALPN) and --http2-prior-knowledge (h2c), h2load, and python3-h2 at frame level
(h2_client.py) for what well-behaved clients never send.

Covered: protocol selection (ALPN h2, h2c by preface, an ALPN [http/1.1]-only listener, the
refused Upgrade: h2c), many streams on one connection, large bodies both ways, a stalled stream
beside streams that complete, max_concurrent_streams, every strictness rule of the h2 -> h1
translation (each its own case; the backend's request log shows nothing got through),
:authority/Host reconciliation, the same request over h1 and h2 getting the same answer
through header rules and compression, GOAWAY on a drain with a stream in flight, and the
access log's protocol."""
import hashlib
import json
import os
import signal
import subprocess

import pytest
from h2.errors import ErrorCodes
from h2.settings import SettingCodes

from conftest import (MEMORY_SCALE, proxy_config, raw_request, status_of, tls_connect,
                      tls_proxy_config,
                      wait_until)
from h2_client import H2Client, literal_fields, raw_frame

PROTOCOL_ERROR = int(ErrorCodes.PROTOCOL_ERROR)
HEADERS, RST_STREAM = 0x1, 0x3
END_STREAM_END_HEADERS = 0x5
REFUSED_STREAM = int(ErrorCodes.REFUSED_STREAM)


def curl(*args, timeout=60):
    return subprocess.run(["curl", "-sS", "--max-time", str(timeout), *args],
                          capture_output=True, timeout=timeout + 10)


def curl_h2c(port, path, *args):
    """One URL per call: curl 7.88 mixes up several h2c URLs in one invocation."""
    return curl("--http2-prior-knowledge", "http://127.0.0.1:%d%s" % (port, path), *args)


def curl_h2_tls(port, path, ca, *args):
    return curl("--http2", "--cacert", ca, "--resolve", "localhost:%d:127.0.0.1" % port,
                "https://localhost:%d%s" % (port, path), *args)


def paths_seen(backend):
    return [r["path"] for r in backend.requests()]


@pytest.fixture
def h2c_proxy(portico, backends):
    (b1,) = backends(1)
    p = portico(proxy_config([b1]))
    return p, b1


@pytest.fixture
def h2_tls_proxy(portico, backends, server_cert):
    (b1,) = backends(1)
    p = portico(tls_proxy_config([b1], [server_cert]))
    return p, b1


# ---- protocol selection ---------------------------------------------------------------------

def test_curl_h2_over_tls_by_alpn(h2_tls_proxy, test_ca):
    p, b1 = h2_tls_proxy
    r = curl_h2_tls(p.port, "/echo?x=1", test_ca.cert, "-w", "%{http_version}", "-o", "/dev/null")
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"2"
    r = curl_h2_tls(p.port, "/name", test_ca.cert)
    assert r.returncode == 0 and r.stdout == b"b1", r.stderr
    rec = b1.requests()[0]
    assert rec["path"] == "/echo?x=1"
    fields = {k.lower(): v for k, v in rec["headers"]}
    # The backend gets HTTP/1.1 with a Host, told the request came over HTTP/2 and TLS.
    assert fields["host"] == "localhost:%d" % p.port
    assert "2 portico" in fields["via"]
    assert fields["x-forwarded-proto"] == "https"
    # The access log names the protocol.
    assert p.wait_for_log('"GET /name HTTP/2.0"', access=True)


def test_curl_h2c_prior_knowledge(h2c_proxy):
    p, b1 = h2c_proxy
    r = curl_h2c(p.port, "/name", "-w", " %{http_version}")
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"b1 2"
    # The same plain-text listener still speaks HTTP/1.1.
    r = curl("http://127.0.0.1:%d/name" % p.port, "-w", " %{http_version}")
    assert r.stdout == b"b1 1.1"


def test_http11_only_alpn_listener_serves_h1(portico, backends, server_cert, test_ca):
    (b1,) = backends(1)
    p = portico(tls_proxy_config([b1], [server_cert], tls={"alpn": ["http/1.1"]}))
    s = tls_connect(p.port, cafile=test_ca.cert, alpn=["h2", "http/1.1"])
    assert s.selected_alpn_protocol() == "http/1.1"
    s.close()
    r = curl_h2_tls(p.port, "/name", test_ca.cert, "-w", " %{http_version}")
    assert r.returncode == 0 and r.stdout == b"b1 1.1", r.stderr


def test_upgrade_h2c_is_answered_in_http11(h2c_proxy):
    p, b1 = h2c_proxy
    response = raw_request(p.port, b"GET /name HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, "
                           b"HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n"
                           b"Connection: close\r\n\r\n")
    assert status_of(response) == 200, response
    assert response.endswith(b"b1")
    assert b"101" not in response.split(b"\r\n")[0]


def test_cleartext_off_means_http11_only(portico, backends):
    (b1,) = backends(1)
    p = portico(proxy_config([b1], extra_listener="    http2: { cleartext: false }\n"))
    r = curl_h2c(p.port, "/name")
    assert r.returncode != 0
    assert "b1" not in paths_seen(b1) and "/name" not in paths_seen(b1)


# ---- normal traffic ---------------------------------------------------------------------------

@pytest.mark.parametrize("transport", ["h2c", "tls"])
def test_h2load_all_succeed(portico, backends, server_cert, transport):
    (b1,) = backends(1)
    tls = transport == "tls"
    p = portico(tls_proxy_config([b1], [server_cert]) if tls else proxy_config([b1]))
    url = "%s://127.0.0.1:%d/name" % ("https" if tls else "http", p.port)
    r = subprocess.run(["h2load", "-c", "4", "-m", "10", "-n", "2000", url],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "2000 succeeded" in r.stdout, r.stdout
    assert "status codes: 2000 2xx" in r.stdout, r.stdout


def test_100_concurrent_streams_on_one_connection(h2c_proxy):
    p, b1 = h2c_proxy
    with H2Client(p.port) as c:
        sids = [c.request("GET", "/echo?n=%d" % i) for i in range(100)]
        for i, sid in enumerate(sids):
            r = c.response(sid)
            assert r.status == 200
            assert json.loads(r.body)["query"] == "n=%d" % i
    assert len(b1.requests()) == 100


@pytest.mark.parametrize("transport", ["h2c", "tls"])
def test_slow_streams_finishing_while_others_arrive(portico, backends, server_cert, test_ca,
                                                    transport):
    """Streams complete (and are reaped, their objects reused) while new ones keep arriving on
    the same connection: every request is answered, and the backend sees each exactly once."""
    (b1,) = backends(1)
    tls = transport == "tls"
    p = portico(tls_proxy_config([b1], [server_cert]) if tls else proxy_config([b1]))
    with H2Client(p.port, tls=tls, cafile=test_ca.cert) as c:
        for round_ in range(3):
            sids = {}
            for i in range(50):
                sids[i] = c.request("GET", "/sleep/%d?r=%d&i=%d" % (20 + (i * 7) % 120, round_, i))
                if i % 10 == 9:  # let some finish before the next ones come
                    c.pump_once(timeout=1)
            for i, sid in sids.items():
                r = c.response(sid)
                assert r.status == 200 and r.body == b"slept", (round_, i, r.reset_code)
    seen = [path.split("?", 1)[1] for path in paths_seen(b1)]
    assert sorted(seen) == sorted("r=%d&i=%d" % (r, i) for r in range(3) for i in range(50))


def test_request_on_a_skipped_stream_id_is_refused_not_lost(h2c_proxy):
    """Regression: a threaded httpx client (httpcore 0.16) sent HEADERS for stream 17 after
    stream 19. RFC 9113 5.1.1 makes 17 implicitly closed; nghttp2 dropped the request silently
    and the client waited until its timeout. Portico now refuses it at once (REFUSED_STREAM:
    not processed, the client may retry) and answers the stream opened in order."""
    p, b1 = h2c_proxy
    with H2Client(p.port, record=True) as c:
        five = c.send_headers(c.headers_for("GET", "/sleep/200?n=5"), stream_id=5)
        # python-h2 will not open a lower stream id: this one goes on the wire by hand.
        c.send_raw(raw_frame(HEADERS, END_STREAM_END_HEADERS, 3,
                             literal_fields(c.headers_for("GET", "/name"))))

        def refused():
            return [f for f in c.frames() if f[0] == RST_STREAM and f[2] == 3]
        assert c.wait(refused, timeout=5), "stream 3 got no answer"
        assert int.from_bytes(refused()[0][3], "big") == REFUSED_STREAM
        r = c.response(five)
        assert r.status == 200 and r.body == b"slept"
        # The connection goes on taking streams in order.
        assert c.get("/name").body == b"b1"
    assert paths_seen(b1) == ["/sleep/200?n=5", "/name"]
    assert "opened stream 3 after a higher one" in p.error_log()


def test_headers_on_a_stream_the_client_ended_is_logged(h2c_proxy):
    """A second request HEADERS on a stream the client already ended (what a client that sends
    from several threads without a lock may do) is a connection error that nghttp2 answers
    itself with GOAWAY STREAM_CLOSED; the error log says why the connection ended."""
    p, b1 = h2c_proxy
    with H2Client(p.port) as c:
        sid = c.request("GET", "/sleep/300")
        c.send_raw(raw_frame(HEADERS, END_STREAM_END_HEADERS, sid,
                             literal_fields(c.headers_for("GET", "/name"))))
        assert c.wait(lambda: c.goaway is not None)
        assert int(c.goaway.error_code) == int(ErrorCodes.STREAM_CLOSED)
    assert wait_until(lambda: "HTTP/2 invalid frame from a client (type 1, stream 1)" in
                      p.error_log())


@pytest.mark.parametrize("transport", ["h2c", "tls"])
def test_large_bodies_both_ways(portico, backends, server_cert, test_ca, transport):
    (b1,) = backends(1)
    tls = transport == "tls"
    config = tls_proxy_config([b1], [server_cert]) if tls else proxy_config([b1])
    p = portico(config)
    size = 20 * 1024 * 1024
    body = os.urandom(size)
    with H2Client(p.port, tls=tls, cafile=test_ca.cert) as c:
        up = c.request("POST", "/sha256", body=body,
                       headers=[("content-length", str(size))])
        r = c.response(up, timeout=60)
        assert r.status == 200
        doc = json.loads(r.body)
        assert doc["length"] == size and doc["sha256"] == hashlib.sha256(body).hexdigest()
        down = c.get("/random/%d" % size, timeout=60)
        assert down.status == 200 and len(down.body) == size
        assert hashlib.sha256(down.body).hexdigest() == down.header("x-sha256")


def test_stalled_stream_does_not_stall_others(h2c_proxy):
    p, b1 = h2c_proxy
    with H2Client(p.port) as c:
        # Stream 1 wants 8 MiB but its window stays shut after the first 64 KiB.
        big = c.request("GET", "/bigchunked/%d" % (8 * 1024 * 1024))
        c.stalled.add(big)
        assert c.wait(lambda: len(c.streams[big].body) >= 65535 - 16384)
        # Others on the same connection come and go meanwhile.
        for i in range(20):
            r = c.get("/echo?i=%d" % i)
            assert r.status == 200
        assert not c.streams[big].done
        # Memory stays bounded: Portico stopped reading the backend for that stream.
        assert len(c.streams[big].body) <= 65535
        rss = p.rss_kb()
        # Opening the window lets it finish, complete and intact.
        c.stalled.discard(big)
        c.conn.increment_flow_control_window(8 * 1024 * 1024, big)
        c.flush()
        r = c.response(big, timeout=60)
        assert r.ended and len(r.body) == 8 * 1024 * 1024
    assert rss < 200 * 1024


def test_max_concurrent_streams_refuses_extra(portico, backends):
    (b1,) = backends(1)
    p = portico(proxy_config([b1], extra_listener="    http2: { max_concurrent_streams: 2 }\n"))
    with H2Client(p.port) as c:
        assert c.wait(lambda: c.remote_settings.get(int(SettingCodes.MAX_CONCURRENT_STREAMS)) == 2)
        # Two slow streams are in flight; the third is refused, not queued.
        first = c.request("GET", "/sleep/500")
        second = c.request("GET", "/sleep/500")
        # Bypass the client library's own limit: the server must enforce it.
        c.conn.remote_settings._settings[SettingCodes.MAX_CONCURRENT_STREAMS] = [100]
        third = c.request("GET", "/name")
        r3 = c.response(third)
        assert r3.reset_code == REFUSED_STREAM
        assert c.response(first).status == 200 and c.response(second).status == 200
        # Once they are done the connection takes new streams again.
        assert c.get("/name").body == b"b1"
    assert paths_seen(b1).count("/name") == 1


# ---- strictness: malformed requests are stream errors, never forwarded ------------------------

def fields(path, extra=(), method="GET", scheme="http", authority="localhost"):
    return [(":method", method), (":scheme", scheme), (":path", path),
            (":authority", authority)] + list(extra)


MALFORMED = {
    "uppercase-name": lambda p: fields(p, [("X-Upper", "1")]),
    "cr-in-value": lambda p: fields(p, [("x-a", "a\rb")]),
    "lf-in-value": lambda p: fields(p, [("x-a", "a\nb")]),
    "nul-in-value": lambda p: fields(p, [("x-a", "a\x00b")]),
    "space-in-name": lambda p: fields(p, [("x a", "1")]),
    "leading-space-value": lambda p: fields(p, [("x-a", " v")]),
    "connection": lambda p: fields(p, [("connection", "keep-alive")]),
    "keep-alive": lambda p: fields(p, [("keep-alive", "timeout=5")]),
    "proxy-connection": lambda p: fields(p, [("proxy-connection", "keep-alive")]),
    "transfer-encoding": lambda p: fields(p, [("transfer-encoding", "chunked")]),
    "upgrade": lambda p: fields(p, [("upgrade", "websocket")]),
    "te-gzip": lambda p: fields(p, [("te", "gzip")]),
    "missing-method": lambda p: fields(p)[1:],
    "missing-scheme": lambda p: [f for f in fields(p) if f[0] != ":scheme"],
    "missing-path": lambda p: [(":method", "GET"), (":scheme", "http"),
                               (":authority", "localhost"), ("x-path", p)],
    "empty-path": lambda p: fields("", [("x-path", p)]),
    "duplicate-path": lambda p: fields(p) + [(":path", p)],
    "unknown-pseudo": lambda p: fields(p) + [(":foo", "bar")],
    "status-in-request": lambda p: fields(p) + [(":status", "200")],
    "pseudo-after-regular": lambda p: fields(p)[:3] + [("x-a", "1"), (":authority", "localhost")],
    "connect-with-path": lambda p: fields(p, method="CONNECT"),
    "authority-host-differ": lambda p: fields(p, [("host", "other.example")]),
    "relative-path": lambda p: fields("nopslash" + p),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_request_is_a_stream_error(h2c_proxy, case):
    p, b1 = h2c_proxy
    path = "/malformed-" + case
    with H2Client(p.port) as c:
        sid = c.send_headers(MALFORMED[case](path))
        r = c.response(sid)
        assert r.reset_code == PROTOCOL_ERROR or r.status == 400, (r.reset_code, r.status)
        # The connection itself carries on.
        assert c.get("/name").body == b"b1"
    seen = [r["path"] for r in b1.requests()]
    assert seen == ["/name"], seen


@pytest.mark.parametrize("declared,sent", [(10, 5), (3, 5)])
def test_content_length_disagreeing_with_data(h2c_proxy, declared, sent):
    p, b1 = h2c_proxy
    with H2Client(p.port) as c:
        sid = c.send_headers(fields("/cl-mismatch", [("content-length", str(declared))],
                                    method="POST"), end_stream=False)
        c.conn.send_data(sid, b"x" * sent, end_stream=True)
        c.flush()
        r = c.response(sid)
        assert r.reset_code == PROTOCOL_ERROR or r.status == 400
        assert c.get("/name").body == b"b1"
    assert paths_seen(b1) == ["/name"]


def test_authority_and_host(h2c_proxy):
    p, b1 = h2c_proxy
    with H2Client(p.port) as c:
        # Only Host: it is the authority.
        r = c.response(c.send_headers([(":method", "GET"), (":scheme", "http"),
                                       (":path", "/echo"), ("host", "onlyhost.example")]))
        assert r.status == 200
        # Both, the same: fine.
        r = c.get("/echo", headers=[("host", "localhost")])
        assert r.status == 200
        # :authority only: the backend gets it as Host.
        r = c.get("/echo", authority="fromauthority.example")
        assert r.status == 200
    hosts = [{k.lower(): v for k, v in rec["headers"]}["host"] for rec in b1.requests()]
    assert hosts == ["onlyhost.example", "localhost", "fromauthority.example"]


def test_cookie_crumbs_are_joined(h2c_proxy):
    p, b1 = h2c_proxy
    with H2Client(p.port) as c:
        r = c.get("/echo", headers=[("cookie", "a=1"), ("x-b", "2"), ("cookie", "c=3")])
        assert r.status == 200
    (rec,) = b1.requests()
    cookies = [v for k, v in rec["headers"] if k.lower() == "cookie"]
    assert cookies == ["a=1; c=3"]


# ---- the same answers over HTTP/1.1 and HTTP/2 -----------------------------------------------

def test_same_request_same_answer_over_h1_and_h2(portico, backends):
    (b1,) = backends(1)
    routes = ("          - match: { prefix: /gz }\n"
              "            compression: { encodings: [gzip], min_length: 16 }\n"
              "            response_headers: { set: { X-Rule: applied }, remove: [X-Powered-By] }\n"
              "            direct_response: { status: 200, body: \"%s\" }\n"
              "          - match: { prefix: /missing }\n"
              "            direct_response: { status: 404, body: \"not here\" }\n"
              "          - match: { prefix: /moved }\n"
              "            redirect: { scheme: https, host: example.com, path: /new, status: 301 }\n"
              "          - match: { prefix: / }\n"
              "            request_headers: { set: { X-Added: yes } }\n"
              "            proxy: { cluster: app }\n") % ("hello " * 50)
    p = portico(proxy_config([b1], routes=routes))
    for path in ["/gz", "/missing", "/moved", "/echo"]:
        h1 = curl("http://127.0.0.1:%d%s" % (p.port, path), "-H", "Accept-Encoding: gzip",
                  "-D", "-", "--compressed")
        h2 = curl_h2c(p.port, path, "-H", "Accept-Encoding: gzip", "-D", "-", "--compressed")
        assert h1.returncode == 0 and h2.returncode == 0, (h1.stderr, h2.stderr)

        def parse(out):
            head, _, body = out.partition(b"\r\n\r\n")
            lines = head.decode().split("\r\n")
            status = int(lines[0].split()[1])
            hdrs = {l.split(":", 1)[0].lower(): l.split(":", 1)[1].strip() for l in lines[1:]}
            return status, hdrs, body

        s1, hd1, body1 = parse(h1.stdout)
        s2, hd2, body2 = parse(h2.stdout)
        assert s1 == s2, path
        for name in ["content-encoding", "x-rule", "location", "content-type", "vary"]:
            assert hd1.get(name) == hd2.get(name), (path, name)
        if path != "/echo":
            assert body1 == body2, path
    # Both protocols' requests reached the backend with the request header rule applied.
    recs = [r for r in b1.requests() if r["path"] == "/echo"]
    assert len(recs) == 2
    for rec in recs:
        assert {k.lower(): v for k, v in rec["headers"]}["x-added"] == "yes"


# ---- responses of every kind ------------------------------------------------------------------

def test_static_file_head_trailers_and_early_hints(portico, backends, tmpdir_path):
    (b1,) = backends(1)
    root = os.path.join(tmpdir_path, "www")
    os.makedirs(root)
    blob = os.urandom(300 * 1024 + 7)
    with open(os.path.join(root, "blob.bin"), "wb") as f:
        f.write(blob)
    routes = ("          - match: { prefix: /files/ }\n"
              "            static: { root: %s }\n"
              "          - match: { prefix: / }\n"
              "            proxy: { cluster: app }\n") % root
    p = portico(proxy_config([b1], routes=routes))
    with H2Client(p.port) as c:
        # A file body is read into DATA frames as the window allows.
        r = c.get("/files/blob.bin")
        assert r.status == 200 and bytes(r.body) == blob
        # HEAD: the head of the GET, no body.
        h = c.response(c.request("HEAD", "/files/blob.bin"))
        assert h.status == 200 and h.body == b"" and h.header("content-length") == str(len(blob))
        # Trailers from the backend reach the client as a trailing HEADERS frame.
        t = c.get("/trailers", headers=[("te", "trailers")])
        assert t.status == 200 and t.body == b"hello"
        assert ("x-checksum", "abc") in t.trailers
        # 103 Early Hints pass as an interim response.
        e = c.get("/early")
        assert e.status == 200 and e.body == b"after hints"
        assert e.interim and e.interim[0][0] == (":status", "103")


def test_limits_answer_431_and_413(portico, backends):
    (b1,) = backends(1)
    p = portico(proxy_config([b1], extra_listener="    limits: { max_header_bytes: 4KiB, "
                                                  "max_header_line: 4KiB, max_body: 1KiB }\n"))
    with H2Client(p.port) as c:
        big = c.get("/big-head", headers=[("x-big", "v" * 5000)])
        assert big.status == 431
        declared = c.response(c.request("POST", "/big-body", body=b"x" * 2000,
                                        headers=[("content-length", "2000")]))
        assert declared.status == 413
        streamed = c.response(c.request("POST", "/streamed-body", body=b"x" * 3000))
        assert streamed.status == 413 or streamed.reset_code is not None
        assert c.get("/name").body == b"b1"
    assert paths_seen(b1) == ["/name"]


def test_stream_whose_window_stays_shut_is_reset_alone(portico, backends):
    (b1,) = backends(1)
    p = portico(proxy_config([b1], extra_listener="    timeouts: { send_idle: 300ms }\n"))
    with H2Client(p.port) as c:
        big = c.request("GET", "/bigchunked/%d" % (4 * 1024 * 1024))
        c.stalled.add(big)
        r = c.response(big, timeout=10)
        assert r.reset_code is not None and not r.ended
        # The connection and its other streams are fine.
        assert c.get("/name").body == b"b1"
    assert "did not open the window of a stream" in p.wait_for_log("did not open the window")


# ---- connection lifetime ----------------------------------------------------------------------

def test_header_block_that_never_ends_times_out(portico, backends):
    (b1,) = backends(1)
    p = portico(proxy_config([b1], extra_listener="    timeouts: { header_read: 300ms }\n"))
    with H2Client(p.port) as c:
        # Settings exchanged first: any frame of ours after the raw one would break the block.
        assert c.wait(lambda: c.remote_settings)
        # HEADERS without END_HEADERS, and no CONTINUATION ever.
        block = c.conn.encoder.encode(fields("/never"))
        frame = (len(block).to_bytes(3, "big") + bytes([0x1, 0x0]) + (1).to_bytes(4, "big") +
                 block)
        c.send_raw(frame)
        assert c.wait_closed(timeout=10)
    assert "request header read timeout" in p.wait_for_log("request header read timeout")
    assert paths_seen(b1) == []


def test_idle_connection_gets_goaway_then_closes(portico, backends):
    (b1,) = backends(1)
    p = portico(proxy_config([b1], extra_listener="    timeouts: { keepalive_idle: 300ms }\n"))
    with H2Client(p.port) as c:
        assert c.get("/name").body == b"b1"
        assert c.wait_closed(timeout=10)
        assert c.goaway is not None and c.goaway.error_code == 0


def test_max_requests_per_connection_sends_goaway(portico, backends):
    (b1,) = backends(1)
    p = portico(proxy_config([b1], extra_listener="    limits: { max_requests_per_connection: 3 }\n"))
    with H2Client(p.port) as c:
        sids = [c.request("GET", "/name") for _ in range(3)]
        for sid in sids:
            assert c.response(sid).body == b"b1"
        assert c.wait(lambda: c.goaway is not None)
        assert c.goaway.last_stream_id == sids[-1]
        assert c.wait_closed()
    assert len(b1.requests()) == 3


# ---- drain ------------------------------------------------------------------------------------

def test_goaway_on_drain_lets_the_stream_in_flight_finish(h2c_proxy):
    p, b1 = h2c_proxy
    with H2Client(p.port) as c:
        sid = c.request("GET", "/sleep/700")
        assert wait_until(lambda: "/sleep/700" in paths_seen(b1) or True)
        assert c.get("/name").body == b"b1"   # the connection works; the slow one is in flight
        p.proc.send_signal(signal.SIGTERM)
        assert c.wait(lambda: c.goaway is not None)
        assert c.goaway.error_code == 0
        assert c.goaway.last_stream_id >= sid
        r = c.response(sid)
        assert r.status == 200 and r.body == b"slept"
        assert c.wait_closed()
    assert p.proc.wait(timeout=15) == 0


# ---- memory -------------------------------------------------------------------------------------

@pytest.mark.parametrize("transport", ["h2c", "tls"])
def test_idle_connection_memory(portico, server_cert, test_ca, transport):
    """An idle HTTP/2 connection is kept whole (never parked: HPACK state and stream ids live
    with it); what it costs is bounded. The figure is written in docs/http2-grpc-websocket.md
    (printed with -s)."""
    tls = transport == "tls"
    routes = "          - match: { prefix: / }\n            direct_response: { status: 200 }\n"
    unused = ["127.0.0.1:9"]  # the cluster every config has; nothing is proxied
    p = portico(tls_proxy_config(unused, [server_cert], routes=routes) if tls
                else proxy_config(unused, routes=routes))
    warm = [H2Client(p.port, tls=tls, cafile=test_ca.cert) for _ in range(20)]
    for c in warm:
        assert c.get("/warm").status == 200
        c.close()
    before = p.rss_kb()
    count = 300
    clients = []
    try:
        for _ in range(count):
            c = H2Client(p.port, tls=tls, cafile=test_ca.cert)
            assert c.get("/x").status == 200
            clients.append(c)
        after = p.rss_kb()
        per_conn_kib = (after - before) / count
        print("\nidle %s connection: %.1f KiB" % (transport, per_conn_kib))
        assert per_conn_kib < (64 if tls else 32) * MEMORY_SCALE, per_conn_kib
        # They are all still usable.
        assert clients[0].get("/again").status == 200
        assert clients[-1].get("/again").status == 200
    finally:
        for c in clients:
            c.close()
