#pragma once
// FilterManager: runs one stream's filter chain (filters/filter.h), both directions.
//
// Each direction is a message travelling filter to filter: headers, body chunks, trailers,
// end. Every filter has, per direction, an explicit position in that message (Phase: what it
// will be handed next) and an inbox: what arrived for it and it has not been handed yet.
// Iteration hands each filter what waits in its inbox and moves its output into the inbox of
// the next one. A paused filter keeps its inbox (bytes arriving meanwhile queue there) and
// its output waits in the next filter's inbox; resuming hands the filter its inbox, then
// lets the next one run. So every filter sees every byte exactly once, in order, whatever the
// pauses. Bytes waiting in inboxes are bounded by the listener's buffer limit: above it, the
// source is paused (the client's socket for requests; for responses, every filter hears
// onDownstreamWatermark(true), which is what makes the router stop reading its backend).
//
// The request travels from filter 0 to the terminal filter (the last one). A response starts
// at the position of the filter that produced it (its origin: the terminal, or a filter that
// answered from the middle of the chain) and travels down to filter 0, then to the client
// through FilterChainOwner. Nothing is ever handed to a filter behind the origin.
//
// Worker-local. The owner (the stream) outlives the manager's use of it.

#include <cstddef>
#include <cstdint>
#include <memory_resource>
#include <string_view>
#include <vector>

#include "buffer/buffer.h"
#include "filters/filter.h"
#include "http/header_map.h"
#include "http/message.h"

namespace portico::proxy {

// What the filter chain needs from its stream: where the response goes, and how to stop the
// client's request bytes.
class FilterChainOwner {
 public:
  virtual ~FilterChainOwner() = default;
  virtual event::EventLoop& loop() = 0;
  virtual http::RequestHead& requestHead() = 0;
  virtual filters::StreamInfo& info() = 0;
  // The connection's peer, for filters that key on the client (hash policies); may be null.
  virtual const net::Address* clientAddress() const { return nullptr; }
  // The response, after the last filter: to the client.
  virtual void sendHeaders(http::ResponseHead& head, bool end_stream) = 0;
  virtual void sendData(buffer::Buffer& data, bool end_stream) = 0;
  virtual void sendFile(int file_fd, uint64_t offset, uint64_t length, bool end_stream) = 0;
  virtual void sendTrailers(http::HeaderMap& trailers) = 0;
  virtual void sendInterim(uint16_t status, const http::HeaderMap& headers) = 0;
  virtual void resetStream(std::string_view why) = 0;
  // The body of a local reply without one: the listener's error page or "<status> <reason>".
  virtual std::string errorBody(uint16_t status) = 0;
  virtual void pauseClientReading(bool pause) = 0;
  virtual bool clientWriteBlocked() const = 0;
  // Bytes that may wait in the chain per direction before the source is paused.
  virtual uint64_t bufferLimit() const = 0;
};

class FilterManager {
 public:
  explicit FilterManager(FilterChainOwner& owner);
  FilterManager(const FilterManager&) = delete;
  FilterManager& operator=(const FilterManager&) = delete;
  ~FilterManager();

  // Adds the next filter of the chain; the last one added is the terminal filter. The
  // per-filter bookkeeping lives in `arena` with the filter.
  void addFilter(filters::Filter* filter, std::pmr::memory_resource& arena);
  bool empty() const { return filters_.empty(); }

  // The request the chain is for; set before any local reply, even one sent before a chain.
  void bindRequest(http::RequestHead& head) { request_head_ = &head; }
  // The request, from the codec. `head` and `trailers` stay owned by the codec until the
  // stream ends.
  void decodeHeaders(http::RequestHead& head, bool end_stream);
  void decodeData(buffer::Buffer& data, bool end_stream);
  void decodeTrailers(http::HeaderMap& trailers);

  // A local reply of the stream itself: from the terminal position when there is a chain
  // (every response filter sees it), straight to the client when there is none.
  // `extra_name`/`extra_value` add one field (Allow, Location). Every local reply to a gRPC
  // request (filters' included) becomes a trailers-only gRPC error (http/grpc_local_reply.h).
  void sendLocalReply(uint16_t status, std::string_view body, std::string_view content_type,
                      std::string_view extra_name = {}, std::string_view extra_value = {});

  // The client's write side crossed a watermark.
  void onClientWatermark(bool above_high);
  // A response head entered the response path (from any position).
  bool responseStarted() const { return response_produced_; }
  // The response head reached the client.
  bool responseSent() const { return response_sent_; }
  bool downstreamBlocked() const { return watermark_told_; }
  // No further event is handed to any filter (the stream ended or was reset).
  void stop();
  // Calls every filter's onDestroy once.
  void notifyDestroyed();
  // Destroys the filters (they live in the stream's arena) and forgets them.
  void clear();

  // Bytes waiting in inboxes (tests and the memory bound).
  uint64_t bufferedRequestBytes() const;
  uint64_t bufferedResponseBytes() const;
  // The client cannot take more now, or the response inboxes hold more than the limit.
  bool responseAboveLimit() const;

 private:
  enum class Phase : uint8_t { Headers, Body, Ended };  // what the filter is handed next
  struct Inbox {
    Phase phase = Phase::Headers;
    bool paused = false;
    bool headers = false;   // the head waits for this filter
    bool trailers = false;  // the trailers wait (they end the message)
    bool end = false;       // the message ends after what waits
    buffer::Buffer body;
    void reset();
  };
  class Handle;  // a filter's FilterCallbacks: knows its index
  struct Slot {
    filters::Filter* filter = nullptr;
    Handle* handle = nullptr;
    Inbox request;
    Inbox response;
  };
  enum class Direction { Request, Response };
  friend class Handle;

  // Runs the chain from `index` until nothing can move. Re-entrant calls (a filter resuming
  // from inside a hook) are folded into the running iteration.
  void runRequest(size_t index);
  // Hands filter `index` what waits for it; false when iteration must stop there.
  bool stepRequest(size_t index);
  // Applies a hook's status to the filter's inbox; false when iteration stops there.
  bool proceed(filters::FilterStatus status, Inbox& inbox, bool request);
  // Response positions count from the client: position 0 is the client itself (its inbox
  // holds what filter 0 passed on while paused), position p > 0 is filter p - 1. A response
  // produced by filter q enters at position q.
  Inbox& responseInbox(size_t position) {
    return position == 0 ? client_inbox_ : filters_[position - 1].response;
  }
  void runResponse(size_t position);
  bool stepResponse(size_t position);
  void deliverToClient();

  // Producing a response from position `origin` (a filter index): false when the producer
  // was superseded (its output is dropped) or the stream was reset.
  bool claimOrigin(size_t origin);
  void produceHeaders(size_t origin, http::ResponseHead&& head, bool end);
  void produceData(size_t origin, buffer::Buffer& data, bool end);
  void produceTrailers(size_t origin, http::HeaderMap&& trailers);
  void produceFile(size_t origin, int fd, uint64_t offset, uint64_t length, bool end);
  void produceLocalReply(size_t origin, uint16_t status, std::string_view body,
                         std::string_view content_type, std::string_view extra_name,
                         std::string_view extra_value);
  void injectRequest(size_t index, buffer::Buffer& data, bool end);
  void injectResponse(size_t index, buffer::Buffer& data, bool end);
  void continueRequest(size_t index);
  void continueResponse(size_t index);
  // Reads the next chunks of a file body whose bytes some filter transforms, while the chain
  // has room.
  void pumpFile();
  void closeFile();
  // After an iteration: pauses or resumes the sources as the inboxes fill and drain.
  void updateWatermarks();
  void applyClientReading();
  void terminalPausesReading(bool pause);

  FilterChainOwner& owner_;
  std::vector<Slot> filters_;
  http::RequestHead* request_head_ = nullptr;
  http::HeaderMap* request_trailers_ = nullptr;
  // The stream owns the response it sends: producers hand their head and trailers over.
  http::ResponseHead response_head_;
  http::HeaderMap response_trailers_;
  size_t origin_ = 0;  // the producing filter's index, once response_produced_
  bool response_produced_ = false;
  bool response_sent_ = false;   // the head went to the client
  bool response_ended_ = false;  // the end went to the client
  bool stopped_ = false;
  bool destroyed_ = false;

  bool request_running_ = false;
  size_t request_rerun_ = SIZE_MAX;
  bool response_running_ = false;
  bool response_rerun_pending_ = false;
  size_t response_rerun_ = 0;  // the highest position asked for while running
  uint64_t generation_ = 0;    // bumped when a response is replaced mid-iteration
  bool request_done_ = false;  // a filter answered: no further request event is handed on
  Inbox client_inbox_;

  bool watermark_told_ = false;         // what the filters last heard
  bool reading_paused_ = false;         // request inboxes over the limit: client reads paused
  bool terminal_paused_ = false;        // the terminal filter asked to stop reading the client
  bool client_reading_paused_ = false;  // what the owner was last told
  bool pumping_ = false;
  bool tearing_down_ = false;

  // A file body read through memory (encodeFile with a transforming filter in the way).
  int file_fd_ = -1;
  uint64_t file_offset_ = 0;
  uint64_t file_left_ = 0;
  bool file_end_ = false;
  size_t file_origin_ = 0;
};

}  // namespace portico::proxy
