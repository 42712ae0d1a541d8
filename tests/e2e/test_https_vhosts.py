"""Per virtual host HTTPS policy: redirecting plain HTTP to HTTPS, and HSTS only over TLS."""
import os
import subprocess

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
