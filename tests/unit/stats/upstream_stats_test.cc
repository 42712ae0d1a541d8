#include "stats/upstream_stats.h"

#include <gtest/gtest.h>

#include <thread>

#include "stats/growable_table.h"

namespace portico::stats {
namespace {

TEST(GrowableTable, EntriesStayPutWhileItGrows) {
  GrowableTable<Counter> table;
  Counter& first = table.at(0);
  first.add(7);
  EXPECT_EQ(table.find(5000), nullptr);  // not made yet
  table.at(5000).add(1);                 // far past the first directory: it grows
  EXPECT_EQ(&table.at(0), &first);       // chunks never move
  ASSERT_NE(table.find(0), nullptr);
  EXPECT_EQ(table.find(0)->value(), 7u);
  ASSERT_NE(table.find(5000), nullptr);
  EXPECT_EQ(table.find(5000)->value(), 1u);
  EXPECT_EQ(table.find(4999)->value(), 0u);  // same chunk: made, zero
}

TEST(GrowableTable, ReaderSeesAWriterThatGrowsIt) {
  // One writer adds entries (growing the directory many times) while this thread reads; the
  // reader only ever sees entries whole. Meaningful under TSan/ASan; here it must not crash.
  GrowableTable<Counter> table;
  std::thread writer([&] {
    for (size_t i = 0; i < 4000; ++i) table.at(i).add(i + 1);
  });
  uint64_t seen = 0;
  for (int round = 0; round < 200; ++round) {
    for (size_t i = 0; i < 4000; i += 97) {
      if (const Counter* c = table.find(i)) seen += c->value() == 0 || c->value() == i + 1;
    }
  }
  writer.join();
  for (size_t i = 0; i < 4000; ++i) ASSERT_EQ(table.find(i)->value(), i + 1);
  (void)seen;
}

TEST(ClusterStats, SumsWorkersPerEndpoint) {
  ClusterStats cluster;
  auto w1 = cluster.addWorker();
  auto w2 = cluster.addWorker();
  w1->endpoint(0).requests.add(3);
  w2->endpoint(0).requests.add(4);
  w2->endpoint(9).requests.add(1);  // an endpoint added later (DNS): a larger index
  w1->endpoint(0).responses[2].add(3);
  w2->endpoint(0).errors[static_cast<size_t>(UpstreamError::Reset)].add();
  w1->endpoint(0).streams.add(4);
  w1->endpoint(0).streams_reused.add(3);
  w1->endpoint(0).connections.set(2);
  w2->endpoint(0).connections.set(1);
  w1->retries.add(2);
  w2->refusals[static_cast<size_t>(Refusal::NoHealthyHost)].add(5);

  const EndpointTotals e0 = cluster.endpoint(0);
  EXPECT_EQ(e0.requests, 7u);
  EXPECT_EQ(e0.responses[2], 3u);
  EXPECT_EQ(e0.errors[static_cast<size_t>(UpstreamError::Reset)], 1u);
  EXPECT_EQ(e0.connections, 3u);
  EXPECT_DOUBLE_EQ(e0.reuseRatio(), 0.75);
  EXPECT_EQ(cluster.endpoint(9).requests, 1u);
  EXPECT_EQ(cluster.endpoint(5).requests, 0u);  // never used
  const ClusterTotals c = cluster.cluster();
  EXPECT_EQ(c.retries, 2u);
  EXPECT_EQ(c.refusals[static_cast<size_t>(Refusal::NoHealthyHost)], 5u);

  ++cluster.health(3).ejections;
  EXPECT_EQ(cluster.healthOf(3).ejections, 1u);
  EXPECT_EQ(cluster.healthOf(40).ejections, 0u);
}

TEST(ClusterStats, NamesAreStable) {
  // The status report's keys: operators' scripts read them.
  EXPECT_STREQ(upstreamErrorName(UpstreamError::ConnectFailure), "connect_failure");
  EXPECT_STREQ(upstreamErrorName(UpstreamError::ResponseTimeout), "response_timeout");
  EXPECT_STREQ(refusalName(Refusal::MaxPendingRequests), "overflow_max_pending_requests");
  EXPECT_STREQ(refusalName(Refusal::NoHealthyHost), "no_healthy_endpoint");
}

}  // namespace
}  // namespace portico::stats
