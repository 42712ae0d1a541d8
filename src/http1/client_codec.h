#pragma once
// HTTP/1.1 client codec: requests out, responses in, on one upstream connection. One request
// at a time (no pipelining to backends: a failure would be ambiguous for every request queued
// behind it).

#include "buffer/buffer.h"
#include "http/client_codec.h"
#include "http/codec.h"
#include "http/message.h"
#include "http1/parser.h"

namespace portico::http1 {

class ClientCodecImpl final : public http::ClientConnectionCodec, public http::ClientStream {
 public:
  ClientCodecImpl(http::CodecOutput& output, http::ClientCodecCallbacks& callbacks,
                  const ParserLimits& limits);

  // http::ClientConnectionCodec: the one stream is the codec itself, reset for each exchange.
  bool dispatch(buffer::Buffer& data) override;
  void onEndOfInput() override;
  http::ClientStream& newStream() override;
  void releaseStream(http::ClientStream& stream) override;
  uint32_t streamLimit() const override { return 1; }
  bool acceptsNewStreams() const override { return !used_ || reusable(); }
  void onWriteWatermark(bool above_high) override {
    if (watermark_cb_ != nullptr) watermark_cb_->onStreamWriteWatermark(above_high);
  }
  bool tunneling() const override { return tunnel_; }
  std::string_view protocol() const override { return "http/1.1"; }

  // http::ClientStream
  void setResponseDecoder(http::ResponseDecoder* decoder) override { decoder_ = decoder; }
  void setWatermarkCallbacks(http::ClientStreamWatermarkCallbacks* cb) override {
    watermark_cb_ = cb;
  }
  void pauseResponse(bool pause) override { callbacks_.pauseReading(pause); }
  bool requestStarted() const override { return head_written_; }
  bool canTunnel() const override { return true; }

  // http::RequestEncoder
  void encodeHeaders(const http::RequestHead& head, bool end_stream) override;
  void encodeData(buffer::Buffer& data, bool end_stream) override;
  void encodeTrailers(const http::HeaderMap& trailers) override;

  // The request ended and its framing is whole: every byte its Content-Length promised.
  bool requestComplete() const { return request_done_ && !request_broken_; }
  bool responseComplete() const { return response_done_; }
  // The connection can carry another request: both messages complete, keep-alive, no error.
  bool reusable() const {
    return requestComplete() && response_done_ && keep_alive_ && !failed_ && !tunnel_;
  }
  bool responseBytesReceived() const { return response_bytes_ > 0; }

 private:
  void deliverBody(bool end_stream);
  void fail(std::string_view why, bool connection_closed = false);
  // How many of `offered` body bytes fit the request's Content-Length; notes a mismatch.
  size_t allowedBodyBytes(size_t offered, bool end_stream);

  http::CodecOutput& output_;
  http::ClientCodecCallbacks& callbacks_;
  http::ClientStreamWatermarkCallbacks* watermark_cb_ = nullptr;
  bool head_written_ = false;
  bool used_ =
      false;  // an exchange was started  // some byte of the current request went to the output
  http::ResponseHead head_;
  ResponseParser parser_;
  http::HeaderMap trailers_;
  buffer::Buffer body_;
  buffer::Buffer out_;
  http::ResponseDecoder* decoder_ = nullptr;
  uint64_t response_bytes_ = 0;
  uint64_t request_body_left_ = 0;  // of the request's Content-Length
  bool request_done_ = false;
  // The body did not match its Content-Length: the backend would read what follows on the
  // connection as the rest of this body, so the connection must never carry another request.
  bool request_broken_ = false;
  bool response_done_ = false;
  bool chunked_ = false;
  bool keep_alive_ = true;
  bool tunnel_ = false;
  bool tunnel_input_done_ = false;  // the backend's end of the tunnel was passed on
  bool failed_ = false;
  bool upgrade_request_ = false;
  bool connect_request_ = false;
};

}  // namespace portico::http1
