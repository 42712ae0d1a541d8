#pragma once
// The filter chain contract. A stream runs its route's filters in order on the request path
// (onRequest*), then in reverse order on the response path (onResponse*). The last filter on
// the request path is the terminal one (the router, or a local responder): it produces the
// response and feeds it back through StreamFilterCallbacks::encode*.
//
// Each hook returns one of three statuses:
//   Continue - pass to the next filter.
//   Pause    - stop here; the filter calls continueRequest()/continueResponse() later (after a
//              timer, an auth subrequest...). Body arriving meanwhile is buffered by the stream
//              up to the connection's buffer limit, then reads pause (backpressure).
//   Respond  - the filter sent a local reply through sendLocalReply(); nothing further runs on
//              the request path.
// Filters are created per stream from a factory built once per config snapshot; they hold
// only per-stream state, live in the stream's arena, and must cancel their timers in
// onDestroy(). Worker-local; no hook may block.

#include <cstdint>
#include <memory_resource>
#include <string_view>

#include "buffer/buffer.h"
#include "event/event_loop.h"
#include "http/header_map.h"
#include "http/message.h"
#include "proxy/stream_info.h"

namespace portico::proxy {

enum class FilterStatus { Continue, Pause, Respond };

struct RouteEntry;

class StreamFilterCallbacks {
 public:
  virtual ~StreamFilterCallbacks() = default;
  virtual event::EventLoop& loop() = 0;
  virtual const RouteEntry* route() const = 0;
  virtual http::RequestHead& requestHead() = 0;
  virtual StreamInfo& info() = 0;

  // Resume after a Pause on the request or response path.
  virtual void continueRequest() = 0;
  virtual void continueResponse() = 0;

  // Sends a complete response generated here (the stream's filters on the response path still
  // see it). `body` is copied.
  virtual void sendLocalReply(uint16_t status, std::string_view body,
                              std::string_view content_type = "text/plain") = 0;

  // For the terminal filter: push the response into the response path.
  virtual void encodeHeaders(http::ResponseHead& head, bool end_stream) = 0;
  virtual void encodeData(buffer::Buffer& data, bool end_stream) = 0;
  // A body held in a file (takes ownership of `file_fd`). Sent without copying when no filter
  // on the response path observes body bytes; otherwise read and passed as encodeData.
  virtual void encodeFile(int file_fd, uint64_t offset, uint64_t length, bool end_stream) = 0;
  virtual void encodeTrailers(http::HeaderMap& trailers) = 0;
  // A 1xx from the backend (RFC 9110 15.2: a proxy forwards them, fields included).
  virtual void encodeInterim(uint16_t status, const http::HeaderMap& headers) = 0;
  virtual bool responseStarted() const = 0;
  // Abandons the stream after a failure mid-response (the client sees a truncated response).
  virtual void resetStream(std::string_view why) = 0;

  // Backpressure from the terminal filter: stop/resume reading the client's request body.
  virtual void pauseRequestBody(bool pause) = 0;
  // True when the client cannot take more response bytes right now.
  virtual bool downstreamBlocked() const = 0;
};

class Filter {
 public:
  virtual ~Filter() = default;
  void setCallbacks(StreamFilterCallbacks* callbacks) { callbacks_ = callbacks; }

  virtual FilterStatus onRequestHeaders(http::RequestHead&, bool /*end_stream*/) {
    return FilterStatus::Continue;
  }
  virtual FilterStatus onRequestBody(buffer::Buffer&, bool /*end_stream*/) {
    return FilterStatus::Continue;
  }
  virtual FilterStatus onRequestTrailers(http::HeaderMap&) { return FilterStatus::Continue; }
  virtual FilterStatus onResponseHeaders(http::ResponseHead&, bool /*end_stream*/) {
    return FilterStatus::Continue;
  }
  virtual FilterStatus onResponseBody(buffer::Buffer&, bool /*end_stream*/) {
    return FilterStatus::Continue;
  }
  virtual FilterStatus onResponseTrailers(http::HeaderMap&) { return FilterStatus::Continue; }
  // True if onResponseBody must see every body byte (compression, caching): file bodies are
  // then read into memory instead of being sent with sendfile.
  virtual bool observesResponseBody() const { return false; }
  // Backpressure for the terminal filter: the client's write buffer crossed a watermark.
  virtual void onDownstreamWatermark(bool /*above_high*/) {}
  // The stream is ending; cancel timers and release upstream resources. Called once.
  virtual void onDestroy() {}

 protected:
  StreamFilterCallbacks* callbacks_ = nullptr;
};

// Built once per config snapshot; create() is called per stream and must construct the filter
// in `arena` (the stream's per-request memory, released when the stream ends).
class FilterFactory {
 public:
  virtual ~FilterFactory() = default;
  virtual Filter* create(std::pmr::memory_resource& arena) const = 0;
};

template <typename T, typename... Args>
T* arenaNew(std::pmr::memory_resource& arena, Args&&... args) {
  void* mem = arena.allocate(sizeof(T), alignof(T));
  return new (mem) T(std::forward<Args>(args)...);
}

}  // namespace portico::proxy
