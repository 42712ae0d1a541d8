"""Automatic certificates (ACME, RFC 8555) against a real ACME server: Debian's pebble, run on
loopback by each test, with pebble-challtestsrv as the DNS server that sends every name to
127.0.0.1. Pebble validates HTTP-01 on Portico's plain listener and TLS-ALPN-01 on its TLS
listener; the test client trusts pebble's issuing root (from its management port) and checks
the certificate Portico serves for the name."""
import json
import os
import signal
import socket
import ssl
import stat
import subprocess
import urllib.request

import pytest

from conftest import free_port, free_ports, read_until_eof, wait_for_port, wait_until

PEBBLE = "/usr/bin/pebble"
CHALLTESTSRV = "/usr/bin/pebble-challtestsrv"

pytestmark = pytest.mark.skipif(not (os.path.exists(PEBBLE) and os.path.exists(CHALLTESTSRV)),
                                reason="pebble is not installed (scripts/setup.sh)")


class Pebble:
    """pebble and its DNS helper on free loopback ports; validation goes to http_port and
    tls_port (Portico's listeners)."""

    def __init__(self, tmpdir, http_port, tls_port, nonce_reject=0):
        self.dir = os.path.join(tmpdir, "pebble")
        os.makedirs(self.dir)
        self.cert = os.path.join(self.dir, "pebble.crt")
        key = os.path.join(self.dir, "pebble.key")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out",
                        self.cert, "-days", "2", "-subj", "/CN=pebble",
                        "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                       check=True, capture_output=True)
        self.port, self.management_port, self.dns_port, dns_management_port = free_ports(
            4, avoid=(http_port, tls_port))
        config = os.path.join(self.dir, "pebble.json")
        with open(config, "w") as f:
            json.dump({"pebble": {
                "listenAddress": "127.0.0.1:%d" % self.port,
                "managementListenAddress": "127.0.0.1:%d" % self.management_port,
                "certificate": self.cert, "privateKey": key,
                "httpPort": http_port, "tlsPort": tls_port,
                "ocspResponderURL": "", "externalAccountBindingRequired": False}}, f)
        self.log_path = os.path.join(self.dir, "pebble.log")
        self.log = open(self.log_path, "w")
        self.dns = subprocess.Popen(
            [CHALLTESTSRV, "-defaultIPv4", "127.0.0.1", "-defaultIPv6", "",
             "-dns01", "127.0.0.1:%d" % self.dns_port, "-http01", "", "-https01", "",
             "-tlsalpn01", "", "-management", "127.0.0.1:%d" % dns_management_port],
            stdout=self.log, stderr=subprocess.STDOUT)
        # Its DNS server answers on TCP and UDP alike: TCP shows when it is up.
        wait_for_port(self.dns_port, proc=self.dns)
        env = dict(os.environ, PEBBLE_VA_NOSLEEP="1", PEBBLE_WFE_NONCEREJECT=str(nonce_reject))
        self.proc = subprocess.Popen(
            [PEBBLE, "-config", config, "-dnsserver", "127.0.0.1:%d" % self.dns_port],
            stdout=self.log, stderr=subprocess.STDOUT, env=env)
        try:
            wait_for_port(self.port, proc=self.proc)
            wait_for_port(self.management_port, proc=self.proc)
        except RuntimeError as e:
            raise RuntimeError("pebble: %s; its log:\n%s" % (e, self.text())) from None

    @property
    def directory(self):
        return "https://127.0.0.1:%d/dir" % self.port

    def root(self):
        """Pebble's issuing root (PEM), which the test client trusts."""
        ctx = ssl.create_default_context(cafile=self.cert)
        url = "https://127.0.0.1:%d/roots/0" % self.management_port
        with urllib.request.urlopen(url, context=ctx, timeout=10) as r:
            return r.read().decode()

    def stop(self):
        for p in (self.proc, self.dns):
            if p.poll() is None:
                p.kill()
                p.wait()
        self.log.close()

    def text(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()


@pytest.fixture
def pebble(tmpdir_path):
    started = []

    def make(http_port, tls_port, nonce_reject=0):
        started.append(Pebble(tmpdir_path, http_port, tls_port, nonce_reject))
        return started[-1]

    yield make
    for p in started:
        p.stop()


def config(storage, directory, ca, http_port, tls_port, names, backend=None, challenge="http-01",
           extra_acme="", redirect=False, log_level="info"):
    plain_vhost = ("        https_redirect: { port: %d }\n" % tls_port if redirect else "")
    plain_route = ("proxy: { cluster: app }" if backend else
                   'direct_response: { status: 200, body: "plain" }')
    cluster = ("clusters:\n  - name: app\n    endpoints:\n      - address: %s\n" % backend
               if backend else "")
    return """
workers: 2
error_log: { level: %(log_level)s }
acme:
  directory: %(directory)s
  email: admin@portico.test
  ca: %(ca)s
  storage: %(storage)s
  challenge: %(challenge)s
%(extra_acme)s
listeners:
  - name: plain
    address: 127.0.0.1:%(http_port)d
    virtual_hosts:
      - name: site
        domains: ["*"]
%(plain_vhost)s        routes:
          - %(plain_route)s
  - name: https
    address: 127.0.0.1:%(tls_port)d
    tls:
      certificates:
        - acme: [%(names)s]
    virtual_hosts:
      - name: site
        domains: ["*"]
        routes:
          - direct_response: { status: 200, body: "secure" }
%(cluster)s""" % dict(directory=directory, ca=ca, storage=storage, challenge=challenge,
                      extra_acme=extra_acme, http_port=http_port, tls_port=tls_port,
                      plain_vhost=plain_vhost, plain_route=plain_route, names=", ".join(names),
                      cluster=cluster, log_level=log_level)


def served(port, name, root=None):
    """(der, verified) for the certificate a handshake for `name` gets. With `root`, the chain
    and the name are verified against it (ssl raises when they are not)."""
    if root:
        ctx = ssl.create_default_context(cadata=root)
    else:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname=name) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % name.encode())
            return s.getpeercert(binary_form=True), read_until_eof(s)


def subject_of(der):
    pem = ssl.DER_cert_to_PEM_cert(der)
    out = subprocess.run(["openssl", "x509", "-noout", "-subject", "-issuer", "-enddate"],
                         input=pem.encode(), capture_output=True, check=True)
    return out.stdout.decode()


def obtained(p, names, count=1, timeout=60, peb=None):
    """Waits for the count-th issuance log line and the reload that serves it."""
    needle = "acme: certificate for %s obtained" % ", ".join(names)
    assert wait_until(lambda: p.error_log().count(needle) >= count, timeout=timeout), \
        p.error_log() + (peb.text() if peb else "")
    assert wait_until(lambda: p.error_log().count(
        "listener https: certificates reloaded (certificate files changed)")
                      >= count, timeout=15), p.error_log()


def start_all(tmpdir_path, portico, pebble, names, nonce_reject=0, **kwargs):
    http_port, tls_port = free_ports(2)
    peb = pebble(http_port, tls_port, nonce_reject)
    storage = os.path.join(tmpdir_path, "acme")
    text = config(storage, peb.directory, peb.cert, http_port, tls_port, names, **kwargs)
    p = portico(text, port=http_port)
    wait_for_port(tls_port)
    return p, peb, storage, tls_port


def test_http01_issuance_served_and_verified(tmpdir_path, portico, pebble, backends):
    (b,) = backends(1)
    # Pebble rejects a share of valid nonces: badNonce must be retried, not fatal.
    p, peb, storage, tls_port = start_all(tmpdir_path, portico, pebble, ["a.test", "www.a.test"],
                                      nonce_reject=50, backend=b.address, log_level="debug")
    # Until the first certificate arrives, a placeholder serves the names.
    der, _ = served(tls_port, "a.test")
    assert "Portico ACME placeholder" in subject_of(der)
    obtained(p, ["a.test", "www.a.test"])
    root = peb.root()
    for name in ("a.test", "www.a.test"):
        der, body = served(tls_port, name, root=root)
        assert body.endswith(b"secure")
        assert "Pebble" in subject_of(der)
    assert "answered the ACME HTTP-01 challenge" in p.error_log()
    assert "badNonce, retrying" in p.error_log()
    # The challenges were answered by Portico itself, never proxied.
    assert not [r for r in b.requests() if "acme-challenge" in r.get("path", "")], b.requests()
    # Unknown tokens route as usual.
    status, _ = http_get(p.port, "/.well-known/acme-challenge/unknown", "a.test")
    assert status == 200
    assert [r for r in b.requests() if "acme-challenge/unknown" in r.get("path", "")]


def http_get(port, path, host):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"
                   % (path, host)).encode())
        data = read_until_eof(s)
    return int(data.split(b" ", 2)[1]), data


def test_tls_alpn01_issuance(tmpdir_path, portico, pebble):
    p, peb, storage, tls_port = start_all(tmpdir_path, portico, pebble, ["b.test"],
                                      challenge="tls-alpn-01", redirect=True)
    obtained(p, ["b.test"], timeout=20, peb=peb)
    der, body = served(tls_port, "b.test", root=peb.root())
    assert body.endswith(b"secure")
    assert "answering the tls-alpn-01 challenge" in p.error_log()
    assert "answering the TLS-ALPN-01 challenge handshake for b.test" in p.error_log()
    assert "HTTP-01 challenge" not in p.error_log()


def test_acme_tls_protocol_only_for_challenges(tmpdir_path, portico, pebble):
    p, peb, storage, tls_port = start_all(tmpdir_path, portico, pebble, ["c.test"])
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["acme-tls/1"])
    with socket.create_connection(("127.0.0.1", tls_port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname="c.test") as s:
            assert s.selected_alpn_protocol() is None


def test_storage_permissions(tmpdir_path, portico, pebble):
    p, peb, storage, tls_port = start_all(tmpdir_path, portico, pebble, ["d.test"])
    obtained(p, ["d.test"])
    assert stat.S_IMODE(os.stat(storage).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(os.path.join(storage, "d.test.key")).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.join(storage, "account.key")).st_mode) == 0o600
    assert not [f for f in os.listdir(storage) if f.endswith(".tmp")]
    with open(os.path.join(storage, "d.test.crt")) as f:
        assert f.read().count("BEGIN CERTIFICATE") >= 2  # leaf and intermediate
    log = p.error_log()
    assert "PRIVATE KEY" not in log


def test_renewal_within_renew_before(tmpdir_path, portico, pebble):
    http_port, tls_port = free_ports(2)
    peb = pebble(http_port, tls_port)
    storage = os.path.join(tmpdir_path, "acme")
    # HTTP-01 is answered before https_redirect.
    first = portico(config(storage, peb.directory, peb.cert, http_port, tls_port, ["e.test"],
                           redirect=True), port=http_port)
    obtained(first, ["e.test"])
    root = peb.root()
    old, _ = served(tls_port, "e.test", root=root)
    assert first.stop() == 0
    # Pebble's certificates live for years: a longer renew_before makes this one due now.
    second = portico(config(storage, peb.directory, peb.cert, http_port, tls_port, ["e.test"],
                            extra_acme="  renew_before: 100000d", redirect=True), port=http_port)
    wait_for_port(tls_port)
    assert wait_until(lambda: "within renew_before" in second.error_log(), timeout=15)
    obtained(second, ["e.test"])
    new, _ = served(tls_port, "e.test", root=root)
    assert new != old
    status, response = http_get(http_port, "/", "e.test")
    assert status == 308, response


def test_unreachable_directory_backs_off(tmpdir_path, portico):
    http_port, tls_port = free_ports(2)
    storage = os.path.join(tmpdir_path, "acme")
    dead = "https://127.0.0.1:%d/dir" % free_port()
    p = portico(config(storage, dead, "", http_port, tls_port, ["f.test"],
                       extra_acme="  retry: { min: 1s, max: 2s }").replace("  ca: \n", ""),
                port=http_port)
    wait_for_port(tls_port)
    needle = "acme: obtaining a certificate for f.test failed"
    assert wait_until(lambda: p.error_log().count(needle) >= 3, timeout=20), p.error_log()
    log = p.error_log()
    assert "Connection refused" in log
    assert "retrying in 1s" in log and "retrying in 2s" in log
    assert p.alive()
    der, body = served(tls_port, "f.test")
    assert "Portico ACME placeholder" in subject_of(der)
    assert body.endswith(b"secure")


def test_shutdown_aborts_a_request_in_flight(tmpdir_path, portico):
    """An ACME server that accepts and never answers must not hold up SIGTERM."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    http_port, tls_port = free_ports(2)
    storage = os.path.join(tmpdir_path, "acme")
    directory = "https://127.0.0.1:%d/dir" % silent.getsockname()[1]
    p = portico(config(storage, directory, "", http_port, tls_port, ["g.test"])
                .replace("  ca: \n", ""), port=http_port)
    silent.settimeout(10)
    conn, _ = silent.accept()  # the ACME thread is now waiting for the TLS handshake
    try:
        assert p.stop(timeout=5) == 0
        assert "failed" not in p.error_log()
    finally:
        conn.close()
        silent.close()


def check(tmpdir_path, text):
    path = os.path.join(tmpdir_path, "check.yaml")
    with open(path, "w") as f:
        f.write(text)
    bin_path = os.environ.get("PORTICO_BIN", os.path.join(os.path.dirname(__file__), "..", "..",
                                                          "build", "portico"))
    r = subprocess.run([bin_path, "--check", path], capture_output=True, text=True)
    return r.returncode, r.stdout + r.stderr


def test_config_errors(tmpdir_path):
    storage = os.path.join(tmpdir_path, "acme")
    good = config(storage, "https://127.0.0.1:1/dir", "", free_port(), free_port(),
                  ["h.test"]).replace("  ca: \n", "")
    code, out = check(tmpdir_path, good)
    assert code == 0, out
    # --check writes the placeholder too: the listener must be able to start.
    assert sorted(os.listdir(storage)) == ["h.test.crt", "h.test.key"]
    no_section = "\n".join(l for l in good.splitlines()
                           if not l.startswith(("acme:", "  directory", "  email", "  storage",
                                                "  challenge")))
    code, out = check(tmpdir_path, no_section)
    assert code == 1 and "need the top-level `acme:` section" in out, out
    code, out = check(tmpdir_path, good.replace("acme: [h.test]", "acme: ['*.h.test']"))
    assert code == 1 and "no wildcard" in out and "certificates[0].acme[0]" in out, out
    code, out = check(tmpdir_path, good.replace("challenge: http-01", "challenge: dns-01"))
    assert code == 1 and "acme.challenge" in out, out
    code, out = check(tmpdir_path, good.replace("https://127.0.0.1:1/dir", "http://ca.test/dir"))
    assert code == 1 and "acme.directory" in out and "https://" in out, out


def test_renewal_on_sighup_without_restart(tmpdir_path, portico, pebble):
    http_port, tls_port = free_ports(2)
    peb = pebble(http_port, tls_port)
    storage = os.path.join(tmpdir_path, "acme")
    p = portico(config(storage, peb.directory, peb.cert, http_port, tls_port, ["i.test"],
                       extra_acme="  renew_before: 100000d"), port=http_port)
    obtained(p, ["i.test"])
    assert "renew_before is longer than the lifetime" in p.error_log()
    root = peb.root()
    old, _ = served(tls_port, "i.test", root=root)
    p.proc.send_signal(signal.SIGHUP)  # checks now: the certificate is due
    obtained(p, ["i.test"], count=2)
    new, _ = served(tls_port, "i.test", root=root)
    assert new != old
