#pragma once
// HTTP/2 client codec over nghttp2 (Debian libnghttp2): the upstream side of a multiplexed
// connection. Sans-I/O like the HTTP/1 codec: the pool hands it what the backend sent
// (dispatch) and it writes frames through http::CodecOutput.
//
// Settings: no server push; the stream window and connection window the cluster configures;
// at most min(peer's SETTINGS_MAX_CONCURRENT_STREAMS, max_streams_per_connection) streams.
// Windows are updated by hand (NGHTTP2_OPT_NO_AUTO_WINDOW_UPDATE): see client_stream.h.
//
// Failures, as the router reads them (http::ResponseError):
//  - a stream refused (REFUSED_STREAM), or above a GOAWAY's last stream id: not_processed,
//    so it is sent again on another connection whatever its method;
//  - any other RST_STREAM, a malformed response (bad fields, pseudo-headers, Content-Length
//    against DATA): that stream fails, the others go on;
//  - the connection lost (reset, closed, a connection-level protocol error): every open
//    stream fails; GOAWAY makes the connection take no new stream.

#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <vector>

#include "http/client_codec.h"
#include "http2/client_stream.h"

namespace portico::http2 {

struct ClientSettings {
  uint32_t max_concurrent_streams = 100;
  uint32_t initial_stream_window = 256 * 1024;
  uint32_t connection_window = 1024 * 1024;
  uint32_t stream_buffer_limit = 64 * 1024;
  std::string scheme = "http";  // "https" over TLS
};

class ClientCodec final : public http::ClientConnectionCodec {
 public:
  ClientCodec(http::CodecOutput& output, http::ClientCodecCallbacks& callbacks,
              const ClientSettings& settings);
  ~ClientCodec() override;

  // http::ClientConnectionCodec
  bool dispatch(buffer::Buffer& data) override;
  void onEndOfInput() override;
  http::ClientStream& newStream() override;
  void releaseStream(http::ClientStream& stream) override;
  uint32_t streamLimit() const override;
  bool acceptsNewStreams() const override { return !goaway_ && !lost_; }
  void onWriteWatermark(bool above_high) override;
  std::string_view protocol() const override { return "h2"; }

 private:
  friend class ClientStreamImpl;
  // Serializes pending frames to the output (unless the connection is above its watermark).
  void flush();
  // Streams released and closed wait here until no callback of theirs is on the stack.
  void bury(ClientStreamImpl* stream);
  void reap();
  void failAll(std::string_view why);
  ClientStreamImpl* streamOf(int32_t stream_id) const;

  static int onBeginHeaders(nghttp2_session*, const nghttp2_frame* frame, void* user_data);
  static int onHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                      size_t namelen, const uint8_t* value, size_t valuelen, uint8_t flags,
                      void* user_data);
  static int onInvalidHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                             size_t namelen, const uint8_t* value, size_t valuelen, uint8_t flags,
                             void* user_data);
  static int onFrameRecv(nghttp2_session*, const nghttp2_frame* frame, void* user_data);
  static int onFrameSend(nghttp2_session*, const nghttp2_frame* frame, void* user_data);
  static int onDataChunk(nghttp2_session*, uint8_t flags, int32_t stream_id, const uint8_t* data,
                         size_t len, void* user_data);
  static int onStreamClose(nghttp2_session*, int32_t stream_id, uint32_t error_code,
                           void* user_data);

  // Entry points count themselves so that streams die only when none is on the stack.
  struct Depth {
    explicit Depth(ClientCodec& c) : codec(c) { ++codec.depth_; }
    ~Depth() {
      if (--codec.depth_ == 0) codec.reap();
    }
    ClientCodec& codec;
  };

  http::CodecOutput& output_;
  http::ClientCodecCallbacks& callbacks_;
  ClientSettings settings_;
  nghttp2_session* session_ = nullptr;
  std::list<std::unique_ptr<ClientStreamImpl>> streams_;
  std::vector<std::unique_ptr<ClientStreamImpl>> dead_;
  int depth_ = 0;
  bool goaway_ = false;
  int32_t goaway_last_id_ = 0;
  bool lost_ = false;  // the connection failed or ended
  bool write_blocked_ = false;
  bool in_session_ = false;  // inside nghttp2_session_mem_recv/mem_send
};

}  // namespace portico::http2
