#!/usr/bin/env python3
"""Scans a TLS listener with default settings using testssl.sh, and fails on any finding rated
HIGH or CRITICAL, any protocol older than TLS 1.2 offered, or any weak cipher class offered.

The certificate is issued by a throwaway CA that testssl is told to trust, valid for a year
and carrying revocation URIs, so the findings are about Portico's TLS configuration rather
than about a test certificate. The checks are chosen to fit the test command's time
(protocols, cipher classes, forward secrecy, server defaults and preferences, and the
vulnerabilities that do not need thousands of handshakes); docs/tls-scan.md records a full
scan. Usage: tests/tls/testssl_check.py BINARY [--full] [--json OUT]
"""
import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

QUICK_CHECKS = ["-p", "-s", "-f", "-S", "-P", "-H", "-I", "-T", "-R", "-C", "-O", "-Z", "-W",
                "-F", "-J", "-A", "-L", "-4"]
FULL_CHECKS = ["-p", "-s", "-f", "-S", "-P", "-U", "-E"]
# testssl's ids for cipher classes that must never be offered.
WEAK_CLASSES = ("cipherlist_NULL", "cipherlist_aNULL", "cipherlist_EXPORT", "cipherlist_LOW",
                "cipherlist_3DES_IDEA", "cipherlist_OBSOLETED")
OLD_PROTOCOLS = ("SSLv2", "SSLv3", "TLS1", "TLS1_1")


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def make_pki(d):
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", d + "/ca.key", "-out", d + "/ca.crt", "-days", "400", "-subj",
            "/CN=Portico scan CA", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    with open(d + "/leaf.ext", "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n"
                "extendedKeyUsage=serverAuth\n"
                "crlDistributionPoints=URI:http://127.0.0.1:9/ca.crl\n"
                "authorityInfoAccess=OCSP;URI:http://127.0.0.1:9/ocsp\n")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", d + "/leaf.key",
            "-out", d + "/leaf.csr", "-subj", "/CN=localhost")
    openssl("x509", "-req", "-in", d + "/leaf.csr", "-CA", d + "/ca.crt", "-CAkey",
            d + "/ca.key", "-CAcreateserial", "-days", "365", "-out", d + "/leaf.crt",
            "-extfile", d + "/leaf.ext")
    with open(d + "/chain.crt", "w") as out:
        for name in ("leaf.crt", "ca.crt"):
            with open(d + "/" + name) as f:
                out.write(f.read())


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for_port(port, proc):
    deadline = time.time() + 15
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit("portico exited early")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit("portico did not open its port")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--full", action="store_true", help="every check (several minutes)")
    ap.add_argument("--json", help="keep testssl's JSON findings here")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="portico-testssl-") as d:
        make_pki(d)
        port = free_port()
        config = d + "/portico.yaml"
        with open(config, "w") as f:
            f.write("""workers: 1
listeners:
  - name: scan
    address: 127.0.0.1:%d
    tls:
      certificates:
        - { cert: chain.crt, key: leaf.key }
    virtual_hosts:
      - name: all
        domains: ["*"]
        routes:
          - direct_response: { status: 200, body: "scanned" }
""" % port)
        proc = subprocess.Popen([a.binary, "--config", config], stdout=subprocess.DEVNULL,
                                stderr=open(d + "/error.log", "w"))
        try:
            wait_for_port(port, proc)
            findings = d + "/findings.json"
            cmd = ["testssl", "--quiet", "--color", "0", "--warnings", "off",
                   "--openssl-timeout", "10", "--add-ca", d + "/ca.crt", "--jsonfile", findings,
                   *(FULL_CHECKS if a.full else QUICK_CHECKS), "localhost:%d" % port]
            started = time.time()
            r = subprocess.run(cmd, capture_output=True, text=True)
            print(r.stdout)
            print("testssl took %.0f s" % (time.time() - started))
            with open(findings) as f:
                results = json.load(f)
            if a.json:
                with open(a.json, "w") as f:
                    json.dump(results, f, indent=1)
        finally:
            proc.terminate()
            proc.wait(timeout=15)
    problems = []
    for item in results:
        ident, severity, finding = item["id"], item["severity"], item["finding"]
        if severity in ("HIGH", "CRITICAL"):
            problems.append("%s %s: %s" % (severity, ident, finding))
        if ident in OLD_PROTOCOLS and "not offered" not in finding:
            problems.append("old protocol %s: %s" % (ident, finding))
        if ident in WEAK_CLASSES and "not offered" not in finding:
            problems.append("weak ciphers %s: %s" % (ident, finding))
    for p in problems:
        print("PROBLEM:", p)
    if not any(item["id"] == "TLS1_3" and "offered" in item["finding"] for item in results):
        problems.append("TLS 1.3 not offered")
    print("testssl: %d findings, %d problems" % (len(results), len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
