#pragma once
// HealthProbe: one active health check of one endpoint, on the main thread's event loop. It
// connects (through the cluster's transport factory, so over TLS when the cluster has `tls`),
// and then either is done (type tcp: the connection, and for TLS the handshake, succeeded) or
// sends one HTTP/1.1 request with "Connection: close" and judges the answer
// (HttpCheckResponse), or (type grpc) makes one grpc.health.v1.Health/Check call through the
// cluster's HTTP/2 client codec and judges it (GrpcCheckResponse). `timeout_ms` bounds the whole
// probe. The result is reported once through the callback; the owner then frees the probe with the
// loop's deferredDelete (never inside the callback).

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "event/event_loop.h"
#include "http/client_codec.h"
#include "net/connection.h"
#include "upstream/cluster_manager.h"
#include "upstream/grpc_check_response.h"
#include "upstream/host.h"
#include "upstream/http_check_response.h"

namespace portico::upstream {

class HealthProbe final : public event::Deletable,
                          private net::ConnectionCallbacks,
                          private http::CodecOutput,
                          private http::ClientCodecCallbacks {
 public:
  // `healthy`, and when not, why (for the transition log line).
  using Done = std::function<void(bool healthy, const std::string& why)>;
  HealthProbe(event::EventLoop& loop, const ClusterState& cluster, const Host& host, Done done);
  ~HealthProbe() override;

  void start();

 private:
  void onConnected();
  void startGrpc();
  void onGrpcProgress();  // after the codec ran: finish once the call has a verdict
  void finish(bool healthy, const std::string& why);
  // net::ConnectionCallbacks
  void onData(buffer::Buffer& data, bool end_of_stream) override;
  void onEvent(net::ConnectionEvent event) override;
  // http::CodecOutput and http::ClientCodecCallbacks (type grpc)
  void writeToPeer(buffer::Buffer& bytes) override { connection_->write(bytes); }
  void writeFileToPeer(int file_fd, uint64_t, uint64_t) override;
  void closeAfterFlush() override { connection_->close(net::CloseType::FlushWrite); }
  void shutdownWriteAfterFlush() override {}
  void pauseReading(bool pause) override { connection_->readDisable(pause); }
  void onStreamLimitChanged() override {}

  event::EventLoop& loop_;
  const ClusterState& cluster_;
  const HealthCheckConfig& config_;
  const Host& host_;
  Done done_;
  net::ConnectionPtr connection_;
  std::optional<HttpCheckResponse> response_;  // type http, once the request went out
  // type grpc, once connected; the codec is declared after the decoder it reports to.
  GrpcCheckResponse grpc_response_;
  std::unique_ptr<http::ClientConnectionCodec> codec_;
  event::Timer timeout_;
  bool finished_ = false;
};

}  // namespace portico::upstream
