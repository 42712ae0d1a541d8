#include "filters/compress/heap_account.h"

#include <cstdlib>
#include <cstring>
#include <limits>

namespace portico::filters::compress {
namespace {

// Each allocation is prefixed with its size, because neither zlib's nor brotli's free
// callback passes one. The prefix keeps malloc's alignment for what follows it.
constexpr size_t kPrefix = alignof(std::max_align_t);

}  // namespace

void* HeapAccount::allocate(size_t bytes) {
  if (bytes > limit_ - current_ || bytes > std::numeric_limits<size_t>::max() - kPrefix)
    return nullptr;
  auto* base = static_cast<unsigned char*>(std::malloc(kPrefix + bytes));
  if (base == nullptr) return nullptr;
  std::memcpy(base, &bytes, sizeof bytes);
  current_ += bytes;
  return base + kPrefix;
}

void HeapAccount::release(void* p) {
  if (p == nullptr) return;
  auto* base = static_cast<unsigned char*>(p) - kPrefix;
  size_t bytes;
  std::memcpy(&bytes, base, sizeof bytes);
  current_ -= bytes;
  std::free(base);
}

void* HeapAccount::zlibAlloc(void* opaque, unsigned items, unsigned size) {
  // zlib's items * size is computed in size_t, where two 32-bit factors cannot overflow.
  return static_cast<HeapAccount*>(opaque)->allocate(size_t{items} * size);
}

void HeapAccount::zlibFree(void* opaque, void* p) {
  static_cast<HeapAccount*>(opaque)->release(p);
}

void* HeapAccount::brotliAlloc(void* opaque, size_t bytes) {
  return static_cast<HeapAccount*>(opaque)->allocate(bytes);
}

void HeapAccount::brotliFree(void* opaque, void* p) {
  static_cast<HeapAccount*>(opaque)->release(p);
}

}  // namespace portico::filters::compress
