#include "stats/latency_histogram.h"

#include <gtest/gtest.h>

namespace portico::stats {
namespace {

TEST(LatencyHistogram, BucketsArePowersOfTwo) {
  EXPECT_EQ(latencyBucket(-5), 0u);
  EXPECT_EQ(latencyBucket(0), 0u);
  EXPECT_EQ(latencyBucket(1), 1u);
  EXPECT_EQ(latencyBucket(2), 2u);
  EXPECT_EQ(latencyBucket(3), 2u);
  EXPECT_EQ(latencyBucket(4), 3u);
  EXPECT_EQ(latencyBucket(1023), 10u);
  EXPECT_EQ(latencyBucket(1024), 11u);
  EXPECT_EQ(latencyBucket(int64_t{1} << 40), kLatencyBuckets - 1);  // open-ended last bucket
}

TEST(LatencyHistogram, EmptySummaryIsZero) {
  LatencySummary s;
  EXPECT_EQ(s.meanMs(), 0.0);
  EXPECT_EQ(s.quantileMs(0.5), 0.0);
}

TEST(LatencyHistogram, CountMeanMaxAndQuantiles) {
  LatencyHistogram h;
  for (int i = 0; i < 98; ++i) h.record(10);  // bucket [8, 16)
  h.record(300);                              // bucket [256, 512)
  h.record(5000);                             // bucket [4096, 8192)
  LatencySummary s;
  s.add(h);
  EXPECT_EQ(s.count, 100u);
  EXPECT_EQ(s.sum_ms, 98u * 10 + 300 + 5000);
  EXPECT_EQ(s.max_ms, 5000u);
  EXPECT_DOUBLE_EQ(s.meanMs(), (98.0 * 10 + 300 + 5000) / 100);
  // Within the right bucket: off by at most a factor of two.
  EXPECT_GE(s.quantileMs(0.5), 8.0);
  EXPECT_LT(s.quantileMs(0.5), 16.0);
  EXPECT_GE(s.quantileMs(0.99), 256.0);
  EXPECT_LE(s.quantileMs(0.99), 512.0);
  EXPECT_LE(s.quantileMs(1.0), 5000.0);  // never above the largest sample
  EXPECT_GE(s.quantileMs(1.0), 4096.0);
}

TEST(LatencyHistogram, SummariesAddUp) {
  LatencyHistogram a, b;
  a.record(1);
  b.record(100);
  b.record(0);
  LatencySummary one, two, all;
  one.add(a);
  two.add(b);
  all.add(one);
  all.add(two);
  EXPECT_EQ(all.count, 3u);
  EXPECT_EQ(all.sum_ms, 101u);
  EXPECT_EQ(all.max_ms, 100u);
}

}  // namespace
}  // namespace portico::stats
