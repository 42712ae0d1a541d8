#pragma once
// The client side of the codec seam: what an upstream connection's protocol does, seen from
// the pool (upstream/conn_pool.h) and the router. HTTP/1 gives one stream per connection at a
// time; HTTP/2 many. Like the server side (http/codec.h) it is sans-I/O: the pool feeds the
// codec the bytes read from the backend, and the codec writes through http::CodecOutput.
// Worker-local and single-threaded.

#include <cstdint>
#include <string_view>

#include "buffer/buffer.h"
#include "http/codec.h"

namespace portico::http {

// The owner of a stream's request body hears whether the stream takes more of it: HTTP/1
// passes on the connection's write watermark, HTTP/2 the stream's own bounded buffer.
class ClientStreamWatermarkCallbacks {
 public:
  virtual ~ClientStreamWatermarkCallbacks() = default;
  virtual void onStreamWriteWatermark(bool above_high) = 0;
};

// One request/response exchange on an upstream connection.
class ClientStream : public RequestEncoder {
 public:
  // Where response events go; null stops delivering them (the requester went away).
  virtual void setResponseDecoder(ResponseDecoder* decoder) = 0;
  virtual void setWatermarkCallbacks(ClientStreamWatermarkCallbacks* callbacks) = 0;
  // A slow client: stop (or resume) delivering this stream's response. HTTP/1 stops reading
  // the connection; HTTP/2 holds back the stream's window updates only.
  virtual void pauseResponse(bool pause) = 0;
  // Some byte of this request was handed to the connection (HTTP/2: its HEADERS frame was
  // serialized). HTTP/1 leaves the finer question (did it leave the socket?) to the pool.
  virtual bool requestStarted() const = 0;
  // Upgrade and CONNECT tunnels can run on this stream (HTTP/1 only: RFC 8441's extended
  // CONNECT is not offered towards backends).
  virtual bool canTunnel() const = 0;
};

class ClientCodecCallbacks {
 public:
  virtual ~ClientCodecCallbacks() = default;
  // Stop or resume reading the connection: HTTP/1's only way to slow a response down.
  virtual void pauseReading(bool pause) = 0;
  // The number of streams the connection may carry changed (SETTINGS), or it stopped taking
  // new ones (GOAWAY): the pool looks at it again.
  virtual void onStreamLimitChanged() = 0;
};

class ClientConnectionCodec {
 public:
  virtual ~ClientConnectionCodec() = default;
  // Response bytes from the backend. Returns false once the connection must close.
  virtual bool dispatch(buffer::Buffer& data) = 0;
  // The backend closed its side (or the connection failed): streams still open fail.
  virtual void onEndOfInput() = 0;
  // A new exchange; the pool calls it only while fewer than streamLimit() are out.
  virtual ClientStream& newStream() = 0;
  // The requester is done with `stream`; one still open is abandoned (HTTP/1: the
  // connection cannot be reused; HTTP/2: RST_STREAM CANCEL). The reference dies here.
  virtual void releaseStream(ClientStream& stream) = 0;
  // Streams the connection may carry at once, as it knows now.
  virtual uint32_t streamLimit() const = 0;
  // Whether the connection may take new streams once the current ones are released
  // (HTTP/1: the exchange ended cleanly with keep-alive; HTTP/2: no GOAWAY yet).
  virtual bool acceptsNewStreams() const = 0;
  // The connection's write buffer crossed its watermark.
  virtual void onWriteWatermark(bool above_high) = 0;
  // HTTP/1 after an upgrade: the connection carries raw tunnel bytes.
  virtual bool tunneling() const { return false; }
  // "http/1.1" or "h2", for logs.
  virtual std::string_view protocol() const = 0;
};

}  // namespace portico::http
