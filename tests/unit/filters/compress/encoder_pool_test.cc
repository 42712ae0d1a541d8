#include "filters/compress/encoder_pool.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <thread>

#include "filters/compress/reference_decoder.h"
#include "filters/compress/test_data.h"

namespace portico::filters::compress {
namespace {

using http::ContentCoding;

std::string text(size_t size, uint64_t seed) {
  std::mt19937_64 rng(seed);
  return testing::textLike(size, rng);
}

// Encodes `body` whole (Finish) and checks the reference decoder gets it back.
void expectRoundTrip(Encoder& encoder, ContentCoding coding, const std::string& body) {
  buffer::Buffer in;
  buffer::Buffer out;
  in.append(body);
  ASSERT_TRUE(encoder.encode(in, out, Flush::Finish));
  auto reference = testing::makeReference(coding);
  std::string decoded;
  ASSERT_TRUE(reference->feed(out.toString(), decoded));
  EXPECT_TRUE(reference->finished());
  EXPECT_TRUE(decoded == body);
}

// Each test runs on its own thread, so it starts with an empty pool and leaves none behind.
template <typename F>
void onFreshThread(F f) {
  std::thread(f).join();
}

TEST(EncoderPoolTest, AFinishedEncoderIsRestartedAndReusedForTheSameCodingAndLevel) {
  onFreshThread([] {
    for (ContentCoding coding : {ContentCoding::Gzip, ContentCoding::Zstd}) {
      SCOPED_TRACE(std::string(http::codingName(coding)));
      const int level = levelRange(coding).fallback;
      EncoderPtr first = acquireEncoder(coding, level);
      ASSERT_NE(first, nullptr);
      Encoder* const address = first.get();
      expectRoundTrip(*first, coding, text(100000, 1));
      releaseEncoder(coding, level, std::move(first));
      EXPECT_EQ(pooledEncoders(), 1u);
      EXPECT_EQ(acquireEncoder(coding, level + 1).get() == address, false);  // other level
      EncoderPtr again = acquireEncoder(coding, level);
      EXPECT_EQ(again.get(), address);
      EXPECT_EQ(pooledEncoders(), 0u);
      // The restarted stream is a whole new stream: it decodes on its own.
      expectRoundTrip(*again, coding, text(70000, 2));
    }
  });
}

TEST(EncoderPoolTest, AnEncoderAbandonedMidStreamStartsCleanNextTime) {
  onFreshThread([] {
    EncoderPtr encoder = acquireEncoder(ContentCoding::Gzip, 6);
    buffer::Buffer in;
    buffer::Buffer out;
    in.append(text(50000, 3));
    ASSERT_TRUE(encoder->encode(in, out, Flush::Sync));  // a client that went away
    releaseEncoder(ContentCoding::Gzip, 6, std::move(encoder));
    EncoderPtr reused = acquireEncoder(ContentCoding::Gzip, 6);
    expectRoundTrip(*reused, ContentCoding::Gzip, text(20000, 4));
  });
}

TEST(EncoderPoolTest, BrotliIsNeverKept) {
  onFreshThread([] {
    EncoderPtr encoder = acquireEncoder(ContentCoding::Brotli, 5);
    ASSERT_NE(encoder, nullptr);
    releaseEncoder(ContentCoding::Brotli, 5, std::move(encoder));
    EXPECT_EQ(pooledEncoders(), 0u);
  });
}

TEST(EncoderPoolTest, KeepsNoMoreThanItsByteBudget) {
  onFreshThread([] {
    std::vector<EncoderPtr> live;
    for (int i = 0; i < 40; ++i) live.push_back(acquireEncoder(ContentCoding::Zstd, 3));
    for (int i = 0; i < 40; ++i) live.push_back(acquireEncoder(ContentCoding::Gzip, 6));
    for (EncoderPtr& e : live) {
      const ContentCoding coding =
          e->memoryBytes() > 1024 * 1024 ? ContentCoding::Zstd : ContentCoding::Gzip;
      releaseEncoder(coding, levelRange(coding).fallback, std::move(e));
    }
    EXPECT_GT(pooledEncoders(), 0u);
    EXPECT_LE(pooledEncoderBytes(), kPoolBytes);
  });
}

}  // namespace
}  // namespace portico::filters::compress
