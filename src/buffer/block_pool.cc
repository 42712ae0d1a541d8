#include "buffer/block_pool.h"

#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define PORTICO_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define PORTICO_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define PORTICO_POISON(p, n) ((void)(p), (void)(n))
#define PORTICO_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

namespace portico::buffer {

namespace {
constexpr size_t kBlocksPerMapping = 64;  // 1 MiB per mmap

// Every header array ever carved, reachable from a global for the life of the process: blocks
// outlive the thread that carved them (block_pool.h), and leak checkers see them as in use.
std::mutex g_headers_mutex;
std::vector<Block*>* const g_headers = new std::vector<Block*>();

struct Pool {
  std::vector<Block*> resident;  // free, pages in memory; the back is the most recently used
  std::vector<Block*> trimmed;   // free, pages given back to the kernel
  size_t low_water = 0;          // fewest resident free blocks since the last trim
  Block* carve_next = nullptr;   // headers of the newest mapping not handed out yet
  Block* carve_end = nullptr;

  Block* carve() {
    if (carve_next == carve_end) {
      void* m = ::mmap(nullptr, kBlocksPerMapping * kBlockSize, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (m == MAP_FAILED) throw std::bad_alloc();  // out of memory: crash, do not limp on
      carve_next = new Block[kBlocksPerMapping];
      {
        std::lock_guard<std::mutex> lock(g_headers_mutex);
        g_headers->push_back(carve_next);
      }
      carve_end = carve_next + kBlocksPerMapping;
      for (size_t i = 0; i < kBlocksPerMapping; ++i) {
        carve_next[i].refs = 0;
        carve_next[i].data = static_cast<char*>(m) + i * kBlockSize;
        PORTICO_POISON(carve_next[i].data, kBlockSize);
      }
    }
    return carve_next++;
  }
};
thread_local Pool t_pool;
}  // namespace

Block* allocateBlock() {
  Pool& pool = t_pool;
  Block* b;
  if (!pool.resident.empty()) {
    b = pool.resident.back();
    pool.resident.pop_back();
    pool.low_water = std::min(pool.low_water, pool.resident.size());
  } else if (!pool.trimmed.empty()) {
    b = pool.trimmed.back();
    pool.trimmed.pop_back();
  } else {
    b = pool.carve();
  }
  PORTICO_UNPOISON(b->data, kBlockSize);
  b->refs = 1;
  return b;
}

void releaseBlock(Block* b) {
  if (b->refs == 0) std::abort();  // released twice: memory is corrupt, stop here
  if (--b->refs != 0) return;
  PORTICO_POISON(b->data, kBlockSize);
  t_pool.resident.push_back(b);
}

size_t recycledBlockCount() {
  return t_pool.resident.size();
}

size_t trimIdleBlocks(size_t keep_resident) {
  Pool& pool = t_pool;
  size_t idle = pool.low_water > keep_resident ? pool.low_water - keep_resident : 0;
  idle = std::min(idle, pool.resident.size());
  // The front of the list is the least recently used end.
  for (size_t i = 0; i < idle; ++i) {
    Block* b = pool.resident[i];
    ::madvise(b->data, kBlockSize, MADV_DONTNEED);
    pool.trimmed.push_back(b);
  }
  pool.resident.erase(pool.resident.begin(), pool.resident.begin() + static_cast<long>(idle));
  pool.low_water = pool.resident.size();
  return idle;
}

}  // namespace portico::buffer
