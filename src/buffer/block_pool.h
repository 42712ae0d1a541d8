#pragma once
// Where buffer blocks come from: 16 KiB blocks carved from 1 MiB anonymous mappings and kept
// on a per-thread free list.
//
// - Allocation and release on the hot path are a pointer pop and push: no lock, no syscall.
// - Blocks never go back to malloc, so a burst of traffic does not leave the general heap
//   fragmented (freed 16 KiB chunks interleaved with small long-lived objects, which malloc
//   can never give back).
// - trimIdleBlocks(), called by the owning thread's housekeeping every few hundred
//   milliseconds, hands the pages of free blocks that were not needed during a whole period
//   back to the kernel (madvise MADV_DONTNEED; the block stays ours and costs page faults, not
//   a syscall, when reused). The memory a burst needed is returned within two periods, while a
//   steadily busy worker keeps its working set resident: jemalloc's decay, in miniature.
//
// Mappings are never unmapped: a block may be released on another thread than the one that
// carved it (a worker's connections are destroyed by the main thread at exit), and keeping
// the address space costs no resident memory once trimmed.

#include <cstddef>
#include <cstdint>

namespace portico::buffer {

inline constexpr size_t kBlockSize = 16384;  // payload bytes per block: four whole pages

// The header lives apart from the payload, so the payload is page-aligned (the kernel copies
// into whole pages, and trimming drops exactly the block's pages) and exactly 16 KiB.
struct Block {
  uint32_t refs;
  char* data;  // kBlockSize bytes
};

// Thread-local pool. allocateBlock() returns a block with one reference.
Block* allocateBlock();
// Drops one reference; the last one returns the block to this thread's free list.
void releaseBlock(Block* block);

// Free blocks resident on this thread's list (tests and stats).
size_t recycledBlockCount();
// Returns to the kernel the pages of free blocks that stayed unused since the previous call,
// keeping at least `keep_resident` free blocks resident. Returns how many were trimmed.
size_t trimIdleBlocks(size_t keep_resident);

}  // namespace portico::buffer
