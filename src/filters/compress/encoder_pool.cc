#include "filters/compress/encoder_pool.h"

#include <vector>

namespace portico::filters::compress {
namespace {

struct Spare {
  http::ContentCoding coding;
  int level;
  size_t bytes;
  EncoderPtr encoder;
};

struct Pool {
  std::vector<Spare> spares;
  size_t bytes = 0;
};

thread_local Pool t_pool;

}  // namespace

EncoderPtr acquireEncoder(http::ContentCoding coding, int level) {
  Pool& pool = t_pool;
  // Newest first: its pages are the most likely to still be in cache.
  for (size_t i = pool.spares.size(); i-- > 0;) {
    Spare& spare = pool.spares[i];
    if (spare.coding != coding || spare.level != level) continue;
    EncoderPtr encoder = std::move(spare.encoder);
    pool.bytes -= spare.bytes;
    pool.spares.erase(pool.spares.begin() + static_cast<std::ptrdiff_t>(i));
    return encoder;
  }
  return makeEncoder(coding, level);
}

void releaseEncoder(http::ContentCoding coding, int level, EncoderPtr encoder) {
  if (!encoder || !encoder->restart()) return;
  Pool& pool = t_pool;
  const size_t bytes = encoder->memoryBytes();
  if (bytes > kPoolBytes - pool.bytes) return;  // full: this one is freed
  pool.bytes += bytes;
  pool.spares.push_back(Spare{coding, level, bytes, std::move(encoder)});
}

size_t pooledEncoders() {
  return t_pool.spares.size();
}
size_t pooledEncoderBytes() {
  return t_pool.bytes;
}

}  // namespace portico::filters::compress
