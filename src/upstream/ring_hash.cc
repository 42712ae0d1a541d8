#include "upstream/ring_hash.h"

#include <algorithm>
#include <bit>
#include <numeric>
#include <utility>

namespace portico::upstream {
namespace {

// Points per unit of weight. The smallest power of two that gives the ring at least
// minimum_ring_size points: a power of two so that the density (and so every remaining host's
// points) stays the same when a host joins or leaves, unless the total weight crosses a
// factor of two. A changed density would move keys between hosts that stayed.
uint64_t pointsPerWeight(const RingHashConfig& config, uint64_t total_weight) {
  const uint64_t wanted = (config.minimum_ring_size + total_weight - 1) / total_weight;
  uint64_t per = std::bit_ceil(std::max<uint64_t>(wanted, 1));
  while (per > 1 && per * total_weight > config.maximum_ring_size) per /= 2;
  return per;
}

}  // namespace

void RingHashBalancer::setHosts(const HostSetPtr& hosts) {
  const HostSetPtr previous = std::exchange(hosts_, hosts);
  // A new set with the same candidates (a health flag that changed nothing, say) keeps the
  // ring: building it is the expensive part.
  if (previous && previous->candidates() == hosts->candidates()) return;
  points_.clear();
  owners_.clear();
  const auto& candidates = hosts->candidates();
  if (candidates.empty()) return;
  const uint64_t total_weight =
      std::accumulate(candidates.begin(), candidates.end(), uint64_t{0},
                      [](uint64_t sum, const HostPtr& h) { return sum + h->weight(); });
  const uint64_t per_weight = pointsPerWeight(config_, total_weight);
  // Above maximum_ring_size even at one point per weight unit: shares shrink, but every host
  // keeps at least one point.
  const double shrink =
      per_weight * total_weight > config_.maximum_ring_size
          ? static_cast<double>(config_.maximum_ring_size) / static_cast<double>(total_weight)
          : 1.0;
  std::vector<std::pair<uint64_t, uint32_t>> ring;
  for (uint32_t slot = 0; slot < candidates.size(); ++slot) {
    const Host& host = *candidates[slot];
    const uint64_t count = std::max<uint64_t>(
        1, static_cast<uint64_t>(static_cast<double>(host.weight() * per_weight) * shrink));
    const std::string identity = hashIdentity(host);
    for (uint64_t i = 0; i < count; ++i) ring.emplace_back(hash64(identity, i), slot);
  }
  // Ties (vanishingly rare) are broken by slot so every worker sorts alike.
  std::sort(ring.begin(), ring.end());
  points_.reserve(ring.size());
  owners_.reserve(ring.size());
  for (const auto& [point, slot] : ring) {
    points_.push_back(point);
    owners_.push_back(slot);
  }
}

Host* RingHashBalancer::pick(const LoadBalancerContext& context) {
  if (points_.empty()) return nullptr;
  const uint64_t key = context.hash_key ? *context.hash_key : random_.next();
  size_t at =
      static_cast<size_t>(std::lower_bound(points_.begin(), points_.end(), key) - points_.begin());
  const auto& candidates = hosts_->candidates();
  // Walk on past avoided hosts; once a whole turn found none, every candidate is avoided.
  for (size_t step = 0; step < points_.size(); ++step, ++at) {
    if (at == points_.size()) at = 0;
    Host* host = candidates[owners_[at]].get();
    if (!context.avoid->has(*host)) return host;
  }
  return nullptr;
}

}  // namespace portico::upstream
