#include "http2/flood_guard.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace portico::http2 {
namespace {

using ::testing::HasSubstr;

FrameHeader frameOf(uint8_t type, uint32_t stream_id = 0, uint8_t flags = 0, uint32_t length = 0) {
  FrameHeader h;
  h.type = type;
  h.stream_id = stream_id;
  h.flags = flags;
  h.length = length;
  return h;
}

// A guard with a hand-driven clock, and helpers that send one kind of frame many times.
struct Harness {
  explicit Harness(http::Http2AttackLimits l = {}, uint64_t max_list = 65536)
      : limits(l), guard(limits, max_list, now) {}

  // Sends `n` frames of `type` at the current time; returns the first verdict that is not
  // None (or None), and how many were sent before it.
  Http2Attack send(uint8_t type, int n, int* accepted = nullptr) {
    for (int i = 0; i < n; ++i) {
      Http2Attack v = guard.onFrameHeader(frameOf(type, type == frame::kRstStream ? 1 : 0), now);
      if (v != Http2Attack::None) {
        if (accepted) *accepted = i;
        return v;
      }
    }
    if (accepted) *accepted = n;
    return Http2Attack::None;
  }
  // Sends one frame of `type` every `interval_ms` for `duration_ms`.
  Http2Attack sendEvery(uint8_t type, int64_t interval_ms, int64_t duration_ms) {
    for (int64_t t = 0; t < duration_ms; t += interval_ms) {
      Http2Attack v = send(type, 1);
      if (v != Http2Attack::None) return v;
      now += interval_ms;
    }
    return Http2Attack::None;
  }
  // Opens stream `id` with a complete header block.
  Http2Attack open(uint32_t id) {
    return guard.onFrameHeader(frameOf(frame::kHeaders, id, frame::kEndHeaders, 100), now);
  }

  int64_t now = 5000;
  http::Http2AttackLimits limits;
  FloodGuard guard;
};

TEST(TokenBucket, StartsFullAndRefillsAtTheRate) {
  TokenBucket b;
  b.configure({10, 3}, 0);  // 10/s: one token per 100 ms
  EXPECT_TRUE(b.take(0));
  EXPECT_TRUE(b.take(0));
  EXPECT_TRUE(b.take(0));
  EXPECT_FALSE(b.take(0));
  EXPECT_FALSE(b.take(99));
  EXPECT_TRUE(b.take(100));
  EXPECT_FALSE(b.take(100));
  // Never more than the burst, however long the pause.
  EXPECT_TRUE(b.take(1'000'000'000));
  EXPECT_TRUE(b.take(1'000'000'000));
  EXPECT_TRUE(b.take(1'000'000'000));
  EXPECT_FALSE(b.take(1'000'000'000));
}

TEST(TokenBucket, FractionsOfATokenAccumulate) {
  TokenBucket b;
  b.configure({3, 1}, 0);  // one token per 333.3 ms
  EXPECT_TRUE(b.take(0));
  EXPECT_FALSE(b.take(200));
  EXPECT_FALSE(b.take(333));
  EXPECT_TRUE(b.take(334));
}

TEST(TokenBucket, RateZeroNeverRefillsAndCreditsAreCapped) {
  TokenBucket b;
  b.configure({0, 2}, 0);
  EXPECT_TRUE(b.take(0));
  EXPECT_TRUE(b.take(0));
  EXPECT_FALSE(b.take(1'000'000));
  b.credit(100);  // capped at the burst of 2
  EXPECT_TRUE(b.take(1'000'000));
  EXPECT_TRUE(b.take(1'000'000));
  EXPECT_FALSE(b.take(1'000'000));
}

TEST(TokenBucket, TimeGoingBackwardsAddsNothing) {
  TokenBucket b;
  b.configure({1000, 1}, 1000);
  EXPECT_TRUE(b.take(1000));
  EXPECT_FALSE(b.take(500));
  EXPECT_FALSE(b.take(1000));
  EXPECT_TRUE(b.take(1001));
}

// Each rate-limited frame type trips its own limit after its burst.
class RateLimitedFrame : public ::testing::TestWithParam<std::pair<uint8_t, Http2Attack>> {};

TEST_P(RateLimitedFrame, AFloodTripsAfterTheBurst) {
  const auto [type, attack] = GetParam();
  http::Http2AttackLimits l;
  l.rapid_reset = l.ping = l.settings = l.window_update = l.priority = {5, 20};
  Harness h(l);
  int accepted = 0;
  EXPECT_EQ(h.send(type, 1000, &accepted), attack);
  EXPECT_EQ(accepted, 20);
  EXPECT_EQ(h.guard.verdict(), attack);
  EXPECT_TRUE(h.guard.tripped());
}

TEST_P(RateLimitedFrame, TheRateItselfNeverTrips) {
  const auto [type, attack] = GetParam();
  http::Http2AttackLimits l;
  l.rapid_reset = l.ping = l.settings = l.window_update = l.priority = {5, 20};
  Harness h(l);
  // The burst at once, then exactly the rate for a minute.
  EXPECT_EQ(h.send(type, 20), Http2Attack::None);
  h.now += 200;
  EXPECT_EQ(h.sendEvery(type, 200, 60000), Http2Attack::None);
  // One more than the rate allows trips it.
  EXPECT_EQ(h.send(type, 2), attack);
}

INSTANTIATE_TEST_SUITE_P(
    Frames, RateLimitedFrame,
    ::testing::Values(std::make_pair(frame::kRstStream, Http2Attack::RapidReset),
                      std::make_pair(frame::kPing, Http2Attack::Ping),
                      std::make_pair(frame::kSettings, Http2Attack::Settings),
                      std::make_pair(frame::kWindowUpdate, Http2Attack::WindowUpdate),
                      std::make_pair(frame::kPriority, Http2Attack::Priority),
                      std::make_pair(frame::kPriorityUpdate, Http2Attack::Priority)));

TEST(FloodGuard, LimitsAreIndependent) {
  http::Http2AttackLimits l;
  l.ping = {1, 10};
  l.settings = {1, 10};
  Harness h(l);
  EXPECT_EQ(h.send(frame::kPing, 10), Http2Attack::None);
  EXPECT_EQ(h.send(frame::kSettings, 10), Http2Attack::None);
  EXPECT_EQ(h.send(frame::kWindowUpdate, 100), Http2Attack::None);
  EXPECT_EQ(h.send(frame::kPing, 1), Http2Attack::Ping);
}

TEST(FloodGuard, TheVerdictSticks) {
  http::Http2AttackLimits l;
  l.ping = {1, 1};
  Harness h(l);
  EXPECT_EQ(h.send(frame::kPing, 2), Http2Attack::Ping);
  // A later, different flood does not change why the connection is being closed.
  EXPECT_EQ(h.send(frame::kSettings, 1000), Http2Attack::Ping);
  h.now += 100000;
  EXPECT_EQ(h.send(frame::kPing, 1), Http2Attack::Ping);
  EXPECT_EQ(h.guard.onDataFrame(0, false, h.now), Http2Attack::Ping);
}

TEST(FloodGuard, DataFramesAndOtherTypesAreNotRateLimitedByHeader) {
  Harness h;
  EXPECT_EQ(h.send(frame::kData, 100000), Http2Attack::None);
  EXPECT_EQ(h.send(0x7 /* GOAWAY */, 1000), Http2Attack::None);
  EXPECT_EQ(h.send(0xfa /* unknown extension */, 1000), Http2Attack::None);
}

// ---- rapid reset -------------------------------------------------------------------------

TEST(FloodGuard, RapidResetTripsOnOpenAndResetAtTheDefaultLimit) {
  Harness h;
  uint32_t id = 1;
  int pairs = 0;
  Http2Attack v = Http2Attack::None;
  for (; pairs < 100000 && v == Http2Attack::None; ++pairs, id += 2) {
    v = h.open(id);
    if (v == Http2Attack::None)
      v = h.guard.onFrameHeader(frameOf(frame::kRstStream, id, 0, 4), h.now);
  }
  EXPECT_EQ(v, Http2Attack::RapidReset);
  EXPECT_EQ(pairs, static_cast<int>(h.limits.rapid_reset.burst) + 1);
  EXPECT_EQ(h.guard.counts().streams, h.limits.rapid_reset.burst + 1);
  EXPECT_EQ(h.guard.counts().rst_stream, h.limits.rapid_reset.burst + 1);
}

TEST(FloodGuard, StreamErrorsWeAreProvokedIntoCountAsResets) {
  // CVE-2025-8671 ("MadeYouReset"): the client makes the server reset the streams for it.
  http::Http2AttackLimits l;
  l.rapid_reset = {10, 50};
  Harness h(l);
  for (int i = 0; i < 25; ++i) {
    ASSERT_EQ(h.guard.onFrameHeader(frameOf(frame::kRstStream, 1), h.now), Http2Attack::None);
  }
  for (int i = 0; i < 25; ++i) ASSERT_EQ(h.guard.onStreamError(h.now), Http2Attack::None);
  EXPECT_EQ(h.guard.onStreamError(h.now), Http2Attack::RapidReset);
  EXPECT_EQ(h.guard.counts().stream_errors, 26u);
  EXPECT_EQ(h.guard.counts().rst_stream, 25u);
}

TEST(FloodGuard, ABrowserLeavingAPageOfAHundredImagesIsNotAnAttack) {
  Harness h;
  // Opens 100 streams, cancels them all at once, does it again a second later, and keeps
  // browsing with a few cancels a second for a minute.
  for (uint32_t round = 0; round < 2; ++round) {
    for (uint32_t id = 1 + round * 200; id < 200 + round * 200; id += 2) {
      ASSERT_EQ(h.open(id), Http2Attack::None);
    }
    for (uint32_t id = 1 + round * 200; id < 200 + round * 200; id += 2)
      ASSERT_EQ(h.guard.onFrameHeader(frameOf(frame::kRstStream, id), h.now), Http2Attack::None);
    h.now += 1000;
  }
  EXPECT_EQ(h.sendEvery(frame::kRstStream, 200, 60000), Http2Attack::None);
}

// ---- empty DATA ----------------------------------------------------------------------------

TEST(FloodGuard, EmptyDataFramesWithoutEndStreamAreLimited) {
  Harness h;
  int accepted = 0;
  Http2Attack v = Http2Attack::None;
  for (; accepted < 100000 && v == Http2Attack::None; ++accepted)
    v = h.guard.onDataFrame(0, false, h.now);
  EXPECT_EQ(v, Http2Attack::EmptyData);
  EXPECT_EQ(accepted, static_cast<int>(h.limits.empty_data.burst) + 1);
}

TEST(FloodGuard, DataWithPayloadOrEndStreamIsNeverLimited) {
  Harness h;
  for (int i = 0; i < 100000; ++i) {
    ASSERT_EQ(h.guard.onDataFrame(1, false, h.now), Http2Attack::None);
    ASSERT_EQ(h.guard.onDataFrame(0, true, h.now), Http2Attack::None);
  }
  EXPECT_EQ(h.guard.counts().empty_data, 0u);
}

// ---- window updates and priorities earn credit from useful work -----------------------------

TEST(FloodGuard, AFastDownloadEarnsItsWindowUpdates) {
  http::Http2AttackLimits l;
  l.window_update = {1, 10};
  Harness h(l);
  // 100,000 DATA frames sent in one second; the client answers each with a stream and a
  // connection WINDOW_UPDATE.
  for (int i = 0; i < 100000; ++i) {
    h.guard.onDataFrameSent();
    ASSERT_EQ(h.send(frame::kWindowUpdate, 2), Http2Attack::None) << i;
  }
  // Updates for data never sent run the bucket dry.
  EXPECT_EQ(h.send(frame::kWindowUpdate, 11), Http2Attack::WindowUpdate);
}

TEST(FloodGuard, EachStreamEarnsAWindowUpdateAndPrioritySignals) {
  http::Http2AttackLimits l;
  l.window_update = {1, 5};
  l.priority = {1, 5};
  Harness h(l);
  EXPECT_EQ(h.send(frame::kWindowUpdate, 5), Http2Attack::None);
  EXPECT_EQ(h.send(frame::kPriority, 5), Http2Attack::None);
  for (uint32_t id = 1; id < 2000; id += 2) {
    ASSERT_EQ(h.open(id), Http2Attack::None);
    ASSERT_EQ(h.send(frame::kWindowUpdate, FloodGuard::kWindowUpdatesPerStream),
              Http2Attack::None);
    ASSERT_EQ(h.send(frame::kPriorityUpdate, FloodGuard::kPrioritiesPerStream),
              Http2Attack::None);
  }
  EXPECT_EQ(h.send(frame::kPriority, 1), Http2Attack::Priority);
}

TEST(FloodGuard, TrailersDoNotEarnStreamCredit) {
  http::Http2AttackLimits l;
  l.priority = {1, 1};
  Harness h(l);
  ASSERT_EQ(h.open(5), Http2Attack::None);   // +2 (capped at the burst of 1)
  ASSERT_EQ(h.send(frame::kPriority, 1), Http2Attack::None);
  ASSERT_EQ(h.open(5), Http2Attack::None);  // trailers of stream 5
  ASSERT_EQ(h.open(3), Http2Attack::None);  // a lower id: not a new stream
  EXPECT_EQ(h.send(frame::kPriority, 1), Http2Attack::Priority);
  EXPECT_EQ(h.guard.counts().streams, 1u);
}

// ---- header blocks -------------------------------------------------------------------------

TEST(FloodGuard, ContinuationFramesPerBlockAreCapped) {
  Harness h;
  ASSERT_EQ(h.guard.onFrameHeader(frameOf(frame::kHeaders, 1, 0, 10), h.now), Http2Attack::None);
  for (uint32_t i = 0; i < h.limits.max_continuation_frames; ++i) {
    ASSERT_EQ(h.guard.onFrameHeader(frameOf(frame::kContinuation, 1, 0, 0), h.now),
              Http2Attack::None);
  }
  EXPECT_EQ(h.guard.onFrameHeader(frameOf(frame::kContinuation, 1, 0, 0), h.now),
            Http2Attack::Continuation);
  EXPECT_THAT(h.guard.describeLimit(), HasSubstr("CONTINUATION flood"));
}

TEST(FloodGuard, TheContinuationCountStartsAgainWithEachBlock) {
  Harness h;
  for (uint32_t id = 1; id < 200; id += 2) {
    ASSERT_EQ(h.guard.onFrameHeader(frameOf(frame::kHeaders, id, 0, 10), h.now),
              Http2Attack::None);
    for (uint32_t i = 0; i + 1 < h.limits.max_continuation_frames; ++i) {
      ASSERT_EQ(h.guard.onFrameHeader(frameOf(frame::kContinuation, id, 0, 10), h.now),
                Http2Attack::None);
    }
    ASSERT_EQ(h.guard.onFrameHeader(frameOf(frame::kContinuation, id, frame::kEndHeaders, 10),
                                    h.now),
              Http2Attack::None);
  }
}

TEST(FloodGuard, AHeaderBlockTooLargeToBeAHeaderListTrips) {
  Harness h(http::Http2AttackLimits{}, 16384);  // blocks up to 32 KiB
  ASSERT_EQ(h.guard.onFrameHeader(frameOf(frame::kHeaders, 1, 0, 16384), h.now),
            Http2Attack::None);
  ASSERT_EQ(h.guard.onFrameHeader(frameOf(frame::kContinuation, 1, 0, 16384), h.now),
            Http2Attack::None);
  EXPECT_EQ(h.guard.onFrameHeader(frameOf(frame::kContinuation, 1, 0, 1), h.now),
            Http2Attack::Continuation);
}

TEST(FloodGuard, AnHpackBombTripsWhereTheDecodedListPassesTheFactor) {
  Harness h(http::Http2AttackLimits{}, 8192);  // bombs from 16 KiB decoded
  // A 4 KiB value in the dynamic table, referenced by one-byte indexes.
  ASSERT_EQ(h.guard.onFrameHeader(frameOf(frame::kHeaders, 1, frame::kEndHeaders, 5000), h.now),
            Http2Attack::None);
  int fields = 0;
  Http2Attack v = Http2Attack::None;
  for (; fields < 1000 && v == Http2Attack::None; ++fields) v = h.guard.onHeaderField(1, 4096);
  EXPECT_EQ(v, Http2Attack::HpackBomb);
  EXPECT_EQ(fields, 4);  // 4 x 4129 > 16384
  EXPECT_THAT(h.guard.describeLimit(), HasSubstr("HPACK bomb"));
}

TEST(FloodGuard, TheDecodedSizeIsPerHeaderBlock) {
  Harness h(http::Http2AttackLimits{}, 8192);
  for (uint32_t id = 1; id < 2000; id += 2) {
    ASSERT_EQ(h.open(id), Http2Attack::None);
    // 8 KiB of well-compressed fields on every request is fine, however many requests.
    for (int i = 0; i < 8; ++i) ASSERT_EQ(h.guard.onHeaderField(10, 990), Http2Attack::None);
  }
}

// ---- a legitimate client ---------------------------------------------------------------------

TEST(FloodGuard, ABusyLegitimateClientNeverTripsTheDefaults) {
  Harness h;
  // A gRPC-like client over ten minutes: 500 calls a second, each with a window update and a
  // priority signal, 16 DATA frames received per call; pings and settings at its usual pace;
  // a few cancelled calls a second.
  ASSERT_EQ(h.send(frame::kSettings, 2), Http2Attack::None);
  uint32_t id = 1;
  for (int ms = 0; ms < 600000; ms += 2, h.now += 2) {
    ASSERT_EQ(h.open(id), Http2Attack::None);
    for (int i = 0; i < 16; ++i) h.guard.onDataFrameSent();
    ASSERT_EQ(h.send(frame::kWindowUpdate, 4), Http2Attack::None);
    ASSERT_EQ(h.send(frame::kPriorityUpdate, 1), Http2Attack::None);
    if (ms % 100 == 0) {
      ASSERT_EQ(h.send(frame::kPing, 1), Http2Attack::None);
    }
    if (ms % 200 == 0) {
      ASSERT_EQ(h.send(frame::kRstStream, 1), Http2Attack::None);
    }
    if (ms % 5000 == 0) {
      ASSERT_EQ(h.send(frame::kSettings, 1), Http2Attack::None);
    }
    id += 2;
  }
  EXPECT_FALSE(h.guard.tripped());
}

// ---- descriptions for the log ----------------------------------------------------------------

TEST(FloodGuard, DescribesTheLimitAndTheCounts) {
  http::Http2AttackLimits l;
  l.ping = {7, 3};
  Harness h(l);
  EXPECT_EQ(h.guard.describeLimit(), "no limit tripped");
  ASSERT_EQ(h.open(1), Http2Attack::None);
  EXPECT_EQ(h.send(frame::kPing, 10), Http2Attack::Ping);
  EXPECT_EQ(h.guard.describeLimit(), "PING flood (limit: 3 at once, 7/s)");
  EXPECT_EQ(h.guard.describeCounts(),
            "streams 1, rst_stream 0, stream_errors 0, ping 4, settings 0, empty_data 0, "
            "window_update 0, priority 0, continuation 0");
}

TEST(Http2AttackNames, EveryKindHasItsConfigName) {
  EXPECT_EQ(http::http2AttackName(Http2Attack::None), "none");
  EXPECT_EQ(http::http2AttackName(Http2Attack::RapidReset), "rapid_reset");
  EXPECT_EQ(http::http2AttackName(Http2Attack::EmptyData), "empty_data");
  EXPECT_EQ(http::http2AttackName(Http2Attack::WindowUpdate), "window_update");
  EXPECT_EQ(http::http2AttackName(Http2Attack::HpackBomb), "hpack_bomb");
  EXPECT_EQ(http::http2AttackName(Http2Attack::UnreadControl), "unread_control");
  EXPECT_EQ(static_cast<size_t>(Http2Attack::UnreadControl) + 1, http::kHttp2AttackKinds);
}

}  // namespace
}  // namespace portico::http2
