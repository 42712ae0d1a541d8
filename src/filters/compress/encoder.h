#pragma once
// Streaming content encoders for response compression: gzip (zlib), br (brotli), zstd.
//
// An encoder turns a body that arrives in pieces into one compressed stream. The caller (the
// compression filter) hands it each piece as it arrives and says when what was sent so far
// must reach the client now (Sync: server-sent events, long polls, streamed JSON) and when
// the body ends (Finish). Memory per encoder is bounded by its window and match tables, fixed
// when it is made; each coding's file states the figures. Worker-local: one stream's encoder
// lives on that stream's thread and is never shared.

#include <cstddef>
#include <memory>

#include "buffer/buffer.h"
#include "http/accept_encoding.h"

namespace portico::filters::compress {

enum class Flush { None, Sync, Finish };

class Encoder {
 public:
  virtual ~Encoder() = default;
  // Consumes all of `in` (drained) and appends compressed bytes to `out`. Sync flushes
  // everything so far so the client can decode it now; Finish ends the stream (call once).
  // Returns false on an internal library error, or when called again after Finish; the
  // stream is then unusable and the response must be reset.
  virtual bool encode(buffer::Buffer& in, buffer::Buffer& out, Flush flush) = 0;
  // Heap bytes the library holds for this stream now (for the memory gauge and the tests).
  virtual size_t memoryBytes() const = 0;
  // Makes the encoder ready for a new stream at the same level, keeping the memory it holds
  // (see encoder_pool.h); allowed at any point of a stream, finished or not. False when the
  // coding cannot be restarted (brotli) or its library failed: the encoder is then dropped.
  virtual bool restart() { return false; }
};
using EncoderPtr = std::unique_ptr<Encoder>;

// The levels each coding accepts, and the one used when the configuration names none.
struct LevelRange {
  int min;
  int max;
  int fallback;
};
// gzip 1-9 (6), br 0-11 (5), zstd 1-19 (3). Identity has none: {0, 0, 0}.
LevelRange levelRange(http::ContentCoding coding);

// nullptr for Identity, for a level outside levelRange(coding), or when the library cannot
// allocate its state.
EncoderPtr makeEncoder(http::ContentCoding coding, int level);

}  // namespace portico::filters::compress
