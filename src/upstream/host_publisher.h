#pragma once
// HostPublisher: the main thread's way to change what workers balance over. Whoever changes a
// host's health (active health checks, outlier detection) or a cluster's membership (DNS)
// does so on the main thread and then calls publish(): a new immutable HostSet is built from
// every host's current flags and handed to each worker (HostSetSink, implemented by the
// server: one posted task per worker), which swaps it in between picks.
//
// Slow start (upstream/slow_start.h) is kept here too: publish() notes each host that joined
// the healthy set since the cluster's last set (it turned healthy, or it is new) in
// Host::healthySinceMs(), and while some host of a cluster ramps, a timer on the main loop
// republishes that cluster's set every rampTickMs() so the ramp advances in the workers.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "event/event_loop.h"
#include "upstream/cluster_manager.h"
#include "upstream/host_set.h"

namespace portico::upstream {

class HostSetSink {
 public:
  virtual ~HostSetSink() = default;
  // Main thread: make every worker balance cluster `cluster_index` over `set`.
  virtual void deliverHostSet(size_t cluster_index, HostSetPtr set) = 0;
};

class HostPublisher {
 public:
  // Milliseconds on a monotonic clock; injected so tests control time.
  using Clock = std::function<int64_t()>;
  // `loop`: the main loop, for the ramp timers; null (tests) means no timer: ramps advance
  // only when publish() or advanceRamps() is called.
  HostPublisher(const std::vector<std::unique_ptr<ClusterState>>& clusters, HostSetSink& sink,
                event::EventLoop* loop = nullptr, Clock now_ms = event::monotonicNowMs);
  ~HostPublisher();
  HostPublisher(const HostPublisher&) = delete;
  HostPublisher& operator=(const HostPublisher&) = delete;
  // Main thread. Logs how many endpoints are healthy, and when the cluster enters or leaves
  // panic. Returns the set it delivered.
  HostSetPtr publish(size_t cluster_index);
  // Main thread: republishes, quietly, every cluster whose last set was ramping (what the ramp
  // timer does). Returns how many it republished.
  size_t advanceRamps();

 private:
  struct ClusterRecord {
    bool panic = false;  // last published panic state
    // Whether each host (by index) was healthy in the last set; hosts beyond it are new.
    std::vector<bool> healthy;
    bool ramping = false;  // the last set had a host in slow start
  };
  HostSetPtr build(size_t cluster_index);
  void armRampTimer();

  const std::vector<std::unique_ptr<ClusterState>>& clusters_;
  HostSetSink& sink_;
  Clock now_ms_;
  std::vector<ClusterRecord> records_;  // by cluster index
  std::unique_ptr<event::Timer> ramp_timer_;
};

}  // namespace portico::upstream
