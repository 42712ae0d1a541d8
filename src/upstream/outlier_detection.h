#pragma once
// Passive outlier detection: hosts that keep failing real traffic are taken out of balancing
// for a while, then come back on their own.
//
// Two halves on two threads:
//  - workers count, per host, consecutive failures of the kinds configured (countOutcome(),
//    called for every attempt outcome; the counts are relaxed atomics on the Host, shared by
//    all workers, because a host's failure streak is the same whichever worker saw it). When a
//    count reaches its threshold the worker reports the host (OutlierReporter, which posts to
//    the main thread) and the count starts again;
//  - the main thread's OutlierDetector decides: it ejects the host unless that would take
//    more than max_ejection_percent of the cluster out, sets HealthFlag::OutlierEjected,
//    publishes a new host set, and brings the host back after base_ejection_time x the number
//    of times it was ejected (capped by max_ejection_time).
// Ejection only removes a host from the candidates: panic_threshold still applies, so a
// cluster whose hosts all fail keeps balancing over all of them.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "event/event_loop.h"
#include "upstream/cluster_config.h"
#include "upstream/host.h"
#include "upstream/host_list.h"
#include "upstream/load_balancer.h"

namespace portico::upstream {

struct ClusterState;
class HostPublisher;

enum class EjectReason { Consecutive5xx, ConsecutiveGatewayErrors, ConsecutiveConnectFailures };
const char* ejectReasonName(EjectReason reason);

// Worker thread: counts `outcome` into the host's streaks; returns the reason when a streak
// just reached its threshold (and restarts it).
std::optional<EjectReason> countOutcome(Host& host, const AttemptOutcome& outcome,
                                        const OutlierDetectionConfig& config);

// Any thread: a host reached a threshold. The server's implementation posts to the main loop.
class OutlierReporter {
 public:
  virtual ~OutlierReporter() = default;
  virtual void reportOutlier(size_t cluster_index, uint32_t host_index, EjectReason reason) = 0;
};

class OutlierDetector final : public HostListObserver {
 public:
  OutlierDetector(event::EventLoop& main_loop,
                  const std::vector<std::unique_ptr<ClusterState>>& clusters,
                  HostPublisher& publisher);
  ~OutlierDetector();
  // Main thread. A host that is no longer in the cluster is ignored.
  void eject(size_t cluster_index, uint32_t host_index, EjectReason reason);
  // HostListObserver (DNS discovery): forgets hosts that left.
  void hostsChanged(size_t cluster_index, const std::vector<HostPtr>& added,
                    const std::vector<HostPtr>& removed) override;

 private:
  struct Ejection {
    std::unique_ptr<event::Timer> timer;
    uint32_t times = 0;  // ejections so far: the next one lasts longer
    bool ejected = false;
  };
  void restore(size_t cluster_index, uint32_t host_index);
  size_t ejectedCount(size_t cluster_index) const;

  event::EventLoop& loop_;
  const std::vector<std::unique_ptr<ClusterState>>& clusters_;
  HostPublisher& publisher_;
  std::map<std::pair<size_t, uint32_t>, Ejection> ejections_;
};

}  // namespace portico::upstream
