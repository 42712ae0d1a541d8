#pragma once
// Streaming content decoders, for routes that accept compressed request bodies.
//
// A compressed body is attacker-controlled input whose output size the attacker also
// chooses: a few KiB of gzip can expand to gigabytes. Every decoder therefore enforces two
// limits as it goes, never after the fact: the total output (max_size) and the ratio of
// output to input (max_ratio). Output is produced in bounded steps, so a decoder that stops
// at a limit has appended at most max_size + 1 bytes.
//
// The decoder's own state is bounded too, though the sender picks the window: gzip 38 KiB
// always; br and zstd grow with the window the stream names, capped at about 9 MiB (a brotli
// heap limit, a zstd windowLogMax of 23); for streams from Portico's own encoders, 89 KiB
// and 1 MiB. Worker-local.

#include <cstddef>
#include <cstdint>
#include <memory>

#include "buffer/buffer.h"
#include "http/accept_encoding.h"

namespace portico::filters::compress {

enum class DecodeResult {
  Ok,            // all input consumed; the stream goes on
  Finished,      // the stream ended and nothing followed it
  Error,         // malformed input, data after the end of the stream, or a library failure
  TooLarge,      // the output would exceed max_size
  BombDetected,  // the output outgrew max_ratio times the input
};

struct DecodeLimits {
  uint64_t max_size = 8 * 1024 * 1024;
  // Deflate's own maximum is about 1032:1; real text and JSON stay well under 20:1.
  // 0 turns the ratio check off (max_size still holds).
  uint64_t max_ratio = 100;
  // The ratio is judged only past this much output: a small body that compresses
  // unusually well (a few hundred bytes of repeated JSON keys) is not a bomb.
  uint64_t ratio_floor = 64 * 1024;
};

class Decoder {
 public:
  virtual ~Decoder() = default;
  // Consumes `in` (drained as it is used) and appends decoded bytes to `out`. Any result
  // but Ok and Finished is final: later calls return it again. A body that ends before the
  // decoder said Finished was truncated; that is the caller's to reject.
  virtual DecodeResult decode(buffer::Buffer& in, buffer::Buffer& out) = 0;
  // Heap bytes the library holds for this stream now.
  virtual size_t memoryBytes() const = 0;
};
using DecoderPtr = std::unique_ptr<Decoder>;

// nullptr for Identity, or when the library cannot allocate its state.
DecoderPtr makeDecoder(http::ContentCoding coding, const DecodeLimits& limits);

}  // namespace portico::filters::compress
