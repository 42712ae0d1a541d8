#pragma once
// The filter contract. A stream runs its route's filters in order on the request path, ending
// at the terminal filter (the router, or a local responder such as static files), which
// produces the response. The response then runs back through the filters in reverse order,
// from the filter that produced it toward the client.
//
// Each direction is a message of phases: headers, body (any number of chunks), trailers
// (optional), end. Every hook returns one of three statuses:
//   Continue - this filter is done with what it was handed; pass it on.
//   Pause    - hold here. What the filter left in the buffer it was handed is its output,
//              and waits; data arriving meanwhile waits for this filter too, and is handed to
//              it (every byte exactly once, in order) when it calls continueRequest() /
//              continueResponse(). The stream bounds what waits by the listener's buffer limit
//              and pauses the source (client or upstream) above it.
//   Respond  - this filter answered (sendLocalReply or encode* from its own position); the
//              request goes no further. On the response path the answer replaces the response
//              in progress, provided nothing of it reached the client yet.
//
// Body hooks may change the buffer they are handed: drop bytes, add bytes, replace them all
// (compression). What remains is what the next filter sees. A filter may also inject data of
// its own later (injectRequestData / injectResponseData): it enters the chain just after
// this filter, behind anything this filter still holds.
//
// A filter's answer from its own position (a cache hit, an auth refusal) passes only through
// the filters between it and the client, never the ones behind it. Local replies of the
// stream itself (a router's 502) are answers from the terminal position: they pass every
// response filter like any response.
//
// Filters are created per stream by a factory built once per config snapshot; they hold only
// per-stream state, live in the stream's arena, and cancel their timers in onDestroy().
// Worker-local; no hook may block.

#include <cstdint>
#include <memory_resource>
#include <string_view>
#include <utility>

#include "buffer/buffer.h"
#include "event/event_loop.h"
#include "filters/stream_info.h"
#include "http/header_map.h"
#include "http/message.h"
#include "net/address.h"

namespace portico::filters {

enum class FilterStatus { Continue, Pause, Respond };

// What a filter may ask of its stream. Each filter has its own callbacks object, which knows
// the filter's position in the chain: resuming, answering and injecting all happen there.
class FilterCallbacks {
 public:
  virtual ~FilterCallbacks() = default;
  virtual event::EventLoop& loop() = 0;
  virtual http::RequestHead& requestHead() = 0;
  virtual StreamInfo& info() = 0;
  // The client's address (the connection's peer); null where there is no connection (tests).
  virtual const net::Address* clientAddress() const { return nullptr; }

  // Resumes the direction this filter paused: hands it what waited, then passes its output on.
  virtual void continueRequest() = 0;
  virtual void continueResponse() = 0;

  // Answers from this filter's position with a complete response. An empty body becomes the
  // listener's error page for the status (or "<status> <reason>"). `body` is copied.
  // A response already in progress is replaced only while no filter between here and the
  // client has seen its head; otherwise the stream is reset.
  virtual void sendLocalReply(uint16_t status, std::string_view body,
                              std::string_view content_type = "text/plain") = 0;
  // Answers from this filter's position, streamed (the terminal filter's response, a cache
  // hit). The stream takes the head and owns it from here on.
  virtual void encodeHeaders(http::ResponseHead&& head, bool end_stream) = 0;
  virtual void encodeData(buffer::Buffer& data, bool end_stream) = 0;
  // A body held in a file; takes ownership of `file_fd`. Goes out with sendfile when no
  // filter between here and the client transforms the body; otherwise it is read in bounded
  // chunks as the client takes them.
  virtual void encodeFile(int file_fd, uint64_t offset, uint64_t length, bool end_stream) = 0;
  // The stream takes the trailers (moved from).
  virtual void encodeTrailers(http::HeaderMap&& trailers) = 0;
  // A 1xx from the backend (RFC 9110 15.2: a proxy forwards them, fields included).
  virtual void encodeInterim(uint16_t status, const http::HeaderMap& headers) = 0;

  // Data of this filter's own, entering the chain just after it (see above).
  virtual void injectRequestData(buffer::Buffer& data, bool end_stream) = 0;
  virtual void injectResponseData(buffer::Buffer& data, bool end_stream) = 0;

  // True once a response head entered the response path, from any position: an answer from
  // here would then have to replace it (see sendLocalReply), so a terminal filter that fails
  // after this point resets the stream instead.
  virtual bool responseStarted() const = 0;
  // Abandons the stream after a failure mid-response (the client sees a truncated response).
  virtual void resetStream(std::string_view why) = 0;

  // For the consumer of the request body (the router): stop/resume reading the client.
  virtual void pauseRequestBody(bool pause) = 0;
  // True when the client (or the filters in between) cannot take more response bytes now.
  virtual bool downstreamBlocked() const = 0;
};

class Filter {
 public:
  virtual ~Filter() = default;
  void setCallbacks(FilterCallbacks* callbacks) { callbacks_ = callbacks; }

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
  // True if this filter, for this response, reads or changes body bytes (decided in
  // onResponseHeaders): a file body is then read through memory instead of sendfile.
  virtual bool transformsResponseBody() const { return false; }
  // The client's side crossed a watermark: sources of response bytes (the router, a cache
  // hit) stop producing above it and resume below it. Every filter hears it; most ignore it.
  virtual void onDownstreamWatermark(bool /*above_high*/) {}
  // The stream is ending; cancel timers and release upstream resources. Called once.
  virtual void onDestroy() {}

 protected:
  FilterCallbacks* callbacks_ = nullptr;
};

// Built once per config snapshot from the filter's typed config; create() is called per
// stream and must construct the filter in `arena` (the stream's per-request memory, released
// when the stream ends).
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

}  // namespace portico::filters
