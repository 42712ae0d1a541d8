// Ring hash and Maglev: weights, avoidance, stability across workers and processes, and how
// few keys move when a host leaves.

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "upstream/hash.h"
#include "upstream/load_balancer.h"
#include "upstream/maglev.h"
#include "upstream/ring_hash.h"

namespace portico::upstream {
namespace {

HostPtr makeHost(uint16_t port, uint32_t weight, uint32_t index) {
  EndpointConfig e;
  EXPECT_TRUE(net::parseAddress("127.0.0.1:" + std::to_string(port), &e.address));
  e.address_text = e.address.toString();
  e.weight = weight;
  return std::make_shared<Host>(e, index);
}

// Hosts on ports 9000, 9001, ... with the given weights.
std::vector<HostPtr> hostsWithWeights(const std::vector<uint32_t>& weights) {
  std::vector<HostPtr> hosts;
  for (uint32_t w : weights) {
    hosts.push_back(makeHost(static_cast<uint16_t>(9000 + hosts.size()), w,
                             static_cast<uint32_t>(hosts.size())));
  }
  return hosts;
}

ClusterConfig config(LbPolicy policy) {
  ClusterConfig c;
  c.lb = policy;
  return c;
}

struct Picker {
  Picker(const ClusterConfig& c, const std::vector<HostPtr>& hosts, uint64_t seed = 0)
      : lb(makeLoadBalancer(c, seed)) {
    lb->setHosts(HostSet::build(hosts, 50));
    context.avoid = &avoid;
  }
  // The port of the host chosen for `key`; 0 for none.
  uint16_t pick(std::optional<uint64_t> key) {
    context.hash_key = key;
    Host* h = lb->pick(context);
    return h == nullptr ? 0 : h->address().port();
  }
  std::unique_ptr<LoadBalancer> lb;
  HostExclusions avoid;
  LoadBalancerContext context;
};

uint64_t keyOf(int i) {
  return hash64("user-" + std::to_string(i));
}

class HashLbTest : public ::testing::TestWithParam<LbPolicy> {};

TEST(HashTest, IsStableAcrossRunsAndBuilds) {
  // Fixed values: a change here remaps every key of every deployment, so it must be noticed.
  EXPECT_EQ(hash64(""), hash64("", 0));
  EXPECT_EQ(hash64("10.0.0.1:80"), 0x2da91510f1f94a1dull) << std::hex << hash64("10.0.0.1:80");
  EXPECT_NE(hash64("10.0.0.1:80"), hash64("10.0.0.2:80"));
  EXPECT_NE(hash64("10.0.0.1:80", 1), hash64("10.0.0.1:80", 2));
  // The final mix spreads a one-byte difference over the high bits too.
  EXPECT_NE(hash64("a") >> 48, hash64("b") >> 48);
}

TEST_P(HashLbTest, SameKeySameHostOnEveryWorker) {
  auto hosts = hostsWithWeights({1, 1, 1, 1, 1});
  Picker worker0(config(GetParam()), hosts, 0);
  Picker worker1(config(GetParam()), hosts, 12345);
  for (int i = 0; i < 1000; ++i) {
    const uint16_t port = worker0.pick(keyOf(i));
    ASSERT_NE(port, 0);
    EXPECT_EQ(worker1.pick(keyOf(i)), port);
    EXPECT_EQ(worker0.pick(keyOf(i)), port);
  }
}

TEST_P(HashLbTest, MappingFollowsAddressesNotConfigOrder) {
  // Two processes listing the same endpoints in another order map keys alike.
  // (Maglev: when two hosts want the same table entry, which one wins must not depend on
  // the order they were listed in.)
  auto forward = hostsWithWeights({1, 2, 1, 3, 1, 1, 2, 1, 1, 1});
  std::vector<HostPtr> backward;
  for (size_t i = forward.size(); i-- > 0;) {
    backward.push_back(makeHost(forward[i]->address().port(), forward[i]->weight(),
                                static_cast<uint32_t>(backward.size())));
  }
  Picker a(config(GetParam()), forward);
  Picker b(config(GetParam()), backward);
  int differ = 0;
  for (int i = 0; i < 50000; ++i) differ += a.pick(keyOf(i)) != b.pick(keyOf(i));
  EXPECT_EQ(differ, 0);
}

TEST_P(HashLbTest, RemovingOneOfFiveMovesOnlyAboutAFifth) {
  auto five = hostsWithWeights({1, 1, 1, 1, 1});
  std::vector<HostPtr> four(five.begin(), five.begin() + 2);
  four.insert(four.end(), five.begin() + 3, five.end());
  Picker before(config(GetParam()), five);
  Picker after(config(GetParam()), four);
  int moved = 0;
  int moved_from_remaining = 0;
  constexpr int kKeys = 20000;
  for (int i = 0; i < kKeys; ++i) {
    const uint16_t was = before.pick(keyOf(i));
    const uint16_t now = after.pick(keyOf(i));
    EXPECT_NE(now, 9002);
    if (was == now) continue;
    ++moved;
    if (was != 9002) ++moved_from_remaining;
  }
  EXPECT_LE(moved, kKeys * 25 / 100);
  // Keys of the hosts that stayed hardly move (Maglev may reshuffle a few entries).
  EXPECT_LE(moved_from_remaining, kKeys / 100);
}

TEST_P(HashLbTest, AvoidedHostGoesToAnotherHostDeterministically) {
  auto hosts = hostsWithWeights({1, 1, 1, 1});
  Picker p(config(GetParam()), hosts);
  Picker q(config(GetParam()), hosts, 99);
  std::map<uint16_t, int> fallbacks;
  for (int i = 0; i < 2000; ++i) {
    const uint16_t first = p.pick(keyOf(i));
    p.avoid.reset(4);
    q.avoid.reset(4);
    p.avoid.add(*hosts[first - 9000]);
    q.avoid.add(*hosts[first - 9000]);
    const uint16_t second = p.pick(keyOf(i));
    EXPECT_NE(second, first);
    EXPECT_NE(second, 0);
    EXPECT_EQ(q.pick(keyOf(i)), second);
    ++fallbacks[second];
    p.avoid.clear();
    q.avoid.clear();
  }
  // The retries of one host's keys spread over the others rather than all on one neighbour.
  EXPECT_EQ(fallbacks.size(), 4u);
  for (auto& [port, n] : fallbacks) EXPECT_GT(n, 2000 / 4 / 3 / 2) << port;
}

TEST_P(HashLbTest, NothingWhenEveryHostIsAvoided) {
  auto hosts = hostsWithWeights({1, 2, 3});
  Picker p(config(GetParam()), hosts);
  for (const HostPtr& h : hosts) p.avoid.add(*h);
  EXPECT_EQ(p.pick(keyOf(1)), 0);
  EXPECT_EQ(p.pick(std::nullopt), 0);
  Picker empty(config(GetParam()), {});
  EXPECT_EQ(empty.pick(keyOf(1)), 0);
}

// Share of `picks` keys per port.
std::map<uint16_t, double> shares(Picker& p, int picks, bool keyed) {
  std::map<uint16_t, double> out;
  for (int i = 0; i < picks; ++i) out[p.pick(keyed ? std::optional(keyOf(i)) : std::nullopt)] += 1;
  for (auto& [port, n] : out) n /= picks;
  return out;
}

TEST_P(HashLbTest, SharesFollowWeightsWithAndWithoutKeys) {
  ClusterConfig c = config(GetParam());
  c.ring_hash.minimum_ring_size = 16384;  // enough points per host for a tight check
  auto hosts = hostsWithWeights({1, 2, 3, 4});
  Picker p(c, hosts, 7);
  for (bool keyed : {true, false}) {
    auto got = shares(p, 100000, keyed);
    for (uint32_t i = 0; i < 4; ++i) {
      const double want = (i + 1) / 10.0;
      EXPECT_NEAR(got[static_cast<uint16_t>(9000 + i)], want, want * 0.10)
          << "host " << i << (keyed ? " keyed" : " random");
    }
  }
}

TEST_P(HashLbTest, ManyHostsAllServe) {
  std::vector<uint32_t> weights(1000, 1);
  auto hosts = hostsWithWeights(weights);
  ClusterConfig c = config(GetParam());
  Picker p(c, hosts);
  auto got = shares(p, 200000, true);
  EXPECT_GE(got.size(), 990u);
  EXPECT_EQ(got.count(0), 0u);
}

INSTANTIATE_TEST_SUITE_P(Policies, HashLbTest,
                         ::testing::Values(LbPolicy::RingHash, LbPolicy::Maglev),
                         [](const auto& param_info) {
                           return param_info.param == LbPolicy::RingHash ? std::string("RingHash")
                                                                         : std::string("Maglev");
                         });

TEST(RingHashTest, RingSizeStaysWithinBoundsAndKeepsDensityAcrossSmallChanges) {
  RingHashConfig rc;
  RingHashBalancer ring(rc, 0);
  ring.setHosts(HostSet::build(hostsWithWeights({1, 1, 1, 1, 1}), 50));
  EXPECT_EQ(ring.ringSize(), 5u * 256);  // 1024 / 5 rounded up to a power of two
  ring.setHosts(HostSet::build(hostsWithWeights({1, 1, 1, 1}), 50));
  EXPECT_EQ(ring.ringSize(), 4u * 256);  // same density: the remaining hosts keep their points
  rc.maximum_ring_size = 100;
  RingHashBalancer capped(rc, 0);
  capped.setHosts(HostSet::build(hostsWithWeights(std::vector<uint32_t>(300, 1)), 50));
  EXPECT_EQ(capped.ringSize(), 300u);  // every host keeps one point even over the maximum
}

TEST(MaglevTest, TableEntriesFollowWeights) {
  MaglevConfig mc;
  MaglevBalancer maglev(mc, 0);
  maglev.setHosts(HostSet::build(hostsWithWeights({1, 2, 5}), 50));
  const std::vector<size_t> entries = maglev.entriesPerCandidate();
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0] + entries[1] + entries[2], 65537u);
  EXPECT_NEAR(static_cast<double>(entries[0]) / 65537, 1.0 / 8, 0.01);
  EXPECT_NEAR(static_cast<double>(entries[1]) / 65537, 2.0 / 8, 0.01);
  EXPECT_NEAR(static_cast<double>(entries[2]) / 65537, 5.0 / 8, 0.01);
}

}  // namespace
}  // namespace portico::upstream
