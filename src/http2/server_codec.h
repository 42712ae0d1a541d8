#pragma once
// HTTP/2 server codec: one nghttp2 server session per downstream connection, sans-I/O.
// dispatch() feeds the bytes read to nghttp2 (nghttp2_session_mem_recv); what nghttp2 wants to
// send is pulled with nghttp2_session_mem_send and handed to CodecOutput. Each request stream
// becomes a ServerStream (http2/server_stream.h) that the connection manager answers through.
//
// nghttp2 does the framing, HPACK, SETTINGS/PING, flow-control bookkeeping, stream states,
// its HTTP messaging checks and max_concurrent_streams refusal (RST_STREAM REFUSED_STREAM);
// request_translation.h adds our own strictness on top. Window updates are ours
// (NGHTTP2_OPT_NO_AUTO_WINDOW_UPDATE): a stream that pauses its request body withholds them.
// While the socket's send buffer is above its high watermark no frames are pulled out of the
// streams, so the connection never buffers more than its limit plus one batch.
//
// Draining (shutdown, max_requests_per_connection, idle keep-alive) sends GOAWAY naming the
// last stream we took; those streams finish, then the connection closes.
// Worker-local; never parked (HPACK state and stream ids live as long as the connection).

#include <nghttp2/nghttp2.h>

#include <memory>
#include <vector>

#include "buffer/buffer.h"
#include "http/codec.h"
#include "http2/frame_observer.h"
#include "http2/server_stream.h"
#include "http2/stream_id_gaps.h"

namespace portico::http2 {

class ServerCodecImpl final : public http::ServerCodec {
 public:
  ServerCodecImpl(http::CodecOutput& output, http::ServerConnectionCallbacks& callbacks,
                  const http::ServerCodecSettings& settings, uint32_t requests_served,
                  std::vector<std::unique_ptr<FrameObserver>> observers);
  ~ServerCodecImpl() override;
  ServerCodecImpl(const ServerCodecImpl&) = delete;
  ServerCodecImpl& operator=(const ServerCodecImpl&) = delete;

  // http::ServerCodec
  bool dispatch(buffer::Buffer& data) override;
  void onEndOfInput() override;
  bool idle() const override;
  bool readingHead() const override;
  uint32_t requestCount() const override { return requests_; }
  void startDrain() override;
  void sendConnectionError(uint16_t status) override;
  bool parkable() const override { return false; }
  void onOutputWatermark(bool above_high) override;

  // ---- for ServerStream ----
  nghttp2_session* session() { return session_; }
  http::ServerConnectionCallbacks& callbacks() { return callbacks_; }
  const http::ServerCodecSettings& settings() const { return settings_; }
  // Writes what nghttp2 has to send (unless called from inside nghttp2 or the socket is
  // above its high watermark: then it happens when that ends).
  void flush();
  // A stream's request head was handed on: counts toward max_requests_per_connection.
  void onRequestStarted(int32_t stream_id);
  // The per-stream send buffer's high watermark (the listener's buffer limit).
  size_t streamBufferLimit() const;

 private:
  static int onBeginFrame(nghttp2_session*, const nghttp2_frame_hd* hd, void* self);
  static int onBeginHeaders(nghttp2_session*, const nghttp2_frame* frame, void* self);
  static int onHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                      size_t namelen, const uint8_t* value, size_t valuelen, uint8_t flags,
                      void* self);
  static int onInvalidHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                             size_t namelen, const uint8_t* value, size_t valuelen, uint8_t flags,
                             void* self);
  static int onFrameRecv(nghttp2_session*, const nghttp2_frame* frame, void* self);
  static int onDataChunk(nghttp2_session*, uint8_t flags, int32_t stream_id, const uint8_t* data,
                         size_t len, void* self);
  static int onFrameSend(nghttp2_session*, const nghttp2_frame* frame, void* self);
  static int onError(nghttp2_session*, int lib_error_code, const char* msg, size_t len, void* self);
  static int onStreamClose(nghttp2_session*, int32_t stream_id, uint32_t error_code, void* self);
  static int onInvalidFrame(nghttp2_session*, const nghttp2_frame* frame, int lib_error_code,
                            void* self);

  ServerStream* streamOf(int32_t id);
  ServerStream* newServerStream(int32_t id);
  // Closed streams wait in graveyard_ until the manager reaped what reads them.
  void recycleClosedStreams();
  // Ends the connection for abuse: GOAWAY ENHANCE_YOUR_CALM, stop reading. The owner hears
  // which attack `observer` saw.
  void calm(const FrameObserver& observer);
  // Asks every observer `ask(observer)`; the first to say false calms the connection.
  // Returns false when the connection is (or already was) calmed.
  template <typename Ask>
  bool observe(Ask ask);
  // Closes once nghttp2 has nothing left to read or write.
  void maybeClose();
  void closeConnection();

  http::CodecOutput& output_;
  http::ServerConnectionCallbacks& callbacks_;
  const http::ServerCodecSettings& settings_;
  std::vector<std::unique_ptr<FrameObserver>> observers_;
  StreamIdGaps stream_ids_;  // to refuse requests sent out of stream id order
  nghttp2_session* session_ = nullptr;
  std::vector<std::unique_ptr<ServerStream>> live_;
  std::vector<std::unique_ptr<ServerStream>> graveyard_;
  std::vector<std::unique_ptr<ServerStream>> spare_;
  buffer::Buffer out_;
  uint32_t requests_ = 0;
  int in_nghttp2_ = 0;          // nesting depth of mem_recv/mem_send: no flush from inside
  bool settings_sent_ = false;  // our first SETTINGS left (with the stream limit rewritten)
  bool output_blocked_ = false;
  bool flush_wanted_ = false;
  bool input_ended_ = false;
  bool goaway_sent_ = false;
  bool invalid_frame_logged_ = false;  // the first invalid frame of the connection was logged
  bool closing_ = false;
  bool calmed_ = false;  // an attack limit tripped: nothing more is read
};

}  // namespace portico::http2
