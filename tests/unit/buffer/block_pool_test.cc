#include "buffer/block_pool.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <thread>
#include <vector>

namespace portico::buffer {
namespace {

// Each test runs in a thread of its own: the pool is per thread, so it starts empty.
template <typename Fn>
void inFreshThread(Fn fn) {
  std::thread t(fn);
  t.join();
}

bool resident(const Block* b) {
  const long page = sysconf(_SC_PAGESIZE);
  std::vector<unsigned char> pages(kBlockSize / static_cast<size_t>(page));
  EXPECT_EQ(mincore(b->data, kBlockSize, pages.data()), 0);
  for (unsigned char p : pages) {
    if (!(p & 1)) return false;
  }
  return true;
}

std::vector<Block*> allocateTouched(size_t n) {
  std::vector<Block*> blocks;
  for (size_t i = 0; i < n; ++i) {
    Block* b = allocateBlock();
    std::memset(b->data, 'x', kBlockSize);
    blocks.push_back(b);
  }
  return blocks;
}

TEST(BlockPoolTest, ReleasedBlocksAreReusedWithoutTouchingTheKernel) {
  inFreshThread([] {
    Block* a = allocateBlock();
    EXPECT_EQ(a->refs, 1u);
    releaseBlock(a);
    EXPECT_EQ(recycledBlockCount(), 1u);
    Block* b = allocateBlock();
    EXPECT_EQ(b, a);  // most recently used first: its pages are warm
    ++b->refs;        // a second reference: the first release keeps it
    releaseBlock(b);
    EXPECT_EQ(recycledBlockCount(), 0u);
    releaseBlock(b);
    EXPECT_EQ(recycledBlockCount(), 1u);
  });
}

TEST(BlockPoolTest, BlocksUnusedForAWholePeriodGoBackToTheKernel) {
  inFreshThread([] {
    std::vector<Block*> blocks = allocateTouched(100);
    for (Block* b : blocks) releaseBlock(b);
    EXPECT_EQ(recycledBlockCount(), 100u);
    // First period: the burst used them all, nothing was idle for a whole period yet.
    EXPECT_EQ(trimIdleBlocks(10), 0u);
    // Second period: nobody needed them; all but 10 are handed back.
    EXPECT_EQ(trimIdleBlocks(10), 90u);
    EXPECT_EQ(recycledBlockCount(), 10u);
    // The least recently used went first; the warmest stay resident.
    EXPECT_FALSE(resident(blocks.front()));
    EXPECT_TRUE(resident(blocks.back()));
    // A trimmed block is still ours: reusing it costs page faults, and its pages read as
    // zeros (the kernel dropped them); the 10 resident ones come back as they were.
    size_t zeroed = 0;
    std::vector<Block*> again;
    for (int i = 0; i < 100; ++i) {
      again.push_back(allocateBlock());
      if (again.back()->data[kBlockSize - 1] == 0) ++zeroed;
    }
    EXPECT_EQ(zeroed, 90u);
    for (Block* b : again) releaseBlock(b);
  });
}

TEST(BlockPoolTest, ABusyWorkerKeepsItsWorkingSet) {
  inFreshThread([] {
    std::vector<Block*> blocks = allocateTouched(100);
    for (Block* b : blocks) releaseBlock(b);
    trimIdleBlocks(0);
    // Each period the worker needs 60 of its 100 free blocks at once: only 40 were idle.
    std::vector<Block*> busy = allocateTouched(60);
    for (Block* b : busy) releaseBlock(b);
    EXPECT_EQ(trimIdleBlocks(0), 40u);
    EXPECT_EQ(recycledBlockCount(), 60u);
  });
}

}  // namespace
}  // namespace portico::buffer
