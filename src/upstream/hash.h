#pragma once
// The one 64-bit hash Portico's consistent-hashing balancers and hash keys use, and the small
// per-worker generator they draw from when a request has no key.
//
// hash64 is FNV-1a over the bytes (offset basis 14695981039346656037, prime 1099511628211,
// both from the FNV specification) with the seed folded into the starting state, followed by
// a final avalanche (xor-shift / multiply, three rounds). FNV-1a alone is cheap and stable but
// its high bits barely move for short inputs that differ in their last byte ("10.0.0.1:80"
// vs "10.0.0.2:80"); the final mix spreads every input bit over the whole word, which ring
// positions and Maglev offsets need. The result depends only on the bytes and the seed: two
// Portico processes, on any machine and in any run, hash the same text to the same value,
// so they map keys to the same endpoints.

#include <cstdint>
#include <string>
#include <string_view>

#include "upstream/host.h"

namespace portico::upstream {

// Spreads the bits of `x` over the whole word (a bijection on 64-bit values).
constexpr uint64_t mix64(uint64_t x) {
  x ^= x >> 32;
  x *= 0xd6e8feb86659fd93ull;
  x ^= x >> 32;
  x *= 0xd6e8feb86659fd93ull;
  x ^= x >> 32;
  return x;
}

constexpr uint64_t hash64(std::string_view data, uint64_t seed = 0) {
  uint64_t h = 14695981039346656037ull ^ mix64(seed);
  for (char c : data) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return mix64(h ^ data.size());
}

// A small, fast generator (xorshift64*) for picks without a hash key. One per balancer, so per
// worker: no sharing, no locking. Not for anything secret.
class WorkerRandom {
 public:
  explicit WorkerRandom(uint64_t seed) : state_(mix64(seed) | 1) {}
  uint64_t next() {
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    return state_ * 2685821657736338717ull;
  }

 private:
  uint64_t state_;
};

// What a host's ring points and Maglev permutation are hashed from: its address in canonical
// form ("10.0.0.5:8080", "[2001:db8::5]:8080"), so the same endpoint written two ways in two
// configurations still maps keys the same way.
inline std::string hashIdentity(const Host& host) {
  return host.address().toString();
}

}  // namespace portico::upstream
