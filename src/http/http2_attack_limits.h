#pragma once
// The attack limits of a downstream HTTP/2 connection (listener `http2.attack_limits`), and the
// names of the attacks they stop. Defined in http/ rather than http2/ because the listener
// config (proxy/) holds the limits and the worker's counters (proxy/) are indexed by the
// attack, and neither may include http2/. http2/flood_guard.h enforces them.
//
// Every frame an HTTP/2 client sends costs the server work, and some oblige it to answer
// (PING, SETTINGS) or to start work elsewhere (a stream that reaches a backend). The protocol
// itself bounds none of them, so a client can keep a server busy at almost no cost to itself
// (CVE-2019-9512..9518, CVE-2023-44487, CVE-2024-27316, CVE-2025-8671). Each limit below is a
// token bucket per connection: `burst` events at once, refilled at `rate` per second. The
// defaults sit well above what browsers, curl, h2load and gRPC clients send (the comments say
// why), and far below what an attacker needs to hurt: a flood of tens of thousands of frames a
// second trips a limit within milliseconds. A connection that trips one is answered with
// GOAWAY (ENHANCE_YOUR_CALM) and closed; other connections are not affected.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace portico::http {

// What an HTTP/2 connection was closed for. The values index the worker's counters.
enum class Http2Attack : uint8_t {
  None = 0,
  RapidReset,     // streams opened and reset at a high rate (client RST_STREAM, or stream
                  // errors the client provokes: CVE-2023-44487, CVE-2025-8671)
  Ping,           // PING flood: each one obliges a PING ACK (CVE-2019-9512)
  Settings,       // SETTINGS flood: each one obliges a SETTINGS ACK (CVE-2019-9515)
  EmptyData,      // DATA frames with no payload and no END_STREAM (CVE-2019-9518)
  WindowUpdate,   // WINDOW_UPDATE flood
  Priority,       // PRIORITY / PRIORITY_UPDATE flood (CVE-2019-9513)
  Continuation,   // a header block in too many CONTINUATION frames, or too many bytes
                  // (CVE-2024-27316 and kin)
  HpackBomb,      // a header block that decodes far beyond the header list size (CVE-2016-6581)
  UnreadControl,  // the client does not read the ACKs it keeps asking for (CVE-2019-9512/9515
                  // on a client that never reads; nghttp2's outbound queue limit)
};
inline constexpr size_t kHttp2AttackKinds = 10;  // including None

// The config key and log name of an attack ("rapid_reset", ...); "none" for None.
std::string_view http2AttackName(Http2Attack attack);

struct Http2RateLimit {
  uint32_t rate = 1;   // events per second added back to the bucket
  uint32_t burst = 1;  // the bucket's size, and what a new connection starts with
};

struct Http2AttackLimits {
  // Client RST_STREAM frames, and streams Portico resets because the client broke the
  // protocol on them. A client can have at most max_concurrent_streams streams open (100 by
  // default), so even a browser leaving a page, or a gRPC client cancelling every call in
  // flight at once, resets at most that many together; 200 at once and 50 a second sustained
  // is above both. nghttp2's own limit (1000, 33/s) lets an attacker start 1000 backend
  // requests on each connection before it acts.
  Http2RateLimit rapid_reset{50, 200};
  // Browsers send PING rarely (Chrome about once per 10 s of idle); gRPC clients ping to
  // measure bandwidth and to keep connections alive, a few a second at most.
  Http2RateLimit ping{50, 200};
  // One at the start of a connection, then an occasional change (gRPC resizes its window
  // through SETTINGS after a bandwidth probe); ACKs of ours count too.
  Http2RateLimit settings{10, 50};
  // A DATA frame with neither payload nor END_STREAM carries nothing; clients send one rarely
  // (a body producer that had nothing to give).
  Http2RateLimit empty_data{20, 100};
  // Clients send WINDOW_UPDATE as they consume what we send: at most one for the stream and
  // one for the connection per DATA frame. So each DATA frame we send, and each stream the
  // client opens, adds to this bucket (see FloodGuard) besides the rate: a fast download
  // never runs dry, a client that sends updates for data it never got does.
  Http2RateLimit window_update{100, 1000};
  // Firefox sends a few PRIORITY frames at the start of a connection and on tab switches;
  // RFC 9218 clients send PRIORITY_UPDATE now and then for a stream. Each stream opened adds
  // a little to the bucket as well.
  Http2RateLimit priority{100, 500};
  // CONTINUATION frames after one HEADERS frame. A header list within max_header_list_size
  // (64 KiB by default) needs at most 4 of them at the 16 KiB frame size clients use; 16
  // leaves room for clients that cut blocks smaller. nghttp2's own limit is 8.
  uint32_t max_continuation_frames = 16;
  // A header block whose compressed bytes, or whose decoded header list (RFC 9113 sizes: name
  // + value + 32 per field), exceed this many times max_header_list_size closes the connection.
  // A list merely over the size is a stream error (431 or RST_STREAM); one this far over is
  // not a client with too many cookies but an HPACK bomb: a small block of references to a
  // large dynamic table entry that decodes to megabytes.
  uint32_t header_list_factor = 2;
};

}  // namespace portico::http
