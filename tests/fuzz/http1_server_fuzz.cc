// libFuzzer target for the whole server side of a connection: a real Connection on a
// socketpair, the ConnectionManager, the HTTP/1 server codec, streams, the router and its local
// actions (direct responses, redirects, static files, a proxy route whose backend refuses), on
// the worker's event loop.
//
// The first three input bytes choose the listener's buffer limit, how fast the client reads
// while it sends (a few bytes per loop turn, as a client that reads slowly, or everything;
// it reads everything once it has sent all), whether the client
// half-closes after its last byte, whether sockets go through the io_uring batch, and how the
// rest is cut into pieces; the rest is what the client sends. Checked:
//   - memory stays bounded: what the connection holds for the client (write buffer and queued
//     files) and the request bytes it has read stay within the buffer limit plus one response
//     and one read batch, however much the client pipelines and however slowly it reads;
//   - everything Portico sends is a well-formed sequence of HTTP/1.1 responses, one per request
//     it read (plus one error answer), parsed with the client-side parser and the methods of
//     the requests, so a desynchronised or truncated response is a finding;
//   - the exchange ends (the loop never spins for ever) and nothing leaks (ASan).

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/loader.h"
#include "core/log.h"
#include "fuzz_support.h"
#include "http/message.h"
#include "http1/parser.h"
#include "net/connection.h"
#include "proxy/connection_manager.h"
#include "proxy/snapshot.h"
#include "proxy/worker_services.h"
#include "server/server_codecs.h"

namespace {

using namespace portico;
using fuzz::check;

// The largest single response the routes below produce (a 40 KB body, direct or from a file,
// and its head), and the most the connection reads past its limit in one go.
constexpr size_t kLargestResponse = 48 * 1024;
constexpr size_t kReadSlack = 64 * 1024;
constexpr int kMaxTurns = 200000;

std::string g_root;  // static files, made once

void makeSite() {
  char dir[] = "/tmp/portico-fuzz-site-XXXXXX";
  check(mkdtemp(dir) != nullptr);
  g_root = dir;
  auto write = [](const std::string& path, const std::string& body) {
    int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
    check(fd >= 0);
    check(::write(fd, body.data(), body.size()) == static_cast<ssize_t>(body.size()));
    ::close(fd);
  };
  write(g_root + "/a.txt", "static a\n");
  write(g_root + "/big.bin", std::string(40 * 1024, 'b'));
  check(::mkdir((g_root + "/d").c_str(), 0755) == 0);
  write(g_root + "/d/index.html", "<p>index</p>\n");
}

std::string configText(size_t buffer) {
  return "workers: 1\n"
         "listeners:\n"
         "  - name: fuzz\n"
         "    address: 127.0.0.1:1\n"
         "    limits: { buffer: " +
         std::to_string(buffer) +
         ", max_header_bytes: 8192, max_body: 100000 }\n"
         "    virtual_hosts:\n"
         "      - name: all\n"
         "        domains: ['*']\n"
         "        routes:\n"
         "          - match: { prefix: /big }\n"
         "            direct_response: { status: 200, body: \"" +
         std::string(40000, 'x') +
         "\" }\n"
         "          - match: { prefix: /old }\n"
         "            redirect: { prefix_rewrite: /new }\n"
         "          - match: { prefix: /s }\n"
         "            static: { root: " +
         g_root +
         " }\n"
         "          - match: { prefix: /p }\n"
         "            proxy: { cluster: refused }\n"
         "          - match: { prefix: / }\n"
         "            direct_response: { status: 200, body: \"ok\\n\" }\n"
         "clusters:\n"
         "  - name: refused\n"
         "    endpoints: [ { address: 127.0.0.1:1 } ]\n";
}

class FuzzWorker final : public proxy::WorkerServices {
 public:
  FuzzWorker(std::shared_ptr<proxy::ProxySnapshot> snapshot, bool batched)
      : snapshot_(std::move(snapshot)), clusters_(loop_, snapshot_->clusters) {
    if (batched) loop_.enableIoBatching(64);
  }
  event::EventLoop& loop() override { return loop_; }
  upstream::ClusterManager& clusters() override { return clusters_; }
  proxy::WorkerCounters& counters() override { return counters_; }
  bool draining() const override { return false; }
  void logAccess(const http::RequestHead*, const filters::StreamInfo&,
                 const net::Address&) override {}
  void onConnectionClosed(proxy::ConnectionManager* c) override {
    if (c == manager_) manager_ = nullptr;
    loop_.deferredDelete(std::unique_ptr<event::Deletable>(c));
  }
  const std::shared_ptr<proxy::ProxySnapshot>& snapshot() const { return snapshot_; }
  proxy::ConnectionManager* manager_ = nullptr;

 private:
  std::shared_ptr<proxy::ProxySnapshot> snapshot_;
  event::EventLoop loop_;
  upstream::ClusterManager clusters_;
  proxy::WorkerCounters counters_;
};

std::shared_ptr<proxy::ProxySnapshot> loadSnapshot(size_t buffer) {
  config::LoadResult loaded = config::loadConfigString(configText(buffer), "fuzz.yaml");
  check(loaded.config.has_value());
  return proxy::buildSnapshot(std::move(loaded.config->listeners),
                              std::move(loaded.config->clusters), server::builtinServerCodecs());
}

// One worker per buffer limit and I/O path, kept across inputs: loops and rings are costly.
FuzzWorker& workerFor(uint8_t mode) {
  static const size_t kBuffers[] = {4096, 65536};
  static std::unique_ptr<FuzzWorker> workers[4];
  const int i = (mode & 1) | ((mode & 2) ? 2 : 0);
  if (!workers[i])
    workers[i] = std::make_unique<FuzzWorker>(loadSnapshot(kBuffers[mode & 1]), (mode & 2) != 0);
  return *workers[i];
}

// Pieces for parsing what was sent and received: parsing megabytes in one piece would copy
// the rest of the stream for every event.
size_t inBlocks(size_t left) {
  return left < 16384 ? left : 16384;
}

// The methods of the requests in `input`, in order, as the server's parser reads them.
std::vector<http::Method> requestMethods(const uint8_t* data, size_t size) {
  std::vector<http::Method> methods;
  http::RequestHead head;
  http1::ParserLimits limits;
  limits.max_header_bytes = 8192;
  limits.max_body_bytes = 100000;
  http1::RequestParser parser(&head, limits);
  fuzz::feedPieces(parser, data, size, inBlocks,
                   [&](const http1::ParseResult& r, const fuzz::ExactCopy&) {
                     if (r.event == http1::ParseEvent::Head) methods.push_back(head.method);
                     if (r.event == http1::ParseEvent::MessageComplete) parser.reset();
                   });
  return methods;
}

// Parses what the client received as responses to `methods`; returns how many were complete.
size_t checkResponses(const std::string& out, const std::vector<http::Method>& methods,
                      bool connection_closed) {
  http::ResponseHead head;
  http1::ResponseParser parser(&head, http1::ParserLimits{});
  size_t complete = 0;
  auto methodOf = [&](size_t i) { return i < methods.size() ? methods[i] : http::Method::Get; };
  parser.setRequestMethod(methodOf(0));
  bool tunnel = false;
  const bool clean =
      fuzz::feedPieces(parser, reinterpret_cast<const uint8_t*>(out.data()), out.size(), inBlocks,
                       [&](const http1::ParseResult& r, const fuzz::ExactCopy&) {
                         if (r.event == http1::ParseEvent::Head && head.status == 101)
                           tunnel = true;
                         if (r.event == http1::ParseEvent::MessageComplete) {
                           ++complete;
                           parser.reset();
                           parser.setRequestMethod(methodOf(complete));
                         }
                       });
  check(clean || tunnel);
  // A response cut short is only acceptable when the connection was torn down mid-way (a
  // body read timeout cannot happen here, but a refused write can).
  if (clean && !tunnel && connection_closed) {
    http1::ParseResult end = parser.onEof();
    check(end.event != http1::ParseEvent::Error);
    if (end.event == http1::ParseEvent::MessageComplete) ++complete;
  }
  return complete;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  log::setLevel(log::Level::Error);  // rejected requests log at info: keep the run quiet
  makeSite();
  std::atexit([] {
    std::string cmd = "rm -rf '" + g_root + "'";
    if (std::system(cmd.c_str()) != 0) return;
  });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  const uint8_t mode = data[0];
  const size_t read_per_turn = (mode & 4) ? (1u << 20) : 1 + data[1] % 64;
  const bool half_close = mode & 8;
  fuzz::Splitter split(data[2]);
  data += 3;
  size -= 3;

  FuzzWorker& worker = workerFor(mode);
  const proxy::ListenerRuntime& listener = *worker.snapshot()->listeners[0];
  const size_t limit = listener.config.limits.buffer;
  int fds[2];
  check(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) == 0);
  auto connection = std::make_unique<net::Connection>(worker.loop(), fds[0], net::plainTransport(),
                                                      net::SocketStart::Accepted);
  net::Connection* conn = connection.get();
  worker.manager_ =
      new proxy::ConnectionManager(worker, worker.snapshot(), listener, std::move(connection));

  std::string out;
  size_t sent = 0;
  bool shut = false;
  bool peer_closed = false;
  int idle_turns = 0;
  int turns = 0;
  // One client step per loop turn: a posted task runs once per turn, after the sockets were
  // served (a timer re-armed at 0 would run again in the same turn, before any I/O).
  std::function<void()> step = [&] {
    bool progress = false;
    if (sent < size) {
      ssize_t n = ::send(fds[1], data + sent, split.next(size - sent), MSG_NOSIGNAL);
      if (n > 0) {
        sent += static_cast<size_t>(n);
        progress = true;
      }
    } else if (half_close && !shut) {
      ::shutdown(fds[1], SHUT_WR);
      shut = true;
      progress = true;
    }
    char buf[4096];
    // Slow while it sends (the pipelining case), then it reads up to drain what it is owed.
    size_t want = sent < size ? read_per_turn : (1u << 20);
    while (want > 0 && !peer_closed) {
      ssize_t n = ::recv(fds[1], buf, want < sizeof buf ? want : sizeof buf, 0);
      if (n > 0) {
        out.append(buf, static_cast<size_t>(n));
        want -= static_cast<size_t>(n);
        progress = true;
      } else {
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) peer_closed = true;
        break;
      }
    }
    if (worker.manager_ != nullptr) {
      // What the connection owes the client, and the request bytes it holds, stay bounded.
      check(conn->bufferedWriteBytes() <= limit + kLargestResponse);
      check(conn->readBuffer().length() <= limit + kReadSlack);
    }
    idle_turns = progress ? 0 : idle_turns + 1;
    // Done when Portico closed, or when nothing moved for a while (a keep-alive connection
    // waiting for the next request); a refused backend answers within a few turns.
    if (peer_closed || idle_turns > 10 || ++turns > kMaxTurns) {
      worker.loop().stop();
      return;
    }
    worker.loop().post(step);
  };
  worker.loop().post(step);
  worker.loop().run();
  check(turns <= kMaxTurns);
  if (worker.manager_ != nullptr) worker.manager_->closeNow();
  worker.manager_ = nullptr;
  // Let the closed connection be reaped and deleted before the next input.
  worker.loop().post([&] { worker.loop().stop(); });
  worker.loop().run();
  ::close(fds[1]);

  const std::vector<http::Method> methods = requestMethods(data, size);
  const size_t answered = checkResponses(out, methods, peer_closed);
  check(answered <= methods.size() + 1);
  return 0;
}
