"""OCSP stapling against a real responder: `openssl ocsp -port` on loopback with a test CA.

Portico fetches each certificate's response on its main thread, verifies it and staples it;
`openssl s_client -status` shows what a client gets. A revoked certificate's response is
stapled too (and logged as an error); a configured file is stapled as-is, never fetched.
"""
import re
import signal
import subprocess

import pytest

from conftest import BIN, proxy_config
from ocsp_support import TestCa, s_client_status

SITE_SERIAL = 0x1001
REVOKED_SERIAL = 0x1002


def tls_listener(*certificates):
    """Listener lines (4-space indent) for a `tls:` block; each item is (chain, key, ocsp)."""
    lines = ["    tls:", "      certificates:"]
    for chain, key, ocsp in certificates:
        lines.append("        - cert: %s" % chain)
        lines.append("          key: %s" % key)
        if ocsp:
            lines.append("          ocsp: %s" % ocsp)
    return "\n".join(lines) + "\n"


@pytest.fixture
def ca(tmpdir_path):
    made = TestCa(tmpdir_path)
    yield made
    made.stop_responder()


def start(backends, portico, *certificates):
    """Portico with one TLS listener serving `certificates` ((chain, key, ocsp) each)."""
    [backend] = backends(1)
    return portico(proxy_config([backend], extra_listener=tls_listener(*certificates)))


def assert_stapled_good(p, ca):
    out = s_client_status(p.port, "site.test", ca.cert)
    assert "OCSP Response Status: successful" in out, out
    assert "Cert Status: good" in out, out
    return out


def wait_logged(p, needle):
    text = p.wait_for_log(needle, timeout=20)
    assert needle in text, "no %r in portico's log:\n%s" % (needle, text)
    return text


def test_staples_good_and_revoked_responses_from_the_responder(ca, backends, portico):
    site = ca.issue("site.test", SITE_SERIAL)
    revoked = ca.issue("revoked.test", REVOKED_SERIAL, revoked=True)
    ca.start_responder()
    p = start(backends, portico, site + ("",), revoked + ("",))
    log = wait_logged(p, "ocsp: stapled response for site.test: status good, next update")
    log = wait_logged(p, "revoked.test")
    assert re.search(r"\[?error\]?.*certificate for revoked.test .* is REVOKED \(reason: "
                     r"keyCompromise\); stapling that response", log, re.I), log

    good = assert_stapled_good(p, ca)
    assert "Verify return code: 0 (ok)" in good, good

    bad = s_client_status(p.port, "revoked.test", ca.cert)
    assert "OCSP Response Status: successful" in bad, bad
    assert "Cert Status: revoked" in bad, bad
    assert "Revocation Reason: keyCompromise" in bad, bad


def test_reload_keeps_the_staple_of_an_unchanged_certificate(ca, backends, portico):
    site = ca.issue("site.test", SITE_SERIAL)
    ca.start_responder()
    p = start(backends, portico, site + ("",))
    wait_logged(p, "ocsp: stapled response for site.test: status good")
    # With the responder gone, a staple after the reload can only be the one carried over.
    ca.stop_responder()
    p.proc.send_signal(signal.SIGHUP)
    wait_logged(p, "listener main: certificates reloaded (SIGHUP)")
    assert_stapled_good(p, ca)
    # One fetch for the leaf, shared by the old and the new context: no second fetch started.
    assert p.error_log().count("ocsp: stapled response for site.test") == 1
    assert "fetching the response" not in p.error_log()


def test_configured_file_is_stapled_as_is(ca, backends, portico, tmpdir_path):
    site = ca.issue("site.test", SITE_SERIAL)
    ca.start_responder()
    der = ca.path("site.ocsp.der")
    text = ca.fetch_response(site[0], der)
    this_update = re.search(r"This Update: (.+)", text).group(1).strip()
    # Nothing to fetch from any more: what is stapled can only come from the file.
    ca.stop_responder()
    p = start(backends, portico, site + ("{ file: %s }" % der,))
    wait_logged(p, "ocsp: stapling the response from a file for site.test")
    out = assert_stapled_good(p, ca)
    assert "This Update: %s" % this_update in out, out
    assert "fetching the response" not in p.error_log()


def test_unreachable_responder_is_a_warning_and_nothing_is_stapled(ca, backends, portico):
    site = ca.issue("site.test", SITE_SERIAL)  # the responder is never started
    p = start(backends, portico, site + ("",))
    log = wait_logged(p, "ocsp: fetching the response for site.test from %s failed" % ca.ocsp_url)
    assert "nothing stapled; retrying in 60 s" in log, log
    out = s_client_status(p.port, "site.test", ca.cert)
    assert "OCSP response: no response sent" in out, out
    assert "Verify return code: 0 (ok)" in out, out


def test_staple_false_never_fetches(ca, backends, portico):
    site = ca.issue("site.test", SITE_SERIAL)
    ca.start_responder()
    p = start(backends, portico, site + ("{ staple: false }",))
    out = s_client_status(p.port, "site.test", ca.cert)
    assert "OCSP response: no response sent" in out, out
    assert "ocsp:" not in p.error_log()


def check(tmpdir_path, config):
    path = "%s/check.yaml" % tmpdir_path
    with open(path, "w") as f:
        f.write(config.replace("{port}", "18443"))
    return subprocess.run([BIN, "--check", path], capture_output=True, text=True, timeout=20)


@pytest.mark.parametrize("ocsp, message", [
    ("{ responder: 'https://ocsp.example/' }",
     r"ocsp\.responder: responder URL \"https://ocsp.example/\" is not supported: only http://"),
    ("{ file: missing.der }", r"ocsp\.file: cannot read .*missing.der: No such file"),
    ("{ file: site.test.key }", r"ocsp\.file: .*site.test.key is not a DER OCSP response"),
    ("{ staple: maybe }", r"ocsp\.staple: "),
    ("{ stapel: true }", r"ocsp\.stapel: "),
    ("{ staple: false, responder: 'http://127.0.0.1:9/' }",
     r"ocsp\.responder: has no effect with staple: false"),
])
def test_config_errors_point_at_the_key(ca, tmpdir_path, ocsp, message):
    site = ca.issue("site.test", SITE_SERIAL)
    result = check(tmpdir_path, proxy_config(["127.0.0.1:9"],
                                             extra_listener=tls_listener(site + (ocsp,))))
    assert result.returncode == 1, result.stdout + result.stderr
    assert re.search(r"check\.yaml:9:\d+: listeners\[0\]\.tls\.certificates\[0\]\." + message,
                     result.stderr), result.stderr


def test_staple_true_without_a_responder_is_an_error(ca, tmpdir_path):
    site = ca.issue("site.test", SITE_SERIAL, ocsp_url="")
    result = check(tmpdir_path, proxy_config(["127.0.0.1:9"], extra_listener=tls_listener(
        site + ("{ staple: true }",))))
    assert result.returncode == 1, result.stdout + result.stderr
    assert re.search(r"check\.yaml:9:\d+: listeners\[0\]\.tls\.certificates\[0\]\.ocsp: "
                     r"certificate in .*site.test.chain.pem names no OCSP responder",
                     result.stderr), result.stderr
