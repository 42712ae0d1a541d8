// Micro benchmarks of the consistent-hashing balancers (lb: ring_hash, lb: maglev): the cost
// of one pick with a hash key, and of building the ring or table for a new host set, at 10,
// 100 and 10,000 endpoints. Build with -DPORTICO_BENCH=ON; run build/hash_lb_bench.

#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "upstream/hash.h"
#include "upstream/load_balancer.h"

namespace portico {
namespace {

// `count` hosts on 10.x.y.z:8080 with weights 1..5, as a published host set.
upstream::HostSetPtr hostSet(int64_t count) {
  std::vector<upstream::HostPtr> hosts;
  for (int64_t i = 0; i < count; ++i) {
    upstream::EndpointConfig e;
    const std::string text = "10." + std::to_string((i >> 16) & 255) + "." +
                             std::to_string((i >> 8) & 255) + "." + std::to_string(i & 255) +
                             ":8080";
    net::parseAddress(text, &e.address);
    e.address_text = text;
    e.weight = static_cast<uint32_t>(1 + i % 5);
    hosts.push_back(std::make_shared<upstream::Host>(e, static_cast<uint32_t>(i)));
  }
  return upstream::HostSet::build(std::move(hosts), 50);
}

upstream::ClusterConfig withPolicy(upstream::LbPolicy policy) {
  upstream::ClusterConfig c;
  c.lb = policy;
  return c;
}

// One pick per iteration, each with another key (as distinct requests have).
void pickCost(benchmark::State& state, upstream::LbPolicy policy) {
  auto lb = upstream::makeLoadBalancer(withPolicy(policy), 1);
  lb->setHosts(hostSet(state.range(0)));
  upstream::HostExclusions none;
  upstream::LoadBalancerContext context;
  context.avoid = &none;
  uint64_t i = 0;
  for (auto _ : state) {
    context.hash_key = upstream::mix64(++i);
    benchmark::DoNotOptimize(lb->pick(context));
  }
}

// Building the ring or table for a new host set (what each worker does when one arrives).
void setupCost(benchmark::State& state, upstream::LbPolicy policy) {
  // Two sets with different candidates, alternated: the same set twice is not rebuilt.
  upstream::HostSetPtr sets[2] = {hostSet(state.range(0)), hostSet(state.range(0))};
  auto lb = upstream::makeLoadBalancer(withPolicy(policy), 1);
  int which = 0;
  for (auto _ : state) {
    lb->setHosts(sets[which]);
    which ^= 1;
  }
}

void BM_RingHashPick(benchmark::State& state) {
  pickCost(state, upstream::LbPolicy::RingHash);
}
void BM_MaglevPick(benchmark::State& state) {
  pickCost(state, upstream::LbPolicy::Maglev);
}
void BM_RingHashSetup(benchmark::State& state) {
  setupCost(state, upstream::LbPolicy::RingHash);
}
void BM_MaglevSetup(benchmark::State& state) {
  setupCost(state, upstream::LbPolicy::Maglev);
}
void BM_Hash64Key(benchmark::State& state) {
  const std::string key = "session-7e5afae2-c130-4010-bccc-7e8fd38c1872";
  for (auto _ : state) benchmark::DoNotOptimize(upstream::hash64(key));
}

BENCHMARK(BM_RingHashPick)->Arg(10)->Arg(100)->Arg(10000);
BENCHMARK(BM_MaglevPick)->Arg(10)->Arg(100)->Arg(10000);
BENCHMARK(BM_RingHashSetup)->Arg(10)->Arg(100)->Arg(10000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_MaglevSetup)->Arg(10)->Arg(100)->Arg(10000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Hash64Key);

}  // namespace
}  // namespace portico
