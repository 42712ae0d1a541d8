#!/usr/bin/env python3
"""gRPC unary calls per second through Portico against the same server called directly.

    bench/grpc_unary.py [--rounds 5] [--seconds 10] [--clients 10] [--streams 10] [--size 1024]

The server is tests/e2e/grpc_support.py (Debian's python3-grpcio, method test.Echo/Echo, which
answers the request bytes). The load generator is h2load speaking h2c with prior knowledge: each
request is a POST of one length-prefixed gRPC message with `content-type: application/grpc` and
`te: trailers`, as a gRPC client sends it. Portico runs one worker with an h2c listener and an
h2c cluster (the configuration below), so every call is multiplexed on both sides.

Rounds alternate direct and proxied runs; the report gives calls/s of each, the per-round ratio
proxied / direct and its median, and Portico's CPU time per 1,000 calls (from /proc, user +
system). With a Python server the server is the bottleneck on a small machine, so the ratio says
how much throughput the hop costs while the server is saturated, and the CPU figure says what
Portico itself spends per call. Before measuring, one call through each path is checked with a
real grpcio client (status OK, body echoed).
"""
import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
from grpc_support import EchoClient, GrpcServer, channel, method  # noqa: E402

CONFIG = """\
workers: 1
access_log: off
error_log: {{ level: warn }}
listeners:
  - name: grpc
    address: 127.0.0.1:{port}
    forwarding: {{ request_id: false, via: false, x_forwarded_for: off, x_forwarded_proto: off, x_forwarded_host: off }}
    virtual_hosts:
      - name: all
        domains: ["*"]
        routes:
          - match: {{ prefix: / }}
            proxy: {{ cluster: grpc }}
clusters:
  - name: grpc
    protocol: h2c
    endpoints:
      - address: 127.0.0.1:{backend}
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, proc, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("Portico exited during start")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("Portico did not listen on %d" % port)


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def check_call(port):
    with channel("127.0.0.1:%d" % port) as chan:
        reply = EchoClient(chan).echo(b"bench check", timeout=10)
    if reply != b"bench check":
        raise SystemExit("the gRPC check call through port %d answered %r" % (port, reply))


def h2load(port, body_path, args):
    cmd = ["h2load", "-D", str(args.seconds), "--warm-up-time", "1",
           "-c", str(args.clients), "-m", str(args.streams), "-d", body_path,
           "-H", "content-type: application/grpc", "-H", "te: trailers",
           "http://127.0.0.1:%d%s" % (port, method("Echo"))]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    done = re.search(r"requests: \d+ total, \d+ started, (\d+) done, \d+ succeeded, "
                     r"(\d+) failed, (\d+) errored", out)
    status = re.search(r"status codes: \d+ 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", out)
    rate = re.search(r"finished in [\d.]+m?s, ([\d.]+) req/s", out)
    if not (done and status and rate):
        raise SystemExit("cannot read h2load's report:\n" + out)
    # A timed run stops mid-flight, so 2xx may count one call more than `done`: judge failures.
    if any(int(n) for n in done.groups()[1:] + status.groups()):
        raise SystemExit("h2load saw failed calls:\n" + out)
    return float(rate.group(1)), int(done.group(1))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--streams", type=int, default=10)
    parser.add_argument("--size", type=int, default=1024, help="message bytes")
    parser.add_argument("--portico", default=os.path.join(ROOT, "build", "portico"))
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="portico-grpc-bench-")
    body_path = os.path.join(work, "message")
    with open(body_path, "wb") as f:  # gRPC framing: uncompressed flag, 4-byte length, message
        f.write(b"\x00" + args.size.to_bytes(4, "big") + b"m" * args.size)

    server = GrpcServer()
    port = free_port()
    config = os.path.join(work, "portico.yaml")
    with open(config, "w") as f:
        f.write(CONFIG.format(port=port, backend=server.port))
    portico = subprocess.Popen([args.portico, "--config", config])
    try:
        wait_for_port(port, portico)
        check_call(server.port)
        check_call(port)
        rows = []
        for n in range(1, args.rounds + 1):
            direct, _ = h2load(server.port, body_path, args)
            before = cpu_seconds(portico.pid)
            proxied, calls = h2load(port, body_path, args)
            cpu_ms_per_1k = (cpu_seconds(portico.pid) - before) * 1e6 / calls
            rows.append((direct, proxied, proxied / direct, cpu_ms_per_1k))
            print("round %d: direct %.0f calls/s, through Portico %.0f calls/s, ratio %.2f, "
                  "Portico CPU %.1f ms per 1k calls" % (n, direct, proxied, proxied / direct,
                                                       cpu_ms_per_1k), flush=True)
        ratios = ", ".join("%.2f" % r[2] for r in rows)
        print("\ngRPC unary, %d-byte messages, h2load -c %d -m %d, %d s per run"
              % (args.size, args.clients, args.streams, args.seconds))
        print("direct median %.0f calls/s; through Portico median %.0f calls/s"
              % (statistics.median(r[0] for r in rows), statistics.median(r[1] for r in rows)))
        print("paired ratios (Portico / direct): %s -> median %.2f"
              % (ratios, statistics.median(r[2] for r in rows)))
        print("Portico CPU per 1k calls: median %.1f ms"
              % statistics.median(r[3] for r in rows))
    finally:
        portico.terminate()
        portico.wait(timeout=30)
        server.stop()


if __name__ == "__main__":
    main()
