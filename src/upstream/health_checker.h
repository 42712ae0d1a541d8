#pragma once
// HealthChecker: active health checks of every endpoint of every cluster that has
// `health_check:`, run once per process on the main thread's event loop (workers never probe:
// N workers probing would multiply the load on backends and could disagree).
//
// Each endpoint has its own timer: a probe (health_probe.h) every `interval` plus a random
// jitter, never two at once for one endpoint. Results feed the endpoint's HealthState; when a
// threshold is crossed the host's FailedActiveCheck flag changes, one line is logged, and the
// HostPublisher hands every worker a new host set. Hosts start healthy, also those DNS
// discovery adds later (hostsChanged): their checks start at once; hosts that leave stop
// being probed.

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "event/event_loop.h"
#include "upstream/cluster_manager.h"
#include "upstream/health_probe.h"
#include "upstream/health_state.h"
#include "upstream/host_list.h"
#include "upstream/host_publisher.h"

namespace portico::upstream {

class HealthChecker final : public HostListObserver {
 public:
  // `clusters` and `publisher` outlive the checker; all of it runs on `loop`'s thread.
  HealthChecker(event::EventLoop& loop, const std::vector<std::unique_ptr<ClusterState>>& clusters,
                HostPublisher& publisher);
  ~HealthChecker();
  HealthChecker(const HealthChecker&) = delete;
  HealthChecker& operator=(const HealthChecker&) = delete;

  // Arms the first check of every endpoint (spread over the first jitter). Logs what it checks.
  void start();
  // Stops probing (drain): probes in flight are abandoned, hosts keep their state.
  void stop();
  size_t endpointCount() const { return checks_.size(); }
  // HostListObserver (DNS discovery): probe hosts that joined, forget those that left.
  void hostsChanged(size_t cluster_index, const std::vector<HostPtr>& added,
                    const std::vector<HostPtr>& removed) override;

 private:
  struct EndpointCheck {
    EndpointCheck(HealthChecker& owner, size_t cluster_index, ClusterState& cluster, HostPtr host);
    HealthChecker& owner;
    size_t cluster_index;
    ClusterState& cluster;
    HostPtr host_ref;  // kept alive while probed, even after it left the cluster's list
    Host& host;
    HealthState state;
    event::Timer timer;
    std::unique_ptr<HealthProbe> probe;  // the one in flight, if any
  };
  void probe(EndpointCheck& check);
  void onResult(EndpointCheck& check, bool healthy, const std::string& why);
  void armNext(EndpointCheck& check, int64_t base_ms);

  event::EventLoop& loop_;
  const std::vector<std::unique_ptr<ClusterState>>& clusters_;
  HostPublisher& publisher_;
  std::vector<std::unique_ptr<EndpointCheck>> checks_;
  std::mt19937_64 random_;
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace portico::upstream
