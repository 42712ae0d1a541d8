#!/usr/bin/env python3
"""A real gRPC server and client helpers for end-to-end tests, with Debian's python3-grpcio.

No protoc: methods are registered with generic handlers and carry raw bytes (requests that
need parameters carry JSON). Run as a script it is the server process:

    grpc_support.py --port N [--tls-cert CERT --tls-key KEY]     (prints "ready")

Methods of service test.Echo (METHOD paths below):
  Echo      unary; answers the request bytes; initial metadata x-echo-initial: yes and trailing
            metadata x-echo-trailer: done; metadata "x-echo-*" of the call comes back as
            trailing metadata too
  Collect   client streaming; answers JSON {"count", "bytes", "sha256"} of all messages
  Repeat    server streaming; request JSON {"count", "size"}: `count` messages of `size` bytes,
            message i filled with the byte i % 251
  Chat      bidirectional; echoes every message as it arrives
  Fail      unary; request JSON {"code": grpc code number, "message", "trailers": {k: v}}:
            ends the call with that status, message and trailing metadata
  Slow      unary; request JSON {"ms"}: waits that long, then answers b"slow done"
  Metadata  unary; answers JSON [[key, value], ...] of the call's metadata (what reached the
            server through the proxy)
  SetServing unary; request JSON {"service", "serving"}: from now on Health/Check answers
            SERVING (true) or NOT_SERVING (false) for that service ("" = the whole server)
and grpc.health.v1.Health/Check, which answers SERVING for every service unless SetServing said
otherwise (hand-encoded protobuf: HealthCheckResponse{status: SERVING} is b"\\x08\\x01").

As a module: GrpcServer starts the script as a process; channel() and EchoClient talk to a
server or to Portico in front of one.
"""
import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from concurrent import futures

import grpc

SERVICE = "test.Echo"
HEALTH_CHECK = "/grpc.health.v1.Health/Check"
HEALTH_SERVING = b"\x08\x01"
HEALTH_NOT_SERVING = b"\x08\x02"
NOT_SERVING = set()  # services Health/Check answers NOT_SERVING for (SetServing changes it)
# 4 MiB messages are tested; gRPC's default receive limit is exactly 4 MiB.
MAX_MESSAGE = 16 * 1024 * 1024
OPTIONS = [("grpc.max_send_message_length", MAX_MESSAGE),
           ("grpc.max_receive_message_length", MAX_MESSAGE)]


def method(name):
    return "/%s/%s" % (SERVICE, name)


# ---- the server --------------------------------------------------------------------------

def _echo(request, context):
    context.send_initial_metadata((("x-echo-initial", "yes"),))
    trailers = [("x-echo-trailer", "done")]
    trailers += [(k, v) for k, v in context.invocation_metadata() if k.startswith("x-echo-")]
    context.set_trailing_metadata(tuple(trailers))
    return request


def _collect(request_iterator, context):
    digest = hashlib.sha256()
    count = total = 0
    for message in request_iterator:
        count += 1
        total += len(message)
        digest.update(message)
    return json.dumps({"count": count, "bytes": total, "sha256": digest.hexdigest()}).encode()


def _repeat(request, context):
    params = json.loads(request)
    for i in range(params["count"]):
        yield bytes([i % 251]) * params["size"]


def _chat(request_iterator, context):
    for message in request_iterator:
        yield message


def _fail(request, context):
    params = json.loads(request)
    trailers = tuple((k, v) for k, v in params.get("trailers", {}).items())
    if trailers:
        context.set_trailing_metadata(trailers)
    code = next(c for c in grpc.StatusCode if c.value[0] == params["code"])
    context.set_code(code)
    context.set_details(params.get("message", ""))
    return b""


def _slow(request, context):
    params = json.loads(request)
    deadline = time.monotonic() + params["ms"] / 1000.0
    while time.monotonic() < deadline and context.is_active():
        time.sleep(0.01)
    return b"slow done"


def _metadata(request, context):
    return json.dumps([[k, v] for k, v in context.invocation_metadata()]).encode()


def _health(request, context):
    # HealthCheckRequest{service}: field 1, a string shorter than 128 bytes (one length byte).
    service = request[2:2 + request[1]].decode() if request[:1] == b"\x0a" else ""
    return HEALTH_NOT_SERVING if service in NOT_SERVING else HEALTH_SERVING


def _set_serving(request, context):
    doc = json.loads(request)
    if doc["serving"]:
        NOT_SERVING.discard(doc["service"])
    else:
        NOT_SERVING.add(doc["service"])
    return b"done"


def _handlers():
    echo = grpc.method_handlers_generic_handler(SERVICE, {
        "Echo": grpc.unary_unary_rpc_method_handler(_echo),
        "Collect": grpc.stream_unary_rpc_method_handler(_collect),
        "Repeat": grpc.unary_stream_rpc_method_handler(_repeat),
        "Chat": grpc.stream_stream_rpc_method_handler(_chat),
        "Fail": grpc.unary_unary_rpc_method_handler(_fail),
        "Slow": grpc.unary_unary_rpc_method_handler(_slow),
        "Metadata": grpc.unary_unary_rpc_method_handler(_metadata),
        "SetServing": grpc.unary_unary_rpc_method_handler(_set_serving),
    })
    health = grpc.method_handlers_generic_handler("grpc.health.v1.Health", {
        "Check": grpc.unary_unary_rpc_method_handler(_health),
    })
    return (echo, health)


def serve(port, tls_cert=None, tls_key=None):
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=128), handlers=_handlers(),
                         options=OPTIONS, maximum_concurrent_rpcs=None)
    address = "127.0.0.1:%d" % port
    if tls_cert:
        with open(tls_key, "rb") as f:
            key = f.read()
        with open(tls_cert, "rb") as f:
            cert = f.read()
        server.add_secure_port(address, grpc.ssl_server_credentials([(key, cert)]))
    else:
        server.add_insecure_port(address)
    server.start()
    print("ready", flush=True)
    server.wait_for_termination()


# ---- the server as a process ---------------------------------------------------------------

class GrpcServer:
    """The server script as its own process on a free port of 127.0.0.1; `leaf` (a tls_certs
    Leaf, or a (cert, key) pair) makes it speak TLS. `.address` is "127.0.0.1:port"."""

    def __init__(self, leaf=None):
        from conftest import free_port, wait_for_port
        self.port = free_port()
        self.address = "127.0.0.1:%d" % self.port
        args = [sys.executable, os.path.abspath(__file__), "--port", str(self.port)]
        if leaf is not None:
            cert, key = (leaf.cert, leaf.key) if hasattr(leaf, "cert") else leaf
            args += ["--tls-cert", cert, "--tls-key", key]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.proc.stdout.readline()
        wait_for_port(self.port, proc=self.proc)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


# ---- clients -------------------------------------------------------------------------------

def channel(target, ca=None, server_name="localhost"):
    """A channel to "host:port": cleartext HTTP/2 (h2c, prior knowledge), or TLS trusting the
    PEM file `ca` and checking the certificate for `server_name`."""
    if ca is None:
        return grpc.insecure_channel(target, options=OPTIONS)
    with open(ca, "rb") as f:
        creds = grpc.ssl_channel_credentials(root_certificates=f.read())
    return grpc.secure_channel(target, creds,
                               options=OPTIONS + [("grpc.ssl_target_name_override", server_name)])


class EchoClient:
    """Callables for every method of test.Echo on `chan`. Requests and responses are bytes;
    each call takes the usual grpcio keywords (timeout=, metadata=)."""

    def __init__(self, chan):
        self.echo = chan.unary_unary(method("Echo"))
        self.collect = chan.stream_unary(method("Collect"))
        self.repeat_raw = chan.unary_stream(method("Repeat"))
        self.chat = chan.stream_stream(method("Chat"))
        self.fail_raw = chan.unary_unary(method("Fail"))
        self.slow_raw = chan.unary_unary(method("Slow"))
        self.metadata_raw = chan.unary_unary(method("Metadata"))
        self.health = chan.unary_unary(HEALTH_CHECK)
        self.unknown = chan.unary_unary(method("NoSuchMethod"))

    def repeat(self, count, size, **kwargs):
        return self.repeat_raw(json.dumps({"count": count, "size": size}).encode(), **kwargs)

    def fail(self, code, message="", trailers=None, **kwargs):
        """Calls Fail with a grpc.StatusCode; returns the raised grpc.RpcError."""
        request = json.dumps({"code": code.value[0], "message": message,
                              "trailers": trailers or {}}).encode()
        try:
            self.fail_raw.with_call(request, **kwargs)
        except grpc.RpcError as e:
            return e
        raise AssertionError("Fail answered OK")

    def slow(self, ms, **kwargs):
        return self.slow_raw(json.dumps({"ms": ms}).encode(), **kwargs)

    def metadata(self, **kwargs):
        return [tuple(kv) for kv in json.loads(self.metadata_raw(b"", **kwargs))]


def rpc_error(call, *args, **kwargs):
    """Runs a call that must fail; returns its grpc.RpcError (code(), details(),
    trailing_metadata())."""
    try:
        result = call(*args, **kwargs)
        if hasattr(result, "__iter__") and not isinstance(result, bytes):
            list(result)
    except grpc.RpcError as e:
        return e
    raise AssertionError("the call succeeded")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    a = parser.parse_args()
    serve(a.port, a.tls_cert, a.tls_key)
