"""WebSocket over HTTP/2 (RFC 8441) for end-to-end tests: h2_client.H2Client sends the
extended CONNECT, and a small RFC 6455 frame encoder/decoder carries WebSocket messages in the
stream's DATA frames. Several WebSocket streams and ordinary requests may share a connection.

    c = H2Client(port)                          # or tls=True, cafile=...
    ws = WebSocket.open(c, "/echo")             # ws.status: 200 when the backend accepted
    ws.send("hello"); ws.receive()              # -> "hello"
    ws.receive() -> ("close", code, reason) for a close frame, None once the stream is over
"""
import os
import ssl
import struct

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


def client_frame(opcode, payload, fin=True):
    """A masked frame, as a client must send (RFC 6455 5.3)."""
    key = os.urandom(4)
    head = bytes([(0x80 if fin else 0) | opcode])
    n = len(payload)
    if n < 126:
        head += bytes([0x80 | n])
    elif n <= 0xFFFF:
        head += bytes([0x80 | 126]) + struct.pack("!H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", n)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def parse_frame(buf, pos):
    """The server frame at buf[pos:]: ((fin, opcode, payload), next pos), or None if it is not
    complete yet."""
    if len(buf) - pos < 2:
        return None
    fin, opcode = buf[pos] & 0x80, buf[pos] & 0x0F
    assert not buf[pos + 1] & 0x80, "a server's frames are never masked"
    n, at = buf[pos + 1] & 0x7F, pos + 2
    if n == 126:
        if len(buf) - at < 2:
            return None
        n, at = struct.unpack("!H", buf[at:at + 2])[0], at + 2
    elif n == 127:
        if len(buf) - at < 8:
            return None
        n, at = struct.unpack("!Q", buf[at:at + 8])[0], at + 8
    if len(buf) - at < n:
        return None
    return (bool(fin), opcode, bytes(buf[at:at + n])), at + n


class WebSocket:
    def __init__(self, client, sid):
        self.c = client
        self.sid = sid
        self.pos = 0  # how much of the stream's body was parsed into frames

    @classmethod
    def open(cls, client, path, headers=(), authority="localhost"):
        """Sends the extended CONNECT and waits for the response head (or a reset)."""
        fields = [(":method", "CONNECT"), (":protocol", "websocket"),
                  (":scheme", "https" if isinstance(client.sock, ssl.SSLSocket) else "http"),
                  (":path", path), (":authority", authority),
                  ("sec-websocket-version", "13")] + list(headers)
        ws = cls(client, client.send_headers(fields, end_stream=False))
        st = client.streams[ws.sid]
        assert client.wait(lambda: st.status is not None or st.done), "no answer to CONNECT"
        return ws

    @property
    def state(self):
        return self.c.streams[self.sid]

    @property
    def status(self):
        return self.state.status

    def send(self, message, fragments=1):
        opcode = OP_TEXT if isinstance(message, str) else OP_BINARY
        data = message.encode() if isinstance(message, str) else message
        step = max(1, -(-len(data) // fragments))
        pieces = [data[i:i + step] for i in range(0, len(data), step)] or [b""]
        frames = b"".join(client_frame(opcode if i == 0 else OP_CONT, piece,
                                       fin=i == len(pieces) - 1)
                          for i, piece in enumerate(pieces))
        self.c.send_body(self.sid, frames, end=False)

    def send_frame(self, opcode, payload, fin=True):
        self.c.send_body(self.sid, client_frame(opcode, payload, fin), end=False)

    def close(self, code=1000, reason=b""):
        self.send_frame(OP_CLOSE, struct.pack("!H", code) + reason)

    def end(self):
        """END_STREAM: the client's side of the tunnel is done."""
        self.c.conn.end_stream(self.sid)
        self.c.flush()

    def next_frame(self, timeout=None):
        """The next frame from the server, or None once the stream is over without one."""
        found = []

        def ready():
            parsed = parse_frame(self.state.body, self.pos)
            if parsed:
                found.append(parsed)
                return True
            return self.state.done

        self.c.wait(ready, timeout)
        if not found:
            return None
        frame, self.pos = found[0]
        return frame

    def receive(self, timeout=None):
        """The next message (pings and pongs skipped): str for text, bytes for binary,
        ("close", code, reason) for a close frame, None once the stream is over."""
        parts, first = [], None
        while True:
            frame = self.next_frame(timeout)
            if frame is None:
                return None
            fin, opcode, payload = frame
            if opcode == OP_CLOSE:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                return ("close", code, payload[2:])
            if opcode in (OP_PING, OP_PONG):
                continue
            first = opcode if first is None else first
            parts.append(payload)
            if fin:
                data = b"".join(parts)
                return data.decode() if first == OP_TEXT else data
