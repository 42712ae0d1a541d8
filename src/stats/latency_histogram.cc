#include "stats/latency_histogram.h"

#include <algorithm>
#include <bit>

namespace portico::stats {

size_t latencyBucket(int64_t ms) {
  if (ms < 1) return 0;
  // ms in [2^(w-1), 2^w) has bit width w.
  const size_t width = static_cast<size_t>(std::bit_width(static_cast<uint64_t>(ms)));
  return std::min(width, kLatencyBuckets - 1);
}

void LatencyHistogram::record(int64_t ms) {
  if (ms < 0) ms = 0;  // a clock step back: count it, as instant
  buckets_[latencyBucket(ms)].add();
  sum_ms_.add(static_cast<uint64_t>(ms));
  max_ms_.offer(static_cast<uint64_t>(ms));
}

void LatencySummary::add(const LatencyHistogram& h) {
  // The bucket counts are the truth for `count`: a reader racing the writer may see the sum
  // a sample ahead or behind, which only nudges the mean.
  for (size_t i = 0; i < kLatencyBuckets; ++i) {
    const uint64_t n = h.bucket(i).value();
    buckets[i] += n;
    count += n;
  }
  sum_ms += h.sumMs();
  max_ms = std::max(max_ms, h.maxMs());
}

void LatencySummary::add(const LatencySummary& other) {
  for (size_t i = 0; i < kLatencyBuckets; ++i) buckets[i] += other.buckets[i];
  count += other.count;
  sum_ms += other.sum_ms;
  max_ms = std::max(max_ms, other.max_ms);
}

double LatencySummary::meanMs() const {
  return count == 0 ? 0.0 : static_cast<double>(sum_ms) / static_cast<double>(count);
}

double LatencySummary::quantileMs(double q) const {
  if (count == 0) return 0.0;
  const double rank = std::clamp(q, 0.0, 1.0) * static_cast<double>(count);
  double seen = 0;
  for (size_t i = 0; i < kLatencyBuckets; ++i) {
    if (buckets[i] == 0) continue;
    const double n = static_cast<double>(buckets[i]);
    if (seen + n >= rank) {
      const double low = i == 0 ? 0.0 : static_cast<double>(uint64_t{1} << (i - 1));
      // The last bucket is open-ended: the largest sample seen bounds it.
      const double high = i + 1 == kLatencyBuckets ? static_cast<double>(max_ms)
                                                   : static_cast<double>(uint64_t{1} << i);
      const double v = low + (high - low) * ((rank - seen) / n);
      // No sample in the bucket exceeds the largest seen (a racing read may say otherwise).
      return std::min(v, std::max(low, static_cast<double>(max_ms)));
    }
    seen += n;
  }
  return static_cast<double>(max_ms);
}

}  // namespace portico::stats
