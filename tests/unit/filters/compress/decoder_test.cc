#include "filters/compress/decoder.h"

#include <gtest/gtest.h>
#include <zstd.h>

#include <brotli/encode.h>
#include <random>
#include <string>

#include "filters/compress/encoder.h"
#include "filters/compress/test_data.h"

namespace portico::filters::compress {
namespace {

using http::ContentCoding;
using testing::randomChunk;
using testing::textLike;

constexpr size_t kMiB = 1024 * 1024;

// `body` compressed whole at the coding's default level, by Portico's own encoder (whose
// output the encoder tests check against the reference decoders).
std::string compress(ContentCoding coding, const std::string& body) {
  EncoderPtr encoder = makeEncoder(coding, levelRange(coding).fallback);
  buffer::Buffer in;
  buffer::Buffer out;
  in.append(body);
  EXPECT_TRUE(encoder->encode(in, out, Flush::Finish));
  return out.toString();
}

DecodeResult decodeWhole(Decoder& decoder, std::string_view compressed) {
  buffer::Buffer in;
  buffer::Buffer out;
  in.append(compressed);
  return decoder.decode(in, out);
}

class DecoderTest : public ::testing::TestWithParam<ContentCoding> {
 protected:
  DecoderPtr make(const DecodeLimits& limits = {}) const {
    DecoderPtr decoder = makeDecoder(GetParam(), limits);
    EXPECT_NE(decoder, nullptr);
    return decoder;
  }
  // Appends `bytes` to the pending input and decodes; the output collects in out_.
  DecodeResult feed(Decoder& decoder, std::string_view bytes) {
    in_.append(bytes);
    return decoder.decode(in_, out_);
  }
  // 10 MiB of zeros is a few KiB compressed: a classic bomb.
  std::string bomb() const { return compress(GetParam(), std::string(10 * kMiB, '\0')); }

  buffer::Buffer in_;
  buffer::Buffer out_;
};

TEST_P(DecoderTest, DecodesInRandomChunks) {
  std::mt19937_64 rng(7);
  for (size_t size : {size_t{0}, size_t{1}, size_t{100 * 1024}, 3 * kMiB}) {
    SCOPED_TRACE(size);
    const std::string body = textLike(size, rng);
    const std::string compressed = compress(GetParam(), body);
    DecoderPtr decoder = make();
    buffer::Buffer in;
    buffer::Buffer out;
    DecodeResult result = DecodeResult::Ok;
    for (size_t fed = 0; fed < compressed.size();) {
      const size_t n = std::min(randomChunk(rng), compressed.size() - fed);
      in.append(compressed.data() + fed, n);
      fed += n;
      result = decoder->decode(in, out);
      ASSERT_TRUE(result == DecodeResult::Ok ||
                  (result == DecodeResult::Finished && fed == compressed.size()));
      ASSERT_TRUE(in.empty());
    }
    EXPECT_EQ(result, DecodeResult::Finished);
    EXPECT_TRUE(out.toString() == body);
  }
}

// With the ratio check off, the size cap alone must stop a bomb, and the decoder must never
// have written past cap + 1 bytes.
TEST_P(DecoderTest, SizeCapStopsABombWithoutOvershooting) {
  const std::string compressed = bomb();
  ASSERT_LT(compressed.size(), 64u * 1024);
  DecodeLimits limits;
  limits.max_size = 1 * kMiB;
  limits.max_ratio = 0;
  DecoderPtr decoder = make(limits);
  EXPECT_EQ(feed(*decoder, compressed), DecodeResult::TooLarge);
  EXPECT_LE(out_.length(), limits.max_size + 1);
  EXPECT_GE(out_.length(), limits.max_size);
  // Final: more input does not restart it.
  EXPECT_EQ(feed(*decoder, compressed), DecodeResult::TooLarge);
  EXPECT_LE(out_.length(), limits.max_size + 1);
  EXPECT_LT(decoder->memoryBytes(), 2 * kMiB);
}

// Under a generous size cap the ratio check catches the bomb, before the output has grown
// past max_ratio times the input by more than one output block.
TEST_P(DecoderTest, RatioCheckStopsABomb) {
  const std::string compressed = bomb();
  DecodeLimits limits;
  limits.max_size = 64 * kMiB;
  limits.max_ratio = 100;
  DecoderPtr decoder = make(limits);
  EXPECT_EQ(feed(*decoder, compressed), DecodeResult::BombDetected);
  EXPECT_LE(out_.length(),
            std::max<size_t>(limits.ratio_floor, limits.max_ratio * compressed.size()) +
                buffer::kBlockSize);
}

TEST_P(DecoderTest, SmallBodiesThatCompressWellAreNotBombs) {
  // 40 KiB of one repeated record compresses past 100:1 but stays under the ratio floor.
  std::string body;
  while (body.size() < 40 * 1024) body += "{\"status\":\"ok\"}\n";
  DecoderPtr decoder = make();
  EXPECT_EQ(feed(*decoder, compress(GetParam(), body)), DecodeResult::Finished);
  EXPECT_TRUE(out_.toString() == body);
}

TEST_P(DecoderTest, TheLargestSizeCapMeansNoCap) {
  DecodeLimits limits;
  limits.max_size = UINT64_MAX;  // the cap + 1 allowance must not wrap to 0
  DecoderPtr decoder = make(limits);
  EXPECT_EQ(feed(*decoder, compress(GetParam(), "hello")), DecodeResult::Finished);
  EXPECT_EQ(out_.toString(), "hello");
}

TEST_P(DecoderTest, TruncatedStreamIsNotFinished) {
  std::mt19937_64 rng(8);
  const std::string compressed = compress(GetParam(), textLike(50000, rng));
  DecoderPtr decoder = make();
  EXPECT_EQ(feed(*decoder, compressed.substr(0, compressed.size() - 4)), DecodeResult::Ok);
}

TEST_P(DecoderTest, GarbageIsAnError) {
  DecoderPtr decoder = make();
  EXPECT_EQ(feed(*decoder, "this is not a compressed stream, not even close to one...."),
            DecodeResult::Error);
  EXPECT_EQ(feed(*decoder, ""), DecodeResult::Error);
}

TEST_P(DecoderTest, BytesAfterTheEndAreAnError) {
  DecoderPtr decoder = make();
  EXPECT_EQ(feed(*decoder, compress(GetParam(), "hello") + "trailing"), DecodeResult::Error);
}

TEST_P(DecoderTest, BytesAfterFinishedAreAnError) {
  DecoderPtr decoder = make();
  ASSERT_EQ(feed(*decoder, compress(GetParam(), "hello")), DecodeResult::Finished);
  EXPECT_EQ(feed(*decoder, ""), DecodeResult::Finished);  // nothing new: still done
  EXPECT_EQ(feed(*decoder, "x"), DecodeResult::Error);
}

INSTANTIATE_TEST_SUITE_P(Codings, DecoderTest,
                         ::testing::Values(ContentCoding::Gzip, ContentCoding::Brotli,
                                           ContentCoding::Zstd),
                         testing::codingTestName);

TEST(DecoderFactoryTest, IdentityHasNoDecoder) {
  EXPECT_EQ(makeDecoder(ContentCoding::Identity, {}), nullptr);
}

// A peer chooses the window; the decoders refuse windows that would let it choose our memory.
TEST(DecoderWindowTest, ZstdRefusesWindowsAbove8MiB) {
  std::mt19937_64 rng(9);
  const std::string body = textLike(200 * 1024, rng);
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_windowLog, 24);
  std::string compressed(ZSTD_compressBound(body.size()) + 64, '\0');
  ZSTD_outBuffer output{compressed.data(), compressed.size(), 0};
  // Two calls, so the frame's size is unknown up front and the header names the full window.
  ZSTD_inBuffer input{body.data(), body.size() / 2, 0};
  ZSTD_compressStream2(cctx, &output, &input, ZSTD_e_continue);
  ZSTD_inBuffer rest{body.data() + body.size() / 2, body.size() - body.size() / 2, 0};
  ASSERT_EQ(ZSTD_compressStream2(cctx, &output, &rest, ZSTD_e_end), 0u);
  ZSTD_freeCCtx(cctx);
  compressed.resize(output.pos);

  DecoderPtr decoder = makeDecoder(ContentCoding::Zstd, {});
  EXPECT_EQ(decodeWhole(*decoder, compressed), DecodeResult::Error);
  EXPECT_LT(decoder->memoryBytes(), 2 * kMiB);
}

TEST(DecoderWindowTest, BrotliRefusesWindowsPastItsHeapLimit) {
  std::mt19937_64 rng(10);
  const std::string body = textLike(12 * kMiB, rng);
  std::string compressed(BrotliEncoderMaxCompressedSize(body.size()), '\0');
  size_t size = compressed.size();
  ASSERT_TRUE(BrotliEncoderCompress(1, 24, BROTLI_MODE_GENERIC, body.size(),
                                    reinterpret_cast<const uint8_t*>(body.data()), &size,
                                    reinterpret_cast<uint8_t*>(compressed.data())));
  compressed.resize(size);

  DecodeLimits limits;
  limits.max_size = 64 * kMiB;
  DecoderPtr decoder = makeDecoder(ContentCoding::Brotli, limits);
  EXPECT_EQ(decodeWhole(*decoder, compressed), DecodeResult::Error);
  EXPECT_LE(decoder->memoryBytes(), 9 * kMiB);
}

}  // namespace
}  // namespace portico::filters::compress
