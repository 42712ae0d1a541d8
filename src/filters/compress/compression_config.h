#pragma once
// The typed configuration of a route's `compression` block (docs/configuration.md), built at
// load time and shared read-only by every worker through the config snapshot.

#include <array>
#include <cstdint>
#include <vector>

#include "filters/compress/content_types.h"
#include "filters/compress/decoder.h"
#include "http/accept_encoding.h"

namespace portico::filters::compress {

inline ContentTypeMatcher defaultTypeMatcher() {
  std::span<const std::string_view> types = defaultCompressibleTypes();
  return ContentTypeMatcher(std::vector<std::string>(types.begin(), types.end()));
}

struct RequestDecompression {
  bool enabled = false;  // off unless configured: a compressed upload is the backend's business
  DecodeLimits limits;
};

struct CompressionConfig {
  bool enabled = true;
  // Server preference, most preferred first: breaks ties between codings the client rates
  // equally (the common case: "gzip, deflate, br, zstd").
  std::vector<http::ContentCoding> encodings{http::ContentCoding::Zstd, http::ContentCoding::Brotli,
                                             http::ContentCoding::Gzip};
  // Indexed by ContentCoding; levelRange(coding).fallback until configured.
  std::array<int, 4> levels{0, 6, 5, 3};
  ContentTypeMatcher content_types = defaultTypeMatcher();
  // A response that declares a shorter Content-Length is sent as is: the coding's framing
  // would make it bigger and the CPU buys nothing.
  uint64_t min_length = 256;
  RequestDecompression request;

  int level(http::ContentCoding coding) const { return levels[static_cast<size_t>(coding)]; }
};

}  // namespace portico::filters::compress
