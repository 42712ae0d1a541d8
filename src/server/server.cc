#include "server/server.h"

#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "core/log.h"
#include "core/version.h"
#include "net/listen_socket.h"
#include "server/certificate_reloader.h"
#include "server/server_codecs.h"
#include "tls/acme/manager.h"
#include "tls/ocsp_updater.h"
#include "upstream/dns_discovery.h"
#include "upstream/health_checker.h"

namespace portico::server {

namespace {
// Reads signals from a signalfd on the main loop: no async-signal-safety puzzles.
class SignalHandler final : public event::IoHandler {
 public:
  SignalHandler(event::EventLoop& loop, std::function<void(int)> on_signal)
      : loop_(loop), on_signal_(std::move(on_signal)) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    fd_ = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    loop_.addFd(fd_, EPOLLIN, this);
  }
  ~SignalHandler() override {
    loop_.removeFd(fd_);
    ::close(fd_);
  }
  void onIoReady(uint32_t) override {
    signalfd_siginfo info;
    while (::read(fd_, &info, sizeof info) == sizeof info) {
      on_signal_(static_cast<int>(info.ssi_signo));
    }
  }

 private:
  event::EventLoop& loop_;
  std::function<void(int)> on_signal_;
  int fd_;
};
}  // namespace

Server::Server(config::ServerConfig config) : config_(std::move(config)) {}

Server::~Server() = default;

void Server::deliverHostSet(size_t cluster_index, upstream::HostSetPtr set) {
  for (auto& w : workers_) w->setHosts(cluster_index, set);
}

void Server::reportOutlier(size_t cluster_index, uint32_t host_index,
                           upstream::EjectReason reason) {
  main_loop_->post([this, cluster_index, host_index, reason] {
    outliers_->eject(cluster_index, host_index, reason);
  });
}

admin::ServerStatus Server::serverStatus() const {
  admin::ServerStatus s;
  s.version = PORTICO_VERSION;
  s.uptime_ms = main_loop_ != nullptr ? main_loop_->now() - started_ms_ : 0;
  s.workers = workers_.size();
  s.draining = draining_;
  for (const auto& w : workers_) s.connections += w->connectionCount();
  for (const auto& l : snapshot_->listeners)
    s.listeners.push_back({l->config.name, l->config.address_text});
  return s;
}

int Server::run() {
  // Block the signals in every thread (workers inherit the mask); the main loop reads them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  size_t worker_count = config_.workers;
  if (worker_count == 0) {
    unsigned hw = std::thread::hardware_concurrency();
    worker_count = hw ? hw : 1;
  }

  std::vector<std::vector<int>> fds(worker_count);
  for (const proxy::ListenerConfig& l : config_.listeners) {
    for (size_t w = 0; w < worker_count; ++w) {
      std::string error;
      net::ListenOptions options{l.socket.backlog, l.socket.defer_accept};
      int fd = net::openListenSocket(l.address, options, &error);
      if (fd < 0) {
        PLOG_ERROR("listener {}: {}", l.name, error);
        for (auto& list : fds) {
          for (int f : list) ::close(f);
        }
        return 1;
      }
      fds[w].push_back(fd);
    }
  }

  if (config_.access_log.enabled) {
    std::string error;
    access_log_ = AccessLogWriter::open(config_.access_log, &error);
    if (!access_log_) {
      PLOG_ERROR("access log: {}", error);
      return 1;
    }
  }

  std::vector<std::string> addresses;
  for (const auto& l : config_.listeners) addresses.push_back(l.name + "=" + l.address_text);
  int64_t drain_timeout_ms = config_.drain_timeout_ms;
  config::AccessLogFormat format = config_.access_log.format;
  // A TLS listener must offer by ALPN only protocols a codec exists for: a client would pick
  // one and the connection would be closed (the config loader holds the same list).
  const http::ServerCodecRegistry& codecs = builtinServerCodecs();
  for (const auto& l : config_.listeners) {
    if (!l.tls) continue;
    for (const std::string& protocol : l.tls->alpn) {
      if (codecs.find(protocol) == nullptr) {
        PLOG_ERROR("listener {}: tls.alpn offers {}, which this build cannot serve", l.name,
                   protocol);
        return 1;
      }
    }
  }
  snapshot_ =
      proxy::buildSnapshot(std::move(config_.listeners), std::move(config_.clusters), codecs);

  // The main loop exists before the workers: they report outliers to it from the start.
  event::EventLoop main_loop;
  main_loop_ = &main_loop;
  started_ms_ = main_loop.now();
  // The admin listener binds before the workers start, so a taken port stops the start-up.
  // Declared here so it goes before the main loop does (and after everything it reads).
  std::unique_ptr<admin::AdminServer> admin;
  if (config_.admin) {
    admin = std::make_unique<admin::AdminServer>(main_loop,
                                                 static_cast<const admin::AdminSource&>(*this));
    std::string error;
    if (!admin->listen(*config_.admin, &error)) {
      PLOG_ERROR("admin listener {}: {}", config_.admin->address_text, error);
      for (auto& list : fds) {
        for (int f : list) ::close(f);
      }
      main_loop_ = nullptr;
      return 1;
    }
    PLOG_INFO("admin listener on {} (GET /status, /ready)", config_.admin->address_text);
  }
  hosts_ = std::make_unique<upstream::HostPublisher>(
      snapshot_->clusters, static_cast<upstream::HostSetSink&>(*this), &main_loop);
  outliers_ = std::make_unique<upstream::OutlierDetector>(main_loop, snapshot_->clusters, *hosts_);
  for (const auto& cluster : snapshot_->clusters) {
    cluster->outlier_reporter = static_cast<upstream::OutlierReporter*>(this);
  }
  for (size_t w = 0; w < worker_count; ++w) {
    workers_.push_back(
        std::make_unique<Worker>(w, snapshot_, access_log_.get(), format, config_.io_uring));
  }
  for (size_t w = 0; w < worker_count; ++w) workers_[w]->start(std::move(fds[w]));
  PLOG_INFO("portico {} started: {} worker(s), listeners: {}", PORTICO_VERSION, worker_count,
            fmt::join(addresses, ", "));

  tls::OcspUpdater ocsp(main_loop);  // stapled OCSP responses, also for reloaded certificates
  event::Timer drain_deadline(main_loop, [&] {
    PLOG_WARN("drain timeout reached; closing remaining connections");
    for (auto& w : workers_) w->forceStop();
  });
  event::Timer poll_workers(main_loop, [&] {});
  std::function<void()> check_done;
  event::Timer check_timer(main_loop, [&] { check_done(); });
  check_done = [&] {
    bool all_idle = true;
    for (auto& w : workers_) all_idle = all_idle && w->connectionCount() == 0;
    if (all_idle) {
      main_loop.stop();
    } else {
      check_timer.armAfterMs(50);
    }
  };
  CertificateReloader certificates(main_loop, *snapshot_);
  // Active health checks: once per process, here, never per worker (see health_checker.h).
  upstream::HealthChecker health(main_loop, snapshot_->clusters, *hosts_);
  health.start();
  // DNS discovery of dns:/srv: endpoints, with c-ares on this loop (see dns_discovery.h).
  upstream::DnsDiscovery dns(main_loop, snapshot_->clusters, *hosts_, {&health, outliers_.get()});
  dns.start();
  // Its own thread (see tls/acme/manager.h); what it stores, the reloader above serves.
  std::unique_ptr<tls::acme::Manager> acme;
  if (config_.acme) {
    acme = std::make_unique<tls::acme::Manager>(*config_.acme);
    acme->start();
  }
  SignalHandler signals(main_loop, [&](int signo) {
    if (signo == SIGHUP) {
      certificates.reloadAll();
      if (acme) acme->checkNow();
      return;
    }
    if (draining_) {
      PLOG_WARN("second {} during drain: closing all connections now", strsignal(signo));
      for (auto& w : workers_) w->forceStop();
      return;
    }
    draining_ = true;
    health.stop();  // a draining process routes no new requests: no need to keep probing
    dns.stop();
    PLOG_INFO("{}: draining (stop accepting, finish in-flight requests, up to {} ms)",
              strsignal(signo), drain_timeout_ms);
    for (auto& w : workers_) w->drain();
    drain_deadline.armAfterMs(drain_timeout_ms);
    check_timer.armAfterMs(10);
  });
  main_loop.run();
  if (acme) acme->stop();
  for (auto& w : workers_) w->forceStop();
  for (auto& w : workers_) w->join();
  workers_.clear();
  outliers_.reset();  // its timers belong to the main loop, which ends with this function
  admin.reset();
  hosts_.reset();  // so does the slow-start ramp timer
  main_loop_ = nullptr;
  if (access_log_) access_log_->flushAndStop();
  PLOG_INFO("shutdown complete");
  return 0;
}

}  // namespace portico::server
