// Micro benchmarks for the hot-path pieces: the HTTP/1 parser, the header map, buffer moves
// and a load balancer pick (lb_bench.cc compares the balancers). Build with -DPORTICO_BENCH=ON; run
// build/core_bench.

#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "buffer/buffer.h"
#include "http/header_map.h"
#include "http1/parser.h"
#include "upstream/load_balancer.h"

namespace portico {
namespace {

const std::string kRequest =
    "GET /api/v1/users/12345?fields=name,email HTTP/1.1\r\n"
    "Host: api.example.com\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36\r\n"
    "Accept: application/json\r\n"
    "Accept-Encoding: gzip, deflate, br\r\n"
    "Accept-Language: en-US,en;q=0.9\r\n"
    "Cookie: session=abcdef0123456789; theme=dark\r\n"
    "X-Request-Id: 7e5afae2-c130-4010-bccc-7e8fd38c1872\r\n"
    "Connection: keep-alive\r\n\r\n";

void BM_ParseRequest(benchmark::State& state) {
  http::RequestHead head;
  http1::RequestParser parser(&head, http1::ParserLimits{});
  for (auto _ : state) {
    parser.reset();
    auto r = parser.feed(kRequest.data(), kRequest.size());
    benchmark::DoNotOptimize(r);
    r = parser.feed(nullptr, 0);
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kRequest.size()));
}
BENCHMARK(BM_ParseRequest);

void BM_HeaderMapFillAndLookup(benchmark::State& state) {
  http::HeaderMap h;
  for (auto _ : state) {
    h.clear();
    h.add("Host", "api.example.com");
    h.add("User-Agent", "bench");
    h.add("Accept", "*/*");
    h.add("Connection", "keep-alive");
    h.add("Content-Length", "0");
    benchmark::DoNotOptimize(h.get("content-length"));
    h.remove("Connection");
    h.set("Via", "1.1 portico");
  }
}
BENCHMARK(BM_HeaderMapFillAndLookup);

void BM_BufferMove64k(benchmark::State& state) {
  buffer::Buffer src, dst;
  std::string chunk(65536, 'x');
  for (auto _ : state) {
    src.append(chunk);
    dst.moveFrom(src);
    dst.drain(dst.length());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * chunk.size()));
}
BENCHMARK(BM_BufferMove64k);

void BM_WeightedRoundRobinPick(benchmark::State& state) {
  upstream::ClusterConfig c;
  c.lb = upstream::LbPolicy::WeightedRoundRobin;
  std::vector<upstream::HostPtr> hosts;
  for (uint32_t i = 0; i < 16; ++i) {
    upstream::EndpointConfig e;
    e.weight = 1 + i % 5;
    hosts.push_back(std::make_shared<upstream::Host>(e, i));
  }
  auto lb = upstream::makeLoadBalancer(c, /*seed=*/0);
  lb->setHosts(upstream::HostSet::build(hosts, 50));
  upstream::HostExclusions none;
  upstream::LoadBalancerContext context;
  context.avoid = &none;
  for (auto _ : state) benchmark::DoNotOptimize(lb->pick(context));
}
BENCHMARK(BM_WeightedRoundRobinPick);

}  // namespace
}  // namespace portico
