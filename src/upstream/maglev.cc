#include "upstream/maglev.h"

#include <algorithm>
#include <string>
#include <utility>

namespace portico::upstream {
namespace {

// Seeds of the two hashes of a host's address that make its permutation, and of the
// rehashes of a key whose entry holds an avoided host. Arbitrary, but fixed forever: changing
// them remaps every key.
constexpr uint64_t kOffsetSeed = 0x6d61676c65762d6full;  // "maglev-o"
constexpr uint64_t kSkipSeed = 0x6d61676c65762d73ull;    // "maglev-s"
constexpr uint64_t kRehashSeed = 0x6d61676c65762d72ull;  // "maglev-r"
constexpr int kRehashes = 3;
constexpr uint32_t kEmpty = UINT32_MAX;

struct Permutation {
  uint32_t slot;  // position in candidates()
  std::string identity;
  uint64_t offset;
  uint64_t skip;
  uint64_t next = 0;  // how far along its preferences the host got
  uint64_t credit = 0;
};

}  // namespace

void MaglevBalancer::setHosts(const HostSetPtr& hosts) {
  const HostSetPtr previous = std::exchange(hosts_, hosts);
  if (previous && previous->candidates() == hosts->candidates()) return;
  table_.clear();
  const auto& candidates = hosts->candidates();
  if (candidates.empty()) return;
  const uint64_t size = config_.table_size;
  std::vector<Permutation> perms;
  perms.reserve(candidates.size());
  uint64_t max_weight = 0;
  for (uint32_t slot = 0; slot < candidates.size(); ++slot) {
    const Host& h = *candidates[slot];
    std::string identity = hashIdentity(h);
    const uint64_t offset = hash64(identity, kOffsetSeed) % size;
    const uint64_t skip = hash64(identity, kSkipSeed) % (size - 1) + 1;
    perms.push_back({slot, std::move(identity), offset, skip});
    max_weight = std::max<uint64_t>(max_weight, h.weight());
  }
  // Hosts take their turns in address order, not configuration order: when two want the
  // same entry the first wins, and two processes listing the endpoints differently must
  // still build the same table.
  std::sort(perms.begin(), perms.end(),
            [](const Permutation& a, const Permutation& b) { return a.identity < b.identity; });
  table_.assign(size, kEmpty);
  uint64_t filled = 0;
  // Each round every host earns its weight in credit and takes a turn per max_weight of it:
  // the heaviest hosts claim an entry every round, a host of half their weight every other.
  while (filled < size) {
    for (size_t turn = 0; turn < perms.size() && filled < size; ++turn) {
      Permutation& p = perms[turn];
      p.credit += candidates[p.slot]->weight();
      if (p.credit < max_weight) continue;
      p.credit -= max_weight;
      // The size is prime and 0 < skip < size, so the preferences visit every entry.
      uint64_t entry = (p.offset + p.next * p.skip) % size;
      while (table_[entry] != kEmpty) {
        ++p.next;
        entry = (p.offset + p.next * p.skip) % size;
      }
      ++p.next;
      table_[entry] = p.slot;
      ++filled;
    }
  }
}

Host* MaglevBalancer::pick(const LoadBalancerContext& context) {
  if (table_.empty()) return nullptr;
  const auto& candidates = hosts_->candidates();
  const uint64_t key = context.hash_key ? *context.hash_key : random_.next();
  const size_t first = key % table_.size();
  Host* host = candidates[table_[first]].get();
  if (!context.avoid->has(*host)) return host;
  for (int i = 1; i <= kRehashes; ++i) {
    host = candidates[table_[mix64(key ^ (kRehashSeed + i)) % table_.size()]].get();
    if (!context.avoid->has(*host)) return host;
  }
  for (size_t step = 1, at = first + 1; step < table_.size(); ++step, ++at) {
    if (at == table_.size()) at = 0;
    host = candidates[table_[at]].get();
    if (!context.avoid->has(*host)) return host;
  }
  return nullptr;
}

std::vector<size_t> MaglevBalancer::entriesPerCandidate() const {
  std::vector<size_t> counts(hosts_ ? hosts_->candidates().size() : 0, 0);
  for (uint32_t slot : table_) ++counts[slot];
  return counts;
}

}  // namespace portico::upstream
