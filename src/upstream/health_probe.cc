#include "upstream/health_probe.h"

#include <cerrno>
#include <cstring>

#include <unistd.h>

#include "core/log.h"
#include "upstream/client_codecs.h"

namespace portico::upstream {

HealthProbe::HealthProbe(event::EventLoop& loop, const ClusterState& cluster, const Host& host,
                         Done done)
    : loop_(loop),
      cluster_(cluster),
      config_(*cluster.config.health_check),
      host_(host),
      done_(std::move(done)),
      timeout_(loop, [this] {
        finish(false, "timeout after " + std::to_string(config_.timeout_ms) + " ms");
      }) {}

HealthProbe::~HealthProbe() {
  codec_.reset();  // before the connection it may still write to (dropped: it is closed)
  if (connection_) {
    connection_->setCallbacks(nullptr);
    if (!connection_->closed()) connection_->close(net::CloseType::NoFlush);
    loop_.deferredDelete(std::move(connection_));
  }
}

void HealthProbe::start() {
  timeout_.armAfterMs(config_.timeout_ms);
  // With sni_from_host the TLS name follows the Host a request carries; the check's `host`
  // plays that part here.
  std::string_view server_name;
  if (cluster_.config.tls && cluster_.config.tls->sni_from_host) server_name = config_.host;
  net::TransportSocketPtr transport =
      cluster_.transport->create(host_.address(), server_name, host_.config().hostname);
  if (!transport) {
    finish(false, "could not set up the transport");
    return;
  }
  connection_ = net::Connection::connectTo(loop_, host_.address(), std::move(transport));
  if (!connection_) {
    finish(false, std::string("connect failed: ") + strerror(errno));
    return;
  }
  connection_->setCallbacks(this);
  if (connection_->transportConnected()) onConnected();  // at once (possible on loopback)
}

void HealthProbe::onConnected() {
  if (config_.type == HealthCheckType::Tcp) {
    finish(true, {});
    return;
  }
  if (config_.type == HealthCheckType::Grpc) {
    startGrpc();
    return;
  }
  if (connection_->transport().negotiatedProtocol() == "h2") {
    // An `auto` cluster's backend may select HTTP/2, which this HTTP/1.1 check cannot speak.
    finish(false, "the backend selected h2 in ALPN; http checks speak HTTP/1.1 (use type tcp)");
    return;
  }
  const std::string host = config_.host.empty() ? host_.config().authority() : config_.host;
  std::string request;
  request.reserve(128 + config_.path.size() + host.size());
  request.append(config_.head ? "HEAD " : "GET ")
      .append(config_.path)
      .append(" HTTP/1.1\r\nHost: ")
      .append(host)
      .append("\r\nUser-Agent: portico-health-check\r\nConnection: close\r\n\r\n");
  response_.emplace(config_, config_.head);
  connection_->write(request);
}

void HealthProbe::startGrpc() {
  std::string error;
  codec_ = makeClientCodec(cluster_.config, connection_->transport().negotiatedProtocol(), *this,
                           *this, &error);
  if (!codec_) {
    finish(false, error);
    return;
  }
  http::RequestHead head;
  head.method = http::Method::Post;
  head.method_text = "POST";
  head.path = head.target = "/grpc.health.v1.Health/Check";
  head.authority = host_.config().authority();
  head.scheme = cluster_.config.tls ? "https" : "http";
  head.headers.add("content-type", "application/grpc");
  head.headers.add("user-agent", "portico-health-check");
  http::ClientStream& stream = codec_->newStream();
  stream.setResponseDecoder(&grpc_response_);
  stream.encodeHeaders(head, false);
  buffer::Buffer body;
  body.append(grpcHealthCheckRequest(config_.service));
  stream.encodeData(body, true);
}

void HealthProbe::onGrpcProgress() {
  if (grpc_response_.verdict() != GrpcCheckResponse::Verdict::Pending) {
    finish(grpc_response_.verdict() == GrpcCheckResponse::Verdict::Healthy,
           grpc_response_.reason());
  }
}

void HealthProbe::writeFileToPeer(int file_fd, uint64_t, uint64_t) {
  ::close(file_fd);  // a request of a check never sends files
}

void HealthProbe::onData(buffer::Buffer& data, bool end_of_stream) {
  if (finished_) return;
  if (codec_) {
    bool open = codec_->dispatch(data);
    if (end_of_stream || !open) codec_->onEndOfInput();
    onGrpcProgress();
    if (!finished_ && (end_of_stream || !open)) finish(false, "connection closed");
    return;
  }
  if (!response_) {
    // Bytes before the request went out (a TLS peer speaking first is handled below the
    // transport): nothing to judge yet.
    data.clear();
    return;
  }
  HttpCheckResponse::Verdict verdict = HttpCheckResponse::Verdict::Pending;
  while (!data.empty() && verdict == HttpCheckResponse::Verdict::Pending) {
    std::string_view slice = data.firstSlice();
    verdict = response_->feed(slice.data(), slice.size());
    data.drain(slice.size());
  }
  data.clear();
  if (verdict == HttpCheckResponse::Verdict::Pending && end_of_stream) verdict = response_->onEof();
  if (verdict != HttpCheckResponse::Verdict::Pending) {
    finish(verdict == HttpCheckResponse::Verdict::Healthy, response_->reason());
  }
}

void HealthProbe::onEvent(net::ConnectionEvent event) {
  if (finished_) return;
  switch (event) {
    case net::ConnectionEvent::Connected:
      onConnected();
      return;
    case net::ConnectionEvent::RemoteClose:
    case net::ConnectionEvent::LocalClose:
      if (connection_ && !connection_->transportConnected()) {
        finish(false, connection_->transport().secure() ? "connect or TLS handshake failed"
                                                        : "connect failed (refused)");
      } else if (codec_) {
        codec_->onEndOfInput();
        onGrpcProgress();
        finish(false, "connection closed");
      } else if (response_) {
        HttpCheckResponse::Verdict verdict = response_->onEof();
        finish(verdict == HttpCheckResponse::Verdict::Healthy, response_->reason());
      } else {
        finish(false, "connection closed");
      }
      return;
  }
}

void HealthProbe::finish(bool healthy, const std::string& why) {
  if (finished_) return;
  finished_ = true;
  timeout_.disarm();
  if (connection_ && !connection_->closed()) {
    connection_->setCallbacks(nullptr);
    connection_->close(net::CloseType::NoFlush);
  }
  Done done = std::move(done_);
  done(healthy, why);
}

}  // namespace portico::upstream
