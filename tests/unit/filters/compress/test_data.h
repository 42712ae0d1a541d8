#pragma once
// Bodies and chunkings for the compression tests, all from a seeded generator so a failure
// repeats exactly.

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>

#include "http/accept_encoding.h"

namespace portico::filters::compress::testing {

// Uniform random bytes: the worst case for every coding (output slightly larger than input).
inline std::string randomBytes(size_t size, std::mt19937_64& rng) {
  std::string out(size, '\0');
  for (char& c : out) c = static_cast<char>(rng());
  return out;
}

// Text with the redundancy of real web bodies: words from a small vocabulary in JSON-ish
// records, so matches are frequent but never one endless repeat.
inline std::string textLike(size_t size, std::mt19937_64& rng) {
  static constexpr std::string_view kWords[] = {
      "\"id\":",  "\"name\":", "portico", "proxy",  "{",    "}",      ", ",     "\n",
      "upstream", "request",   "true",    "false",  "null", "<div>",  "</div>", "compress",
      "0",        "42",        "1999",    "stream", "gzip", "brotli", "zstd",   "\"value\":"};
  std::string out;
  out.reserve(size + 16);
  while (out.size() < size) out += kWords[rng() % std::size(kWords)];
  out.resize(size);
  return out;
}

// A chunk size between 1 byte and 64 KiB, spread evenly over the orders of magnitude so tiny
// writes and block-sized ones both occur.
inline size_t randomChunk(std::mt19937_64& rng) {
  const int bits = static_cast<int>(rng() % 17);
  return 1 + static_cast<size_t>(rng() % (size_t{1} << bits));
}

// Names parameterized tests after the coding: EncoderTest/RoundTrips.../br.
inline std::string codingTestName(const ::testing::TestParamInfo<http::ContentCoding>& param) {
  return std::string(http::codingName(param.param));
}

}  // namespace portico::filters::compress::testing
