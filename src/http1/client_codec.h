#pragma once
// HTTP/1.1 client codec: requests out, responses in, on one upstream connection. One request
// at a time (no pipelining to backends: a failure would be ambiguous for every request queued
// behind it).

#include "buffer/buffer.h"
#include "http/codec.h"
#include "http/message.h"
#include "http1/parser.h"

namespace portico::http1 {

class ClientCodecImpl final : public http::RequestEncoder {
 public:
  ClientCodecImpl(http::CodecOutput& output, const ParserLimits& limits);

  // Starts a new exchange; the previous one must be complete.
  void startRequest(http::ResponseDecoder* decoder);
  // Stops delivering events to the current decoder (its stream went away).
  void detachDecoder() { decoder_ = nullptr; }

  // Response bytes from the connection. Returns false on a protocol error.
  bool dispatch(buffer::Buffer& data);
  void onEndOfInput();

  // http::RequestEncoder
  void encodeHeaders(const http::RequestHead& head, bool end_stream) override;
  void encodeData(buffer::Buffer& data, bool end_stream) override;
  void encodeTrailers(const http::HeaderMap& trailers) override;

  // The request ended and its framing is whole: every byte its Content-Length promised.
  bool requestComplete() const { return request_done_ && !request_broken_; }
  bool responseComplete() const { return response_done_; }
  bool tunneling() const { return tunnel_; }
  // The connection can carry another request: both messages complete, keep-alive, no error.
  bool reusable() const {
    return requestComplete() && response_done_ && keep_alive_ && !failed_ && !tunnel_;
  }
  bool responseBytesReceived() const { return response_bytes_ > 0; }

 private:
  void deliverBody(bool end_stream);
  void fail(std::string_view why);
  // How many of `offered` body bytes fit the request's Content-Length; notes a mismatch.
  size_t allowedBodyBytes(size_t offered, bool end_stream);

  http::CodecOutput& output_;
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
