"""`io_uring: auto | off`: with auto, a worker reads and writes sockets through io_uring batches
(one submission per loop turn instead of one system call per socket, when a turn has more than
one); with off, through plain system calls. Counted with strace on the real binary serving
real keep-alive traffic from many connections at once."""
import hashlib
import os
import signal
import subprocess

import httpx

from conftest import BIN, RawConn, assert_no_sanitizer_reports, free_port, proxy_config, \
    request_bytes, wait_for_port

CONNECTIONS = 40
ROUNDS = 10
REQUESTS = CONNECTIONS * ROUNDS
# System calls that move socket bytes one socket at a time.
PLAIN_SOCKET_IO = ("read", "recvfrom", "recvmsg", "write", "writev", "sendto", "sendmsg")


def syscall_counts(path):
    """strace -c's table as {name: calls}."""
    counts = {}
    with open(path) as f:
        for line in f:
            parts = line.split()
            # "% time  seconds  usecs/call  calls  [errors]  syscall"
            if len(parts) >= 5 and parts[0][0].isdigit() and parts[-1] != "total":
                counts[parts[-1]] = int(parts[3])
    return counts


def run_traced(tmp_path, backends, mode):
    backend = backends(1)[0]
    port = free_port()
    config = proxy_config([backend], top="io_uring: %s\naccess_log: off\n" % mode)
    config_path = tmp_path / "portico.yaml"
    config_path.write_text(config.replace("{port}", str(port)))
    counts_path = tmp_path / "strace.txt"
    err_path = tmp_path / "error.log"
    with open(err_path, "w") as err:
        # LeakSanitizer cannot run under ptrace (it aborts); the rest of ASan/UBSan still does.
        env = dict(os.environ)
        env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":detect_leaks=0"
        tracer = subprocess.Popen(["strace", "-f", "-qq", "-c", "-o", str(counts_path), BIN,
                                   "--config", str(config_path)], stderr=err, env=env)
        try:
            wait_for_port(port, proc=tracer)
            # Every connection sends its request before any response is read, so the worker
            # finds many sockets ready per turn: the case batching is for.
            conns = [RawConn(port) for _ in range(CONNECTIONS)]
            for round_no in range(ROUNDS):
                for i, c in enumerate(conns):
                    c.send(request_bytes(path="/name?round=%d&conn=%d" % (round_no, i)))
                for c in conns:
                    assert c.read_response().status == 200
            for c in conns:
                c.close()
            children = subprocess.run(["pgrep", "-P", str(tracer.pid)], capture_output=True,
                                      text=True).stdout.split()
            assert len(children) == 1, children
            os.kill(int(children[0]), signal.SIGTERM)
            assert tracer.wait(timeout=30) == 0, err_path.read_text()
        finally:
            if tracer.poll() is None:
                tracer.kill()
                tracer.wait()
    log = err_path.read_text()

    class Run:
        pass
    run = Run()
    run.counts = syscall_counts(counts_path)
    run.log = log
    run.error_log = lambda: log
    assert_no_sanitizer_reports(run)
    return run


def plain_socket_calls(counts):
    return sum(counts.get(name, 0) for name in PLAIN_SOCKET_IO)


def test_auto_moves_socket_bytes_in_io_uring_batches(tmp_path, backends):
    run = run_traced(tmp_path, backends, "auto")
    assert "io_uring: socket reads and writes are batched per loop turn" in run.log, run.log
    # Each request crosses two sockets in each direction: without batching that is at least
    # four system calls per request (the off test checks it). With it, the reads and writes of
    # turns that had several ride io_uring submissions, and the plain calls are the rest.
    assert run.counts.get("io_uring_enter", 0) > 0, run.counts
    assert plain_socket_calls(run.counts) + run.counts["io_uring_enter"] < 3 * REQUESTS, \
        run.counts


def test_off_uses_plain_system_calls_and_no_ring(tmp_path, backends):
    run = run_traced(tmp_path, backends, "off")
    assert "io_uring" not in run.log, run.log
    assert run.counts.get("io_uring_setup", 0) == 0, run.counts
    assert run.counts.get("io_uring_enter", 0) == 0, run.counts
    assert plain_socket_calls(run.counts) >= 4 * REQUESTS, run.counts


def test_batched_path_keeps_bodies_intact_both_ways(portico, backends):
    """Large uploads (sized and chunked) and a large download through the batch: every byte
    arrives, in order."""
    backend = backends(1)[0]
    p = portico(proxy_config([backend], top="io_uring: auto\n"))
    body = os.urandom(3 * 1024 * 1024 + 17)
    digest = hashlib.sha256(body).hexdigest()
    with httpx.Client(timeout=30) as client:
        r = client.post(p.url("/sha256"), content=body)
        assert r.status_code == 200
        assert r.json() == {"length": len(body), "sha256": digest}

        def chunks():
            for i in range(0, len(body), 65536):
                yield body[i:i + 65536]
        r = client.post(p.url("/sha256"), content=chunks())
        assert r.status_code == 200
        assert r.json() == {"length": len(body), "sha256": digest}

        r = client.get(p.url("/random/5000000"))
        assert r.status_code == 200
        assert len(r.content) == 5000000
        assert hashlib.sha256(r.content).hexdigest() == r.headers["x-sha256"]
    assert p.alive()
