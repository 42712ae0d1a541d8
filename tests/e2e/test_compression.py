"""Response compression (gzip, br, zstd) and request decompression, end to end: the real binary,
a real backend process (compress_backend.py) and independent decoders on the client side:
Python's gzip and zlib, python3-brotli, python3-zstandard, the zstd CLI and curl --compressed.
"""
import gzip
import hashlib
import json
import os
import random
import socket
import subprocess
import zlib

import brotli
import pytest
import zstandard

from compress_backend import body_for
from conftest import (RawConn, connections_at, connections_to, proxy_config, rss_once_stuck,
                      script_server)

ROUTES = """\
          - match: { prefix: /gzipfirst/ }
            rewrite_prefix: /
            compression: { encodings: [gzip, br, zstd] }
            proxy: { cluster: app }
          - match: { prefix: /decompress/ }
            rewrite_prefix: /
            compression:
              enabled: false
              request_decompression: { max_size: 4MiB, max_ratio: 50 }
            proxy: { cluster: app }
          - match: { prefix: /plain/ }
            rewrite_prefix: /
            proxy: { cluster: app }
          - match: { prefix: / }
            compression: true
            proxy: { cluster: app }
"""


@pytest.fixture
def compress_backend():
    yield from script_server("compress_backend.py")


@pytest.fixture
def proxy(portico, compress_backend):
    return portico(proxy_config([compress_backend], routes=ROUTES))


def decode(coding, data):
    """Decodes with a tool that shares no code with Portico's encoders."""
    if coding is None:
        return data
    if coding == "gzip":
        return gzip.decompress(data)
    if coding == "br":
        return brotli.decompress(data)
    if coding == "zstd":
        return subprocess.run(["zstd", "-dc"], input=data, capture_output=True,
                              check=True).stdout
    raise AssertionError("unexpected coding %r" % coding)


def get(port, path, accept=None, method="GET", extra=b"", version=b"HTTP/1.1"):
    conn = RawConn(port, timeout=30)
    try:
        ae = b"Accept-Encoding: %s\r\n" % accept.encode() if accept is not None else b""
        conn.send(b"%s %s %s\r\nHost: t\r\n%s%s\r\n" % (method.encode(), path.encode(), version,
                                                         ae, extra))
        return conn.read_response(head_request=method == "HEAD")
    finally:
        conn.close()


def gen_path(size, seed=1, **params):
    query = "&".join(["size=%d" % size, "seed=%d" % seed] +
                     ["%s=%s" % (k, v) for k, v in params.items()])
    return "/gen?" + query


# ---- negotiation (RFC 9110 12.5.3) ----------------------------------------------------------

NEGOTIATION = [
    # (route prefix, Accept-Encoding, expected Content-Encoding)
    ("/", None, None),                                # the client did not ask
    ("/", "", None),
    ("/", "gzip", "gzip"),
    ("/", "GZIP", "gzip"),                            # codings are case-insensitive
    ("/", "x-gzip", "gzip"),                          # the legacy alias
    ("/", "br", "br"),
    ("/", "zstd", "zstd"),
    ("/", "gzip, br", "br"),                          # tie: server prefers zstd > br > gzip
    ("/gzipfirst", "gzip, br", "gzip"),               # same client, other server preference
    ("/", "gzip, deflate, br, zstd", "zstd"),         # what browsers send
    ("/gzipfirst", "gzip, deflate, br, zstd", "gzip"),
    ("/", "br;q=0.5, gzip;q=0.8", "gzip"),            # q-values beat server preference
    ("/", "br;q=1.0, zstd;q=0.999", "br"),
    ("/", "*", "zstd"),
    ("/gzipfirst", "*", "gzip"),
    ("/", "*;q=0.5, zstd;q=0", "br"),                 # zstd refused, the rest via *
    ("/", "gzip;q=0", None),
    ("/", "deflate, compress", None),                 # nothing Portico can produce
    ("/", "identity", None),
    ("/", "identity;q=1, gzip;q=0.5", None),          # identity strictly preferred
    ("/", "identity;q=0.5, gzip;q=0.5", "gzip"),      # a tie goes to the coding
    ("/", "identity;q=0", None),                      # nothing acceptable: identity anyway
    ("/", "gzip;q=0.001", "gzip"),
]


@pytest.mark.parametrize("prefix,accept,expected", NEGOTIATION)
def test_negotiation_table(proxy, prefix, accept, expected):
    body = body_for(5000, 3)
    r = get(proxy.port, prefix.rstrip("/") + gen_path(5000, 3), accept)
    assert r.status == 200
    assert r.header("Content-Encoding") == expected
    assert r.header("Vary") == "Accept-Encoding"
    assert decode(expected, r.body) == body


# ---- round trips ----------------------------------------------------------------------------

SIZES = [0, 1, 255, 256, 4095, 65536 + 7, 1 << 20]


@pytest.mark.parametrize("coding", ["gzip", "br", "zstd"])
def test_random_bodies_round_trip(proxy, coding):
    """Bodies of many sizes, text and random bytes, split at random points by the backend,
    chunked and with a length: every one decodes to the backend's bytes exactly."""
    rng = random.Random(hash(coding) & 0xffff)
    sizes = SIZES + [rng.randrange(1, 3 << 20) for _ in range(3)]
    for i, size in enumerate(sizes):
        kind = "bytes" if i % 3 == 2 else "text"
        cl = "1" if i % 2 else "0"
        seed = rng.randrange(1 << 30)
        r = get(proxy.port, gen_path(size, seed, kind=kind, cl=cl), coding)
        assert r.status == 200
        expected = body_for(size, seed, kind)
        if cl == "1" and size < 256:
            # A declared length under min_length is sent as is.
            assert r.header("Content-Encoding") is None, size
            assert r.body == expected
            continue
        assert r.header("Content-Encoding") == coding, (size, kind, cl)
        assert r.header("Content-Length") is None
        assert r.header("Transfer-Encoding") == "chunked"
        assert decode(coding, r.body) == expected, (size, kind, cl)


@pytest.mark.parametrize("coding", ["gzip", "br", "zstd"])
def test_ten_mebibytes_round_trip(proxy, coding):
    size = 10 * 1024 * 1024
    r = get(proxy.port, gen_path(size, 77, kind="bytes", cl="1"), coding)
    assert r.header("Content-Encoding") == coding
    assert decode(coding, r.body) == body_for(size, 77, "bytes")


def test_curl_compressed_decodes_every_coding(proxy):
    """curl negotiates and decodes by itself: what a user of curl --compressed sees."""
    expected = body_for(300000, 9)
    for accept in ("gzip", "br", "zstd", None):
        cmd = ["curl", "-s", "--compressed", "-D", "-", "-o", "/dev/stdout"]
        if accept:
            cmd += ["-H", "Accept-Encoding: " + accept]
        out = subprocess.run(cmd + [proxy.url(gen_path(300000, 9))], capture_output=True,
                             check=True).stdout
        head, _, body = out.partition(b"\r\n\r\n")
        assert body == expected, accept
        if accept:
            assert b"content-encoding: " + accept.encode() in head.lower()


def test_trailers_follow_the_coding_end(proxy):
    """A chunked body with trailers: the coding's last bytes go before the trailers."""
    for coding in ("gzip", "br", "zstd"):
        r = get(proxy.port, gen_path(100000, 5, trailers="1"), coding, extra=b"TE: trailers\r\n")
        assert r.header("Content-Encoding") == coding
        assert decode(coding, r.body) == body_for(100000, 5)
        assert ("X-Body-Length", "100000") in r.trailers


def test_http10_client_gets_a_close_delimited_encoded_body(proxy):
    r = get(proxy.port, gen_path(50000, 4), "gzip", version=b"HTTP/1.0")
    assert r.header("Content-Encoding") == "gzip"
    assert r.header("Content-Length") is None and r.header("Transfer-Encoding") is None
    assert gzip.decompress(r.body) == body_for(50000, 4)


def test_pipelined_requests_each_get_their_own_stream(proxy):
    """Many pipelined requests, alternating codings and sizes, on one connection."""
    conn = RawConn(proxy.port, timeout=30)
    codings = ["gzip", "br", "zstd", None]
    reqs = []
    for i in range(200):
        coding = codings[i % 4]
        ae = b"Accept-Encoding: %s\r\n" % coding.encode() if coding else b""
        reqs.append(b"GET %s HTTP/1.1\r\nHost: t\r\n%s\r\n" %
                    (gen_path(1000 + i * 37, i).encode(), ae))
    try:
        conn.send(b"".join(reqs))
        for i in range(200):
            r = conn.read_response()
            assert r.header("Content-Encoding") == codings[i % 4]
            assert decode(codings[i % 4], r.body) == body_for(1000 + i * 37, i)
    finally:
        conn.close()


# ---- what is not compressed -----------------------------------------------------------------

SKIPS = [
    # (path, method, why)
    (gen_path(5000, 1, h="Content-Encoding:gzip"), "GET", "already encoded"),
    (gen_path(5000, 1, h="Cache-Control:no-transform"), "GET", "no-transform"),
    (gen_path(5000, 1, h="Cache-Control:max-age=60,%20No-Transform"), "GET", "no-transform"),
    (gen_path(5000, 1, status=206, h="Content-Range:bytes%200-4999/9999"), "GET", "206"),
    (gen_path(5000, 1, type="image/png"), "GET", "type not on the list"),
    (gen_path(5000, 1, type="none"), "GET", "no Content-Type"),
    (gen_path(200, 1, cl=1), "GET", "shorter than min_length"),
    (gen_path(5000, 1), "HEAD", "HEAD"),
    ("/plain" + gen_path(5000, 1), "GET", "route without compression"),
]


@pytest.mark.parametrize("path,method,why", SKIPS, ids=[s[2] for s in SKIPS])
def test_skip_rules(proxy, path, method, why):
    r = get(proxy.port, path, "gzip, br, zstd", method=method)
    assert r.header("Content-Encoding") in (None, "gzip" if why == "already encoded" else None)
    if method == "HEAD":
        assert r.body == b""
        assert r.header("Vary") == "Accept-Encoding"  # GET would vary, so HEAD says so too
    else:
        assert r.body == body_for(200 if why == "shorter than min_length" else 5000, 1)


@pytest.mark.parametrize("status", [204, 304])
def test_bodyless_statuses_are_not_encoded(proxy, status):
    r = get(proxy.port, gen_path(5000, 1, status=status, h='ETag:"v1"'), "gzip")
    assert r.status == status
    assert r.header("Content-Encoding") is None
    assert r.header("ETag") == '"v1"'


def test_upgrade_is_not_encoded(portico, ws_server):
    """A WebSocket upgrade through a compressing route: the tunnel is untouched."""
    import asyncio
    import websockets
    routes = ("          - match: { prefix: / }\n"
              "            compression: true\n"
              "            proxy: { cluster: app }\n")
    p = portico(proxy_config([ws_server], routes=routes))

    async def session():
        async with websockets.connect("ws://127.0.0.1:%d/echo" % p.port, compression=None,
                                      extra_headers={"Accept-Encoding": "gzip"}) as ws:
            await ws.send("x" * 5000)
            assert await ws.recv() == "x" * 5000

    asyncio.run(asyncio.wait_for(session(), timeout=20))


def test_connect_tunnel_is_not_encoded(portico):
    from test_websocket import TunnelBackend

    def script(conn):
        conn.sendall(b"<html>" + b"a" * 5000)
        return b""

    backend = TunnelBackend(script, answer=b"HTTP/1.1 200 Connection Established\r\n"
                                           b"Content-Type: text/html\r\n\r\n")
    routes = ("          - match: { methods: [CONNECT] }\n"
              "            compression: true\n"
              "            proxy: { cluster: app }\n")
    p = portico(proxy_config([backend.address], routes=routes))
    conn = RawConn(p.port)
    try:
        conn.send(b"CONNECT db:5432 HTTP/1.1\r\nHost: db:5432\r\nAccept-Encoding: gzip\r\n\r\n")
        r = conn.read_head()
        assert r.status == 200 and r.header("Content-Encoding") is None
        data = conn.buf
        while len(data) < 5006:
            data += conn.sock.recv(65536)
        assert data == b"<html>" + b"a" * 5000
    finally:
        conn.close()
    backend.join()


# ---- what compression changes in the head ---------------------------------------------------

def test_head_fields_of_an_encoded_response(proxy):
    r = get(proxy.port, gen_path(5000, 1, cl=1, h='ETag:"abc"'), "gzip")
    assert r.header("Content-Encoding") == "gzip"
    assert r.header("ETag") == 'W/"abc"'           # no longer byte-for-byte the same
    assert r.header("Content-Length") is None
    r = get(proxy.port, "/gen?size=5000&seed=1&h=Accept-Ranges:bytes&h=Vary:Origin"
                        "&h=ETag:W/%22weak%22", "gzip")
    assert r.header("Content-Encoding") == "gzip"
    assert r.header("Accept-Ranges") is None        # ranges of an encoding are not offered
    assert r.header("Vary") == "Origin, Accept-Encoding"
    assert r.header("ETag") == 'W/"weak"'
    r = get(proxy.port, "/gen?size=5000&seed=1&h=Vary:accept-encoding", "gzip")
    assert r.header_all("Vary") == ["accept-encoding"]
    r = get(proxy.port, "/gen?size=5000&seed=1&h=Vary:*", "gzip")
    assert r.header_all("Vary") == ["*"]


# ---- streaming ------------------------------------------------------------------------------

def incremental_decoder(coding):
    if coding == "gzip":
        return zlib.decompressobj(wbits=31).decompress
    if coding == "br":
        return brotli.Decompressor().process
    return zstandard.ZstdDecompressor().decompressobj().decompress


@pytest.mark.parametrize("coding", ["gzip", "br", "zstd"])
def test_server_sent_events_arrive_one_by_one(proxy, compress_backend, coding):
    """The backend sends event i and then waits for the client to have decoded it before it
    sends the next (the test asks it to, directly): an encoder that held bytes back would make
    this wait forever, so the test fails on its timeout."""
    conn = RawConn(proxy.port, timeout=10)
    decoded = b""
    decompress = incremental_decoder(coding)
    try:
        conn.send(b"GET /sse?events=5 HTTP/1.1\r\nHost: t\r\nAccept-Encoding: %s\r\n\r\n" %
                  coding.encode())
        r = conn.read_head()
        assert r.header("Content-Encoding") == coding
        for i in range(5):
            want = b"data: event number %d\n\n" % i
            while want not in decoded:
                size = int(conn._line().split(b";")[0], 16)
                assert size > 0, "stream ended before event %d" % i
                decoded += decompress(conn._exact(size))
                conn._exact(2)
            if i < 4:
                host, port = compress_backend.split(":")
                assert get(int(port), "/next").status == 200
    finally:
        conn.close()


def test_client_that_stops_reading_keeps_memory_bounded(portico, compress_backend):
    """50 MB of incompressible bytes through gzip to a client that reads nothing: Portico
    stops reading the backend instead of buffering the encoded output."""
    p = portico(proxy_config([compress_backend], routes=ROUTES))
    for coding in ("gzip", "br", "zstd"):
        get(p.port, gen_path(2 << 20, 1, kind="bytes", split=0), coding)  # warm the slabs
    baseline = p.rss_kb()
    size = 50 * 1024 * 1024
    conns = []
    try:
        for coding in ("gzip", "zstd"):
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
            s.settimeout(60)
            s.connect(("127.0.0.1", p.port))
            s.sendall(b"GET %s HTTP/1.1\r\nHost: t\r\nAccept-Encoding: %s\r\n\r\n" %
                      (gen_path(size, 2, kind="bytes", split=0).encode(), coding.encode()))
            conns.append(s)
        backend_port = int(compress_backend.split(":")[1])
        peak = rss_once_stuck(p, lambda: connections_to(backend_port),
                              lambda: connections_at(p.port))
    finally:
        for s in conns:
            s.close()
    # Two encoders (gzip 0.3 MiB, zstd 2 MiB) and the stream buffers; never the 100 MB.
    assert peak - baseline < 16 * 1024, (baseline, peak)
    assert get(p.port, gen_path(1000, 1), "gzip").status == 200


# ---- static files and local replies ---------------------------------------------------------

def test_static_file_streams_through_the_encoder(portico, tmpdir_path):
    root = os.path.join(tmpdir_path, "site")
    os.mkdir(root)
    page = body_for(3 << 20, 12)
    with open(os.path.join(root, "big.html"), "wb") as f:
        f.write(page)
    with open(os.path.join(root, "photo.png"), "wb") as f:
        f.write(page[:100000])
    routes = ("          - match: { prefix: / }\n"
              "            compression: true\n"
              "            static: { root: %s }\n" % root)
    p = portico(proxy_config(["127.0.0.1:9"], routes=routes))
    for coding in ("gzip", "br", "zstd"):
        r = get(p.port, "/big.html", coding)
        assert r.header("Content-Encoding") == coding
        assert decode(coding, r.body) == page
    r = get(p.port, "/photo.png", "gzip")   # not compressible: sent as is (with sendfile)
    assert r.header("Content-Encoding") is None and r.body == page[:100000]
    r = get(p.port, "/big.html", "gzip", extra=b"Range: bytes=0-99\r\n")
    assert r.status == 206 and r.header("Content-Encoding") is None and r.body == page[:100]


def test_local_replies_pass_through_compression(portico):
    body = "<p>" + "hello from portico " * 200 + "</p>"
    routes = ("          - match: { prefix: / }\n"
              "            compression: { encodings: [br] }\n"
              "            direct_response:\n"
              "              body: \"%s\"\n"
              "              headers: { Content-Type: text/html }\n" % body)
    p = portico(proxy_config(["127.0.0.1:9"], routes=routes))
    r = get(p.port, "/", "gzip, br")
    assert r.header("Content-Encoding") == "br"
    assert brotli.decompress(r.body) == body.encode()


# ---- request decompression ------------------------------------------------------------------

def encode(coding, data):
    if coding == "gzip":
        return gzip.compress(data)
    if coding == "br":
        return brotli.compress(data)
    return subprocess.run(["zstd", "-c", "-q"], input=data, capture_output=True,
                          check=True).stdout


def post(port, path, body, coding, chunked=False):
    conn = RawConn(port, timeout=30)
    try:
        ce = b"Content-Encoding: %s\r\n" % coding.encode() if coding else b""
        if chunked:
            framed = b"Transfer-Encoding: chunked\r\n\r\n"
            for i in range(0, len(body), 3000):
                piece = body[i:i + 3000]
                framed += b"%x\r\n%s\r\n" % (len(piece), piece)
            framed += b"0\r\n\r\n"
        else:
            framed = b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
        conn.send(b"POST %s HTTP/1.1\r\nHost: t\r\n%s%s" % (path.encode(), ce, framed))
        return conn.read_response()
    finally:
        conn.close()


@pytest.mark.parametrize("coding", ["gzip", "br", "zstd"])
def test_request_bodies_are_decoded_before_the_backend(proxy, coding):
    data = json.dumps([{"id": i, "name": "item %d" % i} for i in range(8000)]).encode()
    for chunked in (False, True):
        r = post(proxy.port, "/decompress/digest", encode(coding, data), coding, chunked)
        assert r.status == 200
        got = json.loads(r.body)
        assert got["sha256"] == hashlib.sha256(data).hexdigest()
        assert got["content_encoding"] is None and got["content_length"] is None


@pytest.mark.parametrize("coding", ["gzip", "br", "zstd"])
def test_decompression_bomb_gets_413(proxy, coding):
    bomb = encode(coding, b"\0" * (64 * 1024 * 1024))   # ratio far over 50
    r = post(proxy.port, "/decompress/digest", bomb, coding)
    assert r.status == 413
    proxy.wait_for_log("compressed request body refused")
    big = body_for(6 << 20, 3, "bytes")                  # honest, but over max_size (4 MiB)
    assert post(proxy.port, "/decompress/digest", encode(coding, big), coding).status == 413


def test_broken_compressed_request_body_gets_400(proxy):
    whole = gzip.compress(body_for(100000, 1))
    assert post(proxy.port, "/decompress/digest", whole[:-20], "gzip").status == 400
    assert post(proxy.port, "/decompress/digest", b"not gzip at all", "gzip").status == 400
    assert post(proxy.port, "/decompress/digest", whole + b"junk", "gzip").status == 400


def test_without_request_decompression_bodies_pass_untouched(proxy):
    body = gzip.compress(b"y" * 50000)
    r = post(proxy.port, "/plain/digest", body, "gzip")
    got = json.loads(r.body)
    assert got["sha256"] == hashlib.sha256(body).hexdigest()
    assert got["content_encoding"] == "gzip"
    # A coding Portico does not know goes on as sent, even where decompression is on.
    r = post(proxy.port, "/decompress/digest", b"abc", "compress")
    assert json.loads(r.body)["content_encoding"] == "compress"


# ---- configuration --------------------------------------------------------------------------

BAD_CONFIGS = [
    ("compression: { encodings: [gzip, deflate] }", "expected one of: gzip, br, zstd"),
    ("compression: { encodings: [gzip, gzip] }", "gzip"),
    ("compression: { encodings: [] }", "empty"),
    ("compression: { levels: { gzip: 10 } }", "levels.gzip"),
    ("compression: { levels: { br: -1 } }", "levels.br"),
    ("compression: { levels: { lz4: 1 } }", "lz4"),
    ("compression: { content_types: [text] }", "media type pattern"),
    ("compression: { min_length: lots }", "min_length"),
    ("compression: { request_decompression: { max_ratio: -5 } }", "max_ratio"),
    ("compression: { colour: blue }", "colour"),
    ("compression: maybe", "compression"),
]


@pytest.mark.parametrize("line,needle", BAD_CONFIGS)
def test_bad_compression_config_is_refused_with_its_position(portico, tmpdir_path, line, needle):
    from conftest import BIN
    routes = ("          - match: { prefix: / }\n"
              "            %s\n"
              "            proxy: { cluster: app }\n" % line)
    path = os.path.join(tmpdir_path, "bad.yaml")
    with open(path, "w") as f:
        f.write(proxy_config(["127.0.0.1:9"], routes=routes).replace("{port}", "1"))
    out = subprocess.run([BIN, "--check", path], capture_output=True, text=True)
    assert out.returncode != 0
    assert "bad.yaml:10:" in out.stderr, out.stderr       # the route's compression line
    assert needle in out.stderr, out.stderr


def test_static_file_to_a_stalled_client_is_read_as_it_is_sent(portico, tmpdir_path):
    """A 64 MB file through gzip to a client that reads nothing: the file is pumped in bounded
    pieces as the client takes them, never read into memory whole."""
    from conftest import wait_until
    root = os.path.join(tmpdir_path, "site")
    os.mkdir(root)
    size = 64 * 1024 * 1024
    with open(os.path.join(root, "huge.json"), "wb") as f:
        f.write(os.urandom(size))   # incompressible: the encoded stream is as big
    routes = ("          - match: { prefix: / }\n"
              "            compression: true\n"
              "            static: { root: %s }\n" % root)
    p = portico(proxy_config(["127.0.0.1:9"], routes=routes))
    assert gzip.decompress(get(p.port, "/huge.json", "gzip").body) == open(
        os.path.join(root, "huge.json"), "rb").read()   # warms the slabs, checks the bytes
    baseline = p.rss_kb()
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    s.settimeout(60)
    s.connect(("127.0.0.1", p.port))
    try:
        s.sendall(b"GET /huge.json HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\n\r\n")
        history = []

        def stalled():
            history.append(sum(tx for _, tx in connections_at(p.port)))
            return len(history) >= 5 and history[-5] > 0 and len(set(history[-5:])) == 1
        assert wait_until(stalled, timeout=30, interval=0.1)
        peak = p.rss_kb()
    finally:
        s.close()
    assert peak - baseline < 16 * 1024, (baseline, peak)


@pytest.mark.parametrize("size", [256, 100000, 256 * 1024, 256 * 1024 + 1])
def test_gzip_bodies_of_known_length_on_both_sides_of_the_whole_body_limit(proxy, size):
    """Up to 256 KiB a gzip body with a Content-Length is compressed in one piece (libdeflate),
    above it as a stream (zlib): both decode to the backend's bytes, split at random or not."""
    for split in ("0", "1"):
        r = get(proxy.port, gen_path(size, size, cl="1", split=split), "gzip")
        assert r.header("Content-Encoding") == "gzip"
        assert gzip.decompress(r.body) == body_for(size, size)


def test_the_compression_example_serves_a_compressible_page():
    """examples/compression.yaml, as the docs say to run it: from the repository root, with
    nothing else running, a page of at least 20 KiB on 127.0.0.1:8080, encoded as asked."""
    from conftest import BIN, ROOT, wait_for_port
    proc = subprocess.Popen([BIN, "--config", "examples/compression.yaml"], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for_port(8080, proc=proc)
        with open(os.path.join(ROOT, "examples", "compression", "index.html"), "rb") as f:
            page = f.read()
        assert len(page) >= 20 * 1024
        for coding in ("gzip", "br", "zstd"):
            r = get(8080, "/", coding)
            assert r.header("Content-Encoding") == coding
            assert decode(coding, r.body) == page
        assert get(8080, "/").body == page
    finally:
        proc.terminate()
        assert proc.wait(timeout=15) == 0
