#pragma once
// What the whole-connection fuzz targets (http1_server_fuzz, http2_server_fuzz) share: a worker
// with its own event loop, and a client on the other end of a socketpair that sends the input
// in pieces while reading what Portico answers, one step per loop turn, checking on every step
// that the connection's buffers stay within bounds.

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "config/loader.h"
#include "fuzz_support.h"
#include "net/connection.h"
#include "proxy/connection_manager.h"
#include "proxy/snapshot.h"
#include "proxy/worker_services.h"
#include "server/server_codecs.h"

namespace portico::fuzz {

class FuzzWorker final : public proxy::WorkerServices {
 public:
  // `batched`: sockets go through the io_uring batch.
  FuzzWorker(std::shared_ptr<proxy::ProxySnapshot> snapshot, bool batched)
      : snapshot_(std::move(snapshot)), clusters_(loop_, snapshot_->clusters, 0) {
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

inline std::shared_ptr<proxy::ProxySnapshot> loadSnapshot(const std::string& config_text) {
  config::LoadResult loaded = config::loadConfigString(config_text, "fuzz.yaml");
  check(loaded.config.has_value());
  return proxy::buildSnapshot(std::move(loaded.config->listeners),
                              std::move(loaded.config->clusters), server::builtinServerCodecs());
}

// The worker for an input's mode byte: bit 0 chooses the listener's buffer limit (4 KiB or
// 64 KiB, passed to `config_text`), bit 1 the io_uring batch. One per combination, kept across
// inputs: loops and rings are costly.
inline FuzzWorker& workerFor(uint8_t mode, std::string (*config_text)(size_t buffer)) {
  static const size_t kBuffers[] = {4096, 65536};
  static std::unique_ptr<FuzzWorker> workers[4];
  const int i = (mode & 1) | ((mode & 2) ? 2 : 0);
  if (!workers[i])
    workers[i] = std::make_unique<FuzzWorker>(loadSnapshot(config_text(kBuffers[mode & 1])),
                                              (mode & 2) != 0);
  return *workers[i];
}

struct ClientOptions {
  size_t read_per_turn = 1u << 20;  // while sending; everything once all is sent
  bool half_close = false;          // shut down the sending side after the last byte
  // What the connection may hold for the client (write buffer) and of what it read.
  size_t max_write_buffered = 0;
  size_t max_read_buffered = 0;
};

// The client's behaviour from the input's first bytes: bit 2 of the mode byte makes it read
// everything at once, else 1 + data[1] % 64 bytes per turn while it sends; bit 3 makes it
// half-close after its last byte. (data[2] seeds the splitter.)
inline ClientOptions clientOptions(const uint8_t* data) {
  ClientOptions options;
  options.read_per_turn = (data[0] & 4) ? (1u << 20) : 1 + data[1] % 64;
  options.half_close = (data[0] & 8) != 0;
  return options;
}

struct ClientRun {
  std::string received;
  bool peer_closed = false;  // Portico closed (or reset) the connection
  // At the end: the connection was still open, and was lingering (reading and discarding
  // until the client's FIN or the linger timeout, which the run does not wait for).
  bool still_open = false;
  bool lingering = false;
};

// Runs one connection of the worker's first listener: the client sends `input` in pieces
// chosen by `split`, and the run ends when Portico closes or nothing moved for a while.
inline ClientRun runClient(FuzzWorker& worker, const std::string& input, Splitter& split,
                           const ClientOptions& options) {
  constexpr int kMaxTurns = 200000;
  const proxy::ListenerRuntime& listener = *worker.snapshot()->listeners[0];
  int fds[2];
  check(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) == 0);
  auto connection = std::make_unique<net::Connection>(worker.loop(), fds[0], net::plainTransport(),
                                                      net::SocketStart::Accepted);
  net::Connection* conn = connection.get();
  worker.manager_ =
      new proxy::ConnectionManager(worker, worker.snapshot(), listener, std::move(connection));

  ClientRun run;
  size_t sent = 0;
  bool shut = false;
  int idle_turns = 0;
  int turns = 0;
  // One client step per loop turn: a posted task runs once per turn, after the sockets were
  // served (a timer re-armed at 0 would run again in the same turn, before any I/O).
  std::function<void()> step = [&] {
    bool progress = false;
    if (sent < input.size()) {
      ssize_t n =
          ::send(fds[1], input.data() + sent, split.next(input.size() - sent), MSG_NOSIGNAL);
      if (n > 0) {
        sent += static_cast<size_t>(n);
        progress = true;
      }
    } else if (options.half_close && !shut) {
      ::shutdown(fds[1], SHUT_WR);
      shut = true;
      progress = true;
    }
    char buf[4096];
    // Slow while it sends (the pipelining case), then it reads up to drain what it is owed.
    size_t want = sent < input.size() ? options.read_per_turn : (1u << 20);
    while (want > 0 && !run.peer_closed) {
      ssize_t n = ::recv(fds[1], buf, want < sizeof buf ? want : sizeof buf, 0);
      if (n > 0) {
        run.received.append(buf, static_cast<size_t>(n));
        want -= static_cast<size_t>(n);
        progress = true;
      } else {
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) run.peer_closed = true;
        break;
      }
    }
    if (worker.manager_ != nullptr) {
      // What the connection owes the client, and the request bytes it holds, stay bounded.
      check(conn->bufferedWriteBytes() <= options.max_write_buffered);
      check(conn->readBuffer().length() <= options.max_read_buffered);
    }
    idle_turns = progress ? 0 : idle_turns + 1;
    // Done when Portico closed, or when nothing moved for a while (a keep-alive connection
    // waiting for the next request); a refused backend answers within a few turns.
    if (run.peer_closed || idle_turns > 10 || ++turns > kMaxTurns) {
      worker.loop().stop();
      return;
    }
    worker.loop().post(step);
  };
  worker.loop().post(step);
  worker.loop().run();
  check(turns <= kMaxTurns);
  run.still_open = worker.manager_ != nullptr;
  run.lingering = run.still_open && conn->lingering();
  if (run.still_open) worker.manager_->closeNow();
  worker.manager_ = nullptr;
  // Let the closed connection be reaped and deleted before the next input.
  worker.loop().post([&] { worker.loop().stop(); });
  worker.loop().run();
  ::close(fds[1]);
  return run;
}

}  // namespace portico::fuzz
