"""TLS termination on a listener, as clients see it: curl, `openssl s_client` and Python's ssl
module against the real binary, with certificates from the session's test CA (tls_certs.py).

Covered: requests through to a backend, SNI certificate selection (exact, wildcard, default),
RSA and ECDSA certificates for one name, ALPN, protocol versions, session resumption across
workers (tickets and the session-ID cache), load-time certificate errors, close_notify, the
handshake timeout, hostile clients, parking of idle TLS connections, large bodies both ways,
and the shipped examples/tls.yaml and bench/portico.yaml (421 and HSTS: test_https_vhosts.py).
Times are only ever upper bounds; tests wait for what they check."""
import hashlib
import json
import os
import re
import socket
import ssl
import subprocess
import time

import pytest

from conftest import (BIN, ROOT, RawConn, TlsRawConn, client_context, connections_at,
                      connections_to, free_port, request_bytes, rss_once_stuck, tls_proxy_config,
                      tls_raw_request, wait_for_port, wait_until)
from tls_certs import inspect

DEBUG_LOG = "error_log: { level: debug }\n"


# ---- clients ------------------------------------------------------------------------------

def curl(*args, timeout=30):
    """Runs curl; returns the CompletedProcess (stdout as bytes)."""
    return subprocess.run(["curl", "-sS", "--max-time", str(timeout), *args],
                          capture_output=True, timeout=timeout + 10)


def curl_https(port, name, path, ca, *args):
    """curl https://NAME:PORT/PATH with NAME resolved to 127.0.0.1 (so SNI and the certificate
    check use NAME) and the test CA as the only trusted root."""
    return curl("--cacert", ca, "--resolve", "%s:%d:127.0.0.1" % (name, port),
                "https://%s:%d%s" % (name, port, path), *args)


def s_client(port, *args, request=b"", timeout=20):
    """`openssl s_client` to 127.0.0.1:PORT with extra arguments; `request` goes to stdin (the
    client ends when stdin does, unless -ign_eof is given). Returns (exit code, stdout+stderr)."""
    r = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, *args],
                       input=request, capture_output=True, timeout=timeout)
    return r.returncode, (r.stdout + r.stderr).decode("latin-1")


def served_certificate(output):
    """The server's certificate in s_client output, as tls_certs.inspect() describes it."""
    m = re.search(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----\n", output, re.S)
    assert m, output
    return inspect(m.group(0))


def certificate_for(port, ca, server_name=None, *args):
    """The certificate Portico presents for SNI `server_name` (None: the client sends none)."""
    sni = ["-servername", server_name] if server_name else ["-noservername"]
    code, out = s_client(port, "-CAfile", ca, "-verify_return_error", *sni, *args)
    assert code == 0, out
    return served_certificate(out)


def get(conn, path="/name", headers=()):
    conn.send(request_bytes("GET", path, headers=headers))
    return conn.read_response()


def first_session(port, context, path="/name", close_notify=False):
    """Makes a full handshake and one request with `context`; returns the session to resume
    (for TLS 1.3 the ticket arrives after the handshake, so it is read after the response).
    See end() for `close_notify`."""
    conn = TlsRawConn(port, context=context)
    try:
        assert get(conn, path).status == 200
        assert not conn.sock.session_reused
        return conn.sock.session
    finally:
        end(conn, close_notify)


def end(conn, close_notify):
    """Closes a client connection: with close_notify first (as curl does), or without, as
    Python's ssl does on close() and as browsers often do."""
    if close_notify:
        conn.sock.unwrap()
    conn.close()


def client_hello(server_name="localhost"):
    """The bytes of a real ClientHello (Python's ssl, over memory BIOs)."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = client_context().wrap_bio(incoming, outgoing, server_hostname=server_name)
    with pytest.raises(ssl.SSLWantReadError):
        obj.do_handshake()
    return outgoing.read()


def closed_within(sock, timeout):
    """Reads until the peer closes (EOF or reset); True if it did within `timeout` seconds."""
    sock.settimeout(timeout)
    try:
        while sock.recv(65536):
            pass
        return True
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


# ---- requests through TLS -----------------------------------------------------------------

def test_request_over_tls_reaches_the_backend(portico, backends, test_ca, server_cert):
    (b1,) = backends(1)
    p = portico(tls_proxy_config([b1], [server_cert]))
    r = curl_https(p.port, "localhost", "/echo", test_ca.cert, "-H", "X-Forwarded-Proto: http")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["method"] == "GET" and doc["path"] == "/echo"
    (rec,) = b1.requests()
    fields = [(k.lower(), v) for k, v in rec["headers"]]
    # The client's own claim is replaced: the connection to Portico was TLS.
    assert [v for k, v in fields if k == "x-forwarded-proto"] == ["https"]
    # The body the backend sent comes back as it was.
    r = curl_https(p.port, "localhost", "/name", test_ca.cert)
    assert r.returncode == 0 and r.stdout == b"b1", r.stderr
    # Python's ssl, by IP address (the certificate has 127.0.0.1 among its names).
    response = tls_raw_request(p.port, request_bytes("GET", "/name",
                                                     headers=[("Connection", "close")]),
                               server_name="127.0.0.1", cafile=test_ca.cert)
    assert response.startswith(b"HTTP/1.1 200") and response.endswith(b"\r\n\r\nb1")


# ---- SNI ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sni_certs(test_ca):
    """A default certificate (first in the list), one for a.test, one for *.b.test."""
    return (test_ca.issue("default.test", dns=["default.test"]),
            test_ca.issue("a.test", dns=["a.test"]),
            test_ca.issue("wildcard.b.test", dns=["*.b.test"]))


def test_sni_selects_the_certificate(portico, backends, test_ca, sni_certs):
    (b1,) = backends(1)
    p = portico(tls_proxy_config([b1], list(sni_certs)))
    expected = {
        "a.test": "a.test",
        "A.Test": "a.test",  # names are case-insensitive
        "x.b.test": "wildcard.b.test",
        "y.x.b.test": "default.test",  # a wildcard covers one label only
        "b.test": "default.test",  # ... and at least one
        "other.test": "default.test",
    }
    for name, cn in expected.items():
        cert = certificate_for(p.port, test_ca.cert, name)
        assert cert["cn"] == cn, (name, cert)
    # No SNI at all: the first certificate of the list.
    assert certificate_for(p.port, test_ca.cert, None)["san"] == ["DNS:default.test"]
    # Python's ssl without SNI sees the same, and the connection carries requests.
    ctx = client_context(test_ca.cert, check_hostname=False)
    conn = TlsRawConn(p.port, server_name=None, context=ctx)
    try:
        assert dict(x[0] for x in conn.sock.getpeercert()["subject"])["commonName"] == \
            "default.test"
        assert get(conn).body == b"b1"
    finally:
        conn.close()


def test_curl_verifies_each_name(portico, backends, test_ca, sni_certs):
    (b1,) = backends(1)
    p = portico(tls_proxy_config([b1], list(sni_certs)))
    for name in ("a.test", "x.b.test", "default.test"):
        r = curl_https(p.port, name, "/name", test_ca.cert)
        assert r.returncode == 0 and r.stdout == b"b1", (name, r.stderr)
    # Two labels below b.test: the default certificate comes back, and curl refuses it (60:
    # the peer's certificate does not match the name).
    r = curl_https(p.port, "y.x.b.test", "/name", test_ca.cert)
    assert r.returncode == 60, (r.returncode, r.stderr)
    assert len(b1.requests()) == 3


# ---- RSA and ECDSA for one name -----------------------------------------------------------

@pytest.mark.parametrize("order", [("ecdsa", "rsa"), ("rsa", "ecdsa")])
def test_rsa_and_ecdsa_certificates_for_one_name(portico, backends, test_ca, order):
    (b1,) = backends(1)
    leaves = {kind: test_ca.issue("a.test-%s" % kind, dns=["a.test"], key_type=kind)
              for kind in ("ecdsa", "rsa")}
    p = portico(tls_proxy_config([b1], [leaves[k] for k in order]))
    # The signature algorithms the client accepts decide, in TLS 1.3 and 1.2 alike.
    only_ecdsa = ["-sigalgs", "ecdsa_secp256r1_sha256"]
    only_rsa = ["-sigalgs", "rsa_pss_rsae_sha256:rsa_pkcs1_sha256"]
    for args, kind in ((only_ecdsa, "ecdsa"), (only_rsa, "rsa")):
        for version in ("-tls1_3", "-tls1_2"):
            cert = certificate_for(p.port, test_ca.cert, "a.test", version, *args)
            assert (cert["key_type"], cert["cn"]) == (kind, "a.test-" + kind), (version, args)
    # TLS 1.2 by cipher suite (Python's ssl): ECDHE-ECDSA gets the ECDSA certificate,
    # ECDHE-RSA the RSA one, and each carries requests.
    for cipher, kind in (("ECDHE-ECDSA-AES128-GCM-SHA256", "ecdsa"),
                         ("ECDHE-RSA-AES128-GCM-SHA256", "rsa")):
        ctx = client_context(test_ca.cert, max_version=ssl.TLSVersion.TLSv1_2, ciphers=cipher)
        conn = TlsRawConn(p.port, server_name="a.test", context=ctx)
        try:
            assert conn.sock.cipher()[0] == cipher
            subject = dict(x[0] for x in conn.sock.getpeercert()["subject"])
            assert subject["commonName"] == "a.test-" + kind
            assert get(conn).body == b"b1"
        finally:
            conn.close()


# ---- ALPN ---------------------------------------------------------------------------------

def test_alpn_prefers_h2_then_http11(portico, backends, test_ca, server_cert):
    (b1,) = backends(1)
    p = portico(tls_proxy_config([b1], [server_cert]))
    both = TlsRawConn(p.port, cafile=test_ca.cert, alpn=["http/1.1", "h2"])
    h1 = TlsRawConn(p.port, cafile=test_ca.cert, alpn=["http/1.1"])
    silent = TlsRawConn(p.port, cafile=test_ca.cert)
    try:
        # The server's preference (h2 first) wins over the client's order.
        assert both.sock.selected_alpn_protocol() == "h2"
        assert h1.sock.selected_alpn_protocol() == "http/1.1"
        assert silent.sock.selected_alpn_protocol() is None
        for conn in (h1, silent):
            r = get(conn, "/n")
            assert r.status == 200 and r.version == "HTTP/1.1"
    finally:
        both.close()
        h1.close()
        silent.close()
    r = curl_https(p.port, "localhost", "/name", test_ca.cert, "--http2", "-w",
                   " %{http_version}")
    assert r.returncode == 0 and r.stdout == b"b1 2", r.stderr


def test_alpn_http11_only_listener(portico, backends, test_ca, server_cert):
    (b1,) = backends(1)
    p = portico(tls_proxy_config([b1], [server_cert], tls={"alpn": ["http/1.1"]}))
    offered = TlsRawConn(p.port, cafile=test_ca.cert, alpn=["h2", "http/1.1"])
    silent = TlsRawConn(p.port, cafile=test_ca.cert)
    # A client offering only protocols the listener lacks gets no ALPN answer rather than a
    # failed handshake (RFC 7301 allows either; like nginx), and speaks HTTP/1.1.
    h2_only = TlsRawConn(p.port, cafile=test_ca.cert, alpn=["h2"])
    try:
        assert offered.sock.selected_alpn_protocol() == "http/1.1"
        assert silent.sock.selected_alpn_protocol() is None
        assert h2_only.sock.selected_alpn_protocol() is None
        for conn in (offered, silent, h2_only):
            for i in range(2):
                r = get(conn, "/n%d" % i)
                assert r.status == 200 and r.version == "HTTP/1.1"
    finally:
        offered.close()
        silent.close()
        h2_only.close()
    # curl offering HTTP/2 ends up speaking HTTP/1.1.
    r = curl_https(p.port, "localhost", "/name", test_ca.cert, "--http2", "-w",
                   " %{http_version}")
    assert r.returncode == 0 and r.stdout == b"b1 1.1", r.stderr
    code, out = s_client(p.port, "-CAfile", test_ca.cert, "-servername", "localhost", "-alpn",
                         "h2,http/1.1")
    assert code == 0 and "ALPN protocol: http/1.1" in out, out


# ---- versions -----------------------------------------------------------------------------

# Lets the client really offer TLS 1.0/1.1 (OpenSSL 3 refuses their SHA-1 signatures at the
# default security level): a refusal is then the server's.
OLD_CLIENT = ["-cipher", "DEFAULT@SECLEVEL=0"]


def python_handshake(port, ca, version):
    """Handshakes with only `version` enabled; returns the negotiated version or raises."""
    ctx = client_context(ca, min_version=version, max_version=version,
                         ciphers="DEFAULT@SECLEVEL=0")
    conn = TlsRawConn(port, context=ctx)
    try:
        assert get(conn).status == 200
        return conn.sock.version()
    finally:
        conn.close()


# The point is to use them: Python's warning about deprecated versions is expected.
@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1:DeprecationWarning")
def test_tls10_and_tls11_are_refused(portico, backends, test_ca, server_cert):
    (b1,) = backends(1)
    p = portico(tls_proxy_config([b1], [server_cert]))
    for flag in ("-tls1", "-tls1_1"):
        code, out = s_client(p.port, "-CAfile", test_ca.cert, flag, *OLD_CLIENT)
        assert code != 0, out
        # The server answers with a protocol_version alert: the client did offer it.
        assert "alert protocol version" in out, out
    for version in (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1):
        with pytest.raises(ssl.SSLError) as e:
            python_handshake(p.port, test_ca.cert, version)
        assert e.value.reason == "TLSV1_ALERT_PROTOCOL_VERSION", e.value
    ctx = client_context(test_ca.cert, max_version=ssl.TLSVersion.TLSv1_1,
                         ciphers="DEFAULT@SECLEVEL=0")
    with pytest.raises(ssl.SSLError):
        TlsRawConn(p.port, context=ctx)
    assert b1.requests() == []
    # TLS 1.2 and 1.3 are accepted.
    assert python_handshake(p.port, test_ca.cert, ssl.TLSVersion.TLSv1_2) == "TLSv1.2"
    assert python_handshake(p.port, test_ca.cert, ssl.TLSVersion.TLSv1_3) == "TLSv1.3"
    for flag, name in (("-tls1_2", "TLSv1.2"), ("-tls1_3", "TLSv1.3")):
        code, out = s_client(p.port, "-CAfile", test_ca.cert, "-verify_return_error", flag)
        # "New, <version>, Cipher is ..." comes right after the handshake (the session block
        # only once a TLS 1.3 ticket arrived, which may be after s_client's stdin ended).
        assert code == 0 and ("New, %s, Cipher is" % name) in out, out
    assert p.alive()


def test_min_version_tls13_refuses_tls12(portico, backends, test_ca, server_cert):
    (b1,) = backends(1)
    p = portico(tls_proxy_config([b1], [server_cert], tls={"min_version": "TLSv1.3"}))
    with pytest.raises(ssl.SSLError) as e:
        python_handshake(p.port, test_ca.cert, ssl.TLSVersion.TLSv1_2)
    assert e.value.reason == "TLSV1_ALERT_PROTOCOL_VERSION", e.value
    code, out = s_client(p.port, "-CAfile", test_ca.cert, "-tls1_2")
    assert code != 0 and "alert protocol version" in out, out
    assert python_handshake(p.port, test_ca.cert, ssl.TLSVersion.TLSv1_3) == "TLSv1.3"
    assert len(b1.requests()) == 1


# ---- session resumption -------------------------------------------------------------------

def resumptions(port, context, session, count=20, path="/name", close_notify=False):
    """Opens `count` new connections offering `session`, one request each; returns how many
    resumed it."""
    resumed = 0
    for i in range(count):
        conn = TlsRawConn(port, context=context, session=session)
        try:
            resumed += conn.sock.session_reused
            assert get(conn, path).status == 200
        finally:
            end(conn, close_notify)
    return resumed


def workers_hit(backend):
    """Upstream connections are pooled per worker and requests here are sequential, so each
    worker reuses one connection to the backend: distinct source ports seen by the backend
    tell how many workers served requests."""
    return len({rec["peer_port"] for rec in backend.requests()})


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_2],
                         ids=["tls13", "tls12"])
def test_session_tickets_resume_on_every_worker(portico, backends, test_ca, server_cert, version):
    (b1,) = backends(1)
    # Tickets only: the session-ID cache is off, so every resumption is by ticket.
    p = portico(tls_proxy_config([b1], [server_cert], workers=2,
                                 tls={"session_tickets": True, "session_cache": False}))
    ctx = client_context(test_ca.cert, min_version=version, max_version=version)
    session = first_session(p.port, ctx)
    assert session.has_ticket
    # SO_REUSEPORT spreads new connections over both workers by a hash of their addresses:
    # with 20 (plus the first), all on one worker has a probability of about 2 in a million.
    # The ticket key ring is shared, so each worker decrypts the ticket the other issued.
    assert resumptions(p.port, ctx, session, 20) == 20
    assert workers_hit(b1) >= 2, [r["peer_port"] for r in b1.requests()]


@pytest.mark.parametrize("close_notify", [True, False], ids=["close-notify", "no-close-notify"])
def test_session_id_cache_resumes_tls12_on_every_worker(portico, backends, test_ca, server_cert,
                                                        close_notify):
    """Whether or not clients send close_notify before closing: an HTTP client's data is
    delimited by HTTP framing, so a connection that ended without it was not cut short."""
    (b1,) = backends(1)
    p = portico(tls_proxy_config([b1], [server_cert], workers=2,
                                 tls={"session_tickets": False, "session_cache": True}))
    ctx = client_context(test_ca.cert, max_version=ssl.TLSVersion.TLSv1_2)
    ctx.options |= ssl.OP_NO_TICKET  # the client does not ask for a ticket either
    session = first_session(p.port, ctx, close_notify=close_notify)
    assert not session.has_ticket and session.id
    # The cache is shared by the workers (see the ticket test for the count of 20).
    assert resumptions(p.port, ctx, session, 20, close_notify=close_notify) == 20
    assert workers_hit(b1) >= 2, [r["peer_port"] for r in b1.requests()]


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_2],
                         ids=["tls13", "tls12"])
def test_no_resumption_without_tickets_and_cache(portico, backends, test_ca, server_cert,
                                                 version):
    (b1,) = backends(1)
    p = portico(tls_proxy_config([b1], [server_cert], workers=2,
                                 tls={"session_tickets": False, "session_cache": False}))
    ctx = client_context(test_ca.cert, min_version=version, max_version=version)
    session = first_session(p.port, ctx)
    assert resumptions(p.port, ctx, session, 6) == 0



# ---- configuration errors -----------------------------------------------------------------

ERROR_LINE = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+):(?P<col>\d+): (?P<key>[^:]+): (?P<msg>.+)$")
TLS_KEY = "listeners[0].tls."


def position_of(text, needle):
    """(line, column) as strings, 1-based, of the "|" in `needle` once `needle` (without the
    "|") is found in `text`: "cert: |/x.pem" is where the value of that cert key starts."""
    index = text.index(needle.replace("|", "")) + needle.index("|")
    line = text.count("\n", 0, index) + 1
    col = index - (text.rfind("\n", 0, index) + 1) + 1
    return str(line), str(col)


def config_error_case(name, ca, tmpdir):
    """(config text, key the error is reported at, where in the text it points (see
    position_of: at the value of that key), words the message must contain) for the case
    `name`."""
    good = ca.issue("localhost", dns=["localhost"], ips=["127.0.0.1"])
    missing = os.path.join(tmpdir, "missing.pem")
    not_pem = os.path.join(tmpdir, "not-pem.crt")
    with open(not_pem, "w") as f:
        f.write("this is not a certificate\n")

    def cfg(certs, **tls):
        return tls_proxy_config(["127.0.0.1:9"], certs, tls=tls)

    cert0 = TLS_KEY + "certificates[0]."
    if name == "key-does-not-match":
        other = ca.issue("other.test", dns=["other.test"])
        return cfg([(good.cert, other.key)]), cert0 + "key", "key: |" + other.key, ["match"]
    if name == "expired":
        expired = ca.issue("expired.test", dns=["expired.test"], valid=(-30, -1))
        return cfg([expired]), cert0 + "cert", "cert: |" + expired.cert, ["expired"]
    if name == "not-yet-valid":
        future = ca.issue("future.test", dns=["future.test"], valid=(2, 30))
        return (cfg([future]), cert0 + "cert", "cert: |" + future.cert,
                ["not", "yet", "valid"])
    if name == "second-certificate-expired":
        expired = ca.issue("expired.test", dns=["expired.test"], valid=(-30, -1))
        return (cfg([good, expired]), TLS_KEY + "certificates[1].cert",
                "cert: |" + expired.cert, ["expired"])
    # Unreadable: a path that does not exist (the tests run as root, which reads any mode).
    if name == "cert-unreadable":
        return cfg([(missing, good.key)]), cert0 + "cert", "cert: |" + missing, ["no such file"]
    if name == "key-unreadable":
        return cfg([(good.cert, missing)]), cert0 + "key", "key: |" + missing, ["no such file"]
    if name == "cert-not-pem":
        return cfg([(not_pem, good.key)]), cert0 + "cert", "cert: |" + not_pem, ["PEM"]
    if name == "min-version-tls11":
        return (cfg([good], min_version="TLSv1.1"), TLS_KEY + "min_version", "min_version: |TLSv1.1",
                ["TLSv1.2"])
    if name == "unknown-group":
        return (cfg([good], groups=["X25519", "bogus"]), TLS_KEY + "groups",
                "groups: |[X25519, bogus]", ["bogus"])
    if name == "ciphers-rejected":
        return cfg([good], ciphers="NOPE"), TLS_KEY + "ciphers", "ciphers: |NOPE", ["NOPE"]
    if name == "ciphersuites-unknown":
        return (cfg([good], ciphersuites="TLS_NOPE"), TLS_KEY + "ciphersuites",
                "ciphersuites: |TLS_NOPE", ["TLS_NOPE"])
    if name == "alpn-h3":
        return (cfg([good], alpn=["h2", "h3"]), TLS_KEY + "alpn[1]", "alpn: [h2, |h3]",
                ["h2", "http/1.1"])
    raise KeyError(name)


@pytest.mark.parametrize("name", [
    "key-does-not-match", "expired", "not-yet-valid", "second-certificate-expired",
    "cert-unreadable", "key-unreadable", "cert-not-pem", "min-version-tls11", "unknown-group",
    "ciphers-rejected", "ciphersuites-unknown", "alpn-h3"])
def test_tls_config_errors_at_load_time(tmpdir_path, test_ca, name):
    text, key, key_text, words = config_error_case(name, test_ca, tmpdir_path)
    port = free_port()
    text = text.replace("{port}", str(port))
    path = os.path.join(tmpdir_path, "%s.yaml" % name)
    with open(path, "w") as f:
        f.write(text)
    line, col = position_of(text, key_text)
    for mode in ("--check", "--config"):
        try:
            r = subprocess.run([BIN, mode, path], capture_output=True, text=True, timeout=10)
        except subprocess.TimeoutExpired:
            pytest.fail("portico %s accepted the config and kept running:\n%s" % (mode, text))
        assert r.returncode == 1, (mode, r.stdout, r.stderr)
        lines = [l for l in r.stderr.splitlines() if l.strip()]
        errors = [ERROR_LINE.match(l) for l in lines]
        assert errors and all(errors), (mode, lines)
        # One error, at the value of the key that names the culprit (as for every value
        # error; for a list, at the element).
        (m,) = errors
        assert m["file"] == path
        assert m["key"] == key, (key, lines)
        assert (m["line"], m["col"]) == (line, col), lines
        for word in words:
            assert word.lower() in m["msg"].lower(), (word, lines)


# ---- close_notify -------------------------------------------------------------------------

def test_connection_close_ends_with_close_notify(portico, backends, test_ca, server_cert):
    (b1,) = backends(1)
    p = portico(tls_proxy_config([b1], [server_cert]))
    # Python's ssl: with ragged EOFs not suppressed, a TCP close without close_notify raises
    # SSLEOFError; a close_notify makes the read return b"".
    conn = TlsRawConn(p.port, cafile=test_ca.cert, suppress_ragged_eofs=False)
    try:
        r = get(conn, headers=[("Connection", "close")])
        assert r.status == 200 and r.body == b"b1"
        assert r.header("Connection", "").lower() == "close"
        assert conn.sock.recv(65536) == b""
    finally:
        conn.close()
    # s_client (-state shows alerts as they are read); -ign_eof keeps it reading after stdin.
    code, out = s_client(p.port, "-CAfile", test_ca.cert, "-servername", "localhost",
                         "-ign_eof", "-state",
                         request=request_bytes("GET", "/name", host="localhost",
                                               headers=[("Connection", "close")]))
    assert "\r\n\r\nb1" in out, out
    assert "SSL3 alert read:warning:close notify" in out, out


# ---- handshake timeout and hostile clients ------------------------------------------------

def test_handshake_timeout_closes_silent_and_stalled_clients(portico, backends, test_ca,
                                                             server_cert):
    (b1,) = backends(1)
    # defer_accept off: a client that sends nothing is Portico's from its TCP handshake on
    # (otherwise the kernel would hold it until bytes arrive).
    p = portico(tls_proxy_config(
        [b1], [server_cert], tls={"handshake_timeout": "300ms"},
        extra_listener="    socket: { defer_accept: false }\n"
                       "    timeouts: { header_read: 20s }\n"))
    silent = RawConn(p.port)
    hello = client_hello()
    half = RawConn(p.port)
    half.send(hello[:len(hello) // 2])
    # A client that finished its handshake is not subject to the handshake timeout.
    done = TlsRawConn(p.port, cafile=test_ca.cert)
    start = time.time()
    try:
        # Meanwhile, others are served.
        assert get(done).body == b"b1"
        assert closed_within(silent.sock, 10) and closed_within(half.sock, 10)
        assert time.time() - start < 10
        # Both are past their deadline now; the completed connection still works.
        assert get(done, "/after").status == 200
    finally:
        for c in (silent, half, done):
            c.close()
    log = p.wait_for_log("TLS handshake not done within 300 ms")
    assert log.count("TLS handshake not done within 300 ms") == 2, log
    assert re.search(r"closing connection from 127\.0\.0\.1:\d+: TLS handshake not done", log)
    assert curl_https(p.port, "localhost", "/name", test_ca.cert).stdout == b"b1"
    assert [r["path"] for r in b1.requests()] == ["/name", "/after", "/name"]


@pytest.mark.parametrize("data", [
    request_bytes("GET", "/name"),  # plain HTTP on the TLS port
    b"\x16\x03\x01\x00\x20" + b"\xff" * 32,  # a handshake record holding garbage
    b"\x16\x03\x01\xff\xff" + b"A" * 4096,  # a record longer than the protocol allows
    b"\x17\x03\x03\x00\x10" + b"\x01" * 16,  # application data before any handshake
    b"\x00" * 2048,
], ids=["plain-http", "garbage-handshake", "oversized-record", "data-first", "zeros"])
def test_garbage_instead_of_client_hello_is_closed(portico, backends, test_ca, server_cert,
                                                   data):
    (b1,) = backends(1)
    p = portico(tls_proxy_config([b1], [server_cert]))
    conn = RawConn(p.port)
    try:
        conn.send(data)
        assert conn.closed_by_peer(timeout=5)
        # Nothing an HTTP client could take for an answer (a TLS alert record at most).
        assert not conn.buf.startswith(b"HTTP/"), conn.buf[:100]
        assert len(conn.buf) < 64
    finally:
        conn.close()
    assert b1.requests() == []
    assert p.alive()
    assert curl_https(p.port, "localhost", "/name", test_ca.cert).stdout == b"b1"


SIZE = 50 * 1024 * 1024
MAX_GROWTH_KB = 8 * 1024  # as in test_backpressure.py


def test_client_that_stops_reading_does_not_grow_memory(portico, backends, test_ca,
                                                        server_cert):
    (b1,) = backends(1)
    p = portico(tls_proxy_config([b1], [server_cert]))
    # Warm up: the TLS code paths and buffers once, both ways.
    warm = TlsRawConn(p.port, cafile=test_ca.cert)
    try:
        assert len(get(warm, "/bytes/2000000").body) == 2000000
        warm.send(request_bytes("POST", "/sha256", body=b"w" * 2000000))
        assert warm.read_response().status == 200
    finally:
        warm.close()
    baseline = p.rss_kb()
    conn = TlsRawConn(p.port, cafile=test_ca.cert, rcvbuf=64 * 1024, timeout=60)
    try:
        conn.send(request_bytes("GET", "/bytes/%d" % SIZE))
        # Read nothing: the backend keeps sending, Portico must stop reading it.
        peak = rss_once_stuck(p, lambda: connections_to(b1.port), lambda: connections_at(p.port))
        r = conn.read_response()
    finally:
        conn.close()
    assert r.status == 200 and len(r.body) == SIZE and r.body == b"x" * SIZE
    assert peak - baseline < MAX_GROWTH_KB, (baseline, peak)


# ---- parking ------------------------------------------------------------------------------

def test_idle_tls_connection_is_parked_and_stays_usable(portico, backends, test_ca,
                                                        server_cert):
    (b1,) = backends(1)
    p = portico(tls_proxy_config(
        [b1], [server_cert], top=DEBUG_LOG,
        extra_listener="    timeouts: { keepalive_release: 50ms, keepalive_idle: 60s }\n"))
    conn = TlsRawConn(p.port, cafile=test_ca.cert)
    try:
        for i in range(1, 4):
            r = get(conn, "/n%d" % i)
            assert r.status == 200 and r.body == b"ok b1 /n%d" % i
            assert r.header("Connection", "").lower() != "close"
            # Wait for the state, not for the time: the connection has been parked.
            assert wait_until(lambda: p.error_log().count("parked idle keep-alive connection")
                              >= i, timeout=10), p.error_log()
        # Pipelined requests on the resumed connection come back in order.
        conn.send(request_bytes("GET", "/p1") + request_bytes("GET", "/p2"))
        assert conn.read_response().body == b"ok b1 /p1"
        assert conn.read_response().body == b"ok b1 /p2"
    finally:
        conn.close()
    assert p.error_log().count("resumed parked connection") >= 3


# ---- large bodies -------------------------------------------------------------------------

def test_large_response_arrives_intact(portico, backends, test_ca, server_cert, tmpdir_path):
    (b1,) = backends(1)
    p = portico(tls_proxy_config([b1], [server_cert]))
    size = 8 * 1024 * 1024
    out = os.path.join(tmpdir_path, "download")
    r = curl_https(p.port, "localhost", "/random/%d" % size, test_ca.cert, "-o", out, "-D", "-")
    assert r.returncode == 0, r.stderr
    digest = re.search(rb"(?im)^x-sha256: *([0-9a-f]+)", r.stdout).group(1).decode()
    with open(out, "rb") as f:
        data = f.read()
    assert len(data) == size and hashlib.sha256(data).hexdigest() == digest
    # Chunked, over Python's ssl, twice on one connection.
    conn = TlsRawConn(p.port, cafile=test_ca.cert, timeout=30)
    try:
        for _ in range(2):
            r = get(conn, "/bigchunked/%d" % size)
            assert r.status == 200 and len(r.body) == size
    finally:
        conn.close()


def test_large_request_body_arrives_intact(portico, backends, test_ca, server_cert,
                                           tmpdir_path):
    (b1,) = backends(1)
    p = portico(tls_proxy_config([b1], [server_cert]))
    body = os.urandom(8 * 1024 * 1024)
    expected = {"length": len(body), "sha256": hashlib.sha256(body).hexdigest()}
    conn = TlsRawConn(p.port, cafile=test_ca.cert, timeout=30)
    try:
        conn.send(request_bytes("POST", "/sha256", body=body))
        r = conn.read_response()
        assert r.status == 200 and json.loads(r.body) == expected
    finally:
        conn.close()
    # curl, chunked.
    path = os.path.join(tmpdir_path, "upload")
    with open(path, "wb") as f:
        f.write(body)
    r = curl_https(p.port, "localhost", "/sha256", test_ca.cert, "-H",
                   "Transfer-Encoding: chunked", "--data-binary", "@" + path)
    assert r.returncode == 0 and json.loads(r.stdout) == expected, r.stderr
    assert [(rec["body_len"], rec["body_sha256"]) for rec in b1.requests()] == \
        [(len(body), expected["sha256"])] * 2


# ---- the shipped configurations -----------------------------------------------------------

def test_tls_example_runs(portico):
    """examples/tls.yaml as shipped, on free ports and with its certificate paths made
    absolute (the copy is elsewhere): SNI for both names with the committed test CA, mTLS on
    one of them, TLS to its backend, the redirect from plain HTTP."""
    with open(os.path.join(ROOT, "examples", "tls.yaml")) as f:
        text = f.read()
    https, backend = free_port(), free_port()
    text = (text.replace("127.0.0.1:8443", "127.0.0.1:%d" % https)
            .replace("port: 8443", "port: %d" % https)
            .replace("127.0.0.1:8080", "127.0.0.1:{port}")
            .replace("127.0.0.1:8081", "127.0.0.1:%d" % backend)
            .replace(": tls/", ": " + os.path.join(ROOT, "examples", "tls") + "/"))
    p = portico(text)
    wait_for_port(https, proc=p.proc)
    wait_for_port(backend, proc=p.proc)
    ca = os.path.join(ROOT, "examples", "tls", "ca.crt")
    r = curl_https(https, "localhost", "/", ca)
    assert r.returncode == 0 and r.stdout == b"www over TLS\n", r.stderr
    # api.example.test asks for a client certificate (mTLS), and its backend is reached over
    # TLS with Portico's own client certificate.
    tls_dir = os.path.join(ROOT, "examples", "tls")
    r = curl_https(https, "api.example.test", "/status", ca,
                   "--cert", os.path.join(tls_dir, "client.crt"),
                   "--key", os.path.join(tls_dir, "client.key"))
    assert r.returncode == 0 and r.stdout == b"api backend\n", r.stderr
    r = curl_https(https, "api.example.test", "/status", ca)
    assert r.returncode != 0 and b"certificate required" in r.stderr, r.stderr
    assert certificate_for(https, ca, "api.example.test",
                           "-cert", os.path.join(tls_dir, "client.crt"),
                           "-key", os.path.join(tls_dir, "client.key"))["san"] == [
                               "DNS:api.example.test"]
    # No SNI: the first certificate, the ECDSA one for www; an RSA-only client gets its twin.
    assert certificate_for(https, ca, None)["key_type"] == "ecdsa"
    rsa = certificate_for(https, ca, "www.example.test", "-sigalgs", "rsa_pss_rsae_sha256")
    assert rsa["key_type"] == "rsa" and "DNS:www.example.test" in rsa["san"]
    r = curl("-i", "http://127.0.0.1:%d/x" % p.port)
    assert r.stdout.startswith(b"HTTP/1.1 301"), r.stdout
    assert b"\r\nlocation: https://127.0.0.1:%d/x\r\n" % https in r.stdout.lower(), r.stdout


def test_bench_config_serves_tls(portico, backends, test_ca):
    """bench/portico.yaml rendered as the harness renders it (an RSA-2048 certificate for
    localhost and 127.0.0.1): both listeners proxy to the origin."""
    (b1,) = backends(1)
    cert = test_ca.issue("localhost", dns=["localhost"], ips=["127.0.0.1"], key_type="rsa")
    with open(os.path.join(ROOT, "bench", "portico.yaml")) as f:
        text = f.read()
    tls_port = free_port()
    text = (text.replace("{tls_port}", str(tls_port)).replace("{origin}", b1.address)
            .replace("{cert}", cert.cert).replace("{key}", cert.key))
    p = portico(text)
    wait_for_port(tls_port, proc=p.proc)
    r = curl("http://127.0.0.1:%d/bytes/1024" % p.port)
    assert r.returncode == 0 and r.stdout == b"x" * 1024, r.stderr
    # The harness offers h2 and http/1.1; Portico answers over HTTP/2 (ALPN's default).
    r = curl("--cacert", test_ca.cert, "--http2", "-w", "%{http_version}",
             "https://127.0.0.1:%d/bytes/1024" % tls_port)
    assert r.returncode == 0 and r.stdout == b"x" * 1024 + b"2", r.stderr
