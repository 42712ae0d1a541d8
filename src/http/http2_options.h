#pragma once
// A listener's HTTP/2 settings (the `http2:` block of a listener). Plain data: config/ fills it,
// the snapshot copies it into the codec settings, and http2/ turns it into SETTINGS frames and
// nghttp2 options. Kept here, protocol-neutral, so nothing above the codec includes http2/.

#include <cstdint>

#include "http/http2_attack_limits.h"

namespace portico::http {

struct Http2Options {
  // Plain-text listeners accept HTTP/2 with prior knowledge (h2c): a connection that starts
  // with the HTTP/2 preface speaks HTTP/2, any other speaks HTTP/1.1. On by default: the
  // preface is not valid HTTP/1.1, so no HTTP/1 client can be mistaken for one.
  bool cleartext = true;
  // SETTINGS_MAX_CONCURRENT_STREAMS: streams beyond it are refused (RST_STREAM REFUSED_STREAM).
  uint32_t max_concurrent_streams = 100;
  // SETTINGS_INITIAL_WINDOW_SIZE: request body bytes a client may send on one stream before
  // we open its window again. Also bounds what a paused stream holds (its updates are withheld).
  uint32_t initial_stream_window = 65535;
  // The connection's receive window, shared by all streams.
  uint32_t connection_window = 1024 * 1024;
  // SETTINGS_MAX_HEADER_LIST_SIZE; 0 means the listener's limits.max_header_bytes.
  uint32_t max_header_list_size = 0;
  // SETTINGS_HEADER_TABLE_SIZE: the HPACK dynamic table a client may make us keep.
  uint32_t hpack_table_size = 4096;
  // SETTINGS_MAX_FRAME_SIZE: the largest frame payload we accept.
  uint32_t max_frame_size = 16384;
  // Per-connection flood limits (`http2.attack_limits`; http2/flood_guard.h enforces them).
  Http2AttackLimits attack_limits;
  // WebSocket over HTTP/2 (RFC 8441): SETTINGS_ENABLE_CONNECT_PROTOCOL = 1, and an extended
  // CONNECT with :protocol websocket becomes an HTTP/1.1 WebSocket handshake to the backend
  // (http2/extended_connect.h). Off: :protocol is a stream error.
  bool websocket = true;
};

}  // namespace portico::http
