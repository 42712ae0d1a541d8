#!/usr/bin/env python3
"""Memory per idle TLS keep-alive connection: Portico next to nginx, in one run.

Each server runs one worker with a TLS listener on loopback and answers GET / itself (nginx
`return 200`, Portico a direct response), so only the connections' own memory is measured.
The client opens N TLS 1.3 connections, makes one request on each, keeps them all open and
idle, and the script reads the resident memory of the server's processes before and after.

  bench/idle_tls.py                      # 10,000 connections, build/portico
  bench/idle_tls.py --conns 2000 --portico build/portico

Prints one line per server and the ratio. Needs nginx and openssl (scripts/setup.sh with
the bench packages) and an open-files limit above conns (per process).
"""
import argparse
import os
import resource
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for_port(port, proc, timeout=15.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit("server exited early (%s)" % proc.returncode)
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.02)
    sys.exit("port %d did not open" % port)


def rss_kib(pids):
    total = 0
    for pid in pids:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total


def group_pids(leader):
    """The leader and its children (nginx: master and worker)."""
    pids = [leader]
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/stat" % entry) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                if int(fields[1]) == leader:
                    pids.append(int(entry))
            except OSError:
                pass
    return pids


def make_cert(workdir):
    cert = os.path.join(workdir, "cert.pem")
    key = os.path.join(workdir, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True)
    return cert, key


def start_nginx(workdir, port, cert, key, conns):
    conf = os.path.join(workdir, "nginx.conf")
    with open(conf, "w") as f:
        f.write("""
worker_processes 1;
daemon off;
pid %(dir)s/nginx.pid;
error_log %(dir)s/nginx-error.log warn;
events { worker_connections %(wc)d; }
http {
    access_log off;
    keepalive_timeout 600s;
    keepalive_requests 100000000;
    client_body_temp_path %(dir)s;
    proxy_temp_path %(dir)s;
    fastcgi_temp_path %(dir)s;
    uwsgi_temp_path %(dir)s;
    scgi_temp_path %(dir)s;
    server {
        listen 127.0.0.1:%(port)d ssl;
        ssl_certificate %(cert)s;
        ssl_certificate_key %(key)s;
        ssl_protocols TLSv1.2 TLSv1.3;
        location / { return 200 "ok"; }
    }
}
""" % {"dir": workdir, "port": port, "cert": cert, "key": key, "wc": conns + 100})
    return subprocess.Popen(["nginx", "-c", conf, "-p", workdir], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)


def start_portico(binary, workdir, port, cert, key, conns):
    conf = os.path.join(workdir, "portico.yaml")
    with open(conf, "w") as f:
        f.write("""
workers: 1
access_log: off
error_log: { level: warn }
listeners:
  - name: tls
    address: 127.0.0.1:%d
    limits: { max_connections: %d }
    timeouts: { keepalive_idle: 600s }
    tls:
      certificates:
        - { cert: %s, key: %s }
    virtual_hosts:
      - name: all
        domains: ["*"]
        routes:
          - direct_response: { status: 200, body: "ok" }
""" % (port, conns + 100, cert, key))
    return subprocess.Popen([binary, "--config", conf], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)


def hold_connections(port, conns):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    held = []
    request = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"
    for _ in range(conns):
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
        s = ctx.wrap_socket(raw, server_hostname="localhost")
        s.sendall(request)
        got = b""
        while b"\r\n\r\nok" not in got:
            chunk = s.recv(4096)
            if not chunk:
                sys.exit("server closed a connection before answering")
            got += chunk
        held.append(s)
    return held


def measure(name, proc, port, conns):
    wait_for_port(port, proc)
    pids = group_pids(proc.pid)
    # Warm up: one connection, so lazily allocated state is counted in the baseline.
    for s in hold_connections(port, 1):
        s.close()
    before = rss_kib(pids)
    held = hold_connections(port, conns)
    # The idle state is reached a moment after the last answer (Portico parks idle
    # connections after keepalive_release); give it a fraction of a second.
    time.sleep(1.0)
    after = rss_kib(pids)
    alive = sum(1 for s in held if s.fileno() >= 0)
    for s in held:
        s.close()
    per_conn = (after - before) / conns
    print("%-8s %6d connections  RSS %7d -> %7d KiB  %.2f KiB per idle TLS connection" %
          (name, alive, before, after, per_conn))
    return per_conn


def stop(proc):
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--conns", type=int, default=10000)
    ap.add_argument("--portico", default=os.path.join(ROOT, "build", "portico"))
    a = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < a.conns + 200:  # per process: the client and each server hold one end each
        sys.exit("open-files limit %d is too low for %d connections" % (hard, a.conns))
    if shutil.which("nginx") is None:
        sys.exit("nginx is not installed")
    workdir = tempfile.mkdtemp(prefix="portico-idle-tls-")
    cert, key = make_cert(workdir)
    results = {}
    for name, starter in (("nginx", lambda p: start_nginx(workdir, p, cert, key, a.conns)),
                          ("portico", lambda p: start_portico(a.portico, workdir, p, cert, key,
                                                              a.conns))):
        port = free_port()
        proc = starter(port)
        try:
            results[name] = measure(name, proc, port, a.conns)
        finally:
            stop(proc)
    shutil.rmtree(workdir, ignore_errors=True)
    print("portico / nginx memory per idle TLS connection: %.2f" %
          (results["portico"] / results["nginx"]))


if __name__ == "__main__":
    main()
