// libFuzzer target for the request-body decoders (filters/compress): compressed bodies are
// attacker-controlled.
//
// The first input byte chooses the coding (gzip, br, zstd) and the split seed; the rest is
// the body, fed whole and in pieces as a socket would deliver it. Whatever the bytes, a decoder
// must never write past max_size + 1, never hold more heap than its documented bound, and keep
// reporting a final result once it gave one. A body decoded whole and in pieces must decode
// to the same bytes.

#include <cstdint>
#include <string>

#include "buffer/buffer.h"
#include "filters/compress/decoder.h"
#include "fuzz_support.h"

namespace {

using portico::buffer::Buffer;
using portico::filters::compress::DecodeLimits;
using portico::filters::compress::DecodeResult;
using portico::filters::compress::makeDecoder;
using portico::fuzz::check;
using portico::http::ContentCoding;

constexpr size_t kMaxDecoderHeap = 10 * 1024 * 1024;

DecodeLimits fuzzLimits() {
  DecodeLimits limits;
  limits.max_size = 256 * 1024;  // small, so bombs end fast
  return limits;
}

// Decodes `body` in the pieces `splitter` cuts, or whole without one; returns the last
// result, with the output in `out`.
DecodeResult decode(ContentCoding coding, std::string_view body, portico::fuzz::Splitter* splitter,
                    std::string& out) {
  const DecodeLimits limits = fuzzLimits();
  auto decoder = makeDecoder(coding, limits);
  check(decoder != nullptr);
  Buffer in;
  Buffer decoded;
  DecodeResult result = DecodeResult::Ok;
  size_t pos = 0;
  do {
    const size_t n = splitter != nullptr ? splitter->next(body.size() - pos) : body.size();
    in.append(body.data() + pos, n);
    pos += n;
    const DecodeResult previous = result;
    result = decoder->decode(in, decoded);
    check(decoded.length() <= limits.max_size + 1);
    check(decoder->memoryBytes() <= kMaxDecoderHeap);
    // A final result stays final (Finished may turn into Error if bytes follow it).
    if (previous == DecodeResult::TooLarge || previous == DecodeResult::BombDetected ||
        previous == DecodeResult::Error)
      check(result == previous);
  } while (pos < body.size());
  out = decoded.toString();
  return result;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static constexpr ContentCoding kCodings[] = {ContentCoding::Gzip, ContentCoding::Brotli,
                                               ContentCoding::Zstd};
  const ContentCoding coding = kCodings[data[0] % 3];
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  portico::fuzz::Splitter splitter(data[0]);
  std::string pieces;
  const DecodeResult in_pieces = decode(coding, body, &splitter, pieces);
  std::string whole;
  const DecodeResult at_once = decode(coding, body, nullptr, whole);
  if (in_pieces == DecodeResult::Finished && at_once == DecodeResult::Finished)
    check(pieces == whole);
  return 0;
}
