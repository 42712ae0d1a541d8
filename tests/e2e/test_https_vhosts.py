"""Per virtual host HTTPS policy: redirecting plain HTTP to HTTPS, and HSTS only over TLS."""
import os
import subprocess

import pytest

from conftest import BIN, RawConn, request_bytes

PLAIN = """
workers: 1
listeners:
  - name: plain
    address: 127.0.0.1:{port}
    virtual_hosts:
      - name: secure-site
        domains: [secure.test]
        https_redirect: true
        hsts: { max_age: 365d, include_subdomains: true }
        routes:
          - direct_response: { status: 200, body: "should not be served over http" }
      - name: other-port
        domains: [alt.test]
        https_redirect: { port: 8443, status: 301 }
        routes:
          - direct_response: { status: 200, body: "no" }
      - name: open
        domains: ["*"]
        hsts: { max_age: 1d }
        routes:
          - direct_response: { status: 200, body: "plain is fine here" }
"""


def exchange(port, method, target, host, body=b""):
    c = RawConn(port)
    try:
        headers = [("Content-Length", str(len(body)))] if body else []
        c.send(request_bytes(method, target, host=host, headers=headers, body=body))
        return c.read_response(head_request=method == "HEAD")
    finally:
        c.close()


def test_plain_http_is_redirected_to_https_with_path_and_query(portico):
    p = portico(PLAIN)
    r = exchange(p.port, "GET", "/a/b?x=1&y=2", "secure.test")
    assert r.status == 308
    assert r.header("Location") == "https://secure.test/a/b?x=1&y=2"
    # HSTS is never sent over plain HTTP (RFC 6797 section 7.2): a man in the middle could
    # strip or forge it.
    assert r.header("Strict-Transport-Security") is None


def test_redirect_keeps_the_method_with_308_and_drops_the_port_of_the_plain_listener(portico):
    p = portico(PLAIN)
    r = exchange(p.port, "POST", "/form", "secure.test:%d" % p.port, body=b"a=1")
    assert r.status == 308
    assert r.header("Location") == "https://secure.test/form"


def test_redirect_to_a_configured_port_and_status(portico):
    p = portico(PLAIN)
    r = exchange(p.port, "GET", "/x", "alt.test")
    assert r.status == 301
    assert r.header("Location") == "https://alt.test:8443/x"


def test_virtual_hosts_without_the_redirect_serve_plain_http_without_hsts(portico):
    p = portico(PLAIN)
    r = exchange(p.port, "GET", "/", "other.test")
    assert r.status == 200
    assert r.body == b"plain is fine here"
    assert r.header("Strict-Transport-Security") is None


def test_hsts_preload_needs_subdomains_and_a_year(tmpdir_path):
    bad = PLAIN.replace("hsts: { max_age: 1d }", "hsts: { max_age: 1d, preload: true }")
    path = os.path.join(tmpdir_path, "bad.yaml")
    with open(path, "w") as f:
        f.write(bad.replace("{port}", "18080"))
    r = subprocess.run([BIN, "--check", path], capture_output=True, text=True, timeout=20)
    assert r.returncode == 1
    assert "preload needs include_subdomains: true and max_age of at least 365d" in r.stderr
    assert "bad.yaml:20:" in r.stderr  # the line of that hsts key


TLS = """
workers: 1
listeners:
  - name: tls
    address: 127.0.0.1:{port}
    tls:
      certificates:
        - { cert: sites.crt, key: sites.key }
    virtual_hosts:
      - name: a
        domains: [a.test]
        hsts: { max_age: 365d, include_subdomains: true, preload: true }
        routes:
          - direct_response: { status: 200, body: "site a" }
      - name: b
        domains: [b.test]
        routes:
          - direct_response: { status: 200, body: "site b" }
      - name: other
        domains: ["*"]
        routes:
          - direct_response: { status: 200, body: "default" }
"""


def tls_exchange(port, server_name, host, target="/"):
    import socket
    import ssl
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    raw = socket.create_connection(("127.0.0.1", port), timeout=5)
    with ctx.wrap_socket(raw, server_hostname=server_name) as s:
        s.sendall(request_bytes("GET", target, host=host, headers=[("Connection", "close")]))
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, body


@pytest.fixture
def tls_sites(portico, tmpdir_path):
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", os.path.join(tmpdir_path, "sites.key"),
                    "-out", os.path.join(tmpdir_path, "sites.crt"), "-days", "2",
                    "-subj", "/CN=a.test", "-addext", "subjectAltName=DNS:a.test,DNS:b.test"],
                   check=True, capture_output=True)
    return portico(TLS)


def test_hsts_is_sent_over_tls_on_proxied_and_local_answers(tls_sites):
    status, headers, body = tls_exchange(tls_sites.port, "a.test", "a.test")
    assert (status, body) == (200, b"site a")
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    # A local error reply of that virtual host carries it too.
    status, headers, _ = tls_exchange(tls_sites.port, "a.test", "a.test", target="/%00")
    assert status == 400
    assert "Strict-Transport-Security" in headers


def test_a_virtual_host_without_hsts_sends_none(tls_sites):
    status, headers, body = tls_exchange(tls_sites.port, "b.test", "b.test")
    assert (status, body) == (200, b"site b")
    assert "Strict-Transport-Security" not in headers


def test_host_of_another_virtual_host_than_the_sni_name_is_421(tls_sites):
    status, _, _ = tls_exchange(tls_sites.port, "a.test", "b.test")
    assert status == 421
    assert "request for host b.test on a TLS connection for a.test: 421" in tls_sites.error_log()


def test_without_sni_or_with_an_unknown_name_host_decides(tls_sites):
    # An IP-literal client sends no SNI: nothing to disagree with.
    assert tls_exchange(tls_sites.port, None, "b.test")[2] == b"site b"
    # An SNI name that no virtual host names does not pick a virtual host either... except
    # the default one, which it does pick: Host must then choose the default too.
    assert tls_exchange(tls_sites.port, "unknown.test", "c.test")[2] == b"default"
    assert tls_exchange(tls_sites.port, "unknown.test", "a.test")[0] == 421
