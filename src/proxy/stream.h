#pragma once
// ActiveStream: one request/response exchange on a downstream connection. It pins the config
// snapshot, finds the route, applies proxy semantics, and hands the exchange to the route's
// filter chain (proxy/filter_manager.h): request path in order ending at the terminal
// filter, response path in reverse. What leaves the chain goes to the codec's encoder here.
//
// Lifecycle (explicit, no hidden reference counts):
//   Idle -> begin() (the codec asked for a stream) -> Active -> codec reports the response
//   complete (or a reset) -> Complete -> the connection manager reaps it at the end of the
//   loop turn (filters' onDestroy, access log, arena released) -> Idle, back in the manager's
//   spare list, ready for the connection's next request.
// Reaping is deferred so that nothing is destroyed while one of its methods is on the stack.
//
// A connection may carry many streams at once (HTTP/2): each has its identity (the codec's
// stream id), its own encoder, its timers (request body idle, response send idle) and its
// backpressure (it pauses its own request source through its encoder).
// Worker-local.

#include <cstddef>
#include <memory_resource>
#include <optional>
#include <string>

#include "buffer/buffer.h"
#include "http/codec.h"
#include "proxy/filter_manager.h"
#include "proxy/route_table.h"

namespace portico::proxy {

class ConnectionManager;

class ActiveStream final : public http::RequestDecoder, public FilterChainOwner {
 public:
  explicit ActiveStream(ConnectionManager& manager);
  ~ActiveStream() override;

  // Prepares for a new request answered through `encoder`.
  void begin(http::ResponseEncoder& encoder);
  // Called by the connection manager when the codec says the exchange is over.
  void markComplete();
  bool complete() const { return complete_; }
  bool active() const { return encoder_ != nullptr; }
  bool requestComplete() const { return request_complete_; }
  http::StreamId id() const { return id_; }
  // Runs filters' onDestroy, writes the access log line, releases per-request memory.
  void reap();
  void onDownstreamWatermark(bool above_high);
  filters::StreamInfo& info() override { return info_; }
  const net::Address* clientAddress() const override;

  // http::RequestDecoder
  void decodeHeaders(http::RequestHead& head, bool end_stream) override;
  void decodeData(buffer::Buffer& data, bool end_stream) override;
  void decodeTrailers(http::HeaderMap& trailers) override;
  void onStreamReset(http::StreamResetReason reason) override;
  void onSendWatermark(bool above_high) override;

  // FilterChainOwner
  event::EventLoop& loop() override;
  http::RequestHead& requestHead() override { return *request_; }
  void sendHeaders(http::ResponseHead& head, bool end_stream) override;
  void sendData(buffer::Buffer& data, bool end_stream) override;
  void sendFile(int file_fd, uint64_t offset, uint64_t length, bool end_stream) override;
  void sendTrailers(http::HeaderMap& trailers) override;
  void sendInterim(uint16_t status, const http::HeaderMap& headers) override;
  void resetStream(std::string_view why) override;
  std::string errorBody(uint16_t status) override;
  void pauseClientReading(bool pause) override;
  bool clientWriteBlocked() const override;
  uint64_t bufferLimit() const override;

 private:
  void buildFilterChain();
  // A reply of the stream itself (before routing, or a refused method), with one more field
  // when `extra_name` is not empty (Allow, Location).
  void localReply(uint16_t status, std::string_view content_type = "text/plain",
                  std::string_view extra_name = {}, std::string_view extra_value = {});
  // Fields every response gets last, whoever made it: Server, X-Request-Id, HSTS.
  void applyFinalHeaders(http::ResponseHead& head);
  // An ACME HTTP-01 challenge being validated: its key authorization was sent.
  bool answeredAcmeChallenge(const http::RequestHead& head);
  // TLS only: the SNI name chose a virtual host other than Host's, or a client certificate
  // policy other than Host's. The connection was authenticated for another site, so the
  // request is not served on it (RFC 9110 15.5.20).
  bool misdirected(const VirtualHost* host, std::string_view authority) const;
  // Plain HTTP to a virtual host that asks for HTTPS: the redirect was sent.
  bool redirectedToHttps(const VirtualHost* host, const http::RequestHead& head);
  void destroyFilters();
  // The request is in: from now on the stream waits on its producer and on the client.
  void startSendIdle();
  void armBodyIdle();
  void onTimer();

  ConnectionManager& manager_;
  http::ResponseEncoder* encoder_ = nullptr;
  http::StreamId id_ = 0;
  http::RequestHead* request_ = nullptr;
  const RouteEntry* route_ = nullptr;
  const VirtualHost* vhost_ = nullptr;  // chosen by Host; its HSTS applies to every reply
  bool secure_ = false;                 // the client reached us over TLS
  filters::StreamInfo info_;

  // Per-request memory for filters: one block borrowed from the worker's block pool while
  // a request is active (no heap allocation once warm), returned at reap so an idle
  // keep-alive connection holds none of it.
  std::pmr::memory_resource& arena();
  buffer::Block* arena_block_ = nullptr;
  std::optional<std::pmr::monotonic_buffer_resource> arena_;
  FilterManager chain_;

  // Request body idle while the request is arriving, then send idle: the client must take
  // what it is owed. Off once the stream is complete.
  enum class TimerMode : uint8_t { None, BodyIdle, SendIdle };
  event::Timer timer_;
  TimerMode timer_mode_ = TimerMode::None;
  uint64_t written_at_timer_ = 0;
  uint64_t stream_sent_at_timer_ = 0;  // the encoder's own progress, where it has one
  bool source_paused_ = false;         // we asked the encoder to stop delivering the request body

  bool request_complete_ = false;
  bool complete_ = false;
};

}  // namespace portico::proxy
