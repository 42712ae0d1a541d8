#pragma once
// HTTP/1.1 server codec: requests in, responses out, on one downstream connection.
// One exchange at a time: pipelined requests wait in the read buffer until the current
// response is complete, so responses always leave in request order.

#include <string>

#include "buffer/buffer.h"
#include "http/codec.h"
#include "http/message.h"
#include "http1/parser.h"

namespace portico::http1 {

class ServerCodecImpl final : public http::ServerCodec, public http::ResponseEncoder {
 public:
  // `requests_served`: requests this connection carried before (it was parked while idle and
  // resumes with a fresh codec), so max_requests_per_connection counts them too.
  ServerCodecImpl(http::CodecOutput& output, http::ServerConnectionCallbacks& callbacks,
                  const http::ServerCodecSettings& settings, uint32_t requests_served = 0);

  // http::ServerCodec
  bool dispatch(buffer::Buffer& data) override;
  void onEndOfInput() override;
  bool idle() const override { return !stream_active_ && !head_started_ && !closing_; }
  bool readingHead() const override { return head_started_ && !stream_active_; }
  void startDrain() override;
  void sendConnectionError(uint16_t status) override;

  // http::ResponseEncoder
  void encodeInterim(uint16_t status, const http::HeaderMap& headers) override;
  void encodeHeaders(http::ResponseHead& head, bool end_stream) override;
  void encodeData(buffer::Buffer& data, bool end_stream) override;
  void encodeFile(int file_fd, uint64_t offset, uint64_t length, bool end_stream) override;
  void encodeTrailers(const http::HeaderMap& trailers) override;
  bool responseStarted() const override { return response_started_; }
  bool peerAcceptsTrailers() const override { return accepts_trailers_; }
  void resetStream() override;
  http::StreamId streamId() const override { return requests_; }
  void failStream(uint16_t status) override { sendConnectionError(status); }
  // One stream at a time, no per-stream flow control: the connection stops being read.
  void pauseRequestBody(bool pause) override { callbacks_.pauseReading(pause); }

  bool closing() const { return closing_; }
  bool tunneling() const { return tunnel_; }
  uint32_t requestCount() const override { return requests_; }

 private:
  void onHead();
  void deliverBody(bool end_stream);
  void onParseError();
  void finishResponse();
  void writeLocalError(uint16_t status, std::string_view why);
  void appendCodedFraming(std::string_view codings);
  void resetForNextRequest();
  // The current stream is over: the connection manager may reap it.
  void completeStream();

  http::CodecOutput& output_;
  http::ServerConnectionCallbacks& callbacks_;
  const http::ServerCodecSettings& settings_;
  http::RequestHead head_;
  RequestParser parser_;
  http::HeaderMap trailers_;
  buffer::Buffer body_;  // body bytes decoded in this dispatch, handed over at its end
  buffer::Buffer out_;   // encoded bytes on their way to the connection
  http::RequestDecoder* stream_ = nullptr;   // the active stream, until it completes
  http::RequestDecoder* decoder_ = nullptr;  // where request events go; null once reset

  uint32_t requests_ = 0;
  bool head_started_ = false;   // request bytes arrived, head not complete yet
  bool stream_active_ = false;  // a stream exists and its response is not complete
  bool request_done_ = false;   // the request message is complete
  bool response_started_ = false;
  bool chunked_ = false;  // response body uses chunked framing
  bool no_body_ = false;  // HEAD, 1xx, 204, 304: body bytes are dropped
  bool keep_alive_ = true;
  bool is_head_ = false;
  bool http10_ = false;
  bool accepts_trailers_ = false;
  bool upgrade_requested_ = false;
  bool tunnel_ = false;
  bool tunnel_input_done_ = false;   // the client half-closed the tunnel
  bool tunnel_output_done_ = false;  // the backend did; the client was told
  bool draining_ = false;
  bool closing_ = false;
  bool awaiting_reset_ = false;  // response done; reset the parser on the next dispatch
};

}  // namespace portico::http1
