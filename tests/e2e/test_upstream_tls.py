"""TLS to backends: verification against a CA bundle and a name (on by default), SNI, an
optional client certificate, and sessions resumed across pooled connections. The backend is
a real TLS server (backend.py with Python's ssl) that records what each connection was."""
import os
import subprocess

import pytest

from conftest import Backend, RawConn, proxy_config, request_bytes


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True)


class CertAuthority:
    """A throwaway certificate authority made with the openssl command."""

    def __init__(self, directory, name):
        self.dir = directory
        self.name = name
        self.crt = os.path.join(directory, name + ".crt")
        self.key = os.path.join(directory, name + ".key")
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                "-nodes", "-keyout", self.key, "-out", self.crt, "-days", "2",
                "-subj", "/CN=" + name, "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign")

    def issue(self, name, sans, usage="serverAuth"):
        base = os.path.join(self.dir, "%s-%s" % (self.name, name))
        ext = base + ".ext"
        with open(ext, "w") as f:
            f.write("subjectAltName=%s\nextendedKeyUsage=%s\n" % (sans, usage))
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", base + ".key", "-out", base + ".csr", "-subj", "/CN=" + name)
        openssl("x509", "-req", "-in", base + ".csr", "-CA", self.crt, "-CAkey", self.key,
                "-CAcreateserial", "-days", "2", "-out", base + ".crt", "-extfile", ext)
        return base + ".crt", base + ".key"


@pytest.fixture
def pki(tmpdir_path):
    ca = CertAuthority(tmpdir_path, "ca")
    other = CertAuthority(tmpdir_path, "other-ca")
    return {
        "ca": ca,
        "other": other,
        "server": ca.issue("backend.test", "DNS:backend.test,IP:127.0.0.1"),
        "client": ca.issue("portico-client", "DNS:portico-client", usage="clientAuth"),
    }


@pytest.fixture
def tls_backend(tmpdir_path, pki):
    started = []

    def make(client_ca=None):
        crt, key = pki["server"]
        args = ["--tls-cert", crt, "--tls-key", key]
        if client_ca:
            args += ["--tls-client-ca", client_ca]
        started.append(Backend(tmpdir_path, "tls%d" % (len(started) + 1), tls=args))
        return started[-1]

    yield make
    for b in started:
        b.stop()


def cluster_tls(lines):
    return "    tls:\n" + "".join("      %s\n" % line for line in lines)


def get(port, path="/name"):
    c = RawConn(port)
    try:
        c.send(request_bytes("GET", path))
        return c.read_response()
    finally:
        c.close()


def test_verified_tls_with_sni_reaches_the_backend(portico, pki, tls_backend):
    b = tls_backend()
    p = portico(proxy_config([b], extra_cluster=cluster_tls(
        ["ca: %s" % pki["ca"].crt, "sni: backend.test"])))
    r = get(p.port)
    assert r.status == 200 and r.body == b.name.encode()
    seen = b.requests()[-1]
    assert seen["sni"] == "backend.test"
    assert seen["tls_version"] == "TLSv1.3"


@pytest.mark.parametrize("setting", [
    "verify_name: wrong.test",  # the certificate is for backend.test
    "ca: {other}",              # signed by a CA we do not trust
])
def test_a_backend_that_fails_verification_gets_no_request(portico, pki, tls_backend, setting):
    b = tls_backend()
    p = portico(proxy_config([b], extra_cluster=cluster_tls(
        [setting.replace("{other}", pki["other"].crt) if "{other}" in setting
         else "ca: %s" % pki["ca"].crt, "sni: backend.test"] +
        ([setting] if "{other}" not in setting else []))))
    r = get(p.port)
    assert r.status == 502
    assert b.requests() == []


def test_verification_can_be_turned_off(portico, pki, tls_backend):
    b = tls_backend()
    p = portico(proxy_config([b], extra_cluster=cluster_tls(
        ["verify: false", "ca: %s" % pki["other"].crt])))
    assert get(p.port).status == 200


def test_without_a_name_the_endpoint_ip_is_verified_and_no_sni_is_sent(portico, pki, tls_backend):
    b = tls_backend()
    p = portico(proxy_config([b], extra_cluster=cluster_tls(["ca: %s" % pki["ca"].crt])))
    assert get(p.port).status == 200
    assert b.requests()[-1]["sni"] is None


def test_new_pooled_connections_resume_the_session(portico, pki, tls_backend):
    b = tls_backend()
    # No idle pool: every request opens a new upstream connection and handshakes again.
    p = portico(proxy_config([b], extra_cluster=cluster_tls(
        ["ca: %s" % pki["ca"].crt, "sni: backend.test"]) + "    keepalive: { max_idle: 0 }\n"))
    for _ in range(4):
        assert get(p.port).status == 200
    seen = b.requests()
    assert len({r["peer_port"] for r in seen}) == 4  # four connections
    assert [r["tls_resumed"] for r in seen][1:] == [True, True, True]


def test_a_client_certificate_is_presented_to_a_backend_that_requires_one(
        portico, pki, tls_backend):
    b = tls_backend(client_ca=pki["ca"].crt)
    crt, key = pki["client"]
    p = portico(proxy_config([b], extra_cluster=cluster_tls(
        ["ca: %s" % pki["ca"].crt, "sni: backend.test", "cert: %s" % crt, "key: %s" % key])))
    assert get(p.port).status == 200
    assert b.requests()[-1]["client_cert_subject"] == {"commonName": "portico-client"}


def test_without_the_client_certificate_the_backend_refuses(portico, pki, tls_backend):
    b = tls_backend(client_ca=pki["ca"].crt)
    p = portico(proxy_config([b], extra_cluster=cluster_tls(
        ["ca: %s" % pki["ca"].crt, "sni: backend.test"])))
    assert get(p.port).status == 502
    assert b.requests() == []


def test_sni_and_verified_name_can_follow_the_request_host(portico, pki, tmpdir_path):
    crt, key = pki["ca"].issue("sites", "DNS:a.example,DNS:b.example")
    b = Backend(tmpdir_path, "named", tls=["--tls-cert", crt, "--tls-key", key])
    try:
        p = portico(proxy_config([b], extra_cluster=cluster_tls(
            ["ca: %s" % pki["ca"].crt, "sni_from_host: true"])))

        def get_host(host):
            c = RawConn(p.port)
            try:
                c.send(request_bytes("GET", "/name", host=host))
                return c.read_response().status
            finally:
                c.close()

        assert get_host("a.example:8443") == 200
        assert get_host("a.example") == 200
        assert get_host("b.example") == 200
        seen = b.requests()
        assert [r["sni"] for r in seen] == ["a.example", "a.example", "b.example"]
        # A pooled connection only carries requests for the name it was verified for.
        assert seen[0]["peer_port"] == seen[1]["peer_port"] != seen[2]["peer_port"]
        # A host the backend's certificate does not name fails verification: nothing is sent.
        assert get_host("c.example") == 502
        assert len(b.requests()) == 3
    finally:
        b.stop()


def test_sni_and_sni_from_host_exclude_each_other(tmpdir_path):
    import subprocess as sp
    from conftest import BIN
    path = os.path.join(tmpdir_path, "both.yaml")
    with open(path, "w") as f:
        f.write(proxy_config(["127.0.0.1:9"], extra_cluster=cluster_tls(
            ["verify: false", "sni: a.example", "sni_from_host: true"])).replace("{port}", "18080"))
    r = sp.run([BIN, "--check", path], capture_output=True, text=True, timeout=20)
    assert r.returncode == 1
    assert "sni and sni_from_host: true exclude each other" in r.stderr
