#pragma once
// Counters and gauges written by one thread and read by any.
//
// The writer is one worker (or the main thread); the reader is the main thread gathering a
// status report. A plain uint64_t read from another thread would be a data race, and an atomic
// fetch_add is a lock-prefixed instruction on every request. A relaxed load followed by a
// relaxed store is neither: on x86 and ARM it compiles to an ordinary load and store, and the
// reader sees some recent value. Correct only because there is ONE writer per object: two
// threads writing the same Counter would lose increments.

#include <atomic>
#include <cstdint>

namespace portico::stats {

class Counter {
 public:
  void add(uint64_t n = 1) {
    value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// A level the writer sets (connections open, idle); readers sum the writers' levels.
class Gauge {
 public:
  void set(uint64_t v) { value_.store(v, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// The largest value seen, same single-writer rule.
class MaxGauge {
 public:
  void offer(uint64_t v) {
    if (v > value_.load(std::memory_order_relaxed)) value_.store(v, std::memory_order_relaxed);
  }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

}  // namespace portico::stats
