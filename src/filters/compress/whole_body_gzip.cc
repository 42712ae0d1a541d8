#include "filters/compress/whole_body_gzip.h"

#include <libdeflate.h>

#include <array>
#include <memory>
#include <vector>

namespace portico::filters::compress {
namespace {

struct CompressorFree {
  void operator()(libdeflate_compressor* c) const { libdeflate_free_compressor(c); }
};
using CompressorPtr = std::unique_ptr<libdeflate_compressor, CompressorFree>;

// Indexed by level; gzip levels are 1-9.
thread_local std::array<CompressorPtr, 10> t_compressors;

libdeflate_compressor* compressorFor(int level) {
  if (level < 1 || level > 9) return nullptr;
  CompressorPtr& slot = t_compressors[static_cast<size_t>(level)];
  if (!slot) slot.reset(libdeflate_alloc_compressor(level));
  return slot.get();
}

}  // namespace

bool gzipWhole(std::string_view body, int level, buffer::Buffer& out) {
  libdeflate_compressor* compressor = compressorFor(level);
  if (compressor == nullptr) return false;
  // Output goes through a per-thread scratch area: buffer blocks are smaller than most
  // compressed bodies, and libdeflate needs one contiguous destination.
  thread_local std::vector<char> scratch;
  const size_t bound = libdeflate_gzip_compress_bound(compressor, body.size());
  if (scratch.size() < bound) scratch.resize(bound);
  const size_t n =
      libdeflate_gzip_compress(compressor, body.data(), body.size(), scratch.data(), bound);
  if (n == 0) return false;
  out.append(scratch.data(), n);
  return true;
}

}  // namespace portico::filters::compress
