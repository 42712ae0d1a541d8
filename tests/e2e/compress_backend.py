#!/usr/bin/env python3
"""A backend for the compression tests, run as its own process.

  GET|HEAD /gen?size=N&seed=S&kind=text|bytes&split=1&cl=1&status=N&type=T&h=Name:Value...
      -> status N (200), Content-Type T (text/html), body = body_for(size, seed, kind);
         with cl=1 a Content-Length, else chunked; with split=1 the body is written in
         random-sized pieces (seeded by S), each flushed on its own, some after a short pause,
         so the proxy reads it in many differently sized chunks; h adds response fields;
         trailers=1 adds a trailer "X-Body-Length" (chunked only).
  GET /sse?events=N  -> text/event-stream, chunked: event i is sent, then the stream waits
                        until /next is requested (on this backend, directly) before the next
  GET /next          -> lets the waiting /sse stream send its next event
  POST /digest       -> JSON {length, sha256, content_encoding, content_length} of the body
                        as it reached the backend
"""
import argparse
import hashlib
import json
import random
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

WORDS = ("proxy stream header body window level brotli zstd gzip route listener cluster "
         "backend client worker buffer timeout reload metric request response cache vary "
         "encoding identity chunk trailer flush event json html {\"id\": 17, \"name\": "
         "</div> <span class=\"note\"> 2026-12-01T02:41:00Z").split(" ")

NEXT = threading.Semaphore(0)


def body_for(size, seed, kind="text"):
    """The body /gen sends: compressible text (words), or incompressible random bytes."""
    rng = random.Random(seed)
    if kind == "bytes":
        return rng.randbytes(size)
    out = bytearray()
    while len(out) < size:
        out += " ".join(rng.choices(WORDS, k=256)).encode() + b"\n"
    return bytes(out[:size])


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet
        pass

    def do_HEAD(self):
        self.do_GET(head=True)

    def do_GET(self, head=False):
        url = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(url.query)
        if url.path == "/gen":
            self.gen(q, head)
        elif url.path == "/sse":
            self.sse(int(q.get("events", ["3"])[0]))
        elif url.path == "/next":
            NEXT.release()
            self.reply(200, b"next")
        else:
            self.reply(404, b"no such path")

    def do_POST(self):
        length = self.headers.get("Content-Length")
        if length is not None:
            body = self.rfile.read(int(length))
        else:
            body = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b""):
                        pass
                    break
                body += self.rfile.read(size)
                self.rfile.readline()
        info = {"length": len(body), "sha256": hashlib.sha256(body).hexdigest(),
                "content_encoding": self.headers.get("Content-Encoding"),
                "content_length": length}
        self.reply(200, json.dumps(info).encode(), "application/json")

    def reply(self, status, body, ctype="text/plain"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def gen(self, q, head):
        arg = lambda k, d: q.get(k, [d])[0]
        size, seed = int(arg("size", "1000")), int(arg("seed", "1"))
        status = int(arg("status", "200"))
        body = body_for(size, seed, arg("kind", "text"))
        chunked = arg("cl", "0") != "1"
        trailers = arg("trailers", "0") == "1"
        self.send_response(status)
        if arg("type", "text/html") != "none":
            self.send_header("Content-Type", arg("type", "text/html"))
        for h in q.get("h", []):
            name, _, value = h.partition(":")
            self.send_header(name, value.strip())
        no_body = status in (204, 304) or status < 200
        if no_body:
            self.end_headers()
            return
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
            if trailers:
                self.send_header("Trailer", "X-Body-Length")
        else:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if head:
            return
        rng = random.Random(seed * 7919 + 1)
        pos = 0
        split = arg("split", "1") == "1"
        while pos < len(body):
            n = rng.choice((1, 7, 100, 1000, 4096, 16384, 65536, 200000)) if split else len(body)
            piece = body[pos:pos + n]
            pos += len(piece)
            if chunked:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            else:
                self.wfile.write(piece)
            self.wfile.flush()
            if split and rng.random() < 0.05:
                time.sleep(0.002)  # let the proxy read what came so far as its own chunk
        if chunked:
            tail = b"X-Body-Length: %d\r\n" % len(body) if trailers else b""
            self.wfile.write(b"0\r\n" + tail + b"\r\n")
        self.wfile.flush()

    def sse(self, events):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for i in range(events):
            event = b"id: %d\ndata: event number %d\n\n" % (i, i)
            self.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
            self.wfile.flush()
            if i + 1 < events and not NEXT.acquire(timeout=20):
                return  # the test gave up; end without the last chunk
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
