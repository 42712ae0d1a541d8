#pragma once
// One request/response exchange of the HTTP/2 client codec (http2/client_codec.h).
//
// Request body: held in a bounded buffer that nghttp2 pulls through a data provider as the
// backend's windows allow; above the buffer's limit the requester is told to stop
// (ClientStreamWatermarkCallbacks), below half of it to go on.
// Response body: delivered as it arrives while the requester is not paused. The connection's
// window is given back at once, the stream's only once the bytes were delivered: a slow
// client stops its own stream at the stream window, never the connection's other streams.

#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <string>

#include "buffer/buffer.h"
#include "http/client_codec.h"
#include "http/message.h"
#include "http2/client_headers.h"

namespace portico::http2 {

class ClientCodec;

class ClientStreamImpl final : public http::ClientStream {
 public:
  explicit ClientStreamImpl(ClientCodec& codec) : codec_(codec) {}

  // http::ClientStream
  void setResponseDecoder(http::ResponseDecoder* decoder) override { decoder_ = decoder; }
  void setWatermarkCallbacks(http::ClientStreamWatermarkCallbacks* cb) override {
    watermark_cb_ = cb;
  }
  void pauseResponse(bool pause) override;
  bool requestStarted() const override { return headers_sent_; }
  bool canTunnel() const override { return false; }

  // http::RequestEncoder
  void encodeHeaders(const http::RequestHead& head, bool end_stream) override;
  void encodeData(buffer::Buffer& data, bool end_stream) override;
  void encodeTrailers(const http::HeaderMap& trailers) override;

 private:
  friend class ClientCodec;
  static ssize_t readRequestBody(nghttp2_session* session, int32_t stream_id, uint8_t* buf,
                                 size_t length, uint32_t* flags, nghttp2_data_source* source,
                                 void* user_data);
  // The codec's side of the response.
  void onBeginHeaders();
  void onHeadersEnd(bool end_stream);
  void onData(const uint8_t* data, size_t length);
  void onEndStream();
  void onClosed(uint32_t error_code, bool goaway_refused);
  // Hands held response bytes (and the end) to the decoder unless paused.
  void deliver();
  void failResponse(const http::ResponseError& error);
  void updateRequestWatermark();

  ClientCodec& codec_;
  std::list<std::unique_ptr<ClientStreamImpl>>::iterator self_;
  int32_t id_ = -1;
  http::ResponseDecoder* decoder_ = nullptr;
  http::ClientStreamWatermarkCallbacks* watermark_cb_ = nullptr;
  bool released_ = false;
  bool buried_ = false;  // waiting in the codec's dead_ list
  bool closed_ = false;  // nghttp2 closed it (or it never opened)
  bool head_request_ = false;

  // Request side.
  bool headers_sent_ = false;  // the HEADERS frame was serialized
  buffer::Buffer request_body_;
  bool request_end_ = false;
  bool request_done_ = false;  // END_STREAM (or trailers) went out
  bool provider_deferred_ = false;
  std::optional<http::HeaderMap> request_trailers_;
  bool above_watermark_ = false;

  // Response side.
  ResponseHeaderReader reader_;
  http::ResponseHead head_;
  http::HeaderMap trailers_;
  bool in_trailers_ = false;
  bool final_head_ = false;      // the final (non-1xx) head was delivered
  bool response_bytes_ = false;  // any response frame for this stream arrived
  std::string malformed_;        // why we rejected the response, if we did
  std::optional<uint64_t> content_length_;
  uint64_t data_received_ = 0;
  buffer::Buffer held_;         // response bytes not yet delivered (paused)
  size_t unconsumed_ = 0;       // of them, not yet given back to the stream window
  bool end_received_ = false;   // END_STREAM seen
  bool end_delivered_ = false;  // ... and delivered
  bool trailers_held_ = false;  // trailers wait behind held bytes
  bool paused_ = false;
};

}  // namespace portico::http2
