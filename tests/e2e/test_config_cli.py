"""The command line: --check (exit 0/1, FILE:LINE:COL: key: message), --config, --version,
--help; unknown keys are errors."""
import os
import re
import subprocess

import pytest

from conftest import BIN, ROOT, free_port, proxy_config

ERROR_LINE = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+):(?P<col>\d+): (?P<key>[^:]+): (?P<msg>.+)$")


def run(*args, timeout=20):
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=timeout)


def write(tmpdir, name, text):
    path = os.path.join(tmpdir, name)
    with open(path, "w") as f:
        f.write(text)
    return path


VALID = proxy_config(["127.0.0.1:9"]).replace("{port}", "18080")

INVALID = """workers: 1
wrkers: 2
listeners:
  - name: main
    adress: 127.0.0.1:8080
    address: 127.0.0.1:8080
    virtual_hosts:
      - name: all
        domains: ['*']
        routes:
          - match: { prefix: /, colour: blue }
            proxy: { cluster: nope }
clusters:
  - name: app
    lb: fastest
    endpoints:
      - address: 127.0.0.1:1
        weight: 0
"""


def errors_of(stderr):
    lines = [l for l in stderr.splitlines() if l.strip()]
    parsed = [ERROR_LINE.match(l) for l in lines]
    assert all(parsed), lines
    return parsed


def test_check_valid_config(tmpdir_path):
    path = write(tmpdir_path, "ok.yaml", VALID)
    r = run("--check", path)
    assert r.returncode == 0, r.stderr
    assert "valid" in r.stdout
    assert r.stderr == ""


def test_check_quickstart_example():
    r = run("--check", os.path.join(ROOT, "examples", "quickstart.yaml"))
    assert r.returncode == 0, r.stderr


def test_check_tls_example(tmpdir_path):
    # Its certificate paths are relative to its own folder, whatever the working directory.
    r = subprocess.run([BIN, "--check", os.path.join(ROOT, "examples", "tls.yaml")],
                       cwd=tmpdir_path, capture_output=True, text=True, timeout=20)
    assert r.returncode == 0, r.stdout + r.stderr


def test_check_http2_example(tmpdir_path):
    # h2 and h2c listeners, a gRPC route to an h2c cluster, a WebSocket route; its
    # certificate paths are relative to its own folder, whatever the working directory.
    r = subprocess.run([BIN, "--check", os.path.join(ROOT, "examples", "http2.yaml")],
                       cwd=tmpdir_path, capture_output=True, text=True, timeout=20)
    assert r.returncode == 0, r.stdout + r.stderr


def test_check_load_balancing_example(tmpdir_path):
    # Health checks, outlier detection, retries, circuit breakers, a consistent-hash route,
    # priorities: every part of docs/load-balancing.md in one file a user can run.
    r = subprocess.run([BIN, "--check", os.path.join(ROOT, "examples", "load-balancing.yaml")],
                       cwd=tmpdir_path, capture_output=True, text=True, timeout=20)
    assert r.returncode == 0, r.stdout + r.stderr


def test_check_the_complete_example_of_the_configuration_reference(tmpdir_path):
    # docs/configuration.md promises its "Complete example" uses every key and loads as is:
    # keep that true. Only the static root (which must exist) points into a temp folder.
    with open(os.path.join(ROOT, "docs", "configuration.md")) as f:
        doc = f.read()
    section = doc.split("## Complete example", 1)[1]
    yaml_text = re.search(r"```yaml\n(.*?)```", section, re.S).group(1)
    site = os.path.join(tmpdir_path, "site")
    os.makedirs(site)
    assert "/var/www/site" in yaml_text
    path = os.path.join(tmpdir_path, "complete.yaml")
    with open(path, "w") as f:
        f.write(yaml_text.replace("/var/www/site", site))
    r = run("--check", path)
    assert r.returncode == 0, r.stdout + r.stderr


def test_check_invalid_config_reports_every_error_with_position(tmpdir_path):
    path = write(tmpdir_path, "bad.yaml", INVALID)
    r = run("--check", path)
    assert r.returncode == 1
    errors = errors_of(r.stderr)
    by_key = {m["key"]: m for m in errors}
    assert all(m["file"] == path for m in errors)
    # Unknown keys at every level, each pointing at the key itself.
    assert (by_key["wrkers"]["line"], by_key["wrkers"]["col"]) == ("2", "1")
    assert "unknown key" in by_key["wrkers"]["msg"] and "workers" in by_key["wrkers"]["msg"]
    assert by_key["listeners[0].adress"]["line"] == "5"
    assert "unknown key" in by_key["listeners[0].adress"]["msg"]
    route_key = "listeners[0].virtual_hosts[0].routes[0].match.colour"
    assert route_key in by_key and by_key[route_key]["line"] == "11"
    # Wrong values say what was expected.
    assert "round_robin" in by_key["clusters[0].lb"]["msg"]
    assert by_key["clusters[0].lb"]["line"] == "15"
    assert "1 and 1000" in by_key["clusters[0].endpoints[0].weight"]["msg"]
    assert "nope" in by_key["listeners[0].virtual_hosts[0].routes[0].proxy.cluster"]["msg"]
    assert len(errors) == 6
    assert r.stdout == ""


@pytest.mark.parametrize("text,key", [
    ("listeners: []\nbogus: 1\n", "bogus"),
    (VALID.replace("    address:", "    limits: { max_body: 1k, max_bodies: 2 }\n    address:"),
     "listeners[0].limits.max_bodies"),
    (VALID.replace("    address:", "    timeouts: { header_read: 1s, header_reed: 2s }\n"
                                   "    address:"), "listeners[0].timeouts.header_reed"),
    (VALID.replace("    address:", "    forwarding: { x_forwarded_four: append }\n    address:"),
     "listeners[0].forwarding.x_forwarded_four"),
    (VALID.replace("  - name: app\n", "  - name: app\n    retries: 3\n"), "clusters[0].retries"),
    (VALID.replace("      - address: 127.0.0.1:9", "      - address: 127.0.0.1:9\n        wieght: 2"),
     "clusters[0].endpoints[0].wieght"),
])
def test_unknown_keys_are_errors(tmpdir_path, text, key):
    path = write(tmpdir_path, "unknown.yaml", text)
    r = run("--check", path)
    assert r.returncode == 1
    errors = errors_of(r.stderr)
    assert any(m["key"] == key and "unknown key" in m["msg"] for m in errors), r.stderr


def test_yaml_syntax_error_has_a_position(tmpdir_path):
    path = write(tmpdir_path, "syntax.yaml", "listeners:\n  - name: [unclosed\n")
    r = run("--check", path)
    assert r.returncode == 1
    (m,) = errors_of(r.stderr)
    assert "YAML" in m["msg"]
    assert int(m["line"]) >= 2


def test_check_missing_file(tmpdir_path):
    path = os.path.join(tmpdir_path, "does-not-exist.yaml")
    r = run("--check", path)
    assert r.returncode == 1
    (m,) = errors_of(r.stderr)
    assert m["file"] == path and "cannot read" in m["msg"]


def test_config_refuses_to_start_with_an_invalid_file(tmpdir_path):
    port = free_port()
    path = write(tmpdir_path, "bad.yaml", INVALID.replace("8080", str(port)))
    r = run("--config", path)
    assert r.returncode == 1
    assert len(errors_of(r.stderr)) == 6


def test_version():
    r = run("--version")
    assert r.returncode == 0
    assert re.match(r"^portico \d+\.\d+\.\d+\S*\n$", r.stdout), r.stdout


def test_help():
    r = run("--help")
    assert r.returncode == 0
    for word in ("--config", "--check", "--version", "--help", "SIGTERM"):
        assert word in r.stdout


def test_no_arguments_prints_usage_and_fails():
    r = run()
    assert r.returncode == 2
    assert "Usage" in r.stderr
    r = run("--frobnicate")
    assert r.returncode == 2
