"""Lingering close: after an error reply, or when closing with the client's bytes unread,
Portico sends its FIN and reads and drops what the client still sends until the client's FIN
(or timeouts.linger), instead of closing with input unread: that makes the kernel reset the
connection, and a reset can destroy the reply before the client reads it. Observed from the
kernel: Portico's socket stays in FIN_WAIT1/2 (it has sent its FIN and still holds the socket,
reading) until the client closes, where closing at once would have reset it."""
import socket
import threading

from conftest import proxy_config, read_until_eof, request_bytes, status_of, tcp_state, wait_until

UPLOAD = 8 * 1024 * 1024



LINGERING = ("FIN_WAIT1", "FIN_WAIT2")


def portico_side(p, client_port):
    return tcp_state(p.port, client_port)


def test_413_reaches_a_client_that_keeps_uploading(portico, backends):
    (b1,) = backends(1)
    p = portico(proxy_config([b1], extra_listener="    limits: { max_body: 1MiB }\n"))
    s = socket.create_connection(("127.0.0.1", p.port), timeout=20)
    client_port = s.getsockname()[1]
    sent = []

    def upload():
        s.sendall(b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n" % UPLOAD)
        s.sendall(b"x" * UPLOAD)
        sent.append(True)

    sender = threading.Thread(target=upload, daemon=True)
    sender.start()
    try:
        answer = read_until_eof(s)
        assert status_of(answer) == 413, answer[:200]
        assert b"Connection: close" in answer
        # Portico has answered and keeps taking the upload: all of it is sent without a reset.
        sender.join(20)
        assert sent
        assert portico_side(p, client_port) in LINGERING
    finally:
        s.close()
    # The client's FIN ends the linger at once (Portico closes first: TIME_WAIT is its side).
    assert wait_until(lambda: portico_side(p, client_port) in (None, "TIME_WAIT"))
    assert b1.requests() == []


def test_requests_pipelined_behind_connection_close_do_not_reset_the_answer(portico, backends):
    (b1,) = backends(1)
    p = portico(proxy_config([b1]))
    s = socket.create_connection(("127.0.0.1", p.port), timeout=20)
    client_port = s.getsockname()[1]
    try:
        # More than Portico reads ahead (limits.buffer): some stays in the kernel, unread.
        s.sendall(request_bytes("GET", "/name", headers=[("Connection", "close")]) +
                  request_bytes("GET", "/never") * 10000)
        answer = read_until_eof(s)
        assert status_of(answer) == 200 and answer.endswith(b"b1")
        # The unread requests did not make Portico reset the connection: it lingers.
        assert portico_side(p, client_port) in LINGERING
    finally:
        s.close()
    assert [r["path"] for r in b1.requests()] == ["/name"]


def test_a_client_that_never_closes_is_let_go_at_the_linger_timeout(portico, backends):
    (b1,) = backends(1)
    p = portico(proxy_config([b1], extra_listener="    timeouts: { linger: 1s }\n"))
    s = socket.create_connection(("127.0.0.1", p.port), timeout=20)
    client_port = s.getsockname()[1]
    try:
        s.sendall(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\ngarbage after the bad request")
        answer = read_until_eof(s)  # the reply, then Portico's FIN
        assert status_of(answer) == 400
        assert portico_side(p, client_port) in LINGERING
        assert p.holds_socket(p.port, client_port)
        # The client neither reads further nor closes: Portico lets the socket go on its own.
        assert wait_until(lambda: not p.holds_socket(p.port, client_port), timeout=10)
    finally:
        s.close()
