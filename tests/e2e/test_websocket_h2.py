"""WebSocket over HTTP/2 (RFC 8441): an HTTP/2 client opens WebSockets with extended CONNECT
(python3-h2, h2_websocket.py), Portico turns each into an HTTP/1.1 WebSocket handshake to a
real websockets server (ws_echo_server.py) and carries the frames in DATA both ways. Over h2c
(prior knowledge) and TLS (ALPN h2)."""
import contextlib

import h2.settings
import pytest

from conftest import proxy_config, tls_listener
from h2_client import H2Client
from h2_websocket import OP_BINARY, WebSocket


@pytest.fixture(params=["h2c", "tls"])
def front(request, server_cert, test_ca):
    """How the client reaches Portico: (listener lines, H2Client keyword arguments)."""
    if request.param == "tls":
        return (tls_listener([server_cert], alpn=["h2", "http/1.1"]),
                {"tls": True, "cafile": test_ca.cert})
    return ("", {})


def ws_routes(websocket_limits=""):
    """/echo, /double, /push, /close to the WebSocket server (cluster ws); the rest to app."""
    limits = "            websocket: { %s }\n" % websocket_limits if websocket_limits else ""
    return ("          - match: { regex: \"^/(echo|double|push|close)$\" }\n"
            "            proxy: { cluster: ws }\n" + limits +
            "          - match: { prefix: / }\n"
            "            proxy: { cluster: app }\n")


def config(ws_server, plain_backend, listener, limits="", http2=""):
    return proxy_config([plain_backend], extra_listener=listener + http2,
                        routes=ws_routes(limits),
                        extra_cluster="  - name: ws\n    endpoints:\n      - address: %s\n"
                        % ws_server)


@contextlib.contextmanager
def connected(portico, ws_server, backends, front, **kwargs):
    """Portico in front of the WebSocket server and a plain backend (only the plain backend,
    for every path, when ws_server is None); yields (portico, H2Client, plain backend)."""
    (b1,) = backends(1)
    if ws_server is None:
        routes = "          - match: { prefix: / }\n            proxy: { cluster: app }\n"
        p = portico(proxy_config([b1], extra_listener=front[0], routes=routes))
    else:
        p = portico(config(ws_server, b1.address, front[0], **kwargs))
    c = H2Client(p.port, **front[1])
    try:
        yield p, c, b1
    finally:
        c.close()


def test_settings_advertise_extended_connect(portico, ws_server, backends, front):
    with connected(portico, ws_server, backends, front) as (p, c, b1):
        assert c.wait(lambda: h2.settings.SettingCodes.ENABLE_CONNECT_PROTOCOL
                      in c.remote_settings)
        assert c.remote_settings[h2.settings.SettingCodes.ENABLE_CONNECT_PROTOCOL] == 1


def test_messages_echo_both_ways(portico, ws_server, backends, front):
    with connected(portico, ws_server, backends, front) as (p, c, b1):
        ws = WebSocket.open(c, "/echo")
        assert ws.status == 200
        assert ws.state.header("sec-websocket-accept") is None
        ws.send("hello over h2")
        assert ws.receive() == "hello over h2"
        ws.send(b"\x00\x01binary\xff")
        assert ws.receive() == b"\x00\x01binary\xff"
        big = bytes(range(256)) * 1024  # 256 KiB: several windows' worth
        ws.send(big, fragments=3)
        assert ws.receive() == big
        ws.close(1000, b"bye")
        assert ws.receive() == ("close", 1000, b"bye")
        # The backend closed its side: the stream ends (END_STREAM or a reset after it).
        assert c.wait(lambda: ws.state.done)
        line = p.wait_for_log('"CONNECT /echo HTTP/2.0" 200', access=True)
    assert "upgrade=websocket" in line


def test_server_pushes_and_closes(portico, ws_server, backends, front):
    with connected(portico, ws_server, backends, front) as (p, c, b1):
        ws = WebSocket.open(c, "/push")
        assert [ws.receive() for _ in range(3)] == ["push 0", "push 1", "push 2"]
        closing = WebSocket.open(c, "/close")
        assert closing.status == 200
        assert closing.receive() == ("close", 1001, b"going away")


def test_several_websockets_and_requests_share_one_connection(portico, ws_server, backends,
                                                              front):
    with connected(portico, ws_server, backends, front) as (p, c, b1):
        sockets = [WebSocket.open(c, "/echo") for _ in range(4)]
        assert [ws.status for ws in sockets] == [200] * 4
        for round_ in range(5):
            for i, ws in enumerate(sockets):
                ws.send("socket %d round %d" % (i, round_))
            sid = c.request("GET", "/name")
            assert c.response(sid).status == 200
            for i, ws in enumerate(sockets):
                assert ws.receive() == "socket %d round %d" % (i, round_)
        assert len({ws.sid for ws in sockets}) == 4
        # Every handshake reached the WebSocket server as its own HTTP/1.1 connection; the plain
    # requests went to the other cluster.
    assert len(b1.requests()) == 5


def test_max_message_closes_with_1009(portico, ws_server, backends, front):
    with connected(portico, ws_server, backends, front, limits="max_message: 1000") as (p, c, b1):
        ws = WebSocket.open(c, "/echo")
        ws.send("a" * 1000)
        assert ws.receive() == "a" * 1000
        ws.send("b" * 1001)
        assert ws.receive() == ("close", 1009, b"message too big")
        assert c.wait(lambda: ws.state.done)
        # The connection and its other streams go on.
        assert c.get("/name").status == 200
        p.wait_for_log("websocket message too big", access=True)


def test_idle_timeout_closes_with_1001(portico, ws_server, backends, front):
    with connected(portico, ws_server, backends, front, limits="idle_timeout: 300ms") as (p, c, b1):
        ws = WebSocket.open(c, "/echo")
        ws.send("x")
        assert ws.receive() == "x"
        assert ws.receive() == ("close", 1001, b"idle timeout")


@pytest.mark.parametrize("path, status", [("/status/403", 403), ("/status/404", 404),
                                          ("/status/503", 503)])
def test_backend_refusing_the_upgrade_gives_its_status(portico, backends, front, path, status):
    """backend.py is no WebSocket server: it answers the handshake with that status."""
    with connected(portico, None, backends, front) as (p, c, b1):
        ws = WebSocket.open(c, path)
        assert ws.status == status
    # It did get the HTTP/1.1 handshake, as GET with the upgrade fields and a fresh key.
    (req,) = b1.requests()
    headers = {k.lower(): v for k, v in req["headers"]}
    assert req["method"] == "GET"
    assert headers["upgrade"] == "websocket"
    assert headers["sec-websocket-version"] == "13"
    assert len(headers["sec-websocket-key"]) == 24


def test_backend_answering_200_without_upgrading_is_a_bad_gateway(portico, backends, front):
    with connected(portico, None, backends, front) as (p, c, b1):
        ws = WebSocket.open(c, "/name")
        assert ws.status == 502
        assert c.wait(lambda: ws.state.done)
        assert c.get("/name").status == 200


def test_listener_without_websocket_refuses_protocol(portico, ws_server, backends, front):
    with connected(portico, ws_server, backends, front,
                   http2="    http2: { websocket: false }\n") as (p, c, b1):
        assert c.wait(lambda: c.remote_settings)
        assert c.remote_settings.get(h2.settings.SettingCodes.ENABLE_CONNECT_PROTOCOL, 0) == 0
        ws = WebSocket.open(c, "/echo")
        assert ws.status is None
        assert ws.state.reset_code == 1  # PROTOCOL_ERROR
        assert c.get("/name").status == 200


def test_binary_frames_and_half_close(portico, ws_server, backends, front):
    with connected(portico, ws_server, backends, front) as (p, c, b1):
        ws = WebSocket.open(c, "/echo")
        ws.send_frame(OP_BINARY, b"one frame")
        assert ws.receive() == b"one frame"
        ws.close()
        ws.end()  # END_STREAM: the client's side is done
        assert ws.receive() == ("close", 1000, b"")
        assert c.wait(lambda: ws.state.done)
    