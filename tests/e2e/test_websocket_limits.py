"""Route `websocket: { max_message, idle_timeout }` on HTTP/1.1 WebSocket tunnels: a message
over the limit (whichever side sends it, in one frame or in fragments) closes the tunnel with
1009 to the sender; framing that is not WebSocket closes it with 1002; an idle tunnel is closed
with 1001. Real websockets clients and server (ws_echo_server.py)."""
import asyncio
import os
import struct

import pytest
import websockets

from conftest import RawConn, proxy_config
from h2_websocket import client_frame


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, timeout=30))


def connect(p, path):
    # The limit counts bytes on the wire: without permessage-deflate a message of n bytes is n
    # bytes of payload, so the tests know which side of the limit they are on.
    return websockets.connect("ws://127.0.0.1:%d%s" % (p.port, path), compression=None)


def limited(ws_server, max_message=None, idle_timeout=None):
    keys = []
    if max_message is not None:
        keys.append("max_message: %s" % max_message)
    if idle_timeout is not None:
        keys.append("idle_timeout: %s" % idle_timeout)
    routes = ("          - match: { prefix: / }\n"
              "            proxy: { cluster: app }\n"
              "            websocket: { %s }\n" % ", ".join(keys))
    return proxy_config([ws_server], routes=routes)


HANDSHAKE = (b"GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")


def read_until_closed(conn):
    """Everything the server sends after the handshake, until it closes the connection."""
    conn.sock.settimeout(10)
    data = conn.buf
    while True:
        try:
            chunk = conn.sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    return data


def close_frame(code, reason):
    payload = struct.pack("!H", code) + reason
    return bytes([0x88, len(payload)]) + payload


def test_messages_within_the_limit_pass(portico, ws_server):
    p = portico(limited(ws_server, max_message="64KiB"))

    async def session():
        async with connect(p, "/echo") as ws:
            exact = os.urandom(64 * 1024)
            await ws.send(exact)
            assert await ws.recv() == exact
            for i in range(20):
                await ws.send("small %d" % i)
                assert await ws.recv() == "small %d" % i
            await ws.close()
            assert ws.close_code == 1000

    run(session())


def test_client_message_over_the_limit_closes_with_1009(portico, ws_server):
    p = portico(limited(ws_server, max_message=1000))

    async def session():
        async with connect(p, "/echo") as ws:
            await ws.send("a" * 1000)
            assert await ws.recv() == "a" * 1000
            await ws.send("b" * 1001)
            with pytest.raises(websockets.ConnectionClosed) as info:
                await ws.recv()
            assert info.value.rcvd is not None
            assert info.value.rcvd.code == 1009

    run(session())
    line = p.wait_for_log("websocket message too big", access=True)
    assert '"GET /echo HTTP/1.1" 101' in line
    assert "exceeds 1000 bytes" in p.error_log()


def test_fragments_of_one_message_are_summed(portico, ws_server):
    p = portico(limited(ws_server, max_message=1000))

    async def session():
        async with connect(p, "/echo") as ws:
            # Three fragments of 400: each within the limit, the message not.
            await ws.send(iter([b"x" * 400, b"y" * 400, b"z" * 400]))
            with pytest.raises(websockets.ConnectionClosed) as info:
                await ws.recv()
            assert info.value.rcvd.code == 1009

    run(session())


def test_fragmented_message_on_the_wire_is_cut_before_the_crossing_fragment(portico, ws_server):
    """Byte level: fragments within the limit are forwarded (the echo comes back), the
    fragment that crosses it never reaches the backend, and the client gets close 1009."""
    p = portico(limited(ws_server, max_message=100))
    conn = RawConn(p.port)
    try:
        conn.send(HANDSHAKE)
        assert conn.read_head().status == 101
        conn.send(client_frame(0x1, b"ok"))  # a whole small message first
        conn.send(client_frame(0x2, b"a" * 60, fin=False) + client_frame(0x9, b"ping") +
                  client_frame(0x0, b"b" * 41, fin=True))
        data = read_until_closed(conn)
    finally:
        conn.close()
    assert data.startswith(b"\x81\x02ok")
    assert close_frame(1009, b"message too big") in data
    assert b"b" * 41 not in data  # never reached the echo server, so never echoed


def test_backend_message_over_the_limit_closes_the_client_with_1009(portico, ws_server):
    p = portico(limited(ws_server, max_message=1000))

    async def session():
        async with connect(p, "/double") as ws:
            await ws.send("c" * 500)
            assert await ws.recv() == "c" * 1000
            await ws.send("d" * 501)  # within the limit; the answer (1002 bytes) is not
            with pytest.raises(websockets.ConnectionClosed) as info:
                await ws.recv()
            assert info.value.rcvd.code == 1009

    run(session())
    assert "a message from the backend exceeds 1000 bytes" in p.wait_for_log("backend exceeds")


def test_framing_that_is_not_websocket_closes_with_1002(portico, ws_server):
    p = portico(limited(ws_server, max_message=1000))
    conn = RawConn(p.port)
    try:
        conn.send(HANDSHAKE)
        assert conn.read_head().status == 101
        conn.send(client_frame(0x3, b"reserved opcode"))
        data = read_until_closed(conn)
    finally:
        conn.close()
    assert close_frame(1002, b"protocol error") in data
    p.wait_for_log("websocket protocol error", access=True)


def test_idle_tunnel_is_closed_with_1001(portico, ws_server):
    p = portico(limited(ws_server, idle_timeout="300ms"))

    async def session():
        async with connect(p, "/echo") as ws:
            await ws.send("hello")
            assert await ws.recv() == "hello"
            # Nothing more either way: the proxy closes the tunnel by itself.
            with pytest.raises(websockets.ConnectionClosed) as info:
                await ws.recv()
            assert info.value.rcvd.code == 1001
            assert info.value.rcvd.reason == "idle timeout"

    run(session())
    p.wait_for_log("websocket idle timeout", access=True)


def test_traffic_keeps_an_idle_timeout_away(portico, ws_server):
    p = portico(limited(ws_server, idle_timeout="1s"))

    async def session():
        async with connect(p, "/echo") as ws:
            loop = asyncio.get_running_loop()
            start = loop.time()
            i = 0
            # Three times the timeout, a message every fifth of it.
            while loop.time() - start < 3.0:
                await ws.send("tick %d" % i)
                assert await ws.recv() == "tick %d" % i
                i += 1
                await asyncio.sleep(0.2)
            assert ws.open

    run(session())


def test_plain_requests_on_a_limited_route_are_untouched(portico, ws_server, backends):
    (b1,) = backends(1)
    routes = ("          - match: { prefix: / }\n"
              "            proxy: { cluster: app }\n"
              "            websocket: { max_message: 10 }\n")
    p = portico(proxy_config([b1], routes=routes))
    conn = RawConn(p.port)
    try:
        body = b"z" * 5000  # far over max_message: not a WebSocket, so not counted
        conn.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n" + body)
        r = conn.read_response()
        assert r.status == 200
    finally:
        conn.close()


@pytest.mark.parametrize("block, message", [
    ("{}", "expected max_message or idle_timeout"),
    ("{ max_message: 0 }", "max_message"),
    ("{ idle_timeout: 0s }", "idle_timeout"),
    ("{ max_mesage: 10 }", "max_mesage"),
])
def test_bad_websocket_blocks_are_config_errors(portico, tmpdir_path, block, message):
    import subprocess
    from conftest import BIN
    routes = ("          - match: { prefix: / }\n"
              "            proxy: { cluster: app }\n"
              "            websocket: %s\n" % block)
    path = os.path.join(tmpdir_path, "bad.yaml")
    with open(path, "w") as f:
        f.write(proxy_config(["127.0.0.1:9"], routes=routes).replace("{port}", "18080"))
    r = subprocess.run([BIN, "--check", path], capture_output=True, text=True, timeout=20)
    assert r.returncode == 1
    assert message in r.stderr
    assert "websocket" in r.stderr
