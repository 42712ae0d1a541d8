#include "http2/server_codec.h"

#include <algorithm>
#include <string>

#include "core/log.h"

namespace portico::http2 {

namespace {

ServerCodecImpl& codecOf(void* self) {
  return *static_cast<ServerCodecImpl*>(self);
}

// nghttp2 callbacks are the same for every session: built once per thread.
nghttp2_session_callbacks* sharedCallbacks(void (*fill)(nghttp2_session_callbacks* callbacks)) {
  struct Holder {
    nghttp2_session_callbacks* callbacks = nullptr;
    ~Holder() {
      if (callbacks) nghttp2_session_callbacks_del(callbacks);
    }
  };
  thread_local Holder holder;
  if (holder.callbacks == nullptr) {
    nghttp2_session_callbacks_new(&holder.callbacks);
    fill(holder.callbacks);
  }
  return holder.callbacks;
}

// nghttp2 treats a stream beyond the acknowledged SETTINGS_MAX_CONCURRENT_STREAMS as a
// connection error (GOAWAY PROTOCOL_ERROR), taking every stream of the connection down with
// it. RFC 9113 5.1.2 asks for a stream error, and REFUSED_STREAM tells the client it may retry
// that one request. So nghttp2 is told "no limit" (this value) and the limit is ours
// (onBeginHeaders); the client hears the real limit because that one value of our first
// SETTINGS frame is rewritten as it leaves (advertiseStreamLimit).
constexpr uint32_t kUnlimitedStreams = 0x7fffffff;

// `bytes` starts with our first frame, the SETTINGS nghttp2 was given: rewrites its
// MAX_CONCURRENT_STREAMS entry from kUnlimitedStreams to `limit`. False if it is not there.
bool advertiseStreamLimit(std::string& bytes, uint32_t limit) {
  constexpr size_t kFrameHeader = 9, kEntry = 6;
  if (bytes.size() < kFrameHeader || static_cast<uint8_t>(bytes[3]) != NGHTTP2_SETTINGS)
    return false;
  const size_t length = (static_cast<size_t>(static_cast<uint8_t>(bytes[0])) << 16) |
                        (static_cast<size_t>(static_cast<uint8_t>(bytes[1])) << 8) |
                        static_cast<uint8_t>(bytes[2]);
  if (bytes.size() < kFrameHeader + length) return false;
  for (size_t at = kFrameHeader; at + kEntry <= kFrameHeader + length; at += kEntry) {
    auto* e = reinterpret_cast<uint8_t*>(bytes.data() + at);
    const uint32_t id = (e[0] << 8) | e[1];
    const uint32_t value = (static_cast<uint32_t>(e[2]) << 24) | (e[3] << 16) | (e[4] << 8) | e[5];
    if (id == NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS && value == kUnlimitedStreams) {
      e[2] = static_cast<uint8_t>(limit >> 24);
      e[3] = static_cast<uint8_t>(limit >> 16);
      e[4] = static_cast<uint8_t>(limit >> 8);
      e[5] = static_cast<uint8_t>(limit);
      return true;
    }
  }
  return false;
}

}  // namespace

ServerCodecImpl::ServerCodecImpl(http::CodecOutput& output,
                                 http::ServerConnectionCallbacks& callbacks,
                                 const http::ServerCodecSettings& settings,
                                 uint32_t requests_served,
                                 std::vector<std::unique_ptr<FrameObserver>> observers)
    : output_(output),
      callbacks_(callbacks),
      settings_(settings),
      observers_(std::move(observers)),
      requests_(requests_served) {
  nghttp2_session_callbacks* cbs = sharedCallbacks([](nghttp2_session_callbacks* c) {
    nghttp2_session_callbacks_set_on_begin_frame_callback(c, &ServerCodecImpl::onBeginFrame);
    nghttp2_session_callbacks_set_on_begin_headers_callback(c, &ServerCodecImpl::onBeginHeaders);
    nghttp2_session_callbacks_set_on_header_callback(c, &ServerCodecImpl::onHeader);
    nghttp2_session_callbacks_set_on_invalid_header_callback(c, &ServerCodecImpl::onInvalidHeader);
    nghttp2_session_callbacks_set_on_frame_recv_callback(c, &ServerCodecImpl::onFrameRecv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(c, &ServerCodecImpl::onDataChunk);
    nghttp2_session_callbacks_set_on_frame_send_callback(c, &ServerCodecImpl::onFrameSend);
    nghttp2_session_callbacks_set_on_stream_close_callback(c, &ServerCodecImpl::onStreamClose);
    nghttp2_session_callbacks_set_error_callback2(c, &ServerCodecImpl::onError);
    nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(c,
                                                                 &ServerCodecImpl::onInvalidFrame);
  });
  const http::Http2Options& h2 = settings_.http2;
  nghttp2_option* option = nullptr;
  nghttp2_option_new(&option);
  nghttp2_option_set_no_auto_window_update(option, 1);
  // nghttp2's own flood limits stay as a backstop above ours (http2/flood_guard.h), so that
  // ours, with their counters and log lines, are the ones that trip.
  const http::Http2AttackLimits& limits = h2.attack_limits;
  nghttp2_option_set_max_continuations(option, limits.max_continuation_frames + 1);
  nghttp2_option_set_stream_reset_rate_limit(
      option, std::max<uint64_t>(1000, 2 * uint64_t{limits.rapid_reset.burst}),
      std::max<uint64_t>(33, 2 * uint64_t{limits.rapid_reset.rate}));
  // Our HPACK encoder keeps no bigger a table than the decoder side we ask clients for.
  nghttp2_option_set_max_deflate_dynamic_table_size(option, h2.hpack_table_size);
  nghttp2_session_server_new2(&session_, cbs, this, option);
  nghttp2_option_del(option);

  const uint32_t list_size = h2.max_header_list_size != 0
                                 ? h2.max_header_list_size
                                 : static_cast<uint32_t>(settings_.max_header_bytes);
  const nghttp2_settings_entry entries[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, kUnlimitedStreams},  // see above
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, h2.initial_stream_window},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, list_size},
      {NGHTTP2_SETTINGS_HEADER_TABLE_SIZE, h2.hpack_table_size},
      {NGHTTP2_SETTINGS_MAX_FRAME_SIZE, h2.max_frame_size},
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
      // Last, so that leaving it out is sending one entry fewer (RFC 8441 section 3).
      {NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL, 1},
  };
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, entries,
                          std::size(entries) - (h2.websocket ? 0 : 1));
  // The connection window starts at 64 KiB whatever SETTINGS say; open it to what is set.
  nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0,
                                        static_cast<int32_t>(h2.connection_window));
  flush();
}

ServerCodecImpl::~ServerCodecImpl() {
  // nghttp2_session_del calls no stream callbacks; our streams go with their fds.
  nghttp2_session_del(session_);
}

size_t ServerCodecImpl::streamBufferLimit() const {
  return settings_.buffer_limit;
}

ServerStream* ServerCodecImpl::streamOf(int32_t id) {
  return static_cast<ServerStream*>(nghttp2_session_get_stream_user_data(session_, id));
}

ServerStream* ServerCodecImpl::newServerStream(int32_t id) {
  std::unique_ptr<ServerStream> stream;
  if (!spare_.empty()) {
    stream = std::move(spare_.back());
    spare_.pop_back();
  } else {
    stream = std::make_unique<ServerStream>(*this);
  }
  const size_t list_size = settings_.http2.max_header_list_size != 0
                               ? settings_.http2.max_header_list_size
                               : settings_.max_header_bytes;
  stream->begin(id, {list_size, settings_.max_headers});
  live_.push_back(std::move(stream));
  return live_.back().get();
}

void ServerCodecImpl::recycleClosedStreams() {
  // Enough spares for the usual concurrency without keeping a burst's worth of memory.
  constexpr size_t kMaxSpare = 8;
  for (auto& s : graveyard_)
    if (spare_.size() < kMaxSpare) spare_.push_back(std::move(s));
  graveyard_.clear();
}

bool ServerCodecImpl::dispatch(buffer::Buffer& data) {
  // dispatch() never runs while a completed stream waits for its reap (the connection
  // manager holds input back until then), so closed streams' heads are free to reuse.
  recycleClosedStreams();
  if (closing_) {
    data.clear();
    return false;
  }
  ++in_nghttp2_;
  while (!data.empty() && !closing_) {
    const std::string_view slice = data.firstSlice();
    const ssize_t n = nghttp2_session_mem_recv(
        session_, reinterpret_cast<const uint8_t*>(slice.data()), slice.size());
    if (n < 0) {
      --in_nghttp2_;
      data.clear();
      if (calmed_) {
        // An observer stopped the parsing (NGHTTP2_ERR_CALLBACK_FAILURE): the GOAWAY is
        // queued and the owner told; the rest of the input is not read.
        flush();
        closeConnection();
        return false;
      }
      if (n == NGHTTP2_ERR_FLOODED) {
        // The client keeps asking for PING/SETTINGS ACKs it does not read (nghttp2 holds
        // 1000 at most). Nothing we send would reach it: close.
        callbacks_.onHttp2Attack(http::Http2Attack::UnreadControl,
                                 "the client does not read the PING and SETTINGS "
                                 "acknowledgements it asks for");
        closeConnection();
        return false;
      }
      PLOG_INFO("HTTP/2 connection error: {}", nghttp2_strerror(static_cast<int>(n)));
      // A bad preface or a fatal error: nghttp2 may have queued a GOAWAY; send it if it can.
      nghttp2_session_terminate_session(session_, NGHTTP2_PROTOCOL_ERROR);
      flush();
      closeConnection();
      return false;
    }
    data.drain(static_cast<size_t>(n));
  }
  data.clear();  // after a calm(): the rest is not read
  --in_nghttp2_;
  flush();
  return !closing_;
}

void ServerCodecImpl::flush() {
  if (in_nghttp2_ > 0 || output_blocked_ || closing_) {
    flush_wanted_ = true;
    return;
  }
  flush_wanted_ = false;
  ++in_nghttp2_;
  // Frames are gathered into one write, in batches so a socket above its watermark
  // (onOutputWatermark, called from writeToPeer) stops the pull between them.
  constexpr size_t kBatch = 64 * 1024;
  while (!output_blocked_) {
    const uint8_t* bytes = nullptr;
    const ssize_t n = nghttp2_session_mem_send(session_, &bytes);
    if (n < 0) {
      PLOG_INFO("HTTP/2 send error: {}", nghttp2_strerror(static_cast<int>(n)));
      --in_nghttp2_;
      closeConnection();
      return;
    }
    if (n == 0) break;
    if (!settings_sent_) {
      settings_sent_ = true;
      std::string first(reinterpret_cast<const char*>(bytes), static_cast<size_t>(n));
      if (!advertiseStreamLimit(first, settings_.http2.max_concurrent_streams))
        PLOG_ERROR("HTTP/2: our first SETTINGS frame was not where expected (bug)");
      out_.append(first);
      continue;
    }
    out_.append(bytes, static_cast<size_t>(n));
    if (out_.length() >= kBatch) output_.writeToPeer(out_);
  }
  if (!out_.empty()) output_.writeToPeer(out_);
  --in_nghttp2_;
  // Producers whose stream buffer drained below its low watermark may go on.
  for (size_t i = 0; i < live_.size(); ++i) live_[i]->notifyWatermarkIfLow();
  maybeClose();
}

void ServerCodecImpl::onOutputWatermark(bool above_high) {
  output_blocked_ = above_high;
  // Frames were left in the streams while the socket was full: pull them now.
  if (!above_high) flush();
}

void ServerCodecImpl::maybeClose() {
  if (closing_) return;
  const bool done = !nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_);
  if (done || (input_ended_ && live_.empty())) closeConnection();
}

void ServerCodecImpl::closeConnection() {
  if (closing_) return;
  closing_ = true;
  if (calmed_) {
    // The attacker is most likely still sending. Its bytes arriving at a closed socket would
    // make the kernel reset the connection, which can destroy the GOAWAY before the client
    // reads it: linger instead (read and discard, bounded by timeouts.linger).
    output_.closeAfterErrorReply();
    return;
  }
  output_.closeAfterFlush();
}

void ServerCodecImpl::onEndOfInput() {
  // An HTTP/2 client does not half-close; it is gone. Streams in flight are reset.
  input_ended_ = true;
  for (size_t i = 0; i < live_.size(); ++i) live_[i]->onConnectionClosing();
  closeConnection();
}

bool ServerCodecImpl::idle() const {
  return live_.empty() && !closing_;
}

bool ServerCodecImpl::readingHead() const {
  for (const auto& s : live_)
    if (s->readingHead()) return true;
  return false;
}

void ServerCodecImpl::startDrain() {
  if (closing_ || goaway_sent_) return;
  goaway_sent_ = true;
  nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE,
                        nghttp2_session_get_last_proc_stream_id(session_), NGHTTP2_NO_ERROR,
                        nullptr, 0);
  flush();
}

void ServerCodecImpl::sendConnectionError(uint16_t status) {
  (void)status;  // HTTP/2 has no response outside a stream: GOAWAY says it
  if (closing_) return;
  for (size_t i = 0; i < live_.size(); ++i) live_[i]->onConnectionClosing();
  nghttp2_session_terminate_session(session_, NGHTTP2_NO_ERROR);
  flush();
  closeConnection();
}

void ServerCodecImpl::onRequestStarted(int32_t stream_id) {
  ++requests_;
  const uint32_t limit = settings_.max_requests_per_connection;
  if (limit != 0 && requests_ >= limit && !goaway_sent_) {
    // This stream is the last: later ones are refused by the GOAWAY, and the client
    // retries them on a new connection.
    goaway_sent_ = true;
    nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE, stream_id, NGHTTP2_NO_ERROR, nullptr, 0);
  }
}

void ServerCodecImpl::calm(const FrameObserver& observer) {
  if (closing_ || calmed_) return;
  calmed_ = true;
  // The owner counts and logs it (with the peer address this codec does not know).
  callbacks_.onHttp2Attack(observer.attack(), observer.reason());
  for (size_t i = 0; i < live_.size(); ++i) live_[i]->onConnectionClosing();
  nghttp2_session_terminate_session(session_, NGHTTP2_ENHANCE_YOUR_CALM);
}

template <typename Ask>
bool ServerCodecImpl::observe(Ask ask) {
  if (calmed_) return false;
  for (auto& o : observers_) {
    if (!ask(*o)) {
      calm(*o);
      return false;
    }
  }
  return true;
}

// ---- nghttp2 callbacks ---------------------------------------------------------------------

int ServerCodecImpl::onError(nghttp2_session*, int, const char* msg, size_t len, void*) {
  // What nghttp2 found wrong with the client's frames (it answers them itself: RST_STREAM or
  // GOAWAY); said once here so an operator sees why a client's streams failed.
  PLOG_INFO("HTTP/2 protocol error from a client: {}", std::string_view(msg, len));
  return 0;
}

int ServerCodecImpl::onInvalidFrame(nghttp2_session*, const nghttp2_frame* frame,
                                    int lib_error_code, void* self) {
  // nghttp2 answers these itself (RST_STREAM, or GOAWAY: e.g. HEADERS on a stream the client
  // had ended, which ends every stream of the connection) without calling onError; said here
  // so an operator sees why. Once per connection: a client cannot flood the log this way.
  ServerCodecImpl& c = codecOf(self);
  if (c.invalid_frame_logged_) return 0;
  c.invalid_frame_logged_ = true;
  PLOG_INFO("HTTP/2 invalid frame from a client (type {}, stream {}): {}", frame->hd.type,
            frame->hd.stream_id, nghttp2_strerror(lib_error_code));
  return 0;
}

// An observer's false stops nghttp2 at once (the callback failure makes mem_recv return):
// the attacker's remaining bytes are not parsed, and no answer is queued for them.
int ServerCodecImpl::onBeginFrame(nghttp2_session*, const nghttp2_frame_hd* hd, void* self) {
  const bool ok = codecOf(self).observe([hd](FrameObserver& o) {
    return o.onFrameHeader(hd->type, hd->flags, hd->stream_id, hd->length);
  });
  if (!ok) return NGHTTP2_ERR_CALLBACK_FAILURE;
  ServerCodecImpl& c = codecOf(self);
  // A request on a stream id the client skipped (it already opened a higher one): nghttp2
  // drops its header block silently, and the client would wait for it until its timeout.
  // Refused instead, so the client hears of it at once and may retry (stream_id_gaps.h).
  if (hd->type == NGHTTP2_HEADERS && (hd->stream_id & 1) != 0 &&
      c.stream_ids_.outOfOrder(hd->stream_id)) {
    PLOG_INFO("HTTP/2 client opened stream {} after a higher one (RFC 9113 5.1.1): refused",
              hd->stream_id);
    nghttp2_submit_rst_stream(c.session_, NGHTTP2_FLAG_NONE, hd->stream_id, NGHTTP2_REFUSED_STREAM);
  }
  return 0;
}

int ServerCodecImpl::onBeginHeaders(nghttp2_session* session, const nghttp2_frame* frame,
                                    void* self) {
  ServerCodecImpl& c = codecOf(self);
  if (frame->hd.type != NGHTTP2_HEADERS) return 0;
  if (frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
    if (c.live_.size() >= c.settings_.http2.max_concurrent_streams) {
      // Over the limit we advertised: refused, so the client may retry it (no user data: the
      // rest of its header block is decoded and dropped).
      nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, frame->hd.stream_id,
                                NGHTTP2_REFUSED_STREAM);
      return 0;
    }
    ServerStream* stream = c.newServerStream(frame->hd.stream_id);
    nghttp2_session_set_stream_user_data(session, frame->hd.stream_id, stream);
  } else if (ServerStream* stream = c.streamOf(frame->hd.stream_id)) {
    stream->onTrailersBegin();
  }
  return 0;
}

int ServerCodecImpl::onHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                              size_t namelen, const uint8_t* value, size_t valuelen, uint8_t,
                              void* self) {
  ServerCodecImpl& c = codecOf(self);
  // Every field reaches the observers, also once the stream refused the block as too large:
  // that is how a block decoding to megabytes (an HPACK bomb) is told from one a bit over.
  if (!c.observe([=](FrameObserver& o) { return o.onHeaderField(namelen, valuelen); }))
    return NGHTTP2_ERR_CALLBACK_FAILURE;
  ServerStream* stream = c.streamOf(frame->hd.stream_id);
  if (stream == nullptr) return 0;
  stream->onField({reinterpret_cast<const char*>(name), namelen},
                  {reinterpret_cast<const char*>(value), valuelen});
  return 0;
}

int ServerCodecImpl::onInvalidHeader(nghttp2_session*, const nghttp2_frame* frame,
                                     const uint8_t* name, size_t namelen, const uint8_t* value,
                                     size_t valuelen, uint8_t, void* self) {
  // nghttp2 would silently drop a field with a bad name or value; a request carrying one is
  // malformed to us (RFC 9113 8.2.1), so it is refused like any other.
  ServerCodecImpl& c = codecOf(self);
  if (!c.observe([=](FrameObserver& o) { return o.onHeaderField(namelen, valuelen); }))
    return NGHTTP2_ERR_CALLBACK_FAILURE;
  ServerStream* stream = c.streamOf(frame->hd.stream_id);
  if (stream != nullptr) {
    stream->onField({reinterpret_cast<const char*>(name), namelen},
                    {reinterpret_cast<const char*>(value), valuelen});
  }
  return 0;
}

int ServerCodecImpl::onFrameRecv(nghttp2_session*, const nghttp2_frame* frame, void* self) {
  ServerCodecImpl& c = codecOf(self);
  const bool end_stream = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
  switch (frame->hd.type) {
    case NGHTTP2_HEADERS:
      if (ServerStream* stream = c.streamOf(frame->hd.stream_id)) {
        if (frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
          stream->onHeadersEnd(end_stream);
        } else {
          stream->onTrailersEnd();
        }
      }
      break;
    case NGHTTP2_DATA: {
      const size_t payload = frame->hd.length - frame->data.padlen;
      if (!c.observe([&](FrameObserver& o) {
            return o.onDataFrame(frame->hd.stream_id, payload, end_stream);
          }))
        return NGHTTP2_ERR_CALLBACK_FAILURE;
      if (ServerStream* stream = c.streamOf(frame->hd.stream_id)) stream->onDataEnd(end_stream);
      break;
    }
    case NGHTTP2_RST_STREAM:
      if (!c.observe([frame](FrameObserver& o) {
            return o.onPeerReset(frame->hd.stream_id, frame->rst_stream.error_code);
          }))
        return NGHTTP2_ERR_CALLBACK_FAILURE;
      break;
    default:
      break;
  }
  return 0;
}

int ServerCodecImpl::onDataChunk(nghttp2_session*, uint8_t, int32_t stream_id, const uint8_t* data,
                                 size_t len, void* self) {
  ServerCodecImpl& c = codecOf(self);
  // The connection window reopens at once, whatever the stream does with the bytes: a
  // paused stream is bounded by its own window, and must not stall the others.
  nghttp2_session_consume_connection(c.session_, len);
  if (ServerStream* stream = c.streamOf(stream_id)) {
    stream->onDataChunk(data, len);
  } else {
    nghttp2_session_consume_stream(c.session_, stream_id, len);
  }
  return 0;
}

int ServerCodecImpl::onFrameSend(nghttp2_session*, const nghttp2_frame* frame, void* self) {
  // A false here queues the GOAWAY behind this frame; failing the send would lose it.
  const uint32_t error_code =
      frame->hd.type == NGHTTP2_RST_STREAM ? frame->rst_stream.error_code : 0;
  codecOf(self).observe([frame, error_code](FrameObserver& o) {
    return o.onFrameSent(frame->hd.type, frame->hd.stream_id, error_code);
  });
  if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
      (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0) {
    if (ServerStream* stream = codecOf(self).streamOf(frame->hd.stream_id))
      stream->onResponseEnded();
  }
  return 0;
}

int ServerCodecImpl::onStreamClose(nghttp2_session*, int32_t stream_id, uint32_t error_code,
                                   void* self) {
  ServerCodecImpl& c = codecOf(self);
  ServerStream* stream = c.streamOf(stream_id);
  if (stream == nullptr) return 0;
  nghttp2_session_set_stream_user_data(c.session_, stream_id, nullptr);
  auto it = std::find_if(c.live_.begin(), c.live_.end(),
                         [stream](const auto& s) { return s.get() == stream; });
  std::unique_ptr<ServerStream> owned = std::move(*it);
  c.live_.erase(it);
  // Kept until the manager reaped the stream that may still read its head.
  c.graveyard_.push_back(std::move(owned));
  stream->onClosed(error_code);
  return 0;
}

}  // namespace portico::http2
