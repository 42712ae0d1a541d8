#include "buffer/buffer.h"

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <new>

namespace portico::buffer {

Buffer::~Buffer() {
  clear();
}

Buffer::Buffer(Buffer&& other) noexcept
    : slices_(std::move(other.slices_)), head_(other.head_), length_(other.length_) {
  other.slices_.clear();
  other.head_ = 0;
  other.length_ = 0;
}

Buffer& Buffer::operator=(Buffer&& other) noexcept {
  if (this != &other) {
    clear();
    slices_ = std::move(other.slices_);
    head_ = other.head_;
    length_ = other.length_;
    other.slices_.clear();
    other.head_ = 0;
    other.length_ = 0;
  }
  return *this;
}

void Buffer::pushBlock() {
  slices_.push_back(Slice{allocateBlock(), 0, 0});
}

std::pair<char*, size_t> Buffer::reserve(size_t min_bytes) {
  if (min_bytes > kBlockSize) min_bytes = kBlockSize;
  if (head_ < slices_.size()) {
    Slice& tail = slices_.back();
    size_t room = kBlockSize - tail.end;
    if (tail.block->refs == 1 && room >= min_bytes && room > 0)
      return {tail.block->data + tail.end, room};
  }
  pushBlock();
  return {slices_.back().block->data, kBlockSize};
}

void Buffer::commit(size_t bytes) {
  if (bytes == 0) {
    // An empty tail slice left by reserve() carries no data: drop it.
    if (head_ < slices_.size() && slices_.back().begin == slices_.back().end) {
      releaseBlock(slices_.back().block);
      slices_.pop_back();
      if (head_ == slices_.size()) {
        slices_.clear();
        head_ = 0;
      }
    }
    return;
  }
  slices_.back().end += static_cast<uint32_t>(bytes);
  length_ += bytes;
}

uint64_t Buffer::appendFromFile(int fd, uint64_t offset, uint64_t length) {
  uint64_t done = 0;
  while (done < length) {
    auto [dst, room] = reserve(kBlockSize);
    const uint64_t left = length - done;
    const size_t want = room < left ? room : static_cast<size_t>(left);
    ssize_t n = ::pread(fd, dst, want, static_cast<off_t>(offset + done));
    if (n <= 0) {
      commit(0);
      break;
    }
    commit(static_cast<size_t>(n));
    done += static_cast<uint64_t>(n);
  }
  return done;
}

void Buffer::append(const void* data, size_t len) {
  const char* p = static_cast<const char*>(data);
  while (len > 0) {
    auto [dst, room] = reserve(len < 512 ? len : 512);
    size_t n = len < room ? len : room;
    std::memcpy(dst, p, n);
    commit(n);
    p += n;
    len -= n;
  }
}

void Buffer::drain(size_t bytes) {
  while (bytes > 0 && head_ < slices_.size()) {
    Slice& s = slices_[head_];
    size_t have = s.end - s.begin;
    if (bytes < have) {
      s.begin += static_cast<uint32_t>(bytes);
      length_ -= bytes;
      return;
    }
    bytes -= have;
    length_ -= have;
    releaseBlock(s.block);
    ++head_;
  }
  compactSlices();
}

void Buffer::compactSlices() {
  if (head_ == slices_.size()) {
    slices_.clear();
    head_ = 0;
  } else if (head_ > 16 && head_ * 2 > slices_.size()) {
    slices_.erase(slices_.begin(), slices_.begin() + static_cast<std::ptrdiff_t>(head_));
    head_ = 0;
  }
}

void Buffer::moveFrom(Buffer& other, size_t bytes) {
  while (bytes > 0 && other.head_ < other.slices_.size()) {
    Slice& s = other.slices_[other.head_];
    size_t have = s.end - s.begin;
    if (have == 0) {
      releaseBlock(s.block);
      ++other.head_;
      continue;
    }
    if (bytes >= have) {
      if (have <= kCoalesceBytes && appendToTail(s.block->data + s.begin, have)) {
        // A small slice is copied next to its predecessor rather than pinning a block of its
        // own: many small writes (pipelined local replies, chunk framing) would otherwise cost
        // a 16 KiB block each, and memory would no longer track length().
        releaseBlock(s.block);
      } else {
        slices_.push_back(s);  // the reference moves with the slice
        length_ += have;
      }
      other.length_ -= have;
      bytes -= have;
      ++other.head_;
      continue;
    }
    // Split: small pieces are cheaper to copy than to pin a whole 16 KiB block for.
    if (bytes <= 256) {
      append(s.block->data + s.begin, bytes);
    } else {
      ++s.block->refs;
      slices_.push_back(Slice{s.block, s.begin, s.begin + static_cast<uint32_t>(bytes)});
      length_ += bytes;
    }
    s.begin += static_cast<uint32_t>(bytes);
    other.length_ -= bytes;
    bytes = 0;
  }
  other.compactSlices();
}

bool Buffer::appendToTail(const char* data, size_t len) {
  if (head_ == slices_.size()) return false;
  Slice& tail = slices_.back();
  if (tail.block->refs != 1 || kBlockSize - tail.end < len) return false;
  std::memcpy(tail.block->data + tail.end, data, len);
  tail.end += static_cast<uint32_t>(len);
  length_ += len;
  return true;
}

std::string_view Buffer::firstSlice() const {
  for (size_t i = head_; i < slices_.size(); ++i) {
    const Slice& s = slices_[i];
    if (s.end > s.begin) return {s.block->data + s.begin, s.end - s.begin};
  }
  return {};
}

int Buffer::iovecs(struct iovec* out, int max) const {
  int n = 0;
  for (size_t i = head_; i < slices_.size() && n < max; ++i) {
    const Slice& s = slices_[i];
    if (s.end == s.begin) continue;
    out[n].iov_base = s.block->data + s.begin;
    out[n].iov_len = s.end - s.begin;
    ++n;
  }
  return n;
}

std::string Buffer::copyOut(size_t bytes) const {
  std::string out;
  out.reserve(bytes < length_ ? bytes : length_);
  for (size_t i = head_; i < slices_.size() && out.size() < bytes; ++i) {
    const Slice& s = slices_[i];
    size_t take = s.end - s.begin;
    if (take > bytes - out.size()) take = bytes - out.size();
    out.append(s.block->data + s.begin, take);
  }
  return out;
}

void Watermark::update(size_t count) {
  if (high_ == 0) return;
  if (!above_ && count > high_) {
    above_ = true;
    if (on_high_) on_high_(ctx_);
  } else if (above_ && count <= low_) {
    above_ = false;
    if (on_low_) on_low_(ctx_);
  }
}

}  // namespace portico::buffer
