#pragma once
// The protocol-neutral codec interface. A codec is sans-I/O: the connection manager feeds it
// the bytes read from a socket (dispatch), and it hands encoded bytes back through CodecOutput.
// HTTP/1.1 implements it today and HTTP/2 will implement the same interface, so proxy/
// never knows which protocol a stream travels on.
//
// Server side: a connection carries any number of streams (HTTP/1: one at a time; HTTP/2:
// many interleaved). When a request starts, the codec asks the connection manager for a stream
// (newStream), handing it the stream's own ResponseEncoder (which knows the stream's id), and
// from then on delivers that request's events to the RequestDecoder it got back; every
// callback about a stream names it. The stream answers, pauses its request body and resets
// itself through its encoder only.
// Client side: the router encodes requests through RequestEncoder and hears the response
// through ResponseDecoder.
// All of it is worker-local and single-threaded. Encoder methods may be called from inside
// decoder callbacks (a local reply in response to headers, say); codecs must allow that.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "buffer/buffer.h"
#include "http/header_map.h"
#include "http/http2_options.h"
#include "http/message.h"

namespace portico::http {

enum class StreamResetReason {
  LocalReset,             // we gave up on the stream (timeout, error elsewhere)
  ProtocolError,          // the peer broke the protocol mid-stream
  ConnectionTermination,  // the connection closed under the stream
};

// Where encoded bytes go: the connection manager forwards them to the socket.
class CodecOutput {
 public:
  virtual ~CodecOutput() = default;
  virtual void writeToPeer(buffer::Buffer& bytes) = 0;
  // Sends `length` bytes of an open file after what was written; takes ownership of `file_fd`.
  virtual void writeFileToPeer(int file_fd, uint64_t offset, uint64_t length) = 0;
  // The codec finished with the connection: flush what was written, then close it.
  virtual void closeAfterFlush() = 0;
  // The same after an error reply to a peer that may still be sending: its bytes arriving at
  // a closed socket would reset the connection and could destroy the reply before the peer
  // read it, so the owner may keep reading (and discarding) for a while first.
  virtual void closeAfterErrorReply() { closeAfterFlush(); }
  // The codec will write nothing more but still reads (a tunnel whose other side half-closed):
  // flush what was written, then shut down the sending direction only.
  virtual void shutdownWriteAfterFlush() = 0;
};

// A stream's identity on its connection: HTTP/1 numbers its requests from 1, HTTP/2 uses the
// stream identifier. Unique among the connection's live streams.
using StreamId = uint32_t;

// ---- server side -------------------------------------------------------------------------

class ResponseEncoder {
 public:
  virtual ~ResponseEncoder() = default;
  virtual StreamId streamId() const = 0;
  // 1xx interim response (100 Continue, 103 Early Hints, ...) with its fields, which are
  // what a 103 is for; not for 101, which goes through encodeHeaders.
  virtual void encodeInterim(uint16_t status, const HeaderMap& headers) = 0;
  virtual void encodeHeaders(ResponseHead& head, bool end_stream) = 0;
  virtual void encodeData(buffer::Buffer& data, bool end_stream) = 0;
  // Body bytes straight from a file (static files): no copy through user space where the
  // transport allows. Takes ownership of `file_fd`.
  virtual void encodeFile(int file_fd, uint64_t offset, uint64_t length, bool end_stream) = 0;
  virtual void encodeTrailers(const HeaderMap& trailers) = 0;
  // True once encodeHeaders was called for the final response.
  virtual bool responseStarted() const = 0;
  // The client said it accepts trailers (HTTP/1.1 "TE: trailers"; always true for HTTP/2).
  virtual bool peerAcceptsTrailers() const = 0;
  // Abandons the response: for HTTP/1 the connection is closed, for HTTP/2 RST_STREAM.
  virtual void resetStream() = 0;
  // Ends the stream from our side (a timeout): a minimal `status` reply if the response has
  // not started, else a reset. HTTP/1 closes the connection after it.
  virtual void failStream(uint16_t status) = 0;
  // Backpressure on this stream's request body: stop (or resume) delivering it. HTTP/1 stops
  // reading the connection; HTTP/2 holds back the stream's window updates.
  virtual void pauseRequestBody(bool pause) = 0;
  // True while this stream's own send buffer is above its high watermark (HTTP/2: the client
  // has not opened the stream's window for what we have); the stream's producer should wait.
  // HTTP/1 has no per-stream buffer: the connection's watermark says it all.
  virtual bool sendBlocked() const { return false; }
  // For the send idle timeout of a codec with per-stream buffers (HTTP/2): body bytes of this
  // stream that left for the connection so far, and bytes still waiting in the stream (for the
  // client's window). Null where the connection's progress is the stream's (HTTP/1).
  struct SendProgress {
    uint64_t sent = 0;
    uint64_t pending = 0;
  };
  virtual std::optional<SendProgress> sendProgress() const { return std::nullopt; }
};

class RequestDecoder {
 public:
  virtual ~RequestDecoder() = default;
  virtual void decodeHeaders(RequestHead& head, bool end_stream) = 0;
  virtual void decodeData(buffer::Buffer& data, bool end_stream) = 0;
  virtual void decodeTrailers(HeaderMap& trailers) = 0;
  // After an upgrade (101) the stream is a tunnel: decodeData carries raw bytes, and
  // end_stream means the client closed its side.
  virtual void onStreamReset(StreamResetReason reason) = 0;
  // The stream's own send buffer crossed its high (true) or back under its low (false)
  // watermark: see ResponseEncoder::sendBlocked(). Codecs with per-stream flow control only.
  virtual void onSendWatermark(bool above_high) { (void)above_high; }
};

class ServerConnectionCallbacks {
 public:
  virtual ~ServerConnectionCallbacks() = default;
  // A request starts: the stream that `encoder` answers for. The returned decoder stays valid
  // until onStreamComplete() names it.
  virtual RequestDecoder& newStream(ResponseEncoder& encoder) = 0;
  // The stream's response was fully encoded (or the stream was reset, after its
  // onStreamReset()): the codec will not touch `stream` again, and it may be destroyed.
  virtual void onStreamComplete(RequestDecoder& stream) = 0;
  // A request was rejected by the codec, which replied by itself: for the access and error
  // logs. `stream` is null when it was rejected before it became a stream.
  virtual void onRequestRejected(RequestDecoder* stream, uint16_t status, std::string_view why) = 0;
  // The connection became a tunnel (101 sent; HTTP/1 only). Bytes already read behind the
  // upgrade request, and an end of input already seen, were held as a possible next request;
  // they belong to the tunnel now, so the owner hands them to dispatch() / onEndOfInput() again.
  virtual void onTunnelStarted() = 0;
  // Stop or resume reading the connection: how a codec without per-stream flow control
  // (HTTP/1) honours a stream's request to pause its source.
  virtual void pauseReading(bool pause) = 0;
};

// Per-connection settings a server codec needs.
struct ServerCodecSettings {
  size_t max_request_line = 8192;
  size_t max_header_line = 8192;
  size_t max_header_bytes = 65536;
  size_t max_headers = 100;
  uint64_t max_body = 0;
  uint32_t max_requests_per_connection = 0;
  const std::map<uint16_t, std::string>* error_pages = nullptr;
  size_t buffer_limit = 64 * 1024;  // per stream and direction (listener limits.buffer)
  Http2Options http2;               // read by the HTTP/2 codec only
};

class ServerCodec {
 public:
  virtual ~ServerCodec() = default;
  // Consumes what it can of `data`. It may leave bytes (pipelined requests wait until the
  // current response is done). Returns false once the connection must close.
  virtual bool dispatch(buffer::Buffer& data) = 0;
  // The peer closed its sending side.
  virtual void onEndOfInput() = 0;
  // No stream is active and no request bytes are pending: safe to close an idle connection.
  virtual bool idle() const = 0;
  // A request has started arriving but its head is not complete (header read timeout).
  virtual bool readingHead() const = 0;
  // Requests (streams) begun on this connection so far.
  virtual uint32_t requestCount() const = 0;
  // Graceful drain: finish the current exchange, then close (HTTP/1: "Connection: close").
  virtual void startDrain() = 0;
  // Sends a minimal local reply outside any stream (408 on a header timeout) and closes.
  // HTTP/2: GOAWAY, then close.
  virtual void sendConnectionError(uint16_t status) = 0;
  // Whether an idle connection may be parked (its codec destroyed and made afresh when the
  // client speaks again). False for codecs whose connection state outlives a request (HTTP/2:
  // HPACK tables, stream ids, settings).
  virtual bool parkable() const { return true; }
  // The socket's send buffer went above its high watermark (true) or back under its low
  // one (false): a multiplexing codec stops pulling more frames out of its streams meanwhile.
  virtual void onOutputWatermark(bool above_high) { (void)above_high; }
};

// ---- client side -------------------------------------------------------------------------

// Why a response could not be read, as data the router's retry policy reads.
struct ResponseError {
  std::string_view why;
  // No byte of a response arrived: the backend may not have acted on the request.
  bool nothing_received = false;
  // The connection ended under the exchange (not a reset or a malformed response): on a
  // reused connection this is the stale keep-alive race.
  bool connection_closed = false;
  // The backend said it did not process the request (HTTP/2: REFUSED_STREAM, or a stream
  // above a GOAWAY's last stream id): it may be sent again whatever its method.
  bool not_processed = false;
};

class ResponseDecoder {
 public:
  virtual ~ResponseDecoder() = default;
  virtual void decodeInterim(ResponseHead& head) = 0;
  virtual void decodeHeaders(ResponseHead& head, bool end_stream) = 0;
  virtual void decodeData(buffer::Buffer& data, bool end_stream) = 0;
  virtual void decodeTrailers(HeaderMap& trailers) = 0;
  // The response could not be read: malformed, reset, or the connection ended early.
  virtual void onResponseError(const ResponseError& error) = 0;
};

class RequestEncoder {
 public:
  virtual ~RequestEncoder() = default;
  virtual void encodeHeaders(const RequestHead& head, bool end_stream) = 0;
  virtual void encodeData(buffer::Buffer& data, bool end_stream) = 0;
  virtual void encodeTrailers(const HeaderMap& trailers) = 0;
};

}  // namespace portico::http
