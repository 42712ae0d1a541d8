#pragma once
// A table indexed by a small integer (a host's index) that one thread grows and any thread
// reads, without a lock on either side.
//
// Entries live in fixed chunks that never move, so a reference stays valid for the table's
// life. A directory holds the chunk pointers; when it is full the writer publishes a copy
// twice its size and keeps the old one alive (readers may still hold it) until the table
// dies: directories only double, so the retired ones total less than the live one. A reader
// sees a chunk once its pointer is published (release/acquire); a chunk it does not see yet
// reads as absent. T must be default-constructible and safe to read concurrently with its
// writer (stats::Counter and friends are).

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <memory>
#include <vector>

namespace portico::stats {

template <typename T>
class GrowableTable {
 public:
  static constexpr size_t kChunk = 16;

  GrowableTable() { grow(4); }
  GrowableTable(const GrowableTable&) = delete;
  GrowableTable& operator=(const GrowableTable&) = delete;

  // Writer thread only: the entry, made (zeroed) on first use.
  T& at(size_t index) {
    const size_t c = index / kChunk;
    Directory* dir = current_.load(std::memory_order_relaxed);
    if (c >= dir->slots.size()) dir = grow(std::max(dir->slots.size() * 2, c + 1));
    Chunk* chunk = dir->slots[c].load(std::memory_order_relaxed);
    if (chunk == nullptr) {
      chunks_.push_back(std::make_unique<Chunk>());
      chunk = chunks_.back().get();
      dir->slots[c].store(chunk, std::memory_order_release);
    }
    return (*chunk)[index % kChunk];
  }

  // Any thread: the entry if the writer made it (and this reader sees it), else null.
  const T* find(size_t index) const {
    const Directory* dir = current_.load(std::memory_order_acquire);
    const size_t c = index / kChunk;
    if (c >= dir->slots.size()) return nullptr;
    const Chunk* chunk = dir->slots[c].load(std::memory_order_acquire);
    return chunk == nullptr ? nullptr : &(*chunk)[index % kChunk];
  }

 private:
  using Chunk = std::array<T, kChunk>;
  struct Directory {
    explicit Directory(size_t n) : slots(n) {}
    std::vector<std::atomic<Chunk*>> slots;
  };

  Directory* grow(size_t size) {
    auto next = std::make_unique<Directory>(size);
    if (Directory* old = current_.load(std::memory_order_relaxed)) {
      for (size_t i = 0; i < old->slots.size(); ++i) {
        next->slots[i].store(old->slots[i].load(std::memory_order_relaxed),
                             std::memory_order_relaxed);
      }
    }
    Directory* raw = next.get();
    directories_.push_back(std::move(next));
    current_.store(raw, std::memory_order_release);
    return raw;
  }

  std::atomic<Directory*> current_{nullptr};
  // Writer-owned; freed with the table (no reader outlives it).
  std::vector<std::unique_ptr<Directory>> directories_;
  std::vector<std::unique_ptr<Chunk>> chunks_;
};

}  // namespace portico::stats
