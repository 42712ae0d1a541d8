"""Answers Portico makes itself to a gRPC request (content-type application/grpc...) are gRPC
errors: HTTP 200, content-type application/grpc, grpc-status and a percent-encoded
grpc-message in the head and no body, never an HTML or text error page. Here over HTTP/1.1
with raw requests (what a gRPC-Web or HTTP/1 gRPC bridge sends); test_grpc.py drives real
grpcio clients over HTTP/2."""
import pytest

from conftest import RawConn, free_port, proxy_config, request_bytes

# One empty gRPC message: flag 0, length 0.
EMPTY_MESSAGE = b"\x00\x00\x00\x00\x00"


def grpc_call(port, path="/test.Echo/Echo", content_type="application/grpc"):
    conn = RawConn(port)
    try:
        conn.send(request_bytes("POST", path, headers=[("Content-Type", content_type),
                                                       ("TE", "trailers")],
                                body=EMPTY_MESSAGE))
        return conn.read_response()
    finally:
        conn.close()


def assert_grpc_error(r, code, message=None):
    assert r.status == 200, r
    assert r.header("Content-Type") == "application/grpc"
    assert r.header("grpc-status") == str(code), r
    if message is not None:
        assert r.header("grpc-message") == message
    assert r.body == b""
    assert r.header("Content-Length") == "0"


def test_no_route_is_unimplemented(portico, backends):
    (b1,) = backends(1)
    routes = ("          - match: { prefix: /other.Service/ }\n"
              "            proxy: { cluster: app }\n")
    p = portico(proxy_config([b1], routes=routes))
    assert_grpc_error(grpc_call(p.port), 12, "404 Not Found")
    # gRPC-Web asks too, and gets its own content type back.
    r = grpc_call(p.port, content_type="application/grpc-web+proto")
    assert r.header("Content-Type") == "application/grpc-web"
    assert r.header("grpc-status") == "12"
    # Anything else still gets the usual error.
    r = grpc_call(p.port, content_type="application/json")
    assert r.status == 404
    assert r.header("grpc-status") is None
    assert b"404" in r.body


def test_backend_down_is_unavailable(portico):
    p = portico(proxy_config(["127.0.0.1:%d" % free_port()]))
    assert_grpc_error(grpc_call(p.port), 14, "502 Bad Gateway")
    p.wait_for_log('"POST /test.Echo/Echo HTTP/1.1" 200', access=True)


def test_upstream_timeout_is_unavailable(portico, backends):
    (b1,) = backends(1)
    p = portico(proxy_config([b1], extra_cluster="    timeouts: { response_header: 200ms }\n"))
    assert_grpc_error(grpc_call(p.port, path="/sleep/3000"), 14, "504 Gateway Timeout")


def test_fault_abort_is_mapped_and_its_body_percent_encoded(portico, backends):
    (b1,) = backends(1)
    routes = ("          - match: { prefix: / }\n"
              "            proxy: { cluster: app }\n"
              "            fault: { abort: { status: 403, body: \"denied: 100%\\n\" } }\n")
    p = portico(proxy_config([b1], routes=routes))
    assert_grpc_error(grpc_call(p.port), 7, "denied: 100%25%0A")
    assert b1.requests() == []


@pytest.mark.parametrize("status, code", [(400, 13), (401, 16), (429, 14), (503, 14),
                                          (500, 2)])
def test_statuses_map_as_the_grpc_table_says(portico, backends, status, code):
    (b1,) = backends(1)
    routes = ("          - match: { prefix: / }\n"
              "            proxy: { cluster: app }\n"
              "            fault: { abort: { status: %d } }\n" % status)
    p = portico(proxy_config([b1], routes=routes))
    assert_grpc_error(grpc_call(p.port), code)
