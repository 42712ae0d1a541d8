#pragma once
// Latency as a small fixed histogram with log-spaced (power of two) millisecond buckets.
//
// LatencyHistogram is written by one thread (see counter.h); LatencySummary is a plain copy a
// reader sums from any number of histograms (workers, endpoints) and asks for count, mean,
// max and approximate quantiles. A quantile is interpolated inside its bucket, so it is off by
// at most the bucket's width (a factor of two), which is what a status page needs; exact
// percentiles would need every sample.

#include <array>
#include <cstddef>
#include <cstdint>

#include "stats/counter.h"

namespace portico::stats {

// Bucket 0 holds [0, 1) ms, bucket i (i >= 1) holds [2^(i-1), 2^i) ms, and the last one
// everything from 2^(kLatencyBuckets-2) ms (about 65 s) up.
inline constexpr size_t kLatencyBuckets = 18;

size_t latencyBucket(int64_t ms);

class LatencyHistogram {
 public:
  void record(int64_t ms);
  const Counter& bucket(size_t i) const { return buckets_[i]; }
  uint64_t sumMs() const { return sum_ms_.value(); }
  uint64_t maxMs() const { return max_ms_.value(); }

 private:
  std::array<Counter, kLatencyBuckets> buckets_;
  Counter sum_ms_;
  MaxGauge max_ms_;
};

struct LatencySummary {
  std::array<uint64_t, kLatencyBuckets> buckets{};
  uint64_t count = 0;
  uint64_t sum_ms = 0;
  uint64_t max_ms = 0;

  void add(const LatencyHistogram& h);
  void add(const LatencySummary& other);
  double meanMs() const;
  // Approximate q-quantile (0 < q <= 1) in ms; 0 when nothing was recorded.
  double quantileMs(double q) const;
};

}  // namespace portico::stats
