"""Client certificates (mTLS): required and optional per listener and per SNI name, checked
against a CA bundle and a CRL; a verified certificate's identity reaches the backend in
X-Client-Cert-* fields, and a client's own copies of those fields never do."""
import os
import shutil
import socket
import ssl
import subprocess
import tempfile

import pytest

from conftest import BIN, read_until_eof, status_of, wait_until
from mtls_support import Pki

IDENTITY = ("X-Client-Cert-Subject", "X-Client-Cert-SANs", "X-Client-Cert-Fingerprint")
FORGED = [("X-Client-Cert-Subject", "CN=admin"), ("X-Client-Cert-SANs", "DNS:admin.test"),
          ("X-Client-Cert-Fingerprint", "00" * 32), ("x-client-cert-verified", "SUCCESS")]


@pytest.fixture(scope="module")
def pki():
    with tempfile.TemporaryDirectory(prefix="portico-mtls-") as d:
        yield Pki(d)


def listener_config(pki, backend, client_auth="", certificates=None, domains=("*",),
                    forwarding=""):
    """One TLS listener proxying to `backend`; `client_auth` is the YAML of tls.client_auth."""
    certificates = certificates or [(pki.server, "")]
    lines = []
    for (cert, key), extra in certificates:
        lines.append("        - { cert: %s, key: %s%s }" % (cert, key, extra))
    vhosts = []
    for i, domain in enumerate(domains):
        vhosts.append("      - name: v%d\n"
                      "        domains: ['%s']\n"
                      "        routes:\n"
                      "          - match: { prefix: / }\n"
                      "            proxy: { cluster: app }" % (i, domain))
    return ("workers: 1\n"
            "listeners:\n"
            "  - name: mtls\n"
            "    address: 127.0.0.1:{port}\n"
            "%s"
            "    tls:\n"
            "      certificates:\n%s\n"
            "%s"
            "    virtual_hosts:\n%s\n"
            "clusters:\n"
            "  - name: app\n"
            "    endpoints:\n"
            "      - address: %s\n") % (forwarding, "\n".join(lines),
                                       ("      client_auth: %s\n" % client_auth)
                                       if client_auth else "",
                                       "\n".join(vhosts), backend.address)


def required(pki, mode="required", crl=True):
    return "{ mode: %s, ca: %s%s }" % (mode, pki.ca.cert, ", crl: " + pki.crl if crl else "")


def curl(pki, port, path="/", cert=None, host="localhost", headers=(), connect_to=None):
    """Runs curl; returns (exit code, status or None, stderr)."""
    args = ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10",
            "--cacert", pki.ca.cert, "--resolve", "%s:%d:127.0.0.1" % (host, port)]
    if connect_to:
        # TLS (and SNI) for `connect_to`, the request's Host for `host`.
        args += ["--resolve", "%s:%d:127.0.0.1" % (connect_to, port), "-H", "Host: " + host]
    if cert:
        args += ["--cert", cert[0], "--key", cert[1]]
    for name, value in headers:
        args += ["-H", "%s: %s" % (name, value)]
    args.append("https://%s:%d%s" % (connect_to or host, port, path))
    r = subprocess.run(args, capture_output=True, text=True, timeout=20)
    return r.returncode, (int(r.stdout) if r.stdout.strip().isdigit() else None), r.stderr


def received(backend, path):
    """The headers (name -> list of values, lower-case names) of the request for `path`."""
    matching = [r for r in backend.requests() if r["path"] == path]
    assert len(matching) == 1, matching
    out = {}
    for name, value in matching[0]["headers"]:
        out.setdefault(name.lower(), []).append(value)
    return out


def assert_no_identity(headers):
    for name in IDENTITY:
        assert name.lower() not in headers, headers


def test_required_passes_the_verified_identity_and_drops_forged_fields(pki, portico, backends):
    (b,) = backends(1)
    p = portico(listener_config(pki, b, required(pki)))
    code, status, err = curl(pki, p.port, "/alice", cert=pki.alice, headers=FORGED)
    assert (code, status) == (0, 200), err
    h = received(b, "/alice")
    assert h["x-client-cert-subject"] == [Pki.subject(pki.alice[0])]
    assert h["x-client-cert-subject"] == ["OU=Payments,O=Portico Tests,CN=alice"]
    assert h["x-client-cert-sans"] == [
        "DNS:alice.clients.test, URI:spiffe://portico.test/alice, email:alice@portico.test"]
    assert h["x-client-cert-fingerprint"] == [Pki.fingerprint(pki.alice[0])]
    assert h["x-client-cert-verified"] == ["SUCCESS"]


@pytest.mark.parametrize("who", ["none", "revoked", "stranger", "expired"])
def test_required_refuses_the_handshake(pki, portico, backends, who):
    (b,) = backends(1)
    p = portico(listener_config(pki, b, required(pki)))
    cert = None if who == "none" else getattr(pki, who)
    code, status, err = curl(pki, p.port, "/" + who, cert=cert)
    assert code != 0 and status in (None, 0), (code, status, err)
    assert b.requests() == []
    # A good certificate still gets in on the same listener.
    assert curl(pki, p.port, "/after", cert=pki.alice)[:2] == (0, 200)


def test_required_without_a_crl_does_not_know_about_revocation(pki, portico, backends):
    (b,) = backends(1)
    p = portico(listener_config(pki, b, required(pki, crl=False)))
    assert curl(pki, p.port, "/revoked", cert=pki.revoked)[:2] == (0, 200)


def test_optional_lets_clients_without_a_good_certificate_in_without_identity(
        pki, portico, backends):
    (b,) = backends(1)
    p = portico(listener_config(pki, b, required(pki, mode="optional")))
    assert curl(pki, p.port, "/none", headers=FORGED)[:2] == (0, 200)
    h = received(b, "/none")
    assert_no_identity(h)
    assert h["x-client-cert-verified"] == ["NONE"]
    for who in ("stranger", "revoked", "expired"):
        assert curl(pki, p.port, "/" + who, cert=getattr(pki, who), headers=FORGED)[:2] == (0, 200)
        h = received(b, "/" + who)
        assert_no_identity(h)
        assert h["x-client-cert-verified"] == ["FAILED"], who
    assert curl(pki, p.port, "/alice", cert=pki.alice, headers=FORGED)[:2] == (0, 200)
    h = received(b, "/alice")
    assert h["x-client-cert-fingerprint"] == [Pki.fingerprint(pki.alice[0])]
    assert h["x-client-cert-verified"] == ["SUCCESS"]


def test_forged_fields_are_removed_on_listeners_without_client_auth(pki, portico, backends):
    (b,) = backends(1)
    p = portico(listener_config(pki, b))
    assert curl(pki, p.port, "/tls", headers=FORGED)[:2] == (0, 200)
    h = received(b, "/tls")
    assert_no_identity(h)
    assert "x-client-cert-verified" not in h
    # Sent a certificate unasked: still nothing.
    assert curl(pki, p.port, "/tls-cert", cert=pki.alice, headers=FORGED)[:2] == (0, 200)
    assert_no_identity(received(b, "/tls-cert"))


def test_renamed_and_disabled_fields(pki, portico, backends):
    (b,) = backends(1)
    forwarding = ("    forwarding:\n"
                  "      client_cert_headers: { subject: X-SSL-Client-DN, sans: '',"
                  " verified: false }\n")
    p = portico(listener_config(pki, b, required(pki), forwarding=forwarding))
    headers = FORGED + [("X-SSL-Client-DN", "CN=admin")]
    assert curl(pki, p.port, "/renamed", cert=pki.alice, headers=headers)[:2] == (0, 200)
    h = received(b, "/renamed")
    assert h["x-ssl-client-dn"] == [Pki.subject(pki.alice[0])]
    assert h["x-client-cert-fingerprint"] == [Pki.fingerprint(pki.alice[0])]
    # Turned off: neither set nor stripped.
    assert h["x-client-cert-sans"] == ["DNS:admin.test"]
    assert h["x-client-cert-verified"] == ["SUCCESS"]
    # No longer ours either.
    assert h["x-client-cert-subject"] == ["CN=admin"]


def test_client_auth_per_sni_name(pki, portico, backends):
    (b,) = backends(1)
    certificates = [(pki.a_site, ", client_auth: " + required(pki)), (pki.b_site, "")]
    p = portico(listener_config(pki, b, certificates=certificates,
                                domains=("a.test", "b.test")))
    code, status, err = curl(pki, p.port, "/a-none", host="a.test")
    assert code != 0, (code, status, err)
    assert curl(pki, p.port, "/a-alice", host="a.test", cert=pki.alice)[:2] == (0, 200)
    assert received(b, "/a-alice")["x-client-cert-verified"] == ["SUCCESS"]
    assert curl(pki, p.port, "/b-none", host="b.test", headers=FORGED)[:2] == (0, 200)
    h = received(b, "/b-none")
    assert_no_identity(h)
    assert h["x-client-cert-verified"] == ["NONE"]
    # A connection made for b.test (no certificate asked) cannot be used for a.test.
    code, status, err = curl(pki, p.port, "/a-via-b", host="a.test", connect_to="b.test")
    assert (code, status) == (0, 421), err
    assert [r for r in b.requests() if r["path"] == "/a-via-b"] == []


def https_get(port, path, context, session=None, sni="localhost", host="localhost"):
    """One request on a new connection; returns (status, session, resumed)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname=sni, session=session) as s:
            s.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"
                       % (path, host)).encode())
            return status_of(read_until_eof(s)), s.session, s.session_reused


@pytest.mark.parametrize("version", ["TLSv1_2", "TLSv1_3"])
def test_a_resumed_session_keeps_the_identity(pki, portico, backends, version):
    (b,) = backends(1)
    p = portico(listener_config(pki, b, required(pki)))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(pki.ca.cert)
    ctx.load_cert_chain(*pki.alice)
    ctx.maximum_version = ctx.minimum_version = getattr(ssl.TLSVersion, version)
    status, session, resumed = https_get(p.port, "/first", ctx)
    assert (status, resumed) == (200, False)
    status, _, resumed = https_get(p.port, "/second", ctx, session=session)
    assert (status, resumed) == (200, True)
    for path in ("/first", "/second"):
        h = received(b, path)
        assert h["x-client-cert-fingerprint"] == [Pki.fingerprint(pki.alice[0])], path
        assert h["x-client-cert-verified"] == ["SUCCESS"], path


def test_python_client_without_a_certificate_fails_the_handshake(pki, portico, backends):
    (b,) = backends(1)
    p = portico(listener_config(pki, b, required(pki)))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(pki.ca.cert)
    with pytest.raises((ssl.SSLError, ConnectionResetError, BrokenPipeError)):
        # TLS 1.3: the client's handshake ends before the server checked the certificate; the
        # alert arrives on the first read.
        https_get(p.port, "/nocert", ctx)
    assert b.requests() == []


def check(tmp, text):
    path = os.path.join(tmp, "check.yaml")
    with open(path, "w") as f:
        f.write(text.replace("{port}", "18443"))
    return subprocess.run([BIN, "--check", path], capture_output=True, text=True, timeout=20)


def test_config_errors_point_at_the_key(pki, backends, tmpdir_path):
    (b,) = backends(1)
    r = check(tmpdir_path, listener_config(pki, b, "{ ca: %s/missing.pem }" % pki.dir))
    assert r.returncode == 1
    assert "listeners[0].tls.client_auth.ca" in r.stderr and "cannot read" in r.stderr, r.stderr
    r = check(tmpdir_path, listener_config(pki, b, "{ mode: sometimes, ca: %s }" % pki.ca.cert))
    assert r.returncode == 1 and "client_auth.mode" in r.stderr, r.stderr
    r = check(tmpdir_path, listener_config(pki, b, "{ ca: %s, crl: %s }" % (
        pki.ca.cert, pki.other_ca.cert)))
    assert r.returncode == 1 and "client_auth.crl" in r.stderr, r.stderr
    r = check(tmpdir_path, listener_config(
        pki, b, required(pki),
        forwarding="    forwarding:\n      client_cert_headers: { subject: X-Forwarded-User }\n"))
    assert r.returncode == 1 and "client_cert_headers.subject" in r.stderr, r.stderr
    assert check(tmpdir_path, listener_config(pki, b, required(pki))).returncode == 0


def test_a_name_without_a_virtual_host_cannot_skip_the_client_certificate(pki, portico, backends):
    """b.test (no client certificate) is the default: a client that sends no SNI, or a name no
    certificate has, gets b.test's policy, and must not reach a.test with it."""
    (b,) = backends(1)
    certificates = [(pki.b_site, ""), (pki.a_site, ", client_auth: " + required(pki))]
    p = portico(listener_config(pki, b, certificates=certificates,
                                domains=("a.test", "b.test")))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    for sni in (None, "unknown.test"):
        assert https_get(p.port, "/skip", ctx, sni=sni, host="a.test")[0] == 421, sni
        assert https_get(p.port, "/fine", ctx, sni=sni, host="b.test")[0] == 200, sni
    assert [r for r in b.requests() if r["path"] == "/skip"] == []
    ctx.load_cert_chain(*pki.alice)
    assert https_get(p.port, "/a", ctx, sni="a.test", host="a.test:%d" % p.port)[0] == 200
    assert received(b, "/a")["x-client-cert-verified"] == ["SUCCESS"]


def test_a_new_crl_is_picked_up_without_a_restart(pki, portico, backends, tmpdir_path):
    (b,) = backends(1)
    crl = os.path.join(tmpdir_path, "live.crl")
    shutil.copy(pki.crl_before, crl)
    p = portico(listener_config(pki, b, "{ ca: %s, crl: %s }" % (pki.ca.cert, crl)))
    # A TLS 1.2 session from before the new CRL: it must not resume past the new check.
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(pki.ca.cert)
    ctx.load_cert_chain(*pki.revoked)
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    status, session, _ = https_get(p.port, "/before", ctx)
    assert status == 200
    assert curl(pki, p.port, "/before-curl", cert=pki.revoked)[:2] == (0, 200)
    shutil.copy(pki.crl, crl + ".new")
    os.replace(crl + ".new", crl)
    assert wait_until(lambda: curl(pki, p.port, "/poll", cert=pki.revoked)[0] != 0, timeout=10)
    with pytest.raises((ssl.SSLError, ConnectionResetError, BrokenPipeError)):
        https_get(p.port, "/resumed", ctx, session=session)
    assert curl(pki, p.port, "/alice", cert=pki.alice)[:2] == (0, 200)
    assert "certificates reloaded" in p.error_log()
