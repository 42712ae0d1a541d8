#include "http2/client_codec.h"

#include <algorithm>
#include <cassert>

#include "core/log.h"

namespace portico::http2 {
namespace {

// Bytes serialized before they are handed to the output, so a burst leaves in few writes.
constexpr size_t kWriteChunk = 64 * 1024;

ClientCodec* self(void* user_data) {
  return static_cast<ClientCodec*>(user_data);
}

}  // namespace

ClientCodec::ClientCodec(http::CodecOutput& output, http::ClientCodecCallbacks& callbacks,
                         const ClientSettings& settings)
    : output_(output), callbacks_(callbacks), settings_(settings) {
  nghttp2_session_callbacks* cbs = nullptr;
  nghttp2_session_callbacks_new(&cbs);
  nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, &ClientCodec::onBeginHeaders);
  nghttp2_session_callbacks_set_on_header_callback(cbs, &ClientCodec::onHeader);
  nghttp2_session_callbacks_set_on_invalid_header_callback(cbs, &ClientCodec::onInvalidHeader);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, &ClientCodec::onFrameRecv);
  nghttp2_session_callbacks_set_on_frame_send_callback(cbs, &ClientCodec::onFrameSend);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, &ClientCodec::onDataChunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, &ClientCodec::onStreamClose);
  nghttp2_option* options = nullptr;
  nghttp2_option_new(&options);
  // Windows are given back as bytes are delivered (client_stream.h), not as they arrive.
  nghttp2_option_set_no_auto_window_update(options, 1);
  // Until the backend's SETTINGS arrive, assume no more streams than we would open anyway.
  nghttp2_option_set_peer_max_concurrent_streams(options, settings_.max_concurrent_streams);
  nghttp2_session_client_new2(&session_, cbs, this, options);
  nghttp2_option_del(options);
  nghttp2_session_callbacks_del(cbs);

  nghttp2_settings_entry entries[] = {
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, settings_.initial_stream_window},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, static_cast<uint32_t>(kMaxResponseHeaderBytes)},
  };
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, entries, std::size(entries));
  nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0,
                                        static_cast<int32_t>(settings_.connection_window));
  Depth depth(*this);
  flush();  // the connection preface and our SETTINGS
}

ClientCodec::~ClientCodec() {
  nghttp2_session_del(session_);
}

uint32_t ClientCodec::streamLimit() const {
  uint32_t peer =
      nghttp2_session_get_remote_settings(session_, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
  return std::min(peer, settings_.max_concurrent_streams);
}

http::ClientStream& ClientCodec::newStream() {
  auto stream = std::make_unique<ClientStreamImpl>(*this);
  ClientStreamImpl* s = stream.get();
  s->self_ = streams_.insert(streams_.end(), std::move(stream));
  return *s;
}

void ClientCodec::releaseStream(http::ClientStream& stream) {
  Depth depth(*this);
  auto* s = static_cast<ClientStreamImpl*>(&stream);
  s->released_ = true;
  s->decoder_ = nullptr;
  s->watermark_cb_ = nullptr;
  if (s->closed_ || s->id_ < 0) {
    bury(s);
    return;
  }
  if (s->end_delivered_ && s->request_done_) return;  // ending by itself: no reset needed
  // Still open: the requester gave up (a timeout, the client went away, an error elsewhere),
  // or the response ended before our request did. Either way this stream alone ends.
  if (!lost_) {
    nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, s->id_, NGHTTP2_CANCEL);
    // Whatever arrives for it until the reset lands still counts against the connection.
    if (s->unconsumed_ > 0) {
      nghttp2_session_consume_stream(session_, s->id_, s->unconsumed_);
      s->unconsumed_ = 0;
    }
    s->held_.clear();
    flush();
  } else {
    bury(s);
  }
}

void ClientCodec::bury(ClientStreamImpl* s) {
  if (s->buried_) return;
  s->buried_ = true;
  if (s->id_ >= 0 && !lost_) nghttp2_session_set_stream_user_data(session_, s->id_, nullptr);
  dead_.push_back(std::move(*s->self_));
  streams_.erase(s->self_);
  if (depth_ == 0) reap();
}

void ClientCodec::reap() {
  dead_.clear();
}

ClientStreamImpl* ClientCodec::streamOf(int32_t stream_id) const {
  return static_cast<ClientStreamImpl*>(nghttp2_session_get_stream_user_data(session_, stream_id));
}

bool ClientCodec::dispatch(buffer::Buffer& data) {
  Depth depth(*this);
  while (!data.empty() && !lost_) {
    std::string_view slice = data.firstSlice();
    in_session_ = true;
    ssize_t n = nghttp2_session_mem_recv(session_, reinterpret_cast<const uint8_t*>(slice.data()),
                                         slice.size());
    in_session_ = false;
    if (n < 0) {
      PLOG_WARN("upstream h2: connection error: {}", nghttp2_strerror(static_cast<int>(n)));
      failAll(std::string("HTTP/2 connection error: ") + nghttp2_strerror(static_cast<int>(n)));
      data.clear();
      return false;
    }
    data.drain(static_cast<size_t>(n));
  }
  flush();
  if (lost_) return false;
  return nghttp2_session_want_read(session_) != 0 || nghttp2_session_want_write(session_) != 0;
}

void ClientCodec::onEndOfInput() {
  Depth depth(*this);
  if (lost_) return;
  failAll("connection closed by the backend");
}

void ClientCodec::failAll(std::string_view why) {
  lost_ = true;
  // Copy first: a decoder may release its stream (and bury it) from inside the callback.
  std::vector<ClientStreamImpl*> open;
  for (auto& s : streams_) {
    if (!s->closed_) open.push_back(s.get());
  }
  for (ClientStreamImpl* s : open) {
    s->closed_ = true;
    const bool refused = goaway_ && s->id_ > goaway_last_id_;
    s->failResponse({.why = refused ? std::string_view("stream not processed before GOAWAY") : why,
                     .nothing_received = !s->response_bytes_,
                     .connection_closed = true,
                     .not_processed = refused || !s->headers_sent_});
  }
  callbacks_.onStreamLimitChanged();
}

void ClientCodec::onWriteWatermark(bool above_high) {
  write_blocked_ = above_high;
  if (!above_high) {
    Depth depth(*this);
    flush();
  }
}

void ClientCodec::flush() {
  // nghttp2 must not be re-entered from its own callbacks (a decoder that releases its stream
  // or resumes it while a frame is being read): the caller flushes when it returns.
  if (lost_ || write_blocked_ || in_session_) return;
  buffer::Buffer out;
  while (true) {
    const uint8_t* bytes = nullptr;
    in_session_ = true;
    ssize_t n = nghttp2_session_mem_send(session_, &bytes);
    in_session_ = false;
    if (n < 0) {
      PLOG_WARN("upstream h2: cannot serialize frames: {}", nghttp2_strerror(static_cast<int>(n)));
      failAll("HTTP/2 session failed");
      output_.closeAfterFlush();
      return;
    }
    if (n == 0) break;
    out.append(bytes, static_cast<size_t>(n));
    if (out.length() >= kWriteChunk) {
      output_.writeToPeer(out);
      if (write_blocked_) return;  // the rest waits in nghttp2 and the streams' buffers
    }
  }
  if (!out.empty()) output_.writeToPeer(out);
}

int ClientCodec::onBeginHeaders(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
  if (frame->hd.type != NGHTTP2_HEADERS) return 0;
  if (ClientStreamImpl* s = self(user_data)->streamOf(frame->hd.stream_id)) s->onBeginHeaders();
  return 0;
}

int ClientCodec::onHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                          size_t namelen, const uint8_t* value, size_t valuelen, uint8_t,
                          void* user_data) {
  if (frame->hd.type != NGHTTP2_HEADERS) return 0;
  ClientStreamImpl* s = self(user_data)->streamOf(frame->hd.stream_id);
  if (s == nullptr) return 0;
  std::string_view n(reinterpret_cast<const char*>(name), namelen);
  std::string_view v(reinterpret_cast<const char*>(value), valuelen);
  if (!s->reader_.add(n, v, &s->head_, &s->trailers_)) {
    s->malformed_ = s->reader_.error();
    // nghttp2 resets the stream; onStreamClose reports why.
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  }
  return 0;
}

int ClientCodec::onInvalidHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                                 size_t namelen, const uint8_t*, size_t, uint8_t, void* user_data) {
  // nghttp2 would drop the field silently; a response it cannot carry whole is malformed.
  if (ClientStreamImpl* s = self(user_data)->streamOf(frame->hd.stream_id)) {
    s->malformed_ =
        "invalid response field " + std::string(reinterpret_cast<const char*>(name), namelen);
  }
  return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
}

int ClientCodec::onFrameRecv(nghttp2_session* session, const nghttp2_frame* frame,
                             void* user_data) {
  ClientCodec* codec = self(user_data);
  switch (frame->hd.type) {
    case NGHTTP2_HEADERS:
      if (ClientStreamImpl* s = codec->streamOf(frame->hd.stream_id)) {
        s->onHeadersEnd((frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0);
      }
      return 0;
    case NGHTTP2_DATA:
      if ((frame->hd.flags & NGHTTP2_FLAG_END_STREAM) == 0) return 0;
      if (ClientStreamImpl* s = codec->streamOf(frame->hd.stream_id)) s->onEndStream();
      return 0;
    case NGHTTP2_GOAWAY:
      // Streams above last_stream_id were not processed: nghttp2 closes them with
      // REFUSED_STREAM, and the router sends them again on another connection.
      codec->goaway_ = true;
      codec->goaway_last_id_ = frame->goaway.last_stream_id;
      PLOG_INFO("upstream h2: GOAWAY (last stream {}, {})", frame->goaway.last_stream_id,
                nghttp2_http2_strerror(frame->goaway.error_code));
      codec->callbacks_.onStreamLimitChanged();
      return 0;
    case NGHTTP2_SETTINGS:
      if ((frame->hd.flags & NGHTTP2_FLAG_ACK) == 0) codec->callbacks_.onStreamLimitChanged();
      return 0;
    default:
      (void)session;
      return 0;
  }
}

int ClientCodec::onFrameSend(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
  ClientStreamImpl* s = self(user_data)->streamOf(frame->hd.stream_id);
  if (s == nullptr) return 0;
  if (frame->hd.type == NGHTTP2_RST_STREAM && s->malformed_.empty() && !s->released_ &&
      frame->rst_stream.error_code == NGHTTP2_PROTOCOL_ERROR) {
    // nghttp2's own HTTP checks (RFC 9113 8.1.1, 8.2) refused what the backend sent.
    s->malformed_ =
        "response breaks the HTTP/2 message rules (fields, pseudo-headers or "
        "Content-Length against DATA)";
  }
  if (frame->hd.type != NGHTTP2_HEADERS) return 0;
  if (frame->headers.cat == NGHTTP2_HCAT_REQUEST) s->headers_sent_ = true;
  if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) s->request_done_ = true;
  return 0;
}

int ClientCodec::onDataChunk(nghttp2_session* session, uint8_t, int32_t stream_id,
                             const uint8_t* data, size_t len, void* user_data) {
  // The connection window is given back at once: a slow stream holds only its own window.
  nghttp2_session_consume_connection(session, len);
  ClientStreamImpl* s = self(user_data)->streamOf(stream_id);
  if (s == nullptr || s->released_) {
    nghttp2_session_consume_stream(session, stream_id, len);
    return 0;
  }
  s->onData(data, len);
  return 0;
}

int ClientCodec::onStreamClose(nghttp2_session*, int32_t stream_id, uint32_t error_code,
                               void* user_data) {
  ClientCodec* codec = self(user_data);
  ClientStreamImpl* s = codec->streamOf(stream_id);
  if (s == nullptr) return 0;
  const bool refused = codec->goaway_ && stream_id > codec->goaway_last_id_;
  s->onClosed(error_code, refused);
  if (s->released_) codec->bury(s);
  codec->callbacks_.onStreamLimitChanged();
  return 0;
}

}  // namespace portico::http2
