#pragma once
// Buffer: a chain of slices of reference-counted 16 KiB blocks from a per-thread pool
// (buffer/block_pool.h).
//
// Why: bytes read from one socket move to another socket (or the cache) without copying.
// moveFrom() hands whole slices over, and shares a block (reference count) when it splits
// one; iovecs() feeds writev(); drain() is O(1) per slice. Reads land in the tail block.
//
// Invariant: only a block with a single reference is ever written to, so two buffers that
// share a block never see each other's bytes change.
// Worker-local: a buffer and its blocks belong to one thread at a time.

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "buffer/block_pool.h"

namespace portico::buffer {

class Buffer {
 public:
  Buffer() = default;
  ~Buffer();
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  Buffer(Buffer&& other) noexcept;
  Buffer& operator=(Buffer&& other) noexcept;

  size_t length() const { return length_; }
  bool empty() const { return length_ == 0; }

  void append(const void* data, size_t len);
  void append(std::string_view s) { append(s.data(), s.size()); }
  // Appends `length` bytes of file `fd` from `offset` (pread, block by block). Returns the
  // bytes appended: fewer if the file ended early or could not be read.
  uint64_t appendFromFile(int fd, uint64_t offset, uint64_t length);

  // Writable space at the tail of at least `min_bytes` (up to a block); fill it, then commit().
  std::pair<char*, size_t> reserve(size_t min_bytes);
  void commit(size_t bytes);

  // Drops the first `bytes` bytes (must be <= length()).
  void drain(size_t bytes);
  void clear() { drain(length_); }

  // Moves the first `bytes` bytes of `other` to the end of this buffer without copying.
  void moveFrom(Buffer& other, size_t bytes);
  void moveFrom(Buffer& other) { moveFrom(other, other.length_); }

  // The first contiguous run of bytes (empty if the buffer is empty).
  std::string_view firstSlice() const;

  // Fills up to `max` iovecs from the front; returns how many were filled.
  int iovecs(struct iovec* out, int max) const;

  // Copies the first `bytes` bytes out (tests, small headers); does not drain.
  std::string copyOut(size_t bytes) const;
  std::string toString() const { return copyOut(length_); }

  size_t sliceCount() const { return slices_.size() - head_; }

 private:
  struct Slice {
    Block* block;
    uint32_t begin;
    uint32_t end;
  };
  void pushBlock();
  void compactSlices();
  // Copies into the tail block if it is ours alone and has the room; false otherwise.
  bool appendToTail(const char* data, size_t len);
  // moveFrom() copies whole slices up to this size instead of linking their blocks.
  static constexpr size_t kCoalesceBytes = 4096;

  std::vector<Slice> slices_;
  size_t head_ = 0;  // index of the first live slice in slices_
  size_t length_ = 0;
};

// High and low watermarks over a byte count that its owner reports after every change (the
// bytes a connection still owes its peer, say, which may include queued file ranges that are
// not in memory). Crossing the high watermark calls on_high once; falling back to the low
// watermark calls on_low once. Owners use them to pause and resume the other side, which
// bounds memory per connection.
class Watermark {
 public:
  void setHigh(size_t high) {
    high_ = high;
    low_ = high / 2;
  }
  // Call after anything that may change the count.
  void update(size_t count);
  bool aboveHigh() const { return above_; }
  size_t high() const { return high_; }

  // Callbacks are plain function pointers + context: no allocation per connection.
  using Callback = void (*)(void* ctx);
  void setCallbacks(Callback on_high, Callback on_low, void* ctx) {
    on_high_ = on_high;
    on_low_ = on_low;
    ctx_ = ctx;
  }

 private:
  size_t high_ = 0;  // 0 = no watermark
  size_t low_ = 0;
  bool above_ = false;
  Callback on_high_ = nullptr;
  Callback on_low_ = nullptr;
  void* ctx_ = nullptr;
};

}  // namespace portico::buffer
