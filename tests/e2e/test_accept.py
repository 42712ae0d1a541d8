"""Accepting connections: a listener never stalls when accept fails for want of descriptors,
`limits.max_connections` counts each listener's own connections, and floods of identical
acceptor warnings are logged once with a count."""
import os
import re
import resource
import time

from conftest import RawConn, free_port, request_bytes

LISTENER = """\
  - name: %s
    address: 127.0.0.1:%d
%s    virtual_hosts:
      - name: all
        domains: ['*']
        routes:
          - direct_response: { status: 200, body: "ok %s" }
"""


def direct_config(*listeners):
    """One worker; each listener is (name, port, extra YAML lines) and answers "ok NAME"."""
    return "workers: 1\nlisteners:\n" + "".join(
        LISTENER % (name, port, extra, name) for name, port, extra in listeners)


def get(conn):
    conn.send(request_bytes("GET", "/"))
    return conn.read_response()


def served(port):
    """A connection with one request answered, kept open, and how many attempts were refused
    first: the connection with which the fixture saw the port open (closed without a byte) can
    still count against a tiny limit for a moment."""
    deadline = time.time() + 10
    refusals = 0
    while True:
        conn = RawConn(port)
        try:
            r = get(conn)
            assert r.status == 200
            return conn, refusals
        except (ConnectionResetError, EOFError):
            conn.close()
            refusals += 1
            assert time.time() < deadline, "every connection to port %d was refused" % port
            time.sleep(0.05)


def refused(port):
    """Sends a request on a new connection; True if it is closed without a response."""
    conn = RawConn(port)
    try:
        conn.send(request_bytes("GET", "/"))
        return conn.sock.recv(65536) == b""
    except ConnectionResetError:
        return True
    finally:
        conn.close()


def open_descriptors(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def test_queued_connections_are_answered_once_descriptors_free_up(portico):
    """Out of descriptors, accept fails and the connections wait in the kernel's queue. Once
    descriptors are free again, every one of them is answered, although no new connection
    arrives to signal the listener again."""
    port = free_port()
    # The held connections stay live (not parked): under UBSan, the first check of a type
    # needs a descriptor, and there is none to spare while they are held.
    p = portico(direct_config(("main", port, "    timeouts: { keepalive_release: 1h }\n")),
                port=port)
    held = [RawConn(p.port) for _ in range(3)]
    for c in held:
        assert get(c).body == b"ok main"
    # No descriptor left for a new connection: the limit is what is open now.
    pid = p.proc.pid
    soft, hard = resource.prlimit(pid, resource.RLIMIT_NOFILE)
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (open_descriptors(pid), hard))
    queued = [RawConn(p.port) for _ in range(3)]
    for c in queued:
        c.send(request_bytes("GET", "/"))
    assert "Too many open files" in p.wait_for_log("Too many open files"), p.error_log()
    for c in held:
        c.close()
    try:
        for c in queued:
            r = c.read_response()  # RawConn's timeout (10 s) bounds the wait
            assert r.status == 200 and r.body == b"ok main"
    finally:
        for c in queued:
            c.close()
        # Descriptors back before the fixture stops Portico: UBSan's first check of a type
        # (here the signal handler's, at SIGTERM) opens a pipe, and reports a false "invalid
        # vptr" when there is no descriptor for it.
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (soft, hard))


def test_connection_limit_counts_each_listener_separately(portico):
    """Connections held on one listener do not use up another listener's max_connections."""
    port_a, port_b = free_port(), free_port()
    p = portico(direct_config(("a", port_a, "    limits: { max_connections: 2 }\n"),
                              ("b", port_b, "")), port=port_a)
    on_b = [RawConn(port_b) for _ in range(3)]
    for c in on_b:
        assert get(c).body == b"ok b"
    on_a = [served(port_a)[0] for _ in range(2)]
    # Listener a is at its own limit now.
    assert refused(port_a)
    assert "a: connection limit 2 reached; refusing a connection" in p.error_log()
    # Listener b is not limited by a's connections.
    extra = RawConn(port_b)
    assert get(extra).body == b"ok b"
    for c in on_a + on_b + [extra]:
        c.close()


def test_refused_connections_are_logged_once_with_a_count(portico):
    port = free_port()
    p = portico(direct_config(("main", port, "    limits: { max_connections: 1 }\n")), port=port)
    holder, refusals = served(port)
    for _ in range(20):
        assert refused(port)
    refusals += 20
    log = p.wait_for_log("(repeated", timeout=30)
    lines = [l for l in log.splitlines() if "refusing a connection" in l]
    assert lines[0].endswith("main: connection limit 1 reached; refusing a connection"), lines
    counted = [int(m.group(1)) for l in lines
               for m in [re.search(r"\(repeated (\d+) times? in the last \d+s\)$", l)] if m]
    # Every refusal is accounted for, in a handful of lines rather than twenty.
    assert len(lines) - len(counted) + sum(counted) == refusals, lines
    assert len(lines) <= 4, lines
    holder.close()
