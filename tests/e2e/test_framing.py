"""Message framing and status lines that are unusual but valid: each is passed on in a form the
next hop reads exactly as the sender meant it (one canonical Content-Length, transfer codings
kept on the body, statuses 600..999 forwarded)."""
import gzip
import json

import pytest

from conftest import RawConn, proxy_config, request_bytes, wait_until

GZIPPED_TEXT = b"hello through a transfer coding"


def fetch(p, path, version="HTTP/1.1"):
    conn = RawConn(p.port)
    try:
        conn.send(request_bytes("GET", path, version=version))
        return conn.read_response()
    finally:
        conn.close()


@pytest.mark.parametrize("fields", [
    [("Content-Length", "005")],
    [("Content-Length", "5"), ("Content-Length", "5")],
    [("Content-Length", "5, 5")],
])
def test_request_content_length_reaches_the_backend_canonical(portico, backends, fields):
    (b1,) = backends(1)
    p = portico(proxy_config([b1]))
    conn = RawConn(p.port)
    try:
        conn.send(request_bytes("POST", "/echo", headers=fields, body=b"hello"))
        r = conn.read_response()
    finally:
        conn.close()
    assert r.status == 200
    got = [v for k, v in json.loads(r.body)["headers"] if k.lower() == "content-length"]
    assert got == ["5"]
    assert json.loads(r.body)["body"] == "hello"


@pytest.mark.parametrize("name", ["cl-leading-zeros", "cl-repeated", "cl-list"])
def test_response_content_length_reaches_the_client_canonical(portico, backends, name):
    (b1,) = backends(1)
    p = portico(proxy_config([b1]))
    r = fetch(p, "/raw/" + name)
    assert r.status == 200
    assert r.header_all("Content-Length") == ["5"]
    assert r.body == b"hello"


@pytest.mark.parametrize("name,status,body", [("status-600", 600, b"six!"),
                                              ("status-999", 999, b"nine")])
def test_status_600_to_999_is_passed_on(portico, backends, name, status, body):
    (b1,) = backends(1)
    p = portico(proxy_config([b1]))
    r = fetch(p, "/raw/" + name)
    assert (r.status, r.body) == (status, body)
    line = wait_until(lambda: [l for l in p.access_lines() if "/raw/" + name in l])
    assert line and '" %d 4 ' % status in line[0], line


@pytest.mark.parametrize("name", ["te-gzip-chunked", "te-gzip-close"])
def test_response_transfer_coding_stays_announced(portico, backends, name):
    """The backend's gzip transfer coding is not ours to decode, so the client is told about it
    (our own chunked framing goes last) and gets back exactly the backend's content."""
    (b1,) = backends(1)
    p = portico(proxy_config([b1]))
    r = fetch(p, "/raw/" + name)
    assert r.status == 200
    assert r.header("Transfer-Encoding") == "gzip, chunked"
    assert r.header("Content-Length") is None
    assert gzip.decompress(r.body) == GZIPPED_TEXT


def test_unknown_response_transfer_coding_ends_at_close(portico, backends):
    """RFC 9112 6.3: a final coding other than chunked means the body ends at close."""
    (b1,) = backends(1)
    p = portico(proxy_config([b1]))
    r = fetch(p, "/raw/te-unknown")
    assert r.status == 200
    assert r.header("Transfer-Encoding") == "foo, chunked"
    assert r.body == b"abc"


def test_response_transfer_coding_to_an_http10_client_is_502(portico, backends):
    """An HTTP/1.0 client cannot be told about a transfer coding (RFC 9112 6.1)."""
    (b1,) = backends(1)
    p = portico(proxy_config([b1]))
    r = fetch(p, "/raw/te-gzip-chunked", version="HTTP/1.0")
    assert r.status == 502
    assert "cannot reach an HTTP/1.0 client" in p.wait_for_log("HTTP/1.0 client")
