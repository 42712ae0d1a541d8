// Cost of one balancer pick at 10, 100 and 10,000 endpoints, with nothing to avoid (the common
// case: a request's first attempt). Build with -DPORTICO_BENCH=ON; run build/lb_bench.
//
// Endpoint weights cycle 1..5 so the weighted algorithms do real work. The load-aware ones
// read in-flight counts that stay 0 here (no request is started), so this is the pick alone;
// peak_ewma has one observation per host first, so it compares real estimates and reads the
// clock as it does in service.

#include <benchmark/benchmark.h>

#include <vector>

#include "upstream/host_set.h"
#include "upstream/load_balancer.h"

namespace portico {
namespace {

void pickCost(benchmark::State& state, upstream::LbPolicy policy) {
  const auto n = static_cast<uint32_t>(state.range(0));
  upstream::ClusterConfig config;
  config.lb = policy;
  std::vector<upstream::HostPtr> hosts;
  for (uint32_t i = 0; i < n; ++i) {
    upstream::EndpointConfig e;
    e.weight = 1 + i % 5;
    hosts.push_back(std::make_shared<upstream::Host>(e, i));
  }
  auto lb = upstream::makeLoadBalancer(config, /*seed=*/1);
  lb->setHosts(upstream::HostSet::build(hosts, 50));
  for (uint32_t i = 0; i < n; ++i) {
    upstream::AttemptOutcome outcome;
    outcome.status = 200;
    outcome.latency_ms = 1 + i % 50;
    lb->onAttemptOutcome(*hosts[i], outcome);
  }
  upstream::HostExclusions none;
  upstream::LoadBalancerContext context;
  context.avoid = &none;
  for (auto _ : state) benchmark::DoNotOptimize(lb->pick(context));
}

void BM_PickRoundRobin(benchmark::State& s) {
  pickCost(s, upstream::LbPolicy::RoundRobin);
}
void BM_PickWeightedRoundRobin(benchmark::State& s) {
  pickCost(s, upstream::LbPolicy::WeightedRoundRobin);
}
void BM_PickRandom(benchmark::State& s) {
  pickCost(s, upstream::LbPolicy::Random);
}
void BM_PickLeastRequest(benchmark::State& s) {
  pickCost(s, upstream::LbPolicy::LeastRequest);
}
void BM_PickPeakEwma(benchmark::State& s) {
  pickCost(s, upstream::LbPolicy::PeakEwma);
}

BENCHMARK(BM_PickRoundRobin)->Arg(10)->Arg(100)->Arg(10000);
BENCHMARK(BM_PickWeightedRoundRobin)->Arg(10)->Arg(100)->Arg(10000);
BENCHMARK(BM_PickRandom)->Arg(10)->Arg(100)->Arg(10000);
BENCHMARK(BM_PickLeastRequest)->Arg(10)->Arg(100)->Arg(10000);
BENCHMARK(BM_PickPeakEwma)->Arg(10)->Arg(100)->Arg(10000);

}  // namespace
}  // namespace portico
