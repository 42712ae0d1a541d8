#pragma once
// HeapAccount: the allocator we hand zlib and brotli, so that the memory each stream's
// compression state takes can be read (memoryBytes()) and tested against its documented bound
// instead of guessed. zstd reports its own size (ZSTD_sizeof_*) and does not need it.
// Worker-local, like the encoder or decoder that owns it; it must outlive the library state.

#include <cstddef>
#include <cstdint>

namespace portico::filters::compress {

class HeapAccount {
 public:
  HeapAccount() = default;
  // Refuses allocations that would take the total past `limit`: how a decoder keeps a peer
  // from choosing its memory (a brotli stream names its own window, up to 16 MiB).
  explicit HeapAccount(size_t limit) : limit_(limit) {}

  // nullptr when malloc fails or the limit would be passed (the libraries report either as
  // an allocation error of their own).
  void* allocate(size_t bytes);
  // Accepts nullptr, as free() does.
  void release(void* p);

  size_t current() const { return current_; }

  // C callbacks in the shapes the libraries take; `opaque` is the HeapAccount.
  static void* zlibAlloc(void* opaque, unsigned items, unsigned size);
  static void zlibFree(void* opaque, void* p);
  static void* brotliAlloc(void* opaque, size_t bytes);
  static void brotliFree(void* opaque, void* p);

 private:
  size_t limit_ = SIZE_MAX;
  size_t current_ = 0;
};

}  // namespace portico::filters::compress
