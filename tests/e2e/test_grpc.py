"""gRPC through Portico: a real grpcio client in front (h2c with prior knowledge, or TLS with
ALPN h2) and a real grpcio server behind (cluster protocol h2c, or h2 over TLS), from
grpc_support.py. Unary and streaming calls, metadata, trailers and grpc-status pass through
unchanged; errors Portico makes itself are gRPC errors."""
import concurrent.futures
import hashlib
import json

import grpc
import pytest

from conftest import free_port, proxy_config, tls_listener
from grpc_support import EchoClient, GrpcServer, channel, rpc_error

# (front, back): how the client reaches Portico, and how Portico reaches the server.
COMBINATIONS = [("h2c", "h2c"), ("tls", "h2c"), ("h2c", "tls"), ("tls", "tls")]


@pytest.fixture(scope="module")
def grpc_servers(test_ca, server_cert):
    servers = {"h2c": GrpcServer(), "tls": GrpcServer(server_cert)}
    yield servers
    for s in servers.values():
        s.stop()


def grpc_config(server, back, test_ca, server_cert, front, routes=None, extra_cluster=""):
    cluster = "    protocol: h2c\n"
    if back == "tls":
        cluster = ("    protocol: h2\n"
                   "    tls: { ca: %s, verify_name: localhost }\n" % test_ca.cert)
    listener = tls_listener([server_cert], alpn=["h2", "http/1.1"]) if front == "tls" else ""
    return proxy_config([server.address], extra_listener=listener, routes=routes,
                        extra_cluster=cluster + extra_cluster)


class Setup:
    def __init__(self, portico, grpc_servers, test_ca, server_cert, front, back, **kwargs):
        self.server = grpc_servers[back]
        self.p = portico(grpc_config(self.server, back, test_ca, server_cert, front, **kwargs))
        self.chan = channel("127.0.0.1:%d" % self.p.port, test_ca.cert if front == "tls" else None)
        self.client = EchoClient(self.chan)


@pytest.fixture(params=COMBINATIONS, ids=["-".join(c) for c in COMBINATIONS])
def setup(request, portico, grpc_servers, test_ca, server_cert):
    front, back = request.param
    s = Setup(portico, grpc_servers, test_ca, server_cert, front, back)
    yield s
    s.chan.close()


def test_unary_call_with_metadata_and_trailers(setup):
    reply, call = setup.client.echo.with_call(b"hello grpc", metadata=[("x-echo-id", "42")],
                                              timeout=10)
    assert reply == b"hello grpc"
    assert call.code() == grpc.StatusCode.OK
    assert ("x-echo-initial", "yes") in [tuple(m) for m in call.initial_metadata()]
    trailers = [tuple(m) for m in call.trailing_metadata()]
    assert ("x-echo-trailer", "done") in trailers
    assert ("x-echo-id", "42") in trailers


def test_client_streaming_many_messages(setup):
    messages = [bytes([i % 256]) * (i * 37 % 3000) for i in range(500)]
    reply = json.loads(setup.client.collect(iter(messages), timeout=30))
    whole = b"".join(messages)
    assert reply == {"count": 500, "bytes": len(whole),
                     "sha256": hashlib.sha256(whole).hexdigest()}


def test_server_streaming_many_messages(setup):
    got = list(setup.client.repeat(1000, 1500, timeout=30))
    assert len(got) == 1000
    assert all(m == bytes([i % 251]) * 1500 for i, m in enumerate(got))


def test_bidirectional_streaming_interleaved(setup):
    messages = [("message %d" % i).encode() * (1 + i % 50) for i in range(300)]
    got = list(setup.client.chat(iter(messages), timeout=30))
    assert got == messages


def test_large_messages_both_ways(setup):
    big = bytes(range(256)) * (4 * 1024 * 1024 // 256)  # 4 MiB
    assert setup.client.echo(big, timeout=30) == big
    got = list(setup.client.repeat(3, 4 * 1024 * 1024, timeout=60))
    assert [len(m) for m in got] == [4 * 1024 * 1024] * 3


def test_non_ok_status_and_its_trailers_pass_through(setup):
    e = setup.client.fail(grpc.StatusCode.NOT_FOUND, "no such thing: 100%",
                          {"x-reason": "absent"}, timeout=10)
    assert e.code() == grpc.StatusCode.NOT_FOUND
    assert e.details() == "no such thing: 100%"
    assert ("x-reason", "absent") in [tuple(m) for m in e.trailing_metadata()]
    e = setup.client.fail(grpc.StatusCode.RESOURCE_EXHAUSTED, "slow down", timeout=10)
    assert e.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_deadline_exceeded_reaches_the_client_and_the_proxy_goes_on(setup):
    e = rpc_error(setup.client.slow, 5000, timeout=0.3)
    assert e.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert setup.client.echo(b"after", timeout=10) == b"after"


def test_health_check(setup):
    assert setup.client.health(b"", timeout=10) == b"\x08\x01"  # SERVING


def test_fifty_concurrent_calls_on_one_channel(setup):
    def one(i):
        payload = ("call %d " % i).encode() * 100
        return setup.client.echo(payload, timeout=30) == payload

    with concurrent.futures.ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(one, range(50)))
    assert all(results)


def test_unknown_method_is_the_servers_unimplemented(setup):
    e = rpc_error(setup.client.unknown, b"", timeout=10)
    assert e.code() == grpc.StatusCode.UNIMPLEMENTED


def test_request_reaches_the_server_with_forwarding_metadata(setup):
    md = dict(setup.client.metadata(timeout=10))
    assert md.get("x-forwarded-for") == "127.0.0.1"


# ---- errors Portico makes itself ------------------------------------------------------------

@pytest.mark.parametrize("front", ["h2c", "tls"])
def test_no_route_is_unimplemented_not_html(portico, grpc_servers, test_ca, server_cert, front):
    routes = ("          - match: { prefix: /other.Service/ }\n"
              "            proxy: { cluster: app }\n")
    s = Setup(portico, grpc_servers, test_ca, server_cert, front, "h2c", routes=routes)
    e = rpc_error(s.client.echo, b"x", timeout=10)
    assert e.code() == grpc.StatusCode.UNIMPLEMENTED
    assert e.details() == "404 Not Found"
    s.chan.close()


@pytest.mark.parametrize("front", ["h2c", "tls"])
def test_backend_down_is_unavailable(portico, test_ca, server_cert, front):
    listener = tls_listener([server_cert], alpn=["h2", "http/1.1"]) if front == "tls" else ""
    p = portico(proxy_config(["127.0.0.1:%d" % free_port()], extra_listener=listener,
                             extra_cluster="    protocol: h2c\n"))
    chan = channel("127.0.0.1:%d" % p.port, test_ca.cert if front == "tls" else None)
    e = rpc_error(EchoClient(chan).echo, b"x", timeout=10)
    assert e.code() == grpc.StatusCode.UNAVAILABLE
    assert "502" in e.details()
    chan.close()


def test_upstream_timeout_is_unavailable(portico, grpc_servers, test_ca, server_cert):
    s = Setup(portico, grpc_servers, test_ca, server_cert, "h2c", "h2c",
              extra_cluster="    timeouts: { response_header: 300ms }\n")
    e = rpc_error(s.client.slow, 5000, timeout=10)
    assert e.code() == grpc.StatusCode.UNAVAILABLE
    assert e.details() == "504 Gateway Timeout"
    s.chan.close()


def test_fault_abort_is_a_grpc_error(portico, grpc_servers, test_ca, server_cert):
    routes = ("          - match: { prefix: / }\n"
              "            proxy: { cluster: app }\n"
              "            fault: { abort: { status: 403, body: \"not for you\" } }\n")
    s = Setup(portico, grpc_servers, test_ca, server_cert, "h2c", "h2c", routes=routes)
    e = rpc_error(s.client.echo, b"x", timeout=10)
    assert e.code() == grpc.StatusCode.PERMISSION_DENIED
    assert e.details() == "not for you"
    s.chan.close()


def test_request_body_idle_timeout_is_a_grpc_error(portico, grpc_servers, test_ca, server_cert):
    """The codec's own reply (408 after body_idle on a client stream that stalls) is a gRPC
    error too."""
    import threading
    p = portico(proxy_config([grpc_servers["h2c"].address],
                             extra_listener="    timeouts: { body_idle: 300ms }\n",
                             extra_cluster="    protocol: h2c\n"))
    chan = channel("127.0.0.1:%d" % p.port)
    release = threading.Event()

    def stalled():
        yield b"first"
        release.wait(10)  # silent far longer than body_idle

    try:
        e = rpc_error(EchoClient(chan).collect, stalled(), timeout=10)
        assert e.code() == grpc.StatusCode.UNKNOWN
        assert e.details() == "408 Request Timeout"
    finally:
        release.set()
        chan.close()
