#include "buffer/block_pool.h"

#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
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

struct Pool {
  std::vector<Block*> resident;  // free, pages in memory; the back is the most recently used
  std::vector<Block*> trimmed;   // free, pages given back to the kernel
  size_t low_water = 0;          // fewest resident free blocks since the last trim
  char* carve_next = nullptr;    // unused part of the newest mapping
  char* carve_end = nullptr;

  Block* carve() {
    if (carve_next == carve_end) {
      void* m = ::mmap(nullptr, kBlocksPerMapping * kBlockBytes, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (m == MAP_FAILED) throw std::bad_alloc();  // out of memory: crash, do not limp on
      carve_next = static_cast<char*>(m);
      carve_end = carve_next + kBlocksPerMapping * kBlockBytes;
    }
    auto* b = reinterpret_cast<Block*>(carve_next);
    carve_next += kBlockBytes;
    return b;
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
  PORTICO_UNPOISON(b, sizeof(Block));
  b->refs = 1;
  return b;
}

void releaseBlock(Block* b) {
  if (--b->refs != 0) return;
  PORTICO_POISON(b, sizeof(Block));
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
    ::madvise(b, kBlockBytes, MADV_DONTNEED);
    pool.trimmed.push_back(b);
  }
  pool.resident.erase(pool.resident.begin(), pool.resident.begin() + static_cast<long>(idle));
  pool.low_water = pool.resident.size();
  return idle;
}

}  // namespace portico::buffer
