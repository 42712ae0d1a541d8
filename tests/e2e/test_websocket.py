"""WebSocket: "Upgrade: websocket" passes through Portico and the connection becomes a two-way
tunnel. A real websockets client talks to a real websockets server (ws_echo_server.py)."""
import asyncio
import json
import os

import pytest
import websockets

from conftest import proxy_config, read_until_eof


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, timeout=30))


def test_websocket_messages_echo_both_ways(portico, ws_server):
    p = portico(proxy_config([ws_server]))

    async def session():
        async with websockets.connect("ws://127.0.0.1:%d/echo" % p.port,
                                      max_size=8 * 1024 * 1024) as ws:
            await ws.send("hello")
            assert await ws.recv() == "hello"
            await ws.send(b"\x00\x01binary\xff")
            assert await ws.recv() == b"\x00\x01binary\xff"
            for i in range(50):
                await ws.send("message %d" % i)
            for i in range(50):
                assert await ws.recv() == "message %d" % i
            big = os.urandom(2 * 1024 * 1024)
            await ws.send(big)
            assert await ws.recv() == big
            pong = await ws.ping(b"are you there")
            await asyncio.wait_for(pong, 10)
            await ws.close()
            assert ws.close_code == 1000

    run(session())


def test_server_pushes_without_being_asked(portico, ws_server):
    p = portico(proxy_config([ws_server]))

    async def session():
        async with websockets.connect("ws://127.0.0.1:%d/push" % p.port) as ws:
            assert [await ws.recv() for _ in range(3)] == ["push 0", "push 1", "push 2"]
            await ws.send("and back")
            assert await ws.recv() == "and back"

    run(session())


def test_handshake_reaches_the_server_with_upgrade_fields(portico, ws_server):
    p = portico(proxy_config([ws_server]))

    async def session():
        async with websockets.connect("ws://127.0.0.1:%d/headers" % p.port) as ws:
            headers = {k.lower(): v for k, v in json.loads(await ws.recv())}
            assert headers["upgrade"].lower() == "websocket"
            assert "upgrade" in headers["connection"].lower()
            assert "sec-websocket-key" in headers
            assert headers["x-forwarded-for"] == "127.0.0.1"
            # The response passed the upgrade through; the client accepted it.
            assert ws.response_headers["Upgrade"].lower() == "websocket"

    run(session())


def test_server_initiated_close_reaches_the_client(portico, ws_server):
    p = portico(proxy_config([ws_server]))

    async def session():
        async with websockets.connect("ws://127.0.0.1:%d/close" % p.port) as ws:
            with pytest.raises(websockets.ConnectionClosed) as info:
                await ws.recv()
            assert info.value.rcvd.code == 1001
            assert info.value.rcvd.reason == "going away"

    run(session())


def test_tunnel_is_logged_as_101(portico, ws_server):
    p = portico(proxy_config([ws_server]))

    async def session():
        async with websockets.connect("ws://127.0.0.1:%d/echo" % p.port) as ws:
            await ws.send("x")
            assert await ws.recv() == "x"

    run(session())
    text = p.wait_for_log('"GET /echo HTTP/1.1" 101', access=True)
    assert '"GET /echo HTTP/1.1" 101' in text


def test_upgrade_to_a_plain_http_backend_is_refused_cleanly(portico, backends):
    """A backend that ignores the upgrade answers normally; no tunnel, no hang."""
    (b1,) = backends(1)
    p = portico(proxy_config([b1]))

    async def session():
        with pytest.raises(websockets.InvalidStatusCode) as info:
            async with websockets.connect("ws://127.0.0.1:%d/name" % p.port):
                pass
        assert info.value.status_code == 200

    run(session())


def test_handshake_with_connection_split_over_lines(portico, ws_server):
    """"Connection: keep-alive" and "Connection: Upgrade" on two lines still ask to upgrade;
    a token that merely contains "upgrade" does not."""
    from conftest import RawConn
    p = portico(proxy_config([ws_server]))
    conn = RawConn(p.port)
    try:
        conn.send(b"GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                  b"Connection: keep-alive\r\nConnection: Upgrade\r\n"
                  b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                  b"Sec-WebSocket-Version: 13\r\n\r\n")
        r = conn.read_head()
        assert r.status == 101
        assert r.header("Sec-WebSocket-Accept") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        conn.send(b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58")  # masked text "Hello"
        conn.sock.settimeout(10)
        data = b""
        while len(data) < 7:
            data += conn.sock.recv(100)
        assert data[:7] == b"\x81\x05Hello"
    finally:
        conn.close()
    conn = RawConn(p.port)
    try:
        conn.send(b"GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                  b"Connection: X-Not-Upgrade-Really\r\n"
                  b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                  b"Sec-WebSocket-Version: 13\r\n\r\n")
        r = conn.read_response()
        assert r.status != 101
    finally:
        conn.close()


HANDSHAKE = (b"GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")


@pytest.mark.parametrize("how", ["fin", "rst", "half-close"])
def test_client_dropping_the_tunnel_first(portico, ws_server, how):
    """The client goes away without a close handshake; the tunnel's upstream side is closed
    and the proxy keeps working (under ASan/UBSan: without touching freed state)."""
    import socket
    import struct
    from conftest import RawConn
    p = portico(proxy_config([ws_server]))
    for _ in range(3):
        conn = RawConn(p.port)
        conn.send(HANDSHAKE)
        assert conn.read_head().status == 101
        conn.send(b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58")  # masked text "Hello"
        conn.sock.settimeout(10)
        data = conn.buf
        while len(data) < 7:
            data += conn.sock.recv(100)
        assert data[:7] == b"\x81\x05Hello"
        if how == "rst":
            conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        if how == "half-close":
            conn.sock.shutdown(socket.SHUT_WR)
            assert conn.closed_by_peer(timeout=10)
        conn.close()

    async def session():
        async with websockets.connect("ws://127.0.0.1:%d/echo" % p.port) as ws:
            await ws.send("still here")
            assert await ws.recv() == "still here"

    run(session())


def test_bytes_sent_right_behind_the_handshake_reach_the_tunnel(portico, ws_server):
    """A client that sends its first frame (and even closes its side) in the same packet as the
    upgrade request: those bytes wait while the request might be refused, and once the 101
    makes the connection a tunnel they are the tunnel's."""
    import socket
    from conftest import RawConn
    p = portico(proxy_config([ws_server]))
    frame = b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"  # masked text "Hello"
    conn = RawConn(p.port)
    try:
        conn.send(HANDSHAKE + frame)
        assert conn.read_head().status == 101
        conn.sock.settimeout(10)
        data = conn.buf
        while len(data) < 7:
            chunk = conn.sock.recv(100)
            assert chunk, "tunnel closed before the echo"
            data += chunk
        assert data[:7] == b"\x81\x05Hello"
    finally:
        conn.close()
    # With the client's end of input in the same packet: it reaches the tunnel too, so the
    # tunnel ends at once (the upstream idle timeout is 60 s by default).
    conn = RawConn(p.port)
    try:
        conn.send(HANDSHAKE + frame)
        conn.sock.shutdown(socket.SHUT_WR)
        assert conn.read_head().status == 101
        assert conn.closed_by_peer(timeout=10)
    finally:
        conn.close()


SWITCHING = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"


class TunnelBackend:
    """A raw backend that opens the tunnel (`answer`: a 101 to the upgrade by default) and then
    runs `script(sock)`, so a test controls exactly when each side of the tunnel ends. `head`
    is the request head it received."""

    def __init__(self, script, answer=SWITCHING):
        import socket
        import threading
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.address = "127.0.0.1:%d" % self.sock.getsockname()[1]
        self.script = script
        self.answer = answer
        self.head = b""
        self.result = None
        self.error = None
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        try:
            conn, _ = self.sock.accept()
            conn.settimeout(10)
            while b"\r\n\r\n" not in self.head:
                self.head += conn.recv(4096)
            conn.sendall(self.answer)
            self.result = self.script(conn)
            conn.close()
        except Exception as e:  # reported by join()
            self.error = e

    def join(self):
        self.thread.join(timeout=20)
        self.sock.close()
        assert not self.thread.is_alive(), "backend script did not finish"
        assert self.error is None, self.error
        return self.result


def upgraded_client(p):
    """A raw client connection to `p` whose upgrade was answered with 101."""
    from conftest import RawConn
    conn = RawConn(p.port)
    conn.send(HANDSHAKE)
    assert conn.read_head().status == 101
    return conn



def test_client_half_close_keeps_the_tunnel_open_for_the_answer(portico):
    """The client sends its last message and FIN; the backend sees the FIN, and what it sends
    afterwards still reaches the client."""
    import socket

    def script(conn):
        got = read_until_eof(conn)  # the client's message, then its half-close
        conn.sendall(b"answer after your FIN")
        return got

    backend = TunnelBackend(script)
    conn = upgraded_client(portico(proxy_config([backend.address])))
    try:
        conn.send(b"last message")
        conn.sock.shutdown(socket.SHUT_WR)
        assert conn.buf + read_until_eof(conn.sock) == b"answer after your FIN"
    finally:
        conn.close()
    assert backend.join() == b"last message"


def test_backend_half_close_keeps_the_tunnel_open_for_the_client(portico):
    """The reverse: the backend sends and FINs; the client reads it all and the end, and what it
    sends afterwards still reaches the backend."""
    import socket

    def script(conn):
        conn.sendall(b"bye from the backend")
        conn.shutdown(socket.SHUT_WR)
        return read_until_eof(conn)

    backend = TunnelBackend(script)
    conn = upgraded_client(portico(proxy_config([backend.address])))
    try:
        assert conn.buf + read_until_eof(conn.sock) == b"bye from the backend"
        # Corked, the last bytes and the FIN leave in one segment: the proxy sees the client's
        # end in the same turn as the bytes it still owes the backend.
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)
        conn.send(b"the client still talks")
        conn.sock.shutdown(socket.SHUT_WR)
        assert backend.join() == b"the client still talks"
    finally:
        conn.close()


def test_connect_on_a_route_that_names_it_becomes_a_tunnel(portico):
    """CONNECT is refused (405) unless a route lists it; such a route sends it on in
    authority-form, and the backend's 2xx makes the connection a tunnel."""
    import socket
    from conftest import RawConn

    def script(conn):
        conn.sendall(b"hello through CONNECT")
        return read_until_eof(conn)

    backend = TunnelBackend(script, answer=b"HTTP/1.1 200 Connection Established\r\n\r\n")
    routes = ("          - match: { methods: [CONNECT] }\n"
              "            proxy: { cluster: app }\n")
    p = portico(proxy_config([backend.address], routes=routes))
    conn = RawConn(p.port)
    try:
        conn.send(b"CONNECT db.internal:5432 HTTP/1.1\r\nHost: db.internal:5432\r\n\r\n")
        r = conn.read_head()
        assert r.status == 200
        assert r.header("Content-Length") is None and r.header("Transfer-Encoding") is None
        data = conn.buf
        while len(data) < len(b"hello through CONNECT"):
            data += conn.sock.recv(4096)
        assert data == b"hello through CONNECT"
        conn.send(b"and back")
        conn.sock.shutdown(socket.SHUT_WR)
        assert backend.join() == b"and back"
    finally:
        conn.close()
    assert backend.head.startswith(b"CONNECT db.internal:5432 HTTP/1.1\r\n"), backend.head
