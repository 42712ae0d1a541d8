#!/usr/bin/env python3
"""A real HTTP/2 backend for end-to-end tests (python3-h2), run as its own process.

Speaks h2c (prior knowledge) on a plain socket, or h2 over TLS with ALPN (--tls-cert,
--tls-key; it offers only "h2"). Every request is appended as one JSON line to --record:
method, path, authority, scheme, headers, body_len, body_sha256, trailers, conn (a number per
connection: distinct numbers = distinct upstream connections) and stream_id.

Behaviour by path:
  /echo            -> 200, body = the request body; trailers echoed back when it had some
  /info            -> 200, JSON {method, path, authority, scheme, headers}
  /bytes/N         -> 200, N bytes of 'x' with content-length, sent as the windows allow
  /trailers        -> 200, body "hello", trailers x-checksum: abc
  /sleep/MS        -> waits MS ms (without holding up other streams), then 200 "slept"
  /rst/CODE        -> RST_STREAM with error code CODE (7 = REFUSED_STREAM, 2 = INTERNAL_ERROR)
  /refuse-once/KEY -> RST_STREAM REFUSED_STREAM the first time KEY is seen, then 200 "ok KEY"
  /badheader       -> 200 with a connection-specific field (malformed in HTTP/2)
  /badlength       -> 200 with content-length 10 and 5 bytes of body
  anything else    -> 200, body "ok <name> <path>"
Options: --max-streams N (SETTINGS_MAX_CONCURRENT_STREAMS); --goaway-after N: on each
connection, once N requests arrived, GOAWAY with the highest stream id received as
last_stream_id; later streams are not answered (the client must retry them elsewhere) and the connection closes when
the answered ones are done.
"""
import argparse
import hashlib
import json
import socket
import ssl
import struct
import sys
import threading
import time

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.settings

ARGS = None
RECORD_LOCK = threading.Lock()
REFUSED = set()
CONN_IDS = iter(range(1, 1 << 30))


def record(entry):
    with RECORD_LOCK:
        with open(ARGS.record, "a") as f:
            f.write(json.dumps(entry) + "\n")


class Connection:
    def __init__(self, sock, conn_id):
        self.sock = sock
        self.conn_id = conn_id
        self.lock = threading.Lock()
        self.window_open = threading.Condition(self.lock)
        config = h2.config.H2Configuration(client_side=False, header_encoding="utf-8")
        self.h2 = h2.connection.H2Connection(config=config)
        self.streams = {}  # id -> {"headers": dict, "body": bytearray, "trailers": list}
        self.requests = 0
        self.goaway_sent = False
        self.last_id = 0
        self.last_answered = None
        self.pending = 0  # responses in progress
        self.closed = False

    def send_pending(self):
        data = self.h2.data_to_send()
        if data:
            try:
                self.sock.sendall(data)
            except OSError:
                self.closed = True

    def run(self):
        with self.lock:
            self.h2.initiate_connection()
            if ARGS.max_streams:
                self.h2.update_settings(
                    {h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: ARGS.max_streams})
            self.send_pending()
        try:
            while not self.closed:
                data = self.sock.recv(65536)
                if not data:
                    break
                with self.lock:
                    events = self.h2.receive_data(data)
                    for event in events:
                        self.on_event(event)
                    self.send_pending()
        except (OSError, h2.exceptions.ProtocolError) as e:
            print("connection %d: %r" % (self.conn_id, e), file=sys.stderr, flush=True)
        finally:
            with self.lock:
                self.closed = True
                self.window_open.notify_all()
            try:
                self.sock.close()
            except OSError:
                pass

    def on_event(self, event):
        if isinstance(event, h2.events.RequestReceived):
            self.streams[event.stream_id] = {"headers": dict(event.headers), "body": bytearray(),
                                             "trailers": []}
            # A request without a body also raises StreamEnded, which answers it.
        elif isinstance(event, h2.events.DataReceived):
            stream = self.streams.get(event.stream_id)
            if stream is not None:
                stream["body"] += event.data
            self.h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
        elif isinstance(event, h2.events.TrailersReceived):
            stream = self.streams.get(event.stream_id)
            if stream is not None:
                stream["trailers"] = [list(t) for t in event.headers]
        elif isinstance(event, h2.events.StreamEnded):
            if event.stream_id in self.streams:
                self.on_request(event.stream_id)
        elif isinstance(event, (h2.events.WindowUpdated, h2.events.RemoteSettingsChanged)):
            self.window_open.notify_all()
        elif isinstance(event, h2.events.StreamReset):
            self.streams.pop(event.stream_id, None)
            self.window_open.notify_all()

    def on_request(self, stream_id):
        stream = self.streams[stream_id]
        headers = stream["headers"]
        self.requests += 1
        if self.goaway_sent and stream_id > self.last_id:
            self.streams.pop(stream_id, None)  # above last_stream_id: never processed
            self.close_if_done()
            return
        body = bytes(stream["body"])
        record({"method": headers.get(":method"), "path": headers.get(":path"),
                "authority": headers.get(":authority"), "scheme": headers.get(":scheme"),
                "headers": [[k, v] for k, v in headers.items() if not k.startswith(":")],
                "body_len": len(body), "body_sha256": hashlib.sha256(body).hexdigest(),
                "trailers": stream["trailers"], "conn": self.conn_id, "stream_id": stream_id})
        if ARGS.goaway_after and self.requests >= ARGS.goaway_after and not self.goaway_sent:
            self.goaway_sent = True
            # Every stream received so far will be answered (some ended before this one).
            self.last_id = max(self.streams)
            # python3-h2 sends nothing more once it sent GOAWAY itself, but RFC 9113 6.8 lets
            # the streams up to last_stream_id finish: write the frame by hand.
            self.send_pending()
            frame = (struct.pack(">I", 8)[1:] + bytes([0x7, 0]) +
                     struct.pack(">IIi", 0, self.last_id, 0))
            try:
                self.sock.sendall(frame)
            except OSError:
                self.closed = True
        self.pending += 1
        threading.Thread(target=self.respond, args=(stream_id, headers, body, stream["trailers"]),
                         daemon=True).start()

    def respond(self, stream_id, headers, body, trailers):
        try:
            self.answer(stream_id, headers.get(":path", "/"), body, trailers)
        except (h2.exceptions.StreamClosedError, h2.exceptions.ProtocolError, KeyError) as e:
            print("stream %d: %r" % (stream_id, e), file=sys.stderr, flush=True)
        finally:
            with self.lock:
                self.pending -= 1
                self.streams.pop(stream_id, None)
                self.close_if_done()

    def close_if_done(self):
        """After GOAWAY: closes once every stream up to last_stream_id was answered."""
        if not self.goaway_sent or self.pending > 0:
            return
        if any(sid <= self.last_id for sid in self.streams):
            return  # a request the GOAWAY covers is still arriving
        self.send_pending()
        try:
            # Half-close, and read on until the client closes: closing with its bytes unread
            # would reset the connection and could destroy responses not yet read.
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def headers_out(self, stream_id, status, extra=(), end_stream=False):
        with self.lock:
            self.h2.send_headers(stream_id, [(":status", str(status)), *extra],
                                 end_stream=end_stream)
            self.send_pending()

    def small_response_out(self, stream_id, status, data):
        """Headers and a body that fits the window in one write, as real HTTP/2 servers send a
        small response: a backend killed mid-response (test_resilience) then loses all of it
        or none, never headers alone, which no proxy could retry once forwarded."""
        with self.lock:
            if self.closed or stream_id not in self.streams:
                return
            room = min(self.h2.local_flow_control_window(stream_id),
                       self.h2.max_outbound_frame_size)
            fits = len(data) <= room
            self.h2.send_headers(stream_id, [(":status", str(status))])
            if fits:
                self.h2.send_data(stream_id, data, end_stream=True)
            self.send_pending()
            if fits:
                return
        self.body_out(stream_id, data)

    def body_out(self, stream_id, data, end_stream=True):
        view = memoryview(data)
        while True:
            with self.lock:
                if self.closed or stream_id not in self.streams:
                    return
                room = min(self.h2.local_flow_control_window(stream_id),
                           self.h2.max_outbound_frame_size)
                if len(view) == 0 or room > 0:
                    n = min(room, len(view))
                    last = n == len(view)
                    self.h2.send_data(stream_id, bytes(view[:n]), end_stream=last and end_stream)
                    self.send_pending()
                    view = view[n:]
                    if last:
                        return
                else:
                    self.window_open.wait(timeout=1.0)

    def reset(self, stream_id, code):
        with self.lock:
            self.h2.reset_stream(stream_id, error_code=code)
            self.send_pending()

    def answer(self, stream_id, path, body, trailers):
        parts = path.split("?")[0].strip("/").split("/")
        kind = parts[0]
        if kind == "echo":
            self.headers_out(stream_id, 200, [("content-type", "application/octet-stream")],
                             end_stream=False)
            self.body_out(stream_id, body, end_stream=not trailers)
            if trailers:
                with self.lock:
                    self.h2.send_headers(stream_id, [tuple(t) for t in trailers], end_stream=True)
                    self.send_pending()
        elif kind == "info":
            with self.lock:
                headers = dict(self.streams[stream_id]["headers"])
            data = json.dumps({"method": headers.get(":method"), "path": headers.get(":path"),
                               "authority": headers.get(":authority"),
                               "scheme": headers.get(":scheme"),
                               "headers": [[k, v] for k, v in headers.items()
                                           if not k.startswith(":")]}).encode()
            self.headers_out(stream_id, 200, [("content-type", "application/json"),
                                              ("content-length", str(len(data)))])
            self.body_out(stream_id, data)
        elif kind == "bytes":
            n = int(parts[1])
            self.headers_out(stream_id, 200, [("content-length", str(n))])
            self.body_out(stream_id, b"x" * n)
        elif kind == "trailers":
            self.headers_out(stream_id, 200)
            self.body_out(stream_id, b"hello", end_stream=False)
            with self.lock:
                self.h2.send_headers(stream_id, [("x-checksum", "abc")], end_stream=True)
                self.send_pending()
        elif kind == "sleep":
            time.sleep(int(parts[1]) / 1000.0)
            self.small_response_out(stream_id, 200, b"slept")
        elif kind == "rst":
            self.reset(stream_id, int(parts[1]))
        elif kind == "refuse-once":
            key = parts[1]
            with RECORD_LOCK:
                first = key not in REFUSED
                REFUSED.add(key)
            if first:
                self.reset(stream_id, h2.errors.ErrorCodes.REFUSED_STREAM)
            else:
                self.headers_out(stream_id, 200)
                self.body_out(stream_id, ("ok " + key).encode())
        elif kind == "badheader":
            with self.lock:
                # python3-h2 refuses (and strips) such a field itself; skip both steps.
                self.h2.config.validate_outbound_headers = False
                self.h2.config.normalize_outbound_headers = False
                self.h2.send_headers(stream_id, [(":status", "200"), ("connection", "close")])
                self.h2.config.validate_outbound_headers = True
                self.h2.config.normalize_outbound_headers = True
                self.send_pending()
            self.body_out(stream_id, b"bad")
        elif kind == "badlength":
            self.headers_out(stream_id, 200, [("content-length", "10")])
            with self.lock:
                # h2 checks its own content-length only inbound.
                self.h2.send_data(stream_id, b"short", end_stream=True)
                self.send_pending()
        else:
            self.small_response_out(stream_id, 200, ("ok %s %s" % (ARGS.name, path)).encode())


def serve(sock, tls):
    if tls is not None:
        try:
            sock = tls.wrap_socket(sock, server_side=True)
        except (ssl.SSLError, OSError):
            sock.close()
            return
        if sock.selected_alpn_protocol() != "h2":
            sock.close()
            return
    Connection(sock, next(CONN_IDS)).run()


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--name", default="h2backend")
    p.add_argument("--record", required=True)
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    p.add_argument("--max-streams", type=int, default=0)
    p.add_argument("--goaway-after", type=int, default=0)
    ARGS = p.parse_args()
    tls = None
    if ARGS.tls_cert:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(ARGS.tls_cert, ARGS.tls_key)
        tls.set_alpn_protocols(["h2"])
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", ARGS.port))
    listener.listen(128)
    print("ready", flush=True)
    while True:
        sock, _ = listener.accept()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=serve, args=(sock, tls), daemon=True).start()


if __name__ == "__main__":
    main()
