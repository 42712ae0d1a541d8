"""A small HTTP/2 client over python3-h2 for end-to-end tests, plain (h2c, prior knowledge) or
TLS (ALPN h2). Frame-level enough to send what a real client would never send: headers are
neither validated nor normalised on the way out, so tests can put uppercase names, CR/LF or
connection-specific fields on the wire and see what Portico answers.

    c = H2Client(port)                       # or H2Client(port, tls=True, cafile=ca.cert)
    sid = c.request("GET", "/name")
    r = c.response(sid)                      # waits until the stream ends or is reset
    r.status, r.headers, r.body, r.trailers, r.reset_code
    c.close()

`c.send_raw(raw_frame(...))` puts a hand-made frame on the wire (what python-h2 refuses to
send, such as a stream opened below the highest one); with record=True, `c.frames()` lists
every frame received as (type, flags, stream_id, payload), including those python-h2 swallows.

Flow control: received body bytes are acknowledged (window reopened) as they arrive, except on
streams listed in `c.stalled`, whose window the client keeps shut. Every wait has a deadline;
nothing sleeps for a fixed time.
"""
import socket
import struct
import time

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings

from conftest import tls_connect


class StreamState:
    def __init__(self):
        self.headers = []        # final response fields as (name, value) str pairs
        self.interim = []        # 1xx heads, each a list of fields
        self.body = bytearray()
        self.trailers = []
        self.ended = False       # END_STREAM received
        self.reset_code = None   # error code of an RST_STREAM that closed it

    @property
    def status(self):
        for k, v in self.headers:
            if k == ":status":
                return int(v)
        return None

    def header(self, name):
        """The first value of field `name` (lowercase), or None."""
        for k, v in self.headers:
            if k == name:
                return v
        return None

    @property
    def done(self):
        return self.ended or self.reset_code is not None


class H2Client:
    def __init__(self, port, tls=False, cafile=None, server_name="localhost", timeout=10.0,
                 settings=None, window=None, record=False):
        """`settings`: extra SETTINGS to send ({h2.settings.SettingCodes.X: value});
        `window`: this client's initial stream window (default 64 KiB, RFC 9113);
        `record`: keep every byte received, for frames()."""
        if tls:
            self.sock = tls_connect(port, server_name, cafile, alpn=["h2"], timeout=timeout)
            assert self.sock.selected_alpn_protocol() == "h2", "server did not choose h2"
        else:
            self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        # Window updates are small writes: without this, Nagle and delayed ACKs stall each
        # window round trip for 40 ms.
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.timeout = timeout
        config = h2.config.H2Configuration(client_side=True, header_encoding="utf-8",
                                           validate_outbound_headers=False,
                                           normalize_outbound_headers=False,
                                           validate_inbound_headers=False)
        self.conn = h2.connection.H2Connection(config=config)
        self.conn.initiate_connection()
        local = dict(settings or {})
        if window is not None:
            local[h2.settings.SettingCodes.INITIAL_WINDOW_SIZE] = window
        if local:
            self.conn.update_settings(local)
        self.flush()
        self.streams = {}
        self.stalled = set()     # stream ids whose window we never reopen
        self.goaway = None       # the GOAWAY event, once received
        self.closed = False      # the server closed the connection
        self.remote_settings = {}
        self.received = bytearray() if record else None
        self.unparsed = bytearray()  # bytes of a frame not yet complete

    # ---- sending ------------------------------------------------------------------------

    def flush(self):
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def headers_for(self, method, path, authority="localhost", scheme="http", extra=()):
        return [(":method", method), (":scheme", scheme), (":path", path),
                (":authority", authority)] + list(extra)

    def request(self, method, path, headers=(), body=None, authority="localhost", end=True,
                scheme="http"):
        """Opens a stream with the usual pseudo-headers plus `headers`; sends `body` (bytes) if
        given; ends the stream unless end=False. Returns the stream id."""
        fields = self.headers_for(method, path, authority, scheme, headers)
        return self.send_headers(fields, end_stream=end and body is None, body=body, end=end)

    def send_headers(self, fields, end_stream=True, body=None, end=True, stream_id=None):
        """Sends exactly `fields` (pseudo-headers included, in order, unchecked)."""
        sid = stream_id or self.conn.get_next_available_stream_id()
        self.streams[sid] = StreamState()
        self.conn.send_headers(sid, fields, end_stream=end_stream)
        self.flush()
        if body is not None:
            self.send_body(sid, body, end=end)
        return sid

    def send_body(self, sid, data, end=True):
        """Sends `data` on `sid` as flow control allows, waiting for window updates."""
        view = memoryview(data)
        deadline = time.time() + self.timeout * 6
        while view:
            room = min(self.conn.local_flow_control_window(sid), self.conn.max_outbound_frame_size)
            if room <= 0:
                if time.time() > deadline:
                    raise TimeoutError("no window to send on stream %d" % sid)
                self.pump_once()
                if self.streams[sid].done:
                    return
                continue
            self.conn.send_data(sid, bytes(view[:room]))
            view = view[room:]
            self.flush()
        if end:
            self.conn.end_stream(sid)
            self.flush()

    def send_raw(self, data):
        """Bytes straight onto the connection (after what h2 queued)."""
        self.flush()
        self.sock.sendall(data)

    def reset(self, sid, code=0x8):
        self.conn.reset_stream(sid, error_code=code)
        self.flush()

    def ping(self, data=b"12345678"):
        self.conn.ping(data)
        self.flush()

    # ---- receiving ----------------------------------------------------------------------

    def pump_once(self, timeout=None):
        """Reads once and handles what arrived; False if the server closed."""
        self.sock.settimeout(timeout if timeout is not None else self.timeout)
        try:
            data = self.sock.recv(1 << 20)
        except (ConnectionResetError, BrokenPipeError):
            data = b""
        if not data:
            self.closed = True
            return False
        if self.received is not None:
            self.received += data
        # Frame by frame: python-h2 refuses any frame after a GOAWAY within one
        # receive_data() call, before handle() can reopen its state (below), so a GOAWAY and
        # a response arriving in one read would look like a protocol error.
        self.unparsed += data
        while len(self.unparsed) >= 9:
            end = 9 + int.from_bytes(self.unparsed[:3], "big")
            if len(self.unparsed) < end:
                break
            frame, self.unparsed = bytes(self.unparsed[:end]), self.unparsed[end:]
            for event in self.conn.receive_data(frame):
                self.handle(event)
        self.flush()
        return True

    def handle(self, event):
        sid = getattr(event, "stream_id", None)
        st = self.streams.setdefault(sid, StreamState()) if sid else None
        if isinstance(event, h2.events.ResponseReceived):
            st.headers = list(event.headers)
        elif isinstance(event, h2.events.InformationalResponseReceived):
            st.interim.append(list(event.headers))
        elif isinstance(event, h2.events.TrailersReceived):
            st.trailers = list(event.headers)
        elif isinstance(event, h2.events.DataReceived):
            st.body += event.data
            if event.flow_controlled_length:
                if sid not in self.stalled:
                    self.conn.acknowledge_received_data(event.flow_controlled_length, sid)
                else:
                    # The stream's window stays shut; the connection's is reopened, so the
                    # other streams are not starved by the client itself.
                    self.conn.increment_flow_control_window(event.flow_controlled_length)
        elif isinstance(event, h2.events.StreamEnded):
            st.ended = True
        elif isinstance(event, h2.events.StreamReset):
            st.reset_code = int(event.error_code)
        elif isinstance(event, h2.events.ConnectionTerminated):
            self.goaway = event
            # python-h2 closes its state machine at a GOAWAY, but RFC 9113 6.8 lets the
            # streams up to last_stream_id finish: keep reading them.
            self.conn.state_machine.state = h2.connection.ConnectionState.CLIENT_OPEN
        elif isinstance(event, h2.events.RemoteSettingsChanged):
            for code, change in event.changed_settings.items():
                self.remote_settings[int(code)] = change.new_value

    def frames(self):
        """Every complete frame received so far (needs record=True): (type, flags, stream_id,
        payload). The server sends no preface: its bytes are frames from the first one."""
        out, at, data = [], 0, bytes(self.received)
        while at + 9 <= len(data):
            length = int.from_bytes(data[at:at + 3], "big")
            if at + 9 + length > len(data):
                break
            sid = struct.unpack(">I", data[at + 5:at + 9])[0] & 0x7fffffff
            out.append((data[at + 3], data[at + 4], sid, data[at + 9:at + 9 + length]))
            at += 9 + length
        return out

    def wait(self, predicate, timeout=None):
        """Pumps until predicate() holds; False if the server closed first or time ran out."""
        deadline = time.time() + (timeout or self.timeout)
        while not predicate():
            left = deadline - time.time()
            if left <= 0:
                return False
            try:
                if not self.pump_once(timeout=left):
                    return predicate()
            except socket.timeout:
                return predicate()
        return True

    def response(self, sid, timeout=None):
        """The stream's state once it ended or was reset (AssertionError if neither came)."""
        assert self.wait(lambda: self.streams[sid].done, timeout), \
            "stream %d did not finish (closed=%s goaway=%s)" % (sid, self.closed, self.goaway)
        return self.streams[sid]

    def get(self, path, headers=(), authority="localhost", timeout=None):
        return self.response(self.request("GET", path, headers, authority=authority), timeout)

    def wait_closed(self, timeout=None):
        """True once the server closed the connection."""
        return self.wait(lambda: self.closed, timeout)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def raw_frame(frame_type, flags, stream_id, payload):
    """One HTTP/2 frame as on the wire (RFC 9113 4.1)."""
    return (struct.pack(">I", len(payload))[1:] + bytes([frame_type, flags]) +
            struct.pack(">I", stream_id) + payload)


def literal_fields(fields):
    """A header block of HPACK literals without indexing (RFC 7541 6.2.2): it touches neither
    side's dynamic table, so it can go beside python-h2's own header blocks. Names and values
    under 127 bytes."""
    block = b""
    for name, value in fields:
        name, value = name.encode(), value.encode()
        block += b"\x00" + bytes([len(name)]) + name + bytes([len(value)]) + value
    return block
