#include "filters/compress/encoder.h"

#include <brotli/decode.h>
#include <gtest/gtest.h>

#include <cstring>
#include <iostream>
#include <random>
#include <string>

#include "filters/compress/reference_decoder.h"
#include "filters/compress/test_data.h"

namespace portico::filters::compress {
namespace {

using http::ContentCoding;
using testing::makeReference;
using testing::randomBytes;
using testing::randomChunk;
using testing::textLike;

class EncoderTest : public ::testing::TestWithParam<ContentCoding> {
 protected:
  EncoderPtr makeDefault() const {
    return makeEncoder(GetParam(), levelRange(GetParam()).fallback);
  }

  // Feeds `body` in random chunks with random Sync flushes. After every Sync the reference
  // decoder must yield exactly the input so far (what keeps server-sent events live through
  // compression); after Finish, the whole body and the stream's end.
  void roundTrip(const std::string& body, uint64_t seed) {
    SCOPED_TRACE(::testing::Message() << "size " << body.size() << " seed " << seed);
    std::mt19937_64 rng(seed);
    EncoderPtr encoder = makeDefault();
    ASSERT_NE(encoder, nullptr);
    auto reference = makeReference(GetParam());
    buffer::Buffer in;
    buffer::Buffer out;
    std::string compressed;  // all of the stream, for the one-shot check below
    std::string decoded;
    size_t fed = 0;
    while (fed < body.size()) {
      const size_t n = std::min(randomChunk(rng), body.size() - fed);
      in.append(body.data() + fed, n);
      fed += n;
      const bool sync = rng() % 8 == 0;
      ASSERT_TRUE(encoder->encode(in, out, sync ? Flush::Sync : Flush::None));
      ASSERT_TRUE(in.empty());
      if (!sync) continue;
      const size_t checked = decoded.size();
      const std::string piece = out.toString();
      out.clear();
      compressed += piece;
      ASSERT_TRUE(reference->feed(piece, decoded));
      ASSERT_EQ(decoded.size(), fed);
      ASSERT_EQ(std::memcmp(decoded.data() + checked, body.data() + checked, fed - checked), 0);
    }
    ASSERT_TRUE(encoder->encode(in, out, Flush::Finish));
    const std::string tail = out.toString();
    compressed += tail;
    ASSERT_TRUE(reference->feed(tail, decoded));
    EXPECT_TRUE(reference->finished());
    ASSERT_EQ(decoded.size(), body.size());
    EXPECT_TRUE(decoded == body);
    if (GetParam() == ContentCoding::Brotli) expectBrotliOneShot(compressed, body);
  }

  // brotli's one-shot decoder as well: it must accept the stream whole, flush blocks and all.
  static void expectBrotliOneShot(const std::string& compressed, const std::string& body) {
    std::string whole(body.size() + 1, '\0');
    size_t size = whole.size();
    ASSERT_EQ(BrotliDecoderDecompress(compressed.size(),
                                      reinterpret_cast<const uint8_t*>(compressed.data()), &size,
                                      reinterpret_cast<uint8_t*>(whole.data())),
              BROTLI_DECODER_RESULT_SUCCESS);
    whole.resize(size);
    EXPECT_TRUE(whole == body);
  }
};

TEST_P(EncoderTest, RoundTripsTextLikeBodies) {
  std::mt19937_64 rng(1);
  uint64_t seed = 100;
  for (size_t size : {size_t{0}, size_t{1}, size_t{100 * 1024}, size_t{5 * 1024 * 1024}})
    roundTrip(textLike(size, rng), seed++);
}

TEST_P(EncoderTest, RoundTripsIncompressibleBodies) {
  std::mt19937_64 rng(2);
  uint64_t seed = 200;
  for (size_t size : {size_t{0}, size_t{1}, size_t{100 * 1024}, size_t{5 * 1024 * 1024}})
    roundTrip(randomBytes(size, rng), seed++);
}

TEST_P(EncoderTest, SyncAfterEveryByteStillDecodes) {
  std::mt19937_64 rng(3);
  const std::string body = textLike(300, rng);
  EncoderPtr encoder = makeDefault();
  auto reference = makeReference(GetParam());
  buffer::Buffer in;
  buffer::Buffer out;
  std::string decoded;
  for (size_t i = 0; i < body.size(); ++i) {
    in.append(body.data() + i, 1);
    ASSERT_TRUE(encoder->encode(in, out, Flush::Sync));
    ASSERT_TRUE(reference->feed(out.toString(), decoded));
    out.clear();
    ASSERT_EQ(decoded, body.substr(0, i + 1));
  }
}

TEST_P(EncoderTest, SyncWithNothingNewWritesNothing) {
  EncoderPtr encoder = makeDefault();
  buffer::Buffer in;
  buffer::Buffer out;
  in.append("data: event one\n\n");
  ASSERT_TRUE(encoder->encode(in, out, Flush::Sync));
  const size_t after_first = out.length();
  EXPECT_GT(after_first, 0u);
  ASSERT_TRUE(encoder->encode(in, out, Flush::Sync));
  ASSERT_TRUE(encoder->encode(in, out, Flush::None));
  EXPECT_EQ(out.length(), after_first);
}

TEST_P(EncoderTest, EncodeAfterFinishFails) {
  EncoderPtr encoder = makeDefault();
  buffer::Buffer in;
  buffer::Buffer out;
  in.append("body");
  ASSERT_TRUE(encoder->encode(in, out, Flush::Finish));
  in.append("more");
  EXPECT_FALSE(encoder->encode(in, out, Flush::None));
  EXPECT_FALSE(encoder->encode(in, out, Flush::Finish));
}

TEST_P(EncoderTest, EveryValidLevelRoundTripsAndOthersAreRefused) {
  const LevelRange range = levelRange(GetParam());
  EXPECT_EQ(makeEncoder(GetParam(), range.min - 1), nullptr);
  EXPECT_EQ(makeEncoder(GetParam(), range.max + 1), nullptr);
  std::mt19937_64 rng(4);
  const std::string body = textLike(20000, rng);
  for (int level = range.min; level <= range.max; ++level) {
    SCOPED_TRACE(level);
    EncoderPtr encoder = makeEncoder(GetParam(), level);
    ASSERT_NE(encoder, nullptr);
    buffer::Buffer in;
    buffer::Buffer out;
    in.append(body);
    ASSERT_TRUE(encoder->encode(in, out, Flush::Finish));
    EXPECT_LT(out.length(), body.size() / 2);
    auto reference = makeReference(GetParam());
    std::string decoded;
    ASSERT_TRUE(reference->feed(out.toString(), decoded));
    EXPECT_TRUE(reference->finished());
    EXPECT_TRUE(decoded == body);
  }
}

// The bounds the coding files document for their default levels, with a little headroom.
size_t documentedBound(ContentCoding coding) {
  switch (coding) {
    case ContentCoding::Gzip:
      return 280 * 1024;
    case ContentCoding::Brotli:
      return 1800 * 1024;
    case ContentCoding::Zstd:
      return 2100 * 1024;
    case ContentCoding::Identity:
      break;
  }
  return 0;
}

TEST_P(EncoderTest, MemoryAtTheDefaultLevelStaysWithinItsDocumentedBound) {
  EncoderPtr encoder = makeDefault();
  std::mt19937_64 rng(5);
  buffer::Buffer in;
  buffer::Buffer out;
  size_t most = 0;
  // Enough input to fill any window, in the chunk sizes a proxy sees, with the odd flush.
  for (int i = 0; i < 256; ++i) {
    in.append(textLike(16384, rng));
    ASSERT_TRUE(encoder->encode(in, out, i % 16 == 0 ? Flush::Sync : Flush::None));
    out.clear();
    most = std::max(most, encoder->memoryBytes());
  }
  std::cout << "[ memory   ] " << http::codingName(GetParam()) << " level "
            << levelRange(GetParam()).fallback << ": at most " << most / 1024
            << " KiB between calls\n";
  EXPECT_GT(most, 0u);
  EXPECT_LE(most, documentedBound(GetParam()));
}

TEST(EncoderFactoryTest, IdentityHasNoEncoder) {
  EXPECT_EQ(makeEncoder(ContentCoding::Identity, 0), nullptr);
  EXPECT_EQ(levelRange(ContentCoding::Gzip).fallback, 6);
  EXPECT_EQ(levelRange(ContentCoding::Brotli).max, 11);
  EXPECT_EQ(levelRange(ContentCoding::Zstd).max, 19);
}

INSTANTIATE_TEST_SUITE_P(Codings, EncoderTest,
                         ::testing::Values(ContentCoding::Gzip, ContentCoding::Brotli,
                                           ContentCoding::Zstd),
                         testing::codingTestName);

}  // namespace
}  // namespace portico::filters::compress
