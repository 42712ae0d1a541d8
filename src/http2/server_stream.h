#pragma once
// ServerStream: one HTTP/2 stream of a downstream connection, as the proxy core sees it (its
// http::ResponseEncoder) and as the codec drives it (request fields, body, end).
//
// Response side: the head is submitted at once; body bytes wait in the stream's own buffer
// until nghttp2 asks for them (the data provider), which it does as the client's windows
// allow. A client that never opens this stream's window therefore fills this buffer only:
// above the listener's buffer limit the stream reports itself send-blocked
// (sendBlocked(), RequestDecoder::onSendWatermark) and its producer pauses, while the other
// streams go on. File bodies are read straight into the frames, a frame at a time.
// Request side: body bytes are handed on as DATA frames end; while the stream pauses its
// request body they are held here and the stream's WINDOW_UPDATEs are withheld, so the client
// can send no more than the stream window (the connection window is still reopened at once:
// one slow stream does not stall the others).
// Owned by the codec; kept after it closes until the connection manager has reaped the
// stream that reads its request head, then reused.

#include <cstdint>
#include <optional>
#include <string>

#include "buffer/buffer.h"
#include "http/codec.h"
#include "http/message.h"
#include "http2/request_translation.h"
#include "http2/response_translation.h"

namespace portico::http2 {

class ServerCodecImpl;

class ServerStream final : public http::ResponseEncoder {
 public:
  explicit ServerStream(ServerCodecImpl& codec) : codec_(codec) {}
  ~ServerStream() override;

  // Readies the object for stream `id` (fresh or reused).
  void begin(int32_t id, RequestBuilder::Limits limits);

  // http::ResponseEncoder
  http::StreamId streamId() const override { return static_cast<http::StreamId>(id_); }
  void encodeInterim(uint16_t status, const http::HeaderMap& headers) override;
  void encodeHeaders(http::ResponseHead& head, bool end_stream) override;
  void encodeData(buffer::Buffer& data, bool end_stream) override;
  void encodeFile(int file_fd, uint64_t offset, uint64_t length, bool end_stream) override;
  void encodeTrailers(const http::HeaderMap& trailers) override;
  bool responseStarted() const override { return response_started_; }
  bool peerAcceptsTrailers() const override { return true; }
  void resetStream() override;
  void failStream(uint16_t status) override;
  void pauseRequestBody(bool pause) override;
  bool sendBlocked() const override { return above_high_; }
  std::optional<SendProgress> sendProgress() const override {
    return SendProgress{bytes_sent_, out_.length() + file_left_};
  }

  // ---- driven by the codec ----
  int32_t id() const { return id_; }
  // Between the first HEADERS and the end of its header block.
  bool readingHead() const { return !head_done_ && !rejected_; }
  // A field of the request head (or of its trailers). false: malformed, the stream is reset.
  bool onField(std::string_view name, std::string_view value);
  // The header block ended; hands the request to the proxy core or answers it.
  void onHeadersEnd(bool end_stream);
  void onTrailersBegin();
  void onTrailersEnd();
  void onDataChunk(const uint8_t* data, size_t len);
  void onDataEnd(bool end_stream);
  // nghttp2 closed the stream (both ends done, or reset either way).
  void onClosed(uint32_t error_code);
  // The data provider: up to `length` bytes of the body into `buf`; see nghttp2's
  // nghttp2_data_source_read_callback.
  ssize_t readBody(uint8_t* buf, size_t length, uint32_t* data_flags);
  // nghttp2 sent our END_STREAM.
  void onResponseEnded();
  // The connection is going away under the stream.
  void onConnectionClosing();
  // The send buffer went back under its low watermark while nghttp2 drained it: tell the
  // producer now that the codec is out of nghttp2's callbacks.
  void notifyWatermarkIfLow();
  bool live() const { return !closed_; }
  bool requestDelivered() const { return active_ != nullptr; }

 private:
  void reject(const char* why);
  void sendLocalReply(uint16_t status);
  void submitResponse(uint16_t status, const http::HeaderMap& headers, bool with_body);
  void deliverBody();
  void consumeWindow();
  void checkHighWatermark();
  void closeFile();
  // The request head is an extended CONNECT (RFC 8441): false when it was answered here.
  bool startExtendedConnect();

  ServerCodecImpl& codec_;
  int32_t id_ = 0;
  http::RequestHead head_;
  http::HeaderMap trailers_;
  RequestBuilder builder_;
  HeaderBlock block_;
  // The proxy core's stream once the head was handed on (until onStreamComplete), and where
  // its events go (null once the stream was reset or failed: it hears nothing more).
  http::RequestDecoder* active_ = nullptr;
  http::RequestDecoder* decoder_ = nullptr;

  // Request side.
  buffer::Buffer inbound_;   // body bytes not handed on yet (a paused stream holds them)
  size_t unconsumed_ = 0;    // bytes whose stream window we have not reopened yet
  uint64_t body_bytes_ = 0;  // received so far, for max_body and Content-Length
  bool paused_ = false;
  bool inbound_end_ = false;  // END_STREAM arrived, not yet handed on
  bool head_done_ = false;
  bool in_trailers_ = false;
  bool rejected_ = false;
  bool request_ended_ = false;
  // WebSocket over HTTP/2 (http2/extended_connect.h): the request went on as an HTTP/1.1
  // handshake with this key; its DATA is held until the backend's 101 made it a tunnel.
  std::string websocket_key_;
  bool websocket_ = false;
  bool tunnel_ = false;

  // Response side.
  buffer::Buffer out_;
  http::HeaderMap out_trailers_;
  int file_fd_ = -1;
  uint64_t file_offset_ = 0;
  uint64_t file_left_ = 0;
  uint64_t bytes_sent_ = 0;  // body bytes nghttp2 took for DATA frames
  bool response_started_ = false;
  bool is_head_ = false;
  bool no_body_ = false;
  bool out_end_ = false;  // the producer ended the body
  bool trailers_pending_ = false;
  bool response_ended_ = false;  // our END_STREAM went out
  bool above_high_ = false;
  bool watermark_low_pending_ = false;
  bool closed_ = false;
};

}  // namespace portico::http2
