#include "http2/server_stream.h"

#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "core/log.h"
#include "http/grpc_local_reply.h"
#include "http2/extended_connect.h"
#include "http2/server_codec.h"

namespace portico::http2 {

namespace {

ssize_t readBodyThunk(nghttp2_session*, int32_t, uint8_t* buf, size_t length, uint32_t* data_flags,
                      nghttp2_data_source* source, void*) {
  return static_cast<ServerStream*>(source->ptr)->readBody(buf, length, data_flags);
}

}  // namespace

ServerStream::~ServerStream() {
  closeFile();
}

void ServerStream::closeFile() {
  if (file_fd_ >= 0) ::close(file_fd_);
  file_fd_ = -1;
  file_left_ = 0;
}

void ServerStream::begin(int32_t id, RequestBuilder::Limits limits) {
  id_ = id;
  builder_.reset(&head_, limits);
  trailers_.clear();
  active_ = nullptr;
  decoder_ = nullptr;
  inbound_.clear();
  unconsumed_ = 0;
  body_bytes_ = 0;
  paused_ = false;
  inbound_end_ = false;
  head_done_ = false;
  in_trailers_ = false;
  rejected_ = false;
  request_ended_ = false;
  websocket_key_.clear();
  websocket_ = false;
  tunnel_ = false;
  out_.clear();
  out_trailers_.clear();
  closeFile();
  file_offset_ = 0;
  bytes_sent_ = 0;
  response_started_ = false;
  is_head_ = false;
  no_body_ = false;
  out_end_ = false;
  trailers_pending_ = false;
  response_ended_ = false;
  above_high_ = false;
  watermark_low_pending_ = false;
  closed_ = false;
}

// ---- request side --------------------------------------------------------------------------

void ServerStream::reject(const char* why) {
  if (rejected_ || closed_) return;
  rejected_ = true;
  PLOG_DEBUG("HTTP/2 stream {} refused: {}", id_, why);
  // A malformed request is a stream error (RFC 9113 8.1.1); the backend never sees it.
  if (active_ == nullptr) codec_.callbacks().onRequestRejected(nullptr, 400, why);
  nghttp2_submit_rst_stream(codec_.session(), NGHTTP2_FLAG_NONE, id_, NGHTTP2_PROTOCOL_ERROR);
  if (decoder_ != nullptr) {
    http::RequestDecoder* d = decoder_;
    decoder_ = nullptr;
    d->onStreamReset(http::StreamResetReason::ProtocolError);
  }
}

bool ServerStream::onField(std::string_view name, std::string_view value) {
  if (rejected_) return false;
  if (in_trailers_) {
    const char* why = nullptr;
    if (!addTrailerField(trailers_, name, value, &why)) {
      reject(why);
      return false;
    }
    return true;
  }
  if (!builder_.addField(name, value)) {
    reject(builder_.why());
    return false;
  }
  return true;
}

void ServerStream::onHeadersEnd(bool end_stream) {
  if (rejected_) return;
  head_done_ = true;
  request_ended_ = end_stream;
  if (!builder_.finish(end_stream)) {
    reject(builder_.why());
    return;
  }
  // How the client reached us, as HTTP/1 says it; the proxy core makes it "https" over TLS.
  head_.scheme = "http";
  const http::ServerCodecSettings& settings = codec_.settings();
  if (builder_.tooLarge()) {
    codec_.callbacks().onRequestRejected(nullptr, 431, "request header fields too large");
    sendLocalReply(431);
    return;
  }
  if (settings.max_body != 0 && builder_.contentLength() &&
      *builder_.contentLength() > settings.max_body) {
    codec_.callbacks().onRequestRejected(nullptr, 413, "request body too large");
    sendLocalReply(413);
    return;
  }
  if (!builder_.protocol().empty() && !startExtendedConnect()) return;
  is_head_ = head_.method == http::Method::Head;
  codec_.onRequestStarted(id_);
  active_ = &codec_.callbacks().newStream(*this);
  decoder_ = active_;
  // A WebSocket handshake is a whole request (a GET); what the client sends next is the
  // tunnel's, handed on once the backend accepted.
  decoder_->decodeHeaders(head_, end_stream || websocket_);
  // RFC 9110 10.1.1: the client waits for a 100 before its body unless we already answered.
  if (builder_.expectsContinue() && !end_stream && decoder_ != nullptr && !response_started_ &&
      !closed_) {
    encodeInterim(100, http::HeaderMap());
  }
}

bool ServerStream::startExtendedConnect() {
  // nghttp2 already refuses :protocol unless we sent SETTINGS_ENABLE_CONNECT_PROTOCOL; this
  // keeps a listener with websocket off closed whatever the library does.
  if (!codec_.settings().http2.websocket) {
    reject(":protocol on a listener without websocket");
    return false;
  }
  if (builder_.protocol() != kWebSocketProtocol) {
    // RFC 8441 4: a protocol the server does not support.
    PLOG_DEBUG("HTTP/2 stream {}: extended CONNECT for unknown protocol {}", id_,
               builder_.protocol());
    codec_.callbacks().onRequestRejected(nullptr, 501, "extended CONNECT for unknown protocol");
    sendLocalReply(501);
    return false;
  }
  websocket_key_ = toWebSocketUpgrade(head_);
  websocket_ = true;
  return true;
}

void ServerStream::onTrailersBegin() {
  in_trailers_ = true;
  trailers_.clear();
}

void ServerStream::onTrailersEnd() {
  if (rejected_) return;
  request_ended_ = true;
  // Trailers end the request: what body is held goes first.
  if (!paused_) deliverBody();
  if (decoder_ != nullptr) {
    if (!inbound_.empty()) {
      // Paused: the body is still held; trailers wait for it (rare: keep it simple).
      inbound_end_ = true;
      return;
    }
    decoder_->decodeTrailers(trailers_);
  }
}

void ServerStream::onDataChunk(const uint8_t* data, size_t len) {
  body_bytes_ += len;
  unconsumed_ += len;
  if (rejected_ || decoder_ == nullptr) {
    consumeWindow();  // nobody reads it; keep the client's window open to let it finish
    return;
  }
  const uint64_t max_body = codec_.settings().max_body;
  if (max_body != 0 && body_bytes_ > max_body && !websocket_) {
    codec_.callbacks().onRequestRejected(active_, 413, "request body too large");
    failStream(413);
    return;
  }
  inbound_.append(data, len);
}

void ServerStream::onDataEnd(bool end_stream) {
  if (end_stream) {
    request_ended_ = true;
    inbound_end_ = true;
  }
  if (!paused_) deliverBody();
}

void ServerStream::deliverBody() {
  if (decoder_ == nullptr) {
    inbound_.clear();
    consumeWindow();
    return;
  }
  // Before the backend accepted the WebSocket, nothing may reach it: the bytes wait here
  // (bounded by the stream window, which stays shut until they are consumed).
  if (websocket_ && !tunnel_) return;
  if (inbound_.empty() && !inbound_end_) return;
  const bool end = inbound_end_;
  inbound_end_ = false;
  consumeWindow();
  const bool had_trailers = in_trailers_ && request_ended_;
  if (end && had_trailers) {
    if (!inbound_.empty()) decoder_->decodeData(inbound_, false);
    inbound_.clear();
    if (decoder_ != nullptr) decoder_->decodeTrailers(trailers_);
    return;
  }
  decoder_->decodeData(inbound_, end);
  inbound_.clear();
}

void ServerStream::consumeWindow() {
  if (unconsumed_ == 0 || closed_) return;
  nghttp2_session_consume_stream(codec_.session(), id_, unconsumed_);
  unconsumed_ = 0;
}

void ServerStream::pauseRequestBody(bool pause) {
  if (paused_ == pause) return;
  paused_ = pause;
  if (pause || closed_) return;
  deliverBody();
  codec_.flush();  // the WINDOW_UPDATEs we held back
}

// ---- response side -------------------------------------------------------------------------

void ServerStream::submitResponse(uint16_t status, const http::HeaderMap& headers, bool with_body) {
  block_.buildResponse(status, headers);
  nghttp2_data_provider provider;
  provider.source.ptr = this;
  provider.read_callback = &readBodyThunk;
  const int rv = nghttp2_submit_response(codec_.session(), id_, block_.data(), block_.size(),
                                         with_body ? &provider : nullptr);
  if (rv != 0) PLOG_DEBUG("HTTP/2 stream {}: response not sent: {}", id_, nghttp2_strerror(rv));
}

void ServerStream::encodeInterim(uint16_t status, const http::HeaderMap& headers) {
  if (response_started_ || closed_ || status == 101) return;
  block_.buildResponse(status, headers);
  nghttp2_submit_headers(codec_.session(), NGHTTP2_FLAG_NONE, id_, nullptr, block_.data(),
                         block_.size(), nullptr);
  codec_.flush();
}

void ServerStream::encodeHeaders(http::ResponseHead& head, bool end_stream) {
  if (response_started_ || closed_) return;
  response_started_ = true;
  if (websocket_) {
    switch (toExtendedConnectResponse(head, websocket_key_)) {
      case UpgradeAnswer::Accepted:
        tunnel_ = true;
        break;
      case UpgradeAnswer::BadUpgrade:
        PLOG_INFO("HTTP/2 stream {}: the backend did not accept the WebSocket handshake: 502", id_);
        end_stream = true;
        break;
      case UpgradeAnswer::Refused:
        break;
    }
  }
  if (head.status == 101) {
    // HTTP/2 has no 101 (RFC 9113 8.6): nothing can become a tunnel this way.
    PLOG_INFO("HTTP/2 stream {}: a 101 cannot be sent over HTTP/2", id_);
    resetStream();
    return;
  }
  no_body_ = is_head_ || http::statusHasNoBody(head.status);
  out_end_ = end_stream;
  submitResponse(head.status, head.headers, !end_stream);
  codec_.flush();
  // The tunnel is open: what the client sent meanwhile goes first.
  if (tunnel_ && !paused_) deliverBody();
}

void ServerStream::encodeData(buffer::Buffer& data, bool end_stream) {
  if (closed_ || !response_started_ || out_end_ || response_ended_) {
    data.clear();
    return;
  }
  if (no_body_) {
    data.clear();
  } else {
    out_.moveFrom(data);
  }
  if (end_stream) out_end_ = true;
  checkHighWatermark();
  nghttp2_session_resume_data(codec_.session(), id_);
  codec_.flush();
}

void ServerStream::encodeFile(int file_fd, uint64_t offset, uint64_t length, bool end_stream) {
  if (closed_ || !response_started_ || out_end_ || no_body_ || file_fd_ >= 0) {
    ::close(file_fd);
    buffer::Buffer empty;
    encodeData(empty, end_stream);
    return;
  }
  // Read into the frames as the windows allow (readBody), never all at once.
  file_fd_ = file_fd;
  file_offset_ = offset;
  file_left_ = length;
  if (end_stream) out_end_ = true;
  nghttp2_session_resume_data(codec_.session(), id_);
  codec_.flush();
}

void ServerStream::encodeTrailers(const http::HeaderMap& trailers) {
  if (closed_ || !response_started_ || out_end_ || response_ended_) return;
  out_trailers_.assign(trailers);
  trailers_pending_ = !no_body_ && !trailers.empty();
  out_end_ = true;
  nghttp2_session_resume_data(codec_.session(), id_);
  codec_.flush();
}

ssize_t ServerStream::readBody(uint8_t* buf, size_t length, uint32_t* data_flags) {
  size_t n = 0;
  if (!out_.empty()) {
    // Buffered bytes first: they came before any file.
    while (n < length && !out_.empty()) {
      const std::string_view slice = out_.firstSlice();
      const size_t take = std::min(slice.size(), length - n);
      std::memcpy(buf + n, slice.data(), take);
      out_.drain(take);
      n += take;
    }
  } else if (file_fd_ >= 0) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(length, file_left_));
    const ssize_t got = ::pread(file_fd_, buf, want, static_cast<off_t>(file_offset_));
    if (got <= 0) {
      PLOG_WARN("HTTP/2 stream {}: file body read failed", id_);
      closeFile();
      return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;  // resets the stream
    }
    n = static_cast<size_t>(got);
    file_offset_ += n;
    file_left_ -= n;
    if (file_left_ == 0) closeFile();
  }
  bytes_sent_ += n;
  if (above_high_ && out_.length() <= codec_.streamBufferLimit() / 2) watermark_low_pending_ = true;
  if (out_.empty() && file_fd_ < 0 && out_end_) {
    *data_flags |= NGHTTP2_DATA_FLAG_EOF;
    if (trailers_pending_) {
      trailers_pending_ = false;
      *data_flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
      block_.buildTrailers(out_trailers_);
      nghttp2_submit_trailer(codec_.session(), id_, block_.data(), block_.size());
    }
    return static_cast<ssize_t>(n);
  }
  if (n == 0) return NGHTTP2_ERR_DEFERRED;
  return static_cast<ssize_t>(n);
}

void ServerStream::checkHighWatermark() {
  if (above_high_ || out_.length() <= codec_.streamBufferLimit()) return;
  above_high_ = true;
  if (decoder_ != nullptr) decoder_->onSendWatermark(true);
}

void ServerStream::notifyWatermarkIfLow() {
  if (!watermark_low_pending_) return;
  watermark_low_pending_ = false;
  if (!above_high_) return;
  above_high_ = false;
  if (decoder_ != nullptr) decoder_->onSendWatermark(false);
}

void ServerStream::onResponseEnded() {
  response_ended_ = true;
  // RFC 9113 8.1: a complete response may end a request still arriving; RST_STREAM NO_ERROR
  // tells the client to stop sending it.
  if (!request_ended_ && !closed_)
    nghttp2_submit_rst_stream(codec_.session(), NGHTTP2_FLAG_NONE, id_, NGHTTP2_NO_ERROR);
}

void ServerStream::resetStream() {
  if (closed_) return;
  decoder_ = nullptr;
  nghttp2_submit_rst_stream(codec_.session(), NGHTTP2_FLAG_NONE, id_, NGHTTP2_INTERNAL_ERROR);
  codec_.flush();
}

void ServerStream::failStream(uint16_t status) {
  if (closed_) return;
  if (decoder_ != nullptr) {
    http::RequestDecoder* d = decoder_;
    decoder_ = nullptr;
    d->onStreamReset(http::StreamResetReason::LocalReset);
  }
  if (response_started_) {
    nghttp2_submit_rst_stream(codec_.session(), NGHTTP2_FLAG_NONE, id_, NGHTTP2_INTERNAL_ERROR);
    codec_.flush();
    return;
  }
  sendLocalReply(status);
}

void ServerStream::sendLocalReply(uint16_t status) {
  if (response_started_ || closed_) return;
  response_started_ = true;
  if (http::isGrpcRequest(head_.headers)) {
    // The codec's own replies (408 body idle, 413, 431) to a gRPC call are gRPC errors too,
    // like the proxy core's (http/grpc_local_reply.h).
    http::ResponseHead grpc;
    http::makeGrpcLocalReply(status, {}, *head_.headers.get("content-type"), grpc);
    out_.clear();
    out_end_ = true;
    submitResponse(grpc.status, grpc.headers, false);
    codec_.flush();
    return;
  }
  const std::string body = http::errorBody(status, codec_.settings().error_pages);
  http::HeaderMap headers;
  headers.add("content-type", "text/plain");
  headers.add("content-length", std::to_string(body.size()));
  out_.clear();
  if (!is_head_) out_.append(body);
  out_end_ = true;
  submitResponse(status, headers, true);
  codec_.flush();
}

void ServerStream::onConnectionClosing() {
  if (decoder_ == nullptr) return;
  http::RequestDecoder* d = decoder_;
  decoder_ = nullptr;
  d->onStreamReset(http::StreamResetReason::ConnectionTermination);
}

void ServerStream::onClosed(uint32_t error_code) {
  closed_ = true;
  closeFile();
  out_.clear();
  inbound_.clear();
  if (decoder_ != nullptr && !response_ended_) {
    // The client reset the stream, or nghttp2 did (a protocol error on it).
    http::RequestDecoder* d = decoder_;
    decoder_ = nullptr;
    d->onStreamReset(error_code == NGHTTP2_NO_ERROR ? http::StreamResetReason::ConnectionTermination
                                                    : http::StreamResetReason::ProtocolError);
  }
  decoder_ = nullptr;
  if (active_ != nullptr) {
    http::RequestDecoder* stream = active_;
    active_ = nullptr;
    codec_.callbacks().onStreamComplete(*stream);
  }
}

}  // namespace portico::http2
