"""A client that pipelines requests and never reads the responses must not grow Portico's
memory: the next pipelined request is decoded only while the client keeps up, and a static file
is sent from the file, never read whole into memory. Every request is still answered once the
client reads."""
import hashlib
import os
import socket
import threading

from conftest import RawConn, tcp_queues, wait_until

MAX_GROWTH_KB = 16 * 1024


def config(root):
    return """
    workers: 1
    listeners:
      - name: main
        address: 127.0.0.1:{port}
        virtual_hosts:
          - name: all
            domains: ["*"]
            routes:
              - match: { prefix: /files }
                static: { root: %s }
              - match: { prefix: / }
                direct_response: { status: 200, body: "ok\\n" }
    """ % root


def stalled_client(port):
    """A connection whose small receive window fills at once, as a client that never reads."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    s.settimeout(60)
    s.connect(("127.0.0.1", port))
    return s


def portico_stopped_reading(p, client):
    """Portico holds unread request bytes in its receive queue while its send queue to the
    client is not empty: it decodes no more requests until the client reads."""
    q = tcp_queues(p.port, client.getsockname()[1])
    return q is not None and q[0] > 0 and q[1] > 0


def portico_blocked_on_client(p, client):
    """Portico's send queue to the client is not empty: the client's window is full."""
    q = tcp_queues(p.port, client.getsockname()[1])
    return q is not None and q[1] > 0


def read_until(sock, predicate, limit):
    data = bytearray()
    while not predicate(data) and len(data) < limit:
        chunk = sock.recv(1 << 20)
        assert chunk, "connection closed after %d bytes" % len(data)
        data += chunk
    return bytes(data)


def test_pipelined_local_replies_to_a_client_that_does_not_read(portico, tmpdir_path):
    count = 100_000
    p = portico(config(tmpdir_path))
    baseline = p.rss_kb()
    s = stalled_client(p.port)
    request = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"
    sender = threading.Thread(target=s.sendall, args=(request * count,), daemon=True)
    sender.start()
    try:
        assert wait_until(lambda: portico_stopped_reading(p, s), timeout=30), \
            "portico kept reading pipelined requests from a client that reads nothing"
        grown = p.rss_kb() - baseline
        assert grown < MAX_GROWTH_KB, (baseline, grown)
        # Once the client reads, every request is answered, in order.
        marker = b"HTTP/1.1 200 OK\r\n"
        answers = read_until(s, lambda d: d.count(marker) >= count and d.endswith(b"ok\n"),
                             count * 400)
        sender.join(30)
        assert answers.count(marker) == count
    finally:
        s.close()
    assert p.alive()


def test_pipelined_large_files_are_not_read_into_memory(portico, tmpdir_path):
    size = 32 * 1024 * 1024
    content = os.urandom(1 << 20) * 32
    with open(os.path.join(tmpdir_path, "big.bin"), "wb") as f:
        f.write(content)
    digest = hashlib.sha256(content).hexdigest()
    p = portico(config(tmpdir_path))
    baseline = p.rss_kb()
    conn = RawConn(p.port, timeout=60, rcvbuf=64 * 1024)
    try:
        conn.send(b"GET /files/big.bin HTTP/1.1\r\nHost: a\r\n\r\n" * 4)
        assert wait_until(lambda: portico_blocked_on_client(p, conn.sock), timeout=30)
        grown = p.rss_kb() - baseline
        assert grown < MAX_GROWTH_KB, (baseline, grown)
        for _ in range(4):
            r = conn.read_response()
            assert r.status == 200
            assert len(r.body) == size and hashlib.sha256(r.body).hexdigest() == digest
    finally:
        conn.close()
    assert p.alive()
