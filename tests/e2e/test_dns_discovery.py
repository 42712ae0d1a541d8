"""DNS discovery against a real DNS server: dnsmasq on a loopback port, its records changed
while a client sends steady requests through Portico. A records move traffic to a new address
within the TTL, SRV records bring ports, targets, weights and priorities, a dead DNS server
leaves the last good endpoints serving, and bad names are refused by --check.

Backends share one port on different loopback addresses (127.0.0.2, 127.0.0.3): what an A
record change looks like. dnsmasq answers with TTL 1 s (--local-ttl), and Portico's min_ttl is
1 s, so Portico asks again every second."""

import collections
import os
import shutil
import signal
import socket
import struct
import subprocess
import threading
import time

import httpx
import pytest

from conftest import BIN, Backend, free_port, wait_until

DNSMASQ = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"
pytestmark = pytest.mark.skipif(not os.path.exists(DNSMASQ),
                                reason="dnsmasq is not installed (scripts/setup.sh)")


def dns_query(port, name, qtype=1, timeout=0.2):
    """One UDP query to 127.0.0.1:port; the response's rcode, or None without an answer."""
    question = b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0"
    message = struct.pack(">HHHHHH", 0x5eed, 0x0100, 1, 0, 0, 0) + question + struct.pack(
        ">HH", qtype, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        try:
            s.sendto(message, ("127.0.0.1", port))
            reply = s.recv(4096)
        except OSError:
            return None
    return reply[3] & 0x0F


class Dnsmasq:
    """A real DNS server for the `.test` domain on a loopback port: names from a hosts file
    (reread on SIGHUP) and SRV/host records from its command line (changed by a restart on
    the same port). Every answer has TTL 1 s."""

    def __init__(self, tmpdir):
        self.port = free_port()
        self.hosts_path = os.path.join(tmpdir, "dns-hosts")
        self.log_path = os.path.join(tmpdir, "dnsmasq.log")
        self.proc = None
        self.records = []

    def start(self, hosts=None, records=None):
        if hosts is not None:
            self.write_hosts(hosts)
        if records is not None:
            self.records = list(records)
        args = [DNSMASQ, "--no-daemon", "--conf-file=/dev/null", "--port=%d" % self.port,
                "--listen-address=127.0.0.1", "--bind-interfaces", "--no-resolv", "--no-hosts",
                "--addn-hosts=" + self.hosts_path, "--local=/test/", "--local-ttl=1",
                "--pid-file=", "--user=" + (os.environ.get("USER") or "root"),
                "--log-facility=-", *self.records]
        self.log = open(self.log_path, "a")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=self.log)
        assert wait_until(lambda: self.proc.poll() is not None or
                          dns_query(self.port, "ready.test") is not None, timeout=10), \
            "dnsmasq did not answer"
        assert self.proc.poll() is None, open(self.log_path).read()
        return self

    def write_hosts(self, text):
        with open(self.hosts_path, "w") as f:
            f.write(text)

    def set_hosts(self, text):
        """New A records, reread at once (SIGHUP also empties dnsmasq's cache)."""
        self.write_hosts(text)
        self.proc.send_signal(signal.SIGHUP)

    def restart(self, records):
        self.stop()
        return self.start(records=records)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait()
            self.log.close()


@pytest.fixture
def dns(tmpdir_path):
    server = Dnsmasq(tmpdir_path)
    yield server
    server.stop()


@pytest.fixture
def started(tmpdir_path):
    """started(name, host=..., port=...) starts a backend; all are stopped afterwards."""
    backends = []

    def make(name, host="127.0.0.1", port=None):
        backends.append(Backend(tmpdir_path, name, host=host, port=port))
        return backends[-1]

    yield make
    for b in backends:
        b.stop()


def dns_config(dns_port, endpoints, extra_cluster="", top=""):
    return ("workers: 2\n%s"
            "listeners:\n"
            "  - name: main\n"
            "    address: 127.0.0.1:{port}\n"
            "    virtual_hosts:\n"
            "      - name: all\n"
            "        domains: ['*']\n"
            "        routes:\n"
            "          - match: { prefix: / }\n"
            "            proxy: { cluster: app }\n"
            "clusters:\n"
            "  - name: app\n"
            "    endpoints:\n"
            "%s\n"
            "    dns:\n"
            "      resolvers: [127.0.0.1:%d]\n"
            "      min_ttl: 1s\n"
            "      timeout: 500ms\n"
            "%s") % (top, endpoints, dns_port, extra_cluster)


class SteadyClient:
    """A keep-alive client sending GET /name one after another on its own thread, counting
    which backend answered and every request that did not get a 200."""

    def __init__(self, port):
        self.port = port
        self.counts = collections.Counter()
        self.failures = []
        self.total = 0
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.run)

    def run(self):
        with httpx.Client(base_url="http://127.0.0.1:%d" % self.port, timeout=10) as c:
            while not self.done.is_set():
                try:
                    r = c.get("/name")
                    ok, what = r.status_code == 200, (r.status_code, r.text)
                except httpx.HTTPError as e:
                    ok, what = False, repr(e)
                with self.lock:
                    self.total += 1
                    if ok:
                        self.counts[r.text] += 1
                    else:
                        self.failures.append(what)

    def count(self, name):
        with self.lock:
            return self.counts[name]

    def wait_for(self, predicate, timeout=10.0):
        return wait_until(lambda: predicate(self), timeout=timeout)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.done.set()
        self.thread.join()


def test_a_record_change_moves_traffic_within_the_ttl_without_failures(dns, started, portico):
    port = free_port()
    old = started("old", host="127.0.0.2", port=port)
    new = started("new", host="127.0.0.3", port=port)
    dns.start(hosts="127.0.0.2 backend.test\n")
    p = portico(dns_config(dns.port, "      - { dns: backend.test, port: %d, family: v4 }" % port))
    assert "-> 127.0.0.2:%d" % port in p.wait_for_log("-> 127.0.0.2:%d" % port)
    with SteadyClient(p.port) as client:
        assert client.wait_for(lambda c: c.count("old") >= 20), p.error_log()
        changed_at = time.time()
        dns.set_hosts("127.0.0.3 backend.test\n")
        assert client.wait_for(lambda c: c.count("new") > 0, timeout=10), p.error_log()
        moved_after = time.time() - changed_at
        log = p.wait_for_log("dns backend.test:%d -> 127.0.0.3:%d" % (port, port))
        assert "dns backend.test:%d -> 127.0.0.3:%d" % (port, port) in log
        old_then = client.count("old")
        new_then = client.count("new")
        assert client.wait_for(lambda c: c.count("new") >= new_then + 50), p.error_log()
        # A request already on its way to a worker that had not swapped sets yet, at most.
        assert client.count("old") - old_then <= 1
    # TTL 1 s (next lookup within 1 s of the change) plus margin for a loaded machine.
    assert moved_after < 4.0, moved_after
    assert client.failures == [], client.failures
    assert client.total >= 100
    assert len(old.requests()) == client.counts["old"]
    assert len(new.requests()) == client.counts["new"]


def srv_records(entries, hosts):
    """dnsmasq arguments: SRV records of _http._tcp.svc.test as (target, port, priority,
    weight), and the targets' A records as (name, ip)."""
    return (["--srv-host=_http._tcp.svc.test,%s,%d,%d,%d" % e for e in entries] +
            ["--host-record=%s,%s" % h for h in hosts])


def test_srv_records_give_ports_targets_weights_and_priorities(dns, started, portico):
    heavy, light, backup = started("heavy"), started("light"), started("backup")
    dns.start(hosts="", records=srv_records(
        [("t1.svc.test", heavy.port, 10, 3), ("t2.svc.test", light.port, 10, 1),
         ("t9.svc.test", backup.port, 20, 1)],
        [("t1.svc.test", "127.0.0.1"), ("t2.svc.test", "127.0.0.1"),
         ("t9.svc.test", "127.0.0.1")]))
    p = portico(dns_config(dns.port, "      - { srv: _http._tcp.svc.test }",
                           extra_cluster="    lb: weighted_round_robin\n"))
    assert "srv _http._tcp.svc.test ->" in p.wait_for_log("srv _http._tcp.svc.test ->")
    counts = collections.Counter()
    with httpx.Client(base_url=p.url(), timeout=10) as c:
        for _ in range(400):
            r = c.get("/name")
            assert r.status_code == 200, r.text
            counts[r.text] += 1
    # Weights 3:1 within the first priority; the second priority (a backup) gets nothing.
    assert counts["backup"] == 0, counts
    assert 0.65 <= counts["heavy"] / 400 <= 0.85, counts
    assert counts["heavy"] + counts["light"] == 400

    # Change the port of t1 (a new backend there) and the target of the other record (t3).
    moved, target = started("moved"), started("target", host="127.0.0.3")
    with SteadyClient(p.port) as client:
        assert client.wait_for(lambda c: c.count("heavy") >= 10)
        dns.restart(srv_records(
            [("t1.svc.test", moved.port, 10, 1), ("t3.svc.test", target.port, 10, 1),
             ("t9.svc.test", backup.port, 20, 1)],
            [("t1.svc.test", "127.0.0.1"), ("t3.svc.test", "127.0.0.3"),
             ("t9.svc.test", "127.0.0.1")]))
        assert client.wait_for(lambda c: c.count("moved") > 0 and c.count("target") > 0,
                               timeout=10), (client.counts, p.error_log())
        before = client.count("heavy") + client.count("light")
        now_moved, now_target = client.count("moved"), client.count("target")
        assert client.wait_for(
            lambda c: c.count("moved") >= now_moved + 20 and c.count("target") >= now_target + 20)
        assert client.count("heavy") + client.count("light") - before <= 1
    assert client.failures == [], client.failures
    assert client.counts["backup"] == 0
    assert "-> 127.0.0.1:%d, 127.0.0.3:%d" % (moved.port, target.port) in p.error_log() or \
        "-> 127.0.0.3:%d, 127.0.0.1:%d" % (target.port, moved.port) in p.error_log()


def test_dead_dns_server_keeps_the_last_good_set_and_logs_once(dns, started, portico):
    b = started("b")
    dns.start(hosts="127.0.0.1 backend.test\n")
    p = portico(dns_config(dns.port, "      - { dns: backend.test, port: %d }" % b.port,
                           top="error_log: { level: debug }\n"))
    assert "-> 127.0.0.1:%d" % b.port in p.wait_for_log("-> 127.0.0.1:%d" % b.port)
    with SteadyClient(p.port) as client:
        assert client.wait_for(lambda c: c.count("b") >= 10)
        dns.stop()
        # Three failed lookups in a row (1 s, then 2 s apart): one warning says so.
        assert "failed again (3)" in p.wait_for_log("failed again (3)", timeout=15)
        served = client.count("b")
        assert client.wait_for(lambda c: c.count("b") >= served + 20)
        dns.start()
        assert "resolves again" in p.wait_for_log("resolves again", timeout=15)
    assert client.failures == [], client.failures
    log = p.error_log()
    assert log.count("keeping its last good endpoints (127.0.0.1:%d)" % b.port) == 1, log
    assert log.count("dns backend.test:%d failed:" % b.port) == 1, log
    assert log.count("resolves again") == 1, log


def test_a_name_that_does_not_resolve_at_start_gives_503_until_it_does(dns, started, portico):
    b = started("b")
    dns.start(hosts="")
    p = portico(dns_config(dns.port, "      - { dns: backend.test, port: %d }" % b.port))
    assert "no such name" in p.wait_for_log("no such name")
    r = httpx.get(p.url("/name"))
    assert r.status_code == 503
    assert "its DNS names have not resolved" in p.wait_for_log("its DNS names have not resolved")
    dns.set_hosts("127.0.0.1 backend.test\n")
    assert wait_until(lambda: httpx.get(p.url("/name")).status_code == 200, timeout=10), \
        p.error_log()
    assert httpx.get(p.url("/name")).text == "b"
    assert "resolves again" in p.error_log()


def test_health_checks_follow_the_hosts_dns_adds_and_removes(dns, started, portico):
    port = free_port()
    first = started("first", host="127.0.0.2", port=port)
    second = started("second", host="127.0.0.3", port=port)
    dns.start(hosts="127.0.0.2 backend.test\n")
    check = ("    health_check:\n"
             "      path: /health\n"
             "      interval: 200ms\n"
             "      jitter: 0ms\n"
             "      unhealthy_threshold: 2\n")
    p = portico(dns_config(dns.port, "      - { dns: backend.test, port: %d }" % port,
                           extra_cluster=check))
    assert wait_until(lambda: any(r["path"] == "/health" for r in first.requests()))
    # DNS adds 127.0.0.3, which fails its checks: it is probed and found unhealthy.
    httpx.get("http://127.0.0.3:%d/health/fail" % port)
    dns.set_hosts("127.0.0.2 backend.test\n127.0.0.3 backend.test\n")
    unhealthy = "endpoint 127.0.0.3:%d is unhealthy" % port
    assert unhealthy in p.wait_for_log(unhealthy), p.error_log()
    with httpx.Client(base_url=p.url(), timeout=10) as c:
        assert {c.get("/name").text for _ in range(20)} == {"first"}
    # DNS removes it again: no more probes reach it.
    dns.set_hosts("127.0.0.2 backend.test\n")
    gone = "dns backend.test:%d -> 127.0.0.2:%d (next lookup" % (port, port)
    assert wait_until(lambda: p.error_log().count(gone) == 2), p.error_log()
    probes = lambda b: sum(1 for r in b.requests() if r["path"] == "/health")
    after_removal = probes(second)
    probes_first = probes(first)
    assert wait_until(lambda: probes(first) >= probes_first + 5)
    assert probes(second) - after_removal <= 1  # one probe may have been in flight


def test_tls_to_a_dns_endpoint_sends_and_verifies_its_name(dns, portico, tmpdir_path, test_ca):
    """With no sni/verify_name configured, a discovered endpoint's DNS name is the TLS name:
    the backend's certificate names only backend.test (no IP), and the backend sees it as
    SNI. A request without Host gets the name too."""
    leaf = test_ca.issue("backend.test", dns=["backend.test"])
    b = Backend(tmpdir_path, "tls", tls=["--tls-cert", leaf.cert, "--tls-key", leaf.key])
    try:
        dns.start(hosts="127.0.0.1 backend.test\n")
        p = portico(dns_config(dns.port, "      - { dns: backend.test, port: %d }" % b.port,
                               extra_cluster="    tls: { ca: %s }\n" % test_ca.cert))
        assert "-> 127.0.0.1:%d" % b.port in p.wait_for_log("-> 127.0.0.1:%d" % b.port)
        assert httpx.get(p.url("/name")).text == "tls"
        assert b.requests()[-1]["sni"] == "backend.test"
        with socket.create_connection(("127.0.0.1", p.port)) as s:
            s.sendall(b"GET /echo HTTP/1.0\r\n\r\n")
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        assert data.startswith(b"HTTP/1.1 200"), data
        assert ["Host", "backend.test:%d" % b.port] in b.requests()[-1]["headers"]
    finally:
        b.stop()


@pytest.mark.parametrize("endpoint,message", [
    ("{ address: 127.0.0.1:80, dns: backend.test }",
     "an endpoint has one of address, dns and srv, not both address and dns"),
    ("{ dns: 'bad_name.test', port: 80 }", "a DNS name has letters, digits and '-'"),
    ("{ dns: backend.test }", "missing required key"),
    ("{ srv: _http._tcp.test, weight: 2 }", "weight comes from the SRV records"),
])
def test_check_refuses_bad_dns_endpoints_with_a_line_number(tmpdir_path, endpoint, message):
    path = os.path.join(tmpdir_path, "bad.yaml")
    with open(path, "w") as f:
        f.write(dns_config(9, "      - address: 127.0.0.1:81\n      - %s" % endpoint)
                .replace("{port}", "18080"))
    r = subprocess.run([BIN, "--check", path], capture_output=True, text=True, timeout=20)
    assert r.returncode == 1, r.stdout + r.stderr
    out = r.stdout + r.stderr
    assert "%s:15:" % path in out and message in out, out


def test_check_does_not_resolve_names(tmpdir_path):
    """--check accepts a well-formed name that no DNS server knows, without asking one (the
    resolver 127.0.0.1:9 would not answer)."""
    path = os.path.join(tmpdir_path, "ok.yaml")
    with open(path, "w") as f:
        f.write(dns_config(9, "      - { dns: nowhere.invalid, port: 80 }\n"
                              "      - { srv: _http._tcp.nowhere.invalid }")
                .replace("{port}", "18080"))
    r = subprocess.run([BIN, "--check", path], capture_output=True, text=True, timeout=5)
    assert r.returncode == 0, r.stdout + r.stderr
