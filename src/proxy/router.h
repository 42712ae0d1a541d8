#pragma once
// RouterFilter: the terminal filter of proxy routes. It picks an endpoint with the cluster's
// load balancer, asks that endpoint's pool for a stream (HTTP/1: a connection of its own;
// HTTP/2: a stream on a shared connection), sends the request, and streams the response back
// into the stream's response path. It never knows which protocol the backend speaks.
//
// The host comes from the cluster (ThreadLocalCluster::chooseHost: capacity, then the
// balancer), and every attempt's outcome goes back to it (status and latency, or how it
// failed) for balancers that learn from traffic.
//
// Retries: a failed attempt is described as an upstream::AttemptError (what failed, whether
// request bytes may have reached the backend, whether a response byte came back) and
// upstream::decideRetry() says whether it may be sent again (see retry_policy.h): only when
// it cannot have had an effect, and only while what was sent of its body is still held
// (kReplayLimit). Otherwise the client gets the error's status and the stream is abandoned:
// 502 refused, reset or invalid response; 503 no healthy endpoint or all at their connection
// limit; 504 timeouts (per stream: other streams on the same connection go on).
//
// Queueing: when every candidate is at max_connections_per_endpoint (or the cluster at
// circuit_breakers.max_connections), the request waits in the worker's queue for the cluster
// (upstream/request_queue.h) for at most the cluster's queue_timeout, counted in the
// pending-requests breaker; its turn comes when a pool frees a stream or a connection, and it
// then chooses a host again. Over the breaker: 503 at once; at the timeout: 503.

#include <optional>
#include <string>
#include <vector>

#include "filters/filter.h"
#include "http/codec.h"
#include "proxy/route_config.h"
#include "proxy/route_table.h"
#include "proxy/worker_services.h"
#include "upstream/cluster_manager.h"
#include "upstream/conn_pool.h"
#include "upstream/retry_policy.h"

namespace portico::proxy {

// Request body bytes kept after they went to a stream, so a request the backend refused
// unprocessed can be sent again; a longer body makes such a request fail with 502 instead.
inline constexpr size_t kReplayLimit = 64 * 1024;

class RouterFilter final : public filters::Filter,
                           public upstream::PoolCallbacks,
                           public upstream::QueueWaiter,
                           public http::ResponseDecoder,
                           public http::ClientStreamWatermarkCallbacks {
 public:
  RouterFilter(WorkerServices& worker, const ListenerConfig& listener, const RouteEntry& route);
  ~RouterFilter() override;

  // Filter
  filters::FilterStatus onRequestHeaders(http::RequestHead& head, bool end_stream) override;
  filters::FilterStatus onRequestBody(buffer::Buffer& data, bool end_stream) override;
  filters::FilterStatus onRequestTrailers(http::HeaderMap& trailers) override;
  void onDownstreamWatermark(bool above_high) override;
  void onDestroy() override;

  // upstream::PoolCallbacks
  void onPoolReady(upstream::UpstreamStream& stream, bool reused) override;
  void onPoolFailure(upstream::PoolFailure reason, std::string_view why) override;

  // http::ResponseDecoder
  void decodeInterim(http::ResponseHead& head) override;
  void decodeHeaders(http::ResponseHead& head, bool end_stream) override;
  void decodeData(buffer::Buffer& data, bool end_stream) override;
  void decodeTrailers(http::HeaderMap& trailers) override;
  void onResponseError(const http::ResponseError& error) override;

  // http::ClientStreamWatermarkCallbacks
  void onStreamWriteWatermark(bool above_high) override;

  // upstream::QueueWaiter
  void onQueueTurn() override;

 private:
  enum class Phase {
    Idle,
    Queued,  // every candidate at its connection limit: waiting in the cluster's queue
    Connecting,
    Sending,
    AwaitingHeaders,
    ReceivingBody,
    Backoff,
    Done
  };
  // No candidate has room: wait in the cluster's queue (true), or 503 (false: no queue, or the
  // pending-requests breaker is full).
  bool waitForCapacity();
  void leaveQueue();  // out of the queue and its breaker slot, if in it
  void onQueueTimeout();
  void startAttempt();
  // A circuit breaker said no: 503, a log line naming the limit, a counter.
  void overflow(upstream::ClusterLoad::Kind kind, uint32_t limit);
  void stopWaitingForPool();  // ends the wait for a connection (max_pending_requests)
  // The attempt failed: retry it (upstream::decideRetry says whether that is safe) or answer.
  void onAttemptFailed(const upstream::AttemptError& error, std::string_view why);
  // A 5xx head arrived: true when the request is being retried instead (the response is
  // dropped unseen), false when the response goes to the client.
  bool retryOnStatus(uint16_t status);
  upstream::RetryFacts retryFacts(bool request_held) const;
  // Starts the retry the verdict allows (true), or logs why there is none (false).
  bool retryOrExplain(upstream::RetryVerdict verdict, std::string_view why, bool not_processed);
  void endRetry();  // the retry in flight (if any) no longer counts against the budget
  void onPerTryTimeout();
  void abandonAttemptAfterTimeout(const char* what);
  // Tells the cluster how the attempt went (once: response headers or failure) and, when the
  // attempt is over, that it ended (balancers' active-request counts).
  void reportOutcome(upstream::AttemptOutcome::Kind kind, uint16_t status = 0);
  void finishAttempt();
  void fail(uint16_t status, std::string_view why);
  void onTimeout();
  void releaseStream();
  // Body bytes about to go to the stream: kept for a replay while they fit kReplayLimit.
  void keepForReplay(const buffer::Buffer& data);
  // Puts what the failed attempt sent back in front of what is still held, for a new one.
  void restoreReplay();
  bool needsTunnel() const;
  void armTimerForPhase();
  // Cluster `sticky`: a response from another host than the cookie named gets a new cookie.
  void setStickyCookie(http::ResponseHead& head);

  WorkerServices& worker_;
  const ListenerConfig& listener_;
  const RouteEntry& route_;
  upstream::ThreadLocalCluster* cluster_ = nullptr;
  http::RequestHead* request_ = nullptr;
  upstream::Host* host_ = nullptr;  // the current attempt's host, until finishAttempt()
  bool outcome_reported_ = false;
  int64_t attempt_start_ms_ = 0;
  upstream::ConnPool* pool_ = nullptr;
  bool pending_ = false;           // waiting for the pool
  bool holds_queue_slot_ = false;  // queued (or on its turn), counted as a pending request
  upstream::UpstreamStream* upstream_ = nullptr;  // request in flight
  event::Timer timer_;
  event::Timer per_try_timer_;       // retry.per_try_timeout: attempt start -> response headers
  event::Timer backoff_timer_;       // the wait before a retry on another host
  bool holds_request_slot_ = false;  // counted in the cluster's requests in flight
  bool counts_as_retry_ = false;     // this attempt (or the wait for it) is a retry in flight
  Phase phase_ = Phase::Idle;
  upstream::HostExclusions tried_;     // hosts this request's attempts went to
  std::optional<uint64_t> hash_key_;   // from the route's hash_policy; none: balancer's choice
  std::optional<uint64_t> sticky_id_;  // the host a valid sticky cookie names (cluster sticky)
  uint32_t attempts_ = 0;
  bool reused_ = false;
  bool request_end_ = false;  // the client finished its request
  // Nothing of the body or trailers went to an upstream connection yet: what a new attempt
  // needs is all still held here (pending_body_, pending_trailers_).
  bool replayable_ = true;
  bool upstream_write_blocked_ = false;  // the upstream stream is above its watermark
  bool tunnel_ = false;
  buffer::Buffer pending_body_;  // body that arrived before a connection was ready
  http::HeaderMap pending_trailers_;
  bool has_pending_trailers_ = false;
  // What the current attempt sent of the body and trailers, while it fits kReplayLimit.
  buffer::Buffer replay_body_;
  http::HeaderMap replay_trailers_;
  bool replay_has_trailers_ = false;
  bool replay_whole_ = true;
  bool destroyed_ = false;
};

}  // namespace portico::proxy
