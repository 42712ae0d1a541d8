#include "http2/client_stream.h"

#include <charconv>
#include <cstring>

#include "core/log.h"
#include "http2/client_codec.h"

namespace portico::http2 {

void ClientStreamImpl::encodeHeaders(const http::RequestHead& head, bool end_stream) {
  ClientCodec::Depth depth(codec_);
  head_request_ = head.method == http::Method::Head;
  HeaderList list;
  requestHeaderList(head, codec_.settings_.scheme, &list);
  request_end_ = end_stream;
  nghttp2_data_provider provider{};
  provider.source.ptr = this;
  provider.read_callback = &ClientStreamImpl::readRequestBody;
  nghttp2_nv* nv = list.data();
  int32_t id = nghttp2_submit_request(codec_.session_, nullptr, nv, list.size(),
                                      end_stream ? nullptr : &provider, this);
  if (id < 0) {
    // Out of stream ids, or the session is going away: nothing reached the backend.
    closed_ = true;
    failResponse({.why = nghttp2_strerror(id), .nothing_received = true, .not_processed = true});
    return;
  }
  id_ = id;
  codec_.flush();
}

void ClientStreamImpl::encodeData(buffer::Buffer& data, bool end_stream) {
  ClientCodec::Depth depth(codec_);
  if (closed_ || request_end_) {
    data.clear();
    return;
  }
  request_body_.moveFrom(data);
  request_end_ = end_stream;
  updateRequestWatermark();
  if (provider_deferred_) {
    provider_deferred_ = false;
    nghttp2_session_resume_data(codec_.session_, id_);
  }
  codec_.flush();
}

void ClientStreamImpl::encodeTrailers(const http::HeaderMap& trailers) {
  ClientCodec::Depth depth(codec_);
  if (closed_ || request_end_) return;
  request_trailers_.emplace();
  request_trailers_->assign(trailers);
  request_end_ = true;
  if (provider_deferred_) {
    provider_deferred_ = false;
    nghttp2_session_resume_data(codec_.session_, id_);
  }
  codec_.flush();
}

ssize_t ClientStreamImpl::readRequestBody(nghttp2_session* session, int32_t stream_id, uint8_t* buf,
                                          size_t length, uint32_t* flags,
                                          nghttp2_data_source* source, void*) {
  auto* s = static_cast<ClientStreamImpl*>(source->ptr);
  size_t n = std::min(length, s->request_body_.length());
  size_t copied = 0;
  while (copied < n) {
    std::string_view slice = s->request_body_.firstSlice();
    size_t take = std::min(slice.size(), n - copied);
    std::memcpy(buf + copied, slice.data(), take);
    s->request_body_.drain(take);
    copied += take;
  }
  s->updateRequestWatermark();
  if (s->request_body_.empty()) {
    if (!s->request_end_) {
      if (copied > 0) return static_cast<ssize_t>(copied);
      s->provider_deferred_ = true;
      return NGHTTP2_ERR_DEFERRED;
    }
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    if (s->request_trailers_) {
      // The trailers end the stream instead of this DATA frame.
      *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
      HeaderList list;
      trailerHeaderList(*s->request_trailers_, &list);
      nghttp2_nv* nv = list.data();
      if (nghttp2_submit_trailer(session, stream_id, nv, list.size()) != 0) {
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
      }
    }
    s->request_done_ = true;
  }
  return static_cast<ssize_t>(copied);
}

void ClientStreamImpl::updateRequestWatermark() {
  const size_t limit = codec_.settings_.stream_buffer_limit;
  const size_t held = request_body_.length();
  if (!above_watermark_ && held > limit) {
    above_watermark_ = true;
    if (watermark_cb_) watermark_cb_->onStreamWriteWatermark(true);
  } else if (above_watermark_ && held <= limit / 2) {
    above_watermark_ = false;
    if (watermark_cb_) watermark_cb_->onStreamWriteWatermark(false);
  }
}

void ClientStreamImpl::onBeginHeaders() {
  response_bytes_ = true;
  in_trailers_ = final_head_;
  if (!in_trailers_) {
    head_.clear();
    head_.version = {2, 0};
  }
  reader_.begin(in_trailers_);
}

void ClientStreamImpl::onHeadersEnd(bool end_stream) {
  if (!reader_.finish()) {
    malformed_ = reader_.error();
    nghttp2_submit_rst_stream(codec_.session_, NGHTTP2_FLAG_NONE, id_, NGHTTP2_PROTOCOL_ERROR);
    return;
  }
  if (in_trailers_) {
    end_received_ = true;
    trailers_held_ = true;
    deliver();
    return;
  }
  if (head_.status < 200) {
    // 100 Continue is ours to handle (we answer clients ourselves); 101 cannot happen in
    // HTTP/2 (RFC 9113 8.6); other 1xx pass on.
    if (head_.status == 101) {
      malformed_ = "101 response over HTTP/2";
      nghttp2_submit_rst_stream(codec_.session_, NGHTTP2_FLAG_NONE, id_, NGHTTP2_PROTOCOL_ERROR);
      return;
    }
    if (end_stream) {
      malformed_ = "interim response ending the stream";
      nghttp2_submit_rst_stream(codec_.session_, NGHTTP2_FLAG_NONE, id_, NGHTTP2_PROTOCOL_ERROR);
      return;
    }
    if (head_.status != 100 && decoder_) decoder_->decodeInterim(head_);
    return;
  }
  final_head_ = true;
  if (auto cl = head_.headers.get("content-length")) {
    uint64_t v = 0;
    auto [end, ec] = std::from_chars(cl->data(), cl->data() + cl->size(), v);
    if (ec != std::errc() || end != cl->data() + cl->size()) {
      malformed_ = "invalid Content-Length in the response";
      nghttp2_submit_rst_stream(codec_.session_, NGHTTP2_FLAG_NONE, id_, NGHTTP2_PROTOCOL_ERROR);
      return;
    }
    // A response to HEAD, and 204 and 304, carry no body whatever the field says.
    if (!head_request_ && head_.status != 204 && head_.status != 304) content_length_ = v;
  }
  if (end_stream && content_length_ && *content_length_ != 0) {
    malformed_ = "response ended short of its Content-Length";
    nghttp2_submit_rst_stream(codec_.session_, NGHTTP2_FLAG_NONE, id_, NGHTTP2_PROTOCOL_ERROR);
    return;
  }
  end_received_ = end_stream;
  if (end_stream) end_delivered_ = true;
  if (decoder_) decoder_->decodeHeaders(head_, end_stream);
}

void ClientStreamImpl::onData(const uint8_t* data, size_t length) {
  response_bytes_ = true;
  data_received_ += length;
  if (!final_head_ || (content_length_ && data_received_ > *content_length_)) {
    malformed_ = final_head_ ? "response body longer than its Content-Length"
                             : "DATA before the response head";
    nghttp2_session_consume_stream(codec_.session_, id_, length);
    nghttp2_submit_rst_stream(codec_.session_, NGHTTP2_FLAG_NONE, id_, NGHTTP2_PROTOCOL_ERROR);
    return;
  }
  held_.append(data, length);
  unconsumed_ += length;
  deliver();
}

void ClientStreamImpl::onEndStream() {
  if (content_length_ && data_received_ != *content_length_) {
    malformed_ = "response body shorter than its Content-Length";
    nghttp2_submit_rst_stream(codec_.session_, NGHTTP2_FLAG_NONE, id_, NGHTTP2_PROTOCOL_ERROR);
    return;
  }
  end_received_ = true;
  deliver();
}

void ClientStreamImpl::pauseResponse(bool pause) {
  paused_ = pause;
  if (pause) return;
  ClientCodec::Depth depth(codec_);
  deliver();
  codec_.flush();  // the WINDOW_UPDATE for what was delivered
}

void ClientStreamImpl::deliver() {
  if (paused_ || released_ || decoder_ == nullptr || end_delivered_) return;
  if (!held_.empty() || (end_received_ && !trailers_held_)) {
    const bool end = end_received_ && !trailers_held_;
    if (end) end_delivered_ = true;
    const size_t give_back = unconsumed_;
    unconsumed_ = 0;
    if (give_back > 0 && !closed_) nghttp2_session_consume_stream(codec_.session_, id_, give_back);
    http::ResponseDecoder* d = decoder_;
    d->decodeData(held_, end);
    held_.clear();
    if (end) return;
  }
  if (trailers_held_ && !paused_ && decoder_ != nullptr && !end_delivered_) {
    end_delivered_ = true;
    decoder_->decodeTrailers(trailers_);
  }
}

void ClientStreamImpl::onClosed(uint32_t error_code, bool goaway_refused) {
  closed_ = true;
  if (released_ || end_delivered_ || (end_received_ && malformed_.empty())) return;
  if (!malformed_.empty()) {
    PLOG_WARN("upstream h2: stream {}: malformed response: {}", id_, malformed_);
    failResponse({.why = malformed_, .nothing_received = false});
    return;
  }
  if (error_code == NGHTTP2_REFUSED_STREAM || goaway_refused) {
    failResponse({.why = goaway_refused ? "stream not processed before GOAWAY"
                                        : "backend refused the stream (REFUSED_STREAM)",
                  .nothing_received = !response_bytes_,
                  .not_processed = true});
    return;
  }
  const std::string why =
      error_code == NGHTTP2_NO_ERROR
          ? std::string("backend ended the stream early")
          : std::string("backend reset the stream: ") + nghttp2_http2_strerror(error_code);
  failResponse({.why = why, .nothing_received = !response_bytes_});
}

void ClientStreamImpl::failResponse(const http::ResponseError& error) {
  http::ResponseDecoder* d = decoder_;
  decoder_ = nullptr;
  held_.clear();
  if (d) d->onResponseError(error);
}

}  // namespace portico::http2
