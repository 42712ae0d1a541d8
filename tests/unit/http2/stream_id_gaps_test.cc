// Which client stream ids were skipped, so a request sent out of order is refused rather than
// silently dropped (http2/stream_id_gaps.h).

#include "http2/stream_id_gaps.h"

#include <gtest/gtest.h>

namespace portico::http2 {
namespace {

TEST(StreamIdGaps, InOrderStreamsAndTrailersAreNotOutOfOrder) {
  StreamIdGaps gaps;
  for (int32_t id = 1; id <= 41; id += 2) EXPECT_FALSE(gaps.outOfOrder(id)) << id;
  // A second HEADERS on an opened stream (trailers) is not a new stream.
  EXPECT_FALSE(gaps.outOfOrder(17));
  EXPECT_FALSE(gaps.outOfOrder(41));
}

TEST(StreamIdGaps, SkippedIdSentLaterIsOutOfOrderOnce) {
  StreamIdGaps gaps;
  EXPECT_FALSE(gaps.outOfOrder(1));
  EXPECT_FALSE(gaps.outOfOrder(19));  // skips 3..17
  EXPECT_TRUE(gaps.outOfOrder(17));
  EXPECT_TRUE(gaps.outOfOrder(3));
  EXPECT_TRUE(gaps.outOfOrder(9));
  EXPECT_TRUE(gaps.outOfOrder(7));
  EXPECT_TRUE(gaps.outOfOrder(11));
  EXPECT_FALSE(gaps.outOfOrder(9));  // already refused
  EXPECT_FALSE(gaps.outOfOrder(1));
  EXPECT_FALSE(gaps.outOfOrder(19));
  EXPECT_FALSE(gaps.outOfOrder(21));
}

TEST(StreamIdGaps, FirstStreamAboveOneLeavesAGap) {
  StreamIdGaps gaps;
  EXPECT_FALSE(gaps.outOfOrder(5));
  EXPECT_TRUE(gaps.outOfOrder(1));
  EXPECT_TRUE(gaps.outOfOrder(3));
  EXPECT_FALSE(gaps.outOfOrder(3));
}

TEST(StreamIdGaps, OnlyTheMostRecentGapsAreKept) {
  StreamIdGaps gaps;
  int32_t id = 1;
  EXPECT_FALSE(gaps.outOfOrder(id));
  for (size_t i = 0; i < StreamIdGaps::kMaxGaps + 4; ++i) {
    id += 4;  // skips id - 2
    EXPECT_FALSE(gaps.outOfOrder(id));
  }
  EXPECT_FALSE(gaps.outOfOrder(3));      // forgotten: bounded memory, left to nghttp2
  EXPECT_TRUE(gaps.outOfOrder(id - 2));  // recent
}

}  // namespace
}  // namespace portico::http2
