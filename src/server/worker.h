#pragma once
// Worker: one thread, one event loop, its own listening sockets (SO_REUSEPORT), the
// connections it accepted, its upstream pools, its access log buffer and counters. The main
// thread talks to it only by posting tasks to its loop.

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/repeat_log.h"
#include "event/event_loop.h"
#include "proxy/connection_manager.h"
#include "proxy/snapshot.h"
#include "proxy/worker_services.h"
#include "server/access_log.h"
#include "server/http2_attack_log.h"
#include "server/parked_connections.h"
#include "upstream/cluster_manager.h"

namespace portico::server {

class Worker;

// Accepts connections for one listener on one worker.
class Acceptor final : public event::IoHandler {
 public:
  Acceptor(Worker& worker, int fd, const proxy::ListenerRuntime& listener);
  ~Acceptor() override;
  void onIoReady(uint32_t events) override;
  void close();

 private:
  void acceptAll();
  void flushWarnings();

  Worker& worker_;
  int fd_;
  const proxy::ListenerRuntime& listener_;
  // After an accept failure (out of descriptors, out of kernel memory) the queue is tried
  // again on this timer: edge-triggered epoll reports the listener again only when another
  // connection arrives, which on a quiet service may be never.
  event::Timer retry_;
  // Refusals and accept failures come in floods: the first is logged, repeats are counted.
  log::RepeatLog refused_log_;
  log::RepeatLog accept_error_log_;
  event::Timer warnings_flush_;
};

class Worker final : public proxy::WorkerServices, private ParkedConnections::Callbacks {
 public:
  Worker(size_t index, std::shared_ptr<const proxy::ProxySnapshot> snapshot,
         AccessLogWriter* access_log, config::AccessLogFormat format, config::IoUringMode io_uring);
  ~Worker() override;

  // Main thread: takes ownership of one listening fd per listener (same order as snapshot).
  void start(std::vector<int> listen_fds);
  // Main thread: stop accepting, finish in-flight exchanges, exit the loop when none is left.
  void drain();
  // Main thread: close every connection now and exit the loop.
  void forceStop();
  void join();
  // Main thread: balance cluster `cluster_index` over `hosts` from the worker's next pick on
  // (upstream::HostPublisher; posted to the worker's loop).
  void setHosts(size_t cluster_index, upstream::HostSetPtr hosts);
  // Main thread: counters are read by posting to the worker; returns a copy.
  size_t index() const { return index_; }
  size_t connectionCount() const { return open_connections_.load(); }
  // Worker thread: open connections (live and parked) accepted by one listener; its
  // max_connections bounds this.
  size_t connectionCount(const proxy::ListenerRuntime& listener) const;

  // proxy::WorkerServices
  event::EventLoop& loop() override { return loop_; }
  upstream::ClusterManager& clusters() override { return *clusters_; }
  proxy::WorkerCounters& counters() override { return counters_; }
  bool draining() const override { return draining_; }
  void logAccess(const http::RequestHead* request, const filters::StreamInfo& info,
                 const net::Address& peer) override;
  void onConnectionClosed(proxy::ConnectionManager* connection) override;
  void onHttp2Attack(http::Http2Attack attack, std::string_view listener, const net::Address& peer,
                     std::string_view detail) override;
  bool parkIdleConnection(proxy::ConnectionManager& connection) override;

  void onAccepted(int fd, const net::Address& peer, const proxy::ListenerRuntime& listener);

 private:
  void run();
  void maybeFinishDrain();
  // Hands memory a burst needed back to the kernel once it stays unused (buffer blocks).
  void scheduleHousekeeping();
  void housekeeping();
  void flushHttp2AttackLog();
  // ParkedConnections::Callbacks
  void onParkedResume(ResumedSocket socket, uint32_t events) override;
  void onParkedClosed(const proxy::ListenerRuntime& listener) override;
  void countClosed(const proxy::ListenerRuntime& listener);

  size_t index_;
  event::EventLoop loop_;
  std::shared_ptr<const proxy::ProxySnapshot> snapshot_;
  std::unique_ptr<upstream::ClusterManager> clusters_;
  AccessLogger access_log_;
  bool access_log_enabled_;
  config::IoUringMode io_uring_;
  proxy::WorkerCounters counters_;
  std::vector<std::unique_ptr<Acceptor>> acceptors_;
  std::unordered_set<proxy::ConnectionManager*> connections_;  // live, not parked
  ParkedConnections parked_{loop_, *this};
  event::Timer housekeeping_{loop_, [this] { housekeeping(); }};
  Http2AttackLog http2_attack_log_{[this] { return loop_.now(); }};
  event::Timer http2_attack_log_flush_{loop_, [this] { flushHttp2AttackLog(); }};
  std::atomic<size_t> open_connections_{0};
  std::unordered_map<const proxy::ListenerRuntime*, size_t> open_by_listener_;
  bool draining_ = false;
  std::thread thread_;
};

}  // namespace portico::server
