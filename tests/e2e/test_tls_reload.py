"""Certificates reload without a restart and without dropping anything: on file change and on
SIGHUP; a bad new certificate is refused with a log line and the old one keeps serving."""
import os
import shutil
import signal
import socket
import ssl
import subprocess
import threading

from conftest import wait_until

CONFIG = """
workers: 2
error_log: { level: info }
listeners:
  - name: tls
    address: 127.0.0.1:{port}
    tls:
      certificates:
        - { cert: site.crt, key: site.key }
    virtual_hosts:
      - name: all
        domains: ["*"]
        routes:
          - direct_response: { status: 200, body: "hello" }
"""


def make_cert(directory, name):
    """A self-signed certificate for localhost with `name` as its subject; returns (crt, key)."""
    crt = os.path.join(directory, name + ".crt")
    key = os.path.join(directory, name + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", crt,
                    "-days", "2", "-subj", "/CN=" + name,
                    "-addext", "subjectAltName=DNS:localhost"],
                   check=True, capture_output=True)
    return crt, key


def install(directory, crt, key):
    """Puts a certificate in place the way tools do: write aside, then rename over."""
    for src, dst in ((crt, "site.crt"), (key, "site.key")):
        shutil.copy(src, os.path.join(directory, dst + ".new"))
        os.replace(os.path.join(directory, dst + ".new"), os.path.join(directory, dst))


def client_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def served_certificate(port):
    """The DER certificate a new connection gets."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with client_context().wrap_socket(raw, server_hostname="localhost") as s:
            return s.getpeercert(binary_form=True)


def der_of(crt):
    with open(crt) as f:
        return ssl.PEM_cert_to_DER_cert(f.read())


def get(tls_socket):
    tls_socket.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
    got = b""
    while not got.endswith(b"hello"):
        chunk = tls_socket.recv(4096)
        assert chunk, "connection closed after %r" % got
        got += chunk
    return got


def start(portico, tmpdir_path):
    one = make_cert(tmpdir_path, "one")
    two = make_cert(tmpdir_path, "two")
    install(tmpdir_path, *one)
    # Relative certificate paths are taken from the configuration file's folder (tmpdir).
    p = portico(CONFIG)
    assert served_certificate(p.port) == der_of(one[0])
    return p, one, two


def test_changed_files_are_served_to_new_connections_and_open_ones_keep_working(
        portico, tmpdir_path):
    p, one, two = start(portico, tmpdir_path)
    raw = socket.create_connection(("127.0.0.1", p.port), timeout=5)
    kept = client_context().wrap_socket(raw, server_hostname="localhost")
    assert get(kept).startswith(b"HTTP/1.1 200")
    install(tmpdir_path, *two)
    p.wait_for_log("listener tls: certificates reloaded (certificate files changed)")
    assert wait_until(lambda: served_certificate(p.port) == der_of(two[0]))
    # The connection opened before the reload is still served, on its old session.
    assert get(kept).startswith(b"HTTP/1.1 200")
    assert kept.getpeercert(binary_form=True) == der_of(one[0])
    kept.close()


def test_sighup_reloads(portico, tmpdir_path):
    p, one, two = start(portico, tmpdir_path)
    p.proc.send_signal(signal.SIGHUP)
    p.wait_for_log("listener tls: certificates reloaded (SIGHUP)")
    assert p.alive()
    assert served_certificate(p.port) == der_of(one[0])


def test_a_bad_certificate_is_refused_and_the_old_one_keeps_serving(portico, tmpdir_path):
    p, one, two = start(portico, tmpdir_path)
    # A key that does not belong to the certificate.
    install(tmpdir_path, two[0], one[1])
    log = p.wait_for_log("certificates not reloaded")
    assert "listener tls: certificates not reloaded (certificate files changed)" in log
    assert "still serving the previous ones" in log
    assert served_certificate(p.port) == der_of(one[0])
    # Once fixed, the next change is picked up.
    install(tmpdir_path, *two)
    p.wait_for_log("certificates reloaded (certificate files changed)")
    assert wait_until(lambda: served_certificate(p.port) == der_of(two[0]))


def test_no_request_fails_while_certificates_are_reloaded_under_load(portico, tmpdir_path):
    p, one, two = start(portico, tmpdir_path)
    counts = {"ok": 0, "failed": 0}
    errors = []
    stop = threading.Event()

    def load():
        ctx = client_context()
        while not stop.is_set():
            try:
                with socket.create_connection(("127.0.0.1", p.port), timeout=5) as raw:
                    with ctx.wrap_socket(raw, server_hostname="localhost") as s:
                        for _ in range(3):  # new connections and keep-alive requests
                            assert get(s).startswith(b"HTTP/1.1 200")
                counts["ok"] += 1
            except Exception as e:  # counted, and shown if any
                counts["failed"] += 1
                errors.append(repr(e))

    threads = [threading.Thread(target=load) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        for i in range(6):
            # Requests complete between every two reloads, so the load spans all of them.
            done = counts["ok"]
            assert wait_until(lambda: counts["ok"] >= done + 4)
            p.proc.send_signal(signal.SIGHUP)
            install(tmpdir_path, *(two if i % 2 == 0 else one))
            reloads = lambda: p.error_log().count("certificates reloaded")
            assert wait_until(lambda: reloads() >= i + 1)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert counts["failed"] == 0, errors[:5]
    assert counts["ok"] > 0
