#pragma once
// ActiveStream: one request/response exchange on a downstream connection. It pins the config
// snapshot, finds the route, applies proxy semantics, and runs the route's filter chain:
// request path in order ending at the terminal filter, response path in reverse.
//
// Lifecycle (explicit, no hidden reference counts):
//   Idle -> decodeHeaders() -> Active -> codec reports the response complete (or a reset)
//   -> Complete -> the connection manager reaps it at the end of the loop turn (filters'
//   onDestroy, access log, arena released) -> Idle, ready for the next request.
// Reaping is deferred so that nothing is destroyed while one of its methods is on the stack.
// Worker-local.

#include <array>
#include <cstddef>
#include <memory>
#include <memory_resource>
#include <optional>
#include <string>
#include <vector>

#include "buffer/buffer.h"
#include "http/codec.h"
#include "proxy/filter.h"
#include "proxy/route_table.h"
#include "proxy/stream_info.h"

namespace portico::proxy {

class ConnectionManager;

class ActiveStream final : public http::RequestDecoder, public StreamFilterCallbacks {
 public:
  explicit ActiveStream(ConnectionManager& manager);
  ~ActiveStream() override;

  // Prepares for a new request answered through `encoder`.
  void begin(http::ResponseEncoder& encoder);
  // Called by the connection manager when the codec says the exchange is over.
  void markComplete() { complete_ = true; }
  bool complete() const { return complete_; }
  bool active() const { return encoder_ != nullptr; }
  bool requestComplete() const { return request_complete_; }
  // Runs filters' onDestroy, writes the access log line, releases per-request memory.
  void reap();
  void onDownstreamWatermark(bool above_high);

  // http::RequestDecoder
  void decodeHeaders(http::RequestHead& head, bool end_stream) override;
  void decodeData(buffer::Buffer& data, bool end_stream) override;
  void decodeTrailers(http::HeaderMap& trailers) override;
  void onStreamReset(http::StreamResetReason reason) override;

  // StreamFilterCallbacks
  event::EventLoop& loop() override;
  const RouteEntry* route() const override { return route_; }
  http::RequestHead& requestHead() override { return *request_; }
  StreamInfo& info() override { return info_; }
  void continueRequest() override;
  void continueResponse() override;
  void sendLocalReply(uint16_t status, std::string_view body,
                      std::string_view content_type) override;
  void encodeHeaders(http::ResponseHead& head, bool end_stream) override;
  void encodeData(buffer::Buffer& data, bool end_stream) override;
  void encodeFile(int file_fd, uint64_t offset, uint64_t length, bool end_stream) override;
  void encodeTrailers(http::HeaderMap& trailers) override;
  void encodeInterim(uint16_t status, const http::HeaderMap& headers) override;
  bool responseStarted() const override;
  void resetStream(std::string_view why) override;
  void pauseRequestBody(bool pause) override;
  bool downstreamBlocked() const override;

 private:
  void buildFilterChain();
  void runRequestHeaders();
  void runRequestBody();
  void runResponseHeaders();
  void runResponseBody();
  void finishResponseHeaders(http::ResponseHead& head, bool end_stream);
  // sendLocalReply, with one more field when `extra_name` is not empty (Allow, Location).
  void localReply(uint16_t status, std::string_view body, std::string_view content_type,
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
  void notifyFiltersDestroyed();

  ConnectionManager& manager_;
  http::ResponseEncoder* encoder_ = nullptr;
  http::RequestHead* request_ = nullptr;
  const RouteEntry* route_ = nullptr;
  const VirtualHost* vhost_ = nullptr;  // chosen by Host; its HSTS applies to every reply
  bool secure_ = false;                 // the client reached us over TLS
  StreamInfo info_;

  // Per-request memory for filters: one block borrowed from the worker's block pool while
  // a request is active (no heap allocation once warm), returned at reap so an idle
  // keep-alive connection holds none of it.
  std::pmr::memory_resource& arena();
  buffer::Block* arena_block_ = nullptr;
  std::optional<std::pmr::monotonic_buffer_resource> arena_;
  std::vector<Filter*> filters_;  // last one is terminal

  // Request path iteration state.
  bool request_end_in_headers_ = false;
  bool request_complete_ = false;
  size_t request_headers_next_ = 0;  // next filter to see the headers
  bool request_headers_done_ = false;
  size_t request_body_next_ = 0;  // filter that paused on the body (or 0)
  bool request_body_paused_ = false;
  buffer::Buffer pending_request_body_;
  bool pending_request_end_ = false;
  http::HeaderMap* pending_trailers_ = nullptr;
  bool stopped_ = false;  // a local reply was sent or the stream was reset: ignore input

  // Response path iteration state (indices count down from the filter before the terminal).
  http::ResponseHead* response_ = nullptr;
  bool response_end_in_headers_ = false;
  size_t response_headers_next_ = 0;  // number of filters still to run, counting down
  bool response_headers_done_ = false;
  bool response_paused_ = false;
  buffer::Buffer pending_response_body_;
  bool pending_response_end_ = false;
  http::HeaderMap* pending_response_trailers_ = nullptr;
  bool response_sent_ = false;

  http::ResponseHead local_reply_head_;
  buffer::Buffer local_reply_body_;
  bool complete_ = false;
  bool filters_destroyed_ = false;
};

}  // namespace portico::proxy
