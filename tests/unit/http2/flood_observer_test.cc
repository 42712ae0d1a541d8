#include "http2/flood_observer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nghttp2/nghttp2.h>

namespace portico::http2 {
namespace {

using ::testing::HasSubstr;

int64_t g_now = 1000;
int64_t testClock() {
  return g_now;
}

std::unique_ptr<FrameObserver> observerWith(const http::Http2AttackLimits& limits,
                                            uint32_t max_header_list_size = 0) {
  http::ServerCodecSettings settings;
  settings.max_header_bytes = 8192;
  settings.http2.max_header_list_size = max_header_list_size;
  settings.http2.attack_limits = limits;
  static const FloodObserverFactory factory(&testClock);
  return factory.create(settings);
}

TEST(FloodObserver, FramesReachTheGuardAndTheReasonNamesLimitAndCounts) {
  http::Http2AttackLimits limits;
  limits.ping = {1, 2};
  auto o = observerWith(limits);
  EXPECT_TRUE(o->onFrameHeader(NGHTTP2_PING, 0, 0, 8));
  EXPECT_TRUE(o->onFrameHeader(NGHTTP2_PING, 0, 0, 8));
  EXPECT_FALSE(o->onFrameHeader(NGHTTP2_PING, 0, 0, 8));
  EXPECT_EQ(o->attack(), http::Http2Attack::Ping);
  EXPECT_THAT(o->reason(), HasSubstr("PING flood (limit: 2 at once, 1/s); the client sent"));
  EXPECT_THAT(o->reason(), HasSubstr("ping 3"));
  // The clock is the injected one: a second later one more fits, but the verdict stays.
  g_now += 1000;
  EXPECT_FALSE(o->onFrameHeader(NGHTTP2_PING, 0, 0, 8));
}

TEST(FloodObserver, HeaderListSizeComesFromTheListenerWhenHttp2SaysNothing) {
  auto o = observerWith({});  // max_header_bytes 8192: bombs from 16 KiB decoded
  EXPECT_TRUE(o->onFrameHeader(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS, 1, 100));
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(o->onHeaderField(1, 4096));
  EXPECT_FALSE(o->onHeaderField(1, 4096));
  EXPECT_EQ(o->attack(), http::Http2Attack::HpackBomb);

  auto larger = observerWith({}, 65536);
  EXPECT_TRUE(larger->onFrameHeader(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS, 1, 100));
  for (int i = 0; i < 30; ++i) EXPECT_TRUE(larger->onHeaderField(1, 4096));
}

TEST(FloodObserver, EmptyDataFramesAreJudgedByTheirPayloadWithoutPadding) {
  http::Http2AttackLimits limits;
  limits.empty_data = {0, 3};
  auto o = observerWith(limits);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(o->onDataFrame(1, 0, false));
  EXPECT_TRUE(o->onDataFrame(1, 10, false));
  EXPECT_TRUE(o->onDataFrame(1, 0, true));
  EXPECT_FALSE(o->onDataFrame(1, 0, false));
  EXPECT_EQ(o->attack(), http::Http2Attack::EmptyData);
}

TEST(FloodObserver, ResetsWeSendCountOnlyWhenTheClientCausedThem) {
  http::Http2AttackLimits limits;
  limits.rapid_reset = {0, 4};
  auto o = observerWith(limits);
  // Ours: a backend failed, a timeout.
  for (int i = 0; i < 100; ++i) {
    EXPECT_TRUE(o->onFrameSent(NGHTTP2_RST_STREAM, 1, NGHTTP2_INTERNAL_ERROR));
    EXPECT_TRUE(o->onFrameSent(NGHTTP2_RST_STREAM, 1, NGHTTP2_CANCEL));
  }
  EXPECT_TRUE(o->onFrameSent(NGHTTP2_RST_STREAM, 1, NGHTTP2_PROTOCOL_ERROR));
  EXPECT_TRUE(o->onFrameSent(NGHTTP2_RST_STREAM, 3, NGHTTP2_REFUSED_STREAM));
  EXPECT_TRUE(o->onFrameSent(NGHTTP2_RST_STREAM, 5, NGHTTP2_FLOW_CONTROL_ERROR));
  EXPECT_TRUE(o->onFrameHeader(NGHTTP2_RST_STREAM, 0, 7, 4));  // and one from the client
  EXPECT_FALSE(o->onFrameSent(NGHTTP2_RST_STREAM, 9, NGHTTP2_STREAM_CLOSED));
  EXPECT_EQ(o->attack(), http::Http2Attack::RapidReset);
}

TEST(FloodObserver, DataWeSendEarnsWindowUpdates) {
  http::Http2AttackLimits limits;
  limits.window_update = {0, 2};
  auto o = observerWith(limits);
  for (int i = 0; i < 1000; ++i) {
    EXPECT_TRUE(o->onFrameSent(NGHTTP2_DATA, 1, 0));
    EXPECT_TRUE(o->onFrameHeader(NGHTTP2_WINDOW_UPDATE, 0, 1, 4));
    EXPECT_TRUE(o->onFrameHeader(NGHTTP2_WINDOW_UPDATE, 0, 0, 4));
  }
  // Updates for data never sent find the bucket empty.
  EXPECT_FALSE(o->onFrameHeader(NGHTTP2_WINDOW_UPDATE, 0, 0, 4));
}

}  // namespace
}  // namespace portico::http2
