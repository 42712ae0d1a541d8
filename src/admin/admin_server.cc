#include "admin/admin_server.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/log.h"
#include "http1/parser.h"
#include "net/connection.h"
#include "net/listen_socket.h"

namespace portico::admin {

namespace {

http1::ParserLimits adminLimits() {
  http1::ParserLimits limits;
  limits.max_request_line = 2048;
  limits.max_header_line = 2048;
  limits.max_header_bytes = 8192;
  limits.max_header_count = 32;
  limits.max_body_bytes = 1;  // no endpoint takes a body
  return limits;
}

// The path without its query string.
std::string_view pathOf(std::string_view target) {
  return target.substr(0, target.find('?'));
}

}  // namespace

AdminReply handleAdminRequest(http::Method method, std::string_view target,
                              const AdminSource& source) {
  AdminReply reply;
  const std::string_view path = pathOf(target);
  if (path != "/status" && path != "/ready") {
    reply.status = 404;
    reply.body = "no such admin endpoint; try /status or /ready\n";
    return reply;
  }
  if (method != http::Method::Get && method != http::Method::Head) {
    reply.status = 405;
    reply.allow = "GET, HEAD";
    reply.body = "only GET and HEAD\n";
    return reply;
  }
  const ServerStatus server = source.serverStatus();
  if (path == "/ready") {
    reply.status = server.draining ? 503 : 200;
    reply.body = server.draining ? "draining\n" : "ready\n";
    return reply;
  }
  reply.content_type = "application/json";
  reply.body = statusReport(server, source.clusters()).dump(2) + "\n";
  return reply;
}

// One accepted admin connection: parse, answer, repeat (within the limits), close.
class AdminConnection final : public net::ConnectionCallbacks, public event::Deletable {
 public:
  AdminConnection(AdminServer& server, std::unique_ptr<net::Connection> connection)
      : server_(server),
        connection_(std::move(connection)),
        parser_(&head_, adminLimits()),
        timer_(server.loop_, [this] { onTimeout(); }) {
    connection_->setCallbacks(this);
    timer_.armAfterMs(AdminServer::kRequestTimeoutMs);
  }
  ~AdminConnection() override { connection_->setCallbacks(nullptr); }

  void onData(buffer::Buffer& data, bool end_of_stream) override {
    while (!closing_) {
      const std::string_view slice = data.firstSlice();
      const http1::ParseResult r = parser_.feed(slice.data(), slice.size());
      data.drain(r.consumed);
      switch (r.event) {
        case http1::ParseEvent::NeedMore:
          if (data.empty()) {
            // The client is done sending: answers already written still go out.
            if (end_of_stream) close(net::CloseType::FlushWrite);
            return;
          }
          break;
        case http1::ParseEvent::Head:
          if (parser_.bodyKind() != http1::BodyKind::None && parser_.contentLength() != 0) {
            respondError(413, "admin requests take no body");
            return;
          }
          break;
        case http1::ParseEvent::Body:
        case http1::ParseEvent::Trailers:
          break;  // an empty body's framing: nothing to keep
        case http1::ParseEvent::MessageComplete:
          answer();
          break;
        case http1::ParseEvent::Error:
          respondError(http1::statusFor(parser_.error()), http1::describe(parser_.error()));
          return;
      }
    }
    data.clear();  // closing: whatever else came is not read
  }

  void onEvent(net::ConnectionEvent event) override {
    if (event != net::ConnectionEvent::Connected) server_.onConnectionDone(this);
  }

 private:
  void answer() {
    ++requests_;
    const AdminReply reply = handleAdminRequest(head_.method, head_.path, server_.source_);
    const bool keep = parser_.keepAlive() && requests_ < AdminServer::kMaxRequestsPerConnection;
    send(reply, head_.method == http::Method::Head, keep);
    if (!keep) {
      close(net::CloseType::FlushWrite);
      return;
    }
    parser_.reset();
    head_ = http::RequestHead();
    timer_.armAfterMs(AdminServer::kRequestTimeoutMs);
  }

  void respondError(uint16_t status, std::string_view why) {
    PLOG_WARN("admin: bad request from {}: {} (answered {})", connection_->peerAddress().toString(),
              why, status);
    AdminReply reply;
    reply.status = status;
    reply.body = std::string(why) + "\n";
    send(reply, false, false);
    close(net::CloseType::FlushWrite);
  }

  void send(const AdminReply& reply, bool head_only, bool keep_alive) {
    std::string out = "HTTP/1.1 " + std::to_string(reply.status) + " " +
                      std::string(http::reasonPhrase(reply.status)) + "\r\n";
    out += "Content-Type: " + reply.content_type + "\r\n";
    out += "Content-Length: " + std::to_string(reply.body.size()) + "\r\n";
    out += "Cache-Control: no-store\r\n";
    if (reply.allow != nullptr) out += std::string("Allow: ") + reply.allow + "\r\n";
    if (!keep_alive) out += "Connection: close\r\n";
    out += "\r\n";
    if (!head_only) out += reply.body;
    connection_->write(out);
  }

  void onTimeout() {
    PLOG_DEBUG("admin: connection from {} idle too long; closing",
               connection_->peerAddress().toString());
    close(net::CloseType::NoFlush);
  }

  void close(net::CloseType type) {
    if (closing_) return;
    closing_ = true;
    timer_.disarm();
    connection_->close(type);
  }

  AdminServer& server_;
  std::unique_ptr<net::Connection> connection_;
  http::RequestHead head_;
  http1::RequestParser parser_;
  event::Timer timer_;
  uint32_t requests_ = 0;
  bool closing_ = false;
};

AdminServer::AdminServer(event::EventLoop& loop, const AdminSource& source)
    : loop_(loop), source_(source) {}

AdminServer::~AdminServer() {
  for (AdminConnection* c : connections_) delete c;
  if (fd_ >= 0) {
    loop_.removeFd(fd_);
    ::close(fd_);
  }
}

bool AdminServer::listen(const config::AdminConfig& config, std::string* error) {
  net::ListenOptions options;
  options.backlog = 64;
  options.defer_accept = false;
  fd_ = net::openListenSocket(config.address, options, error);
  if (fd_ < 0) return false;
  loop_.addFd(fd_, EPOLLIN, this);
  return true;
}

void AdminServer::onIoReady(uint32_t) {
  // Edge-triggered: accept until the queue is empty.
  for (;;) {
    sockaddr_storage ss;
    socklen_t len = sizeof ss;
    const int fd =
        ::accept4(fd_, reinterpret_cast<sockaddr*>(&ss), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        PLOG_WARN("admin: accept: {}", strerror(errno));
      }
      return;
    }
    if (connections_.size() >= kMaxConnections) {
      PLOG_WARN("admin: {} connections open already; refusing one", kMaxConnections);
      ::close(fd);
      continue;
    }
    auto connection = std::make_unique<net::Connection>(loop_, fd, net::plainTransport(),
                                                        net::SocketStart::Accepted);
    connection->setPeerAddress(net::addressFromSockaddr(reinterpret_cast<sockaddr*>(&ss), len));
    connections_.insert(new AdminConnection(*this, std::move(connection)));
  }
}

void AdminServer::onConnectionDone(AdminConnection* connection) {
  if (connections_.erase(connection) == 0) return;
  // Its connection's callback is on the stack: free it after this loop turn.
  loop_.deferredDelete(std::unique_ptr<event::Deletable>(connection));
}

}  // namespace portico::admin
