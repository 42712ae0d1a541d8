#!/usr/bin/env python3
"""A real HTTP/1.1 backend for end-to-end tests, run as its own process.

Every request it receives is appended as one JSON line to --record (method, path, headers,
body), so tests can assert what did or did not reach the backend. Behaviour by path:
  /name                 -> 200, body = --name
  /echo                 -> 200, JSON {method, path, query, headers, body}
  /bytes/N              -> 200, N bytes of 'x' with Content-Length
  /chunked/N            -> 200, N bytes in chunks of 1000, Transfer-Encoding: chunked
  /trailers             -> 200, chunked body "hello" with trailer X-Checksum: abc
  /close/N              -> 200, N bytes, no length: the close delimits the body
  /status/N             -> status N, short body (none for 204/304)
  /slowstatus/N/MS      -> waits MS milliseconds, then status N
  /sleep/MS             -> waits MS milliseconds, then 200 "slept"
  (with --delay-ms N every answer waits N ms more: a uniformly slow backend)
  /slowbody/N/MS        -> headers, then N bytes one by one with MS ms between them
  /reset                -> closes the connection without answering
  /garbage              -> answers with bytes that are not HTTP
  /server               -> 200 with "Server: secret-backend/1.0"
  /hop                  -> 200 with hop-by-hop headers that a proxy must remove
  /sha256               -> 200, JSON {length, sha256} of the request body
  /random/N             -> 200, N pseudo-random bytes; X-Sha256 header has their digest
  /bigchunked/N         -> 200, N bytes in chunks of 64 KiB (chunked), written as fast as the
                           socket takes them
  /slowread/MS          -> waits MS ms before reading the request body, then like /sha256
  /peer                 -> 200, body = the client port of this connection
  /early                -> 103 Early Hints (Link header), then 200 "after hints"
  /quietclose           -> 200 "bye" with a Content-Length, then closes the connection
                           without having said "Connection: close" (as idle-timeout backends do)
  /raw/NAME             -> writes RAW_RESPONSES[NAME] verbatim (broken or unusual responses),
                           then closes
  /garbagereused        -> 200 "fresh" on the first request of a connection, bytes that are not
                           HTTP on any later one (a backend that breaks on reused connections)
  /closable             -> 200 "closable"; the connection stays open until /closeidle
  /closeidle            -> resets (RST) every connection whose last request was /closable and
                           that is idle; body = how many (the test's way to make keep-alive
                           connections go stale at a moment of its choosing)
  /answerfirst          -> 200 "answered early" before reading the request body, then reads
                           the body and keeps the connection (as servers that answer early do)
  /health               -> 200 "healthy <name>", or 503 "failing <name>" after /health/fail
  /health/fail          -> from now on /health answers 503 (a backend failing its checks)
  /health/ok            -> from now on /health answers 200 again
  /split/N/SEED/FRAMING  -> 200, N pseudo-random bytes (from SEED) written in pieces split at
                           random points with random pauses of 0-2 ms; FRAMING "chunked" (with
                           trailers X-Sha256 and X-Length) or "length" (Content-Length). Headers
                           X-Request-Length, X-Request-Sha256 and X-Request-Trailers (JSON list
                           of [name, value]) describe the request body it read
  anything else         -> 200, body "ok <name> <path>"

The record has, besides the fields above, "peer_port" (the source port of the connection the
request came on: distinct ports = distinct upstream connections), "body_len" and
"body_sha256"; bodies over 64 KiB are not stored, only their length and digest.

With --fail-status N every request is recorded and answered with status N (a broken backend).
With --tls-cert/--tls-key the backend speaks TLS, and records "tls_version", "tls_resumed"
(the connection resumed a session), "sni" (the server name the client sent, or null) and
"client_cert_subject" (with --tls-client-ca, which requires a client certificate).
"""
import argparse
import gzip
import hashlib
import json
import random
import socket
import socketserver
import struct
import sys
import time
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ARGS = None
LOCK = threading.Lock()
CLOSABLE = set()  # idle connections that /closeidle closes
RESETTING = {}  # connection -> Event set once it was reset
HEALTHY = True  # what /health answers; /health/fail and /health/ok flip it

# Responses a proxy must not pass on as they are.
RAW_RESPONSES = {
    "cl-and-te": b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
                 b"0\r\n\r\n",
    "bad-cl": b"HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\nabc",
    "two-cl": b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
    "status-4-digits": b"HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n",
    "status-letters": b"HTTP/1.1 abc OK\r\nContent-Length: 0\r\n\r\n",
    "version-2": b"HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n",
    "obs-fold": b"HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 0\r\n\r\n",
    "nul-in-field": b"HTTP/1.1 200 OK\r\nX-A: a\x00b\r\nContent-Length: 0\r\n\r\n",
    "space-before-colon": b"HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n",
    "truncated-head": b"HTTP/1.1 200 OK\r\nContent-Le",
    "empty": b"",
    "unexpected-101": b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                      b"Connection: upgrade\r\n\r\n",
    "huge-head": b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 1000)
                                                   for i in range(200)) + b"\r\n",
    # The head is fine; the body breaks after it (the client sees a truncated response).
    "short-body": b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
    "bad-chunk": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nzz\r\n",
    "chunked-no-end": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n",
}

# Unusual but valid responses, passed on in a form the client reads the same way.
GZIPPED = gzip.compress(b"hello through a transfer coding", mtime=0)
RAW_RESPONSES.update({
    "cl-leading-zeros": b"HTTP/1.1 200 OK\r\nContent-Length: 005\r\n\r\nhello",
    "cl-repeated": b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
    "cl-list": b"HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\nhello",
    "status-600": b"HTTP/1.1 600 Custom\r\nContent-Length: 4\r\n\r\nsix!",
    "status-999": b"HTTP/1.1 999 \r\nContent-Length: 4\r\n\r\nnine",
    # Transfer codings the proxy does not decode: the body still carries them.
    "te-gzip-chunked": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n" +
                       b"%x\r\n" % len(GZIPPED) + GZIPPED + b"\r\n0\r\n\r\n",
    "te-gzip-close": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n" + GZIPPED,
    "te-unknown": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: foo\r\n\r\nabc",
})


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "secret-backend/1.0"
    # Head and body leave in separate writes; with Nagle the body would wait for a delayed ACK.
    disable_nagle_algorithm = True
    sys_version = ""

    def log_message(self, fmt, *args):  # quiet
        pass

    def _record(self, body):
        entry = {
            "method": self.command,
            "path": self.path,
            "headers": [[k, v] for k, v in self.headers.items()],
            "body": body.decode("latin-1") if len(body) <= 65536 else "",
            "body_len": len(body),
            "body_sha256": hashlib.sha256(body).hexdigest(),
            "backend": ARGS.name,
            "peer_port": self.client_address[1],
        }
        if hasattr(self.connection, "version"):
            cert = self.connection.getpeercert()
            entry.update({
                "tls_version": self.connection.version(),
                "tls_resumed": self.connection.session_reused,
                "sni": getattr(self.connection, "sni_name", None),
                "client_cert_subject": dict(x[0] for x in cert["subject"]) if cert else None,
            })
        with LOCK, open(ARGS.record, "a") as f:
            f.write(json.dumps(entry) + "\n")

    def _read_body(self):
        self.request_trailers = []
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = []
            while True:
                line = self.rfile.readline()
                if not line.endswith(b"\n"):
                    raise ConnectionError("chunked body ended early")
                size = int(line.strip().split(b";")[0], 16)
                if size == 0:
                    while True:
                        line = self.rfile.readline()
                        if line in (b"\r\n", b"\n", b""):
                            break
                        k, _, v = line.decode("latin-1").partition(":")
                        self.request_trailers.append([k, v.strip()])
                    return b"".join(data)
                chunk = self.rfile.read(size)
                if len(chunk) != size or self.rfile.readline() != b"\r\n":
                    raise ConnectionError("chunked body ended early")
                data.append(chunk)
        length = int(self.headers.get("Content-Length", "0") or 0)
        data = self.rfile.read(length) if length else b""
        if len(data) != length:
            # The sender gave up mid-body: not a request, so it is not recorded.
            raise ConnectionError("body ended after %d of %d bytes" % (len(data), length))
        return data

    def _send(self, status, body=b"", headers=None):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if status not in (204, 304) and not (100 <= status < 200):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def _send_split(self, request_body, n, seed, framing):
        data = random.Random(seed).randbytes(n)
        rng = random.Random(seed + 1)
        self.send_response(200)
        self.send_header("X-Request-Length", str(len(request_body)))
        self.send_header("X-Request-Sha256", hashlib.sha256(request_body).hexdigest())
        self.send_header("X-Request-Trailers", json.dumps(self.request_trailers))
        chunked = framing == "chunked"
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Trailer", "X-Sha256, X-Length")
        else:
            self.send_header("Content-Length", str(n))
        self.end_headers()
        sent = 0
        while sent < n:
            # Mostly small pieces, sometimes large ones: the proxy's reads split them again.
            piece = data[sent:sent + rng.choice((1, rng.randint(1, 4096), rng.randint(1, 300000)))]
            sent += len(piece)
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
            if rng.random() < 0.2:
                time.sleep(rng.random() * 0.002)
        if chunked:
            self.wfile.write(b"0\r\nX-Sha256: %s\r\nX-Length: %d\r\n\r\n"
                             % (hashlib.sha256(data).hexdigest().encode(), n))

    def handle_any(self):
        parts = self.path.split("?")[0].strip("/").split("/")
        head = parts[0]
        with LOCK:
            CLOSABLE.discard(self.connection)
        self.served = getattr(self, "served", 0) + 1
        if head == "answerfirst":
            self._send(200, b"answered early")
            self._record(self._read_body())
            return
        if head == "slowread":
            # Leaves the request body in the socket for a while: the proxy must not buffer
            # what the client keeps sending meanwhile.
            time.sleep(int(parts[1]) / 1000.0)
        body = self._read_body()
        self._record(body)
        if ARGS.delay_ms:
            time.sleep(ARGS.delay_ms / 1000.0)
        if ARGS.fail_status:
            return self._send(ARGS.fail_status, b"failing on purpose")
        if head in ("sha256", "slowread"):
            doc = {"length": len(body), "sha256": hashlib.sha256(body).hexdigest()}
            return self._send(200, json.dumps(doc).encode(), {"Content-Type": "application/json"})
        if head == "split":
            return self._send_split(body, int(parts[1]), int(parts[2]), parts[3])
        if head == "health":
            global HEALTHY
            if len(parts) > 1 and parts[1] in ("fail", "ok"):
                HEALTHY = parts[1] == "ok"
                return self._send(200, ("health now %s" % parts[1]).encode())
            if HEALTHY:
                return self._send(200, ("healthy %s" % ARGS.name).encode())
            return self._send(503, ("failing %s" % ARGS.name).encode())
        if head == "random":
            n = int(parts[1])
            data = random.Random(n).randbytes(n)
            return self._send(200, data, {"X-Sha256": hashlib.sha256(data).hexdigest()})
        if head == "bigchunked":
            n = int(parts[1])
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            block = b"b" * 65536
            sent = 0
            while sent < n:
                c = min(len(block), n - sent)
                self.wfile.write(b"%x\r\n" % c + block[:c] + b"\r\n")
                sent += c
            self.wfile.write(b"0\r\n\r\n")
            return
        if head == "early":
            self.wfile.write(b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n")
            return self._send(200, b"after hints")
        if head == "raw":
            self.wfile.write(RAW_RESPONSES[parts[1]])
            self.wfile.flush()
            self.close_connection = True
            return
        if head == "quietclose":
            self._send(200, b"bye")
            self.wfile.flush()
            self.close_connection = True
            return
        if head == "garbagereused":
            if self.served == 1:
                return self._send(200, b"fresh")
            self.wfile.write(b"this is not http\r\n\r\n")
            self.close_connection = True
            return
        if head == "closable":
            # Closable before the answer leaves: once the client has it, /closeidle finds it.
            with LOCK:
                CLOSABLE.add(self.connection)
            return self._send(200, b"closable")
        if head == "closeidle":
            with LOCK:
                idle = list(CLOSABLE)
                CLOSABLE.clear()
            for sock in idle:
                done = threading.Event()
                with LOCK:
                    RESETTING[sock] = done
                try:
                    # Linger 0: the close sends RST. Shutting the read side down wakes the
                    # connection's thread, which waits for its next request, and it closes.
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    sock.shutdown(socket.SHUT_RD)
                except OSError:
                    continue
                done.wait(5)
            return self._send(200, str(len(idle)).encode())
        if head == "peer":
            return self._send(200, str(self.client_address[1]).encode())
        if head == "name":
            return self._send(200, ARGS.name.encode())
        if head == "echo":
            path, _, query = self.path.partition("?")
            doc = {"method": self.command, "path": path, "query": query,
                   "headers": [[k, v] for k, v in self.headers.items()],
                   "body": body.decode("latin-1")}
            return self._send(200, json.dumps(doc).encode(), {"Content-Type": "application/json"})
        if head == "bytes":
            return self._send(200, b"x" * int(parts[1]))
        if head == "chunked":
            n = int(parts[1])
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            if self.command == "HEAD":
                # A body here would reach the proxy after the response, as if it answered the
                # next request on the connection (RFC 9110 9.3.2: HEAD gets none).
                return
            sent = 0
            while sent < n:
                c = min(1000, n - sent)
                self.wfile.write(b"%x\r\n" % c + b"y" * c + b"\r\n")
                sent += c
            self.wfile.write(b"0\r\n\r\n")
            return
        if head == "trailers":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Trailer", "X-Checksum")
            self.end_headers()
            self.wfile.write(b"5\r\nhello\r\n0\r\nX-Checksum: abc\r\n\r\n")
            return
        if head == "close":
            n = int(parts[1])
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b"z" * n)
            self.wfile.flush()
            self.close_connection = True
            return
        if head == "status":
            code = int(parts[1])
            return self._send(code, b"" if code in (204, 304) else b"status %d" % code)
        if head == "sleep":
            time.sleep(int(parts[1]) / 1000.0)
            return self._send(200, b"slept")
        if head == "slowstatus":
            time.sleep(int(parts[2]) / 1000.0)
            return self._send(int(parts[1]), b"slow status")
        if head == "slowbody":
            n, ms = int(parts[1]), int(parts[2])
            self.send_response(200)
            self.send_header("Content-Length", str(n))
            self.end_headers()
            for _ in range(n):
                self.wfile.write(b"s")
                self.wfile.flush()
                time.sleep(ms / 1000.0)
            return
        if head == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            self.close_connection = True
            self.connection.close()
            return
        if head == "garbage":
            self.wfile.write(b"this is not http\r\n\r\n")
            self.close_connection = True
            return
        if head == "server":
            return self._send(200, b"hidden", {})
        if head == "hop":
            return self._send(200, b"hop", {"Connection": "X-Secret-Hop", "X-Secret-Hop": "1",
                                             "Keep-Alive": "timeout=5", "Proxy-Connection": "x"})
        return self._send(200, ("ok %s %s" % (ARGS.name, self.path)).encode())

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = handle_any
    do_TRACE = handle_any


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    tls = None  # an ssl.SSLContext when the backend speaks TLS

    def get_request(self):
        sock, address = super().get_request()
        if self.tls is not None:
            # The handshake runs on the first read, in the request's own thread.
            sock = self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, address

    def shutdown_request(self, request):
        with LOCK:
            done = RESETTING.pop(request, None)
        if done is None:
            return super().shutdown_request(request)
        request.close()  # without the usual shutdown(SHUT_WR): its FIN would come first
        done.set()


def tls_context(cert, key, client_ca):
    import ssl
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    if client_ca:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(client_ca)

    def remember_sni(sock, name, _ctx):
        sock.sni_name = name

    ctx.sni_callback = remember_sni
    return ctx


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (another loopback address such as 127.0.0.2)")
    p.add_argument("--name", default="backend")
    p.add_argument("--record", required=True)
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    p.add_argument("--tls-client-ca")
    p.add_argument("--fail-status", type=int, default=0,
                   help="answer every request with this status (a broken backend)")
    p.add_argument("--delay-ms", type=int, default=0,
                   help="wait this long before answering every request (a slow backend)")
    ARGS = p.parse_args()
    srv = Server((ARGS.host, ARGS.port), Handler)
    if ARGS.tls_cert:
        srv.tls = tls_context(ARGS.tls_cert, ARGS.tls_key, ARGS.tls_client_ca)
    print("ready", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
