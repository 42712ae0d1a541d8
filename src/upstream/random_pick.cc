#include "upstream/random_pick.h"

#include <algorithm>
#include <utility>

namespace portico::upstream {

size_t sampleAllowed(const std::vector<HostPtr>& candidates, const HostExclusions& avoid,
                     LbRandom& random, size_t k, Host** out, std::vector<Host*>& scratch) {
  const size_t n = candidates.size();
  if (n == 0 || k == 0) return 0;
  // Draws with rejection: uniform over the allowed hosts whenever it finishes, because the
  // allowed hosts are interchangeable in how the draws go.
  size_t chosen = 0;
  for (size_t draws = 0; draws < 4 * k && chosen < k; ++draws) {
    Host* h = candidates[random.below(n)].get();
    if (avoid.has(*h) || std::find(out, out + chosen, h) != out + chosen) continue;
    out[chosen++] = h;
  }
  if (chosen == k) return k;
  // Many are avoided (or the cluster is small): list the allowed ones and shuffle the first
  // k of them into place (a partial Fisher-Yates).
  scratch.clear();
  for (const HostPtr& h : candidates) {
    if (!avoid.has(*h)) scratch.push_back(h.get());
  }
  const size_t take = std::min(k, scratch.size());
  for (size_t i = 0; i < take; ++i) {
    std::swap(scratch[i], scratch[i + random.below(scratch.size() - i)]);
    out[i] = scratch[i];
  }
  return take;
}

}  // namespace portico::upstream
