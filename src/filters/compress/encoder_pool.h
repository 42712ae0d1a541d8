#pragma once
// A worker's spare encoders, so a response does not pay for its encoder's memory anew.
//
// A gzip stream holds 262 KiB and a zstd stream 2 MiB, allocated when the stream is made and
// touched from the first byte on: making one per response means a malloc (zstd's is an
// mmap), page faults on fresh pages and a free that may hand the pages back to the kernel,
// a cost comparable to compressing a small response. Finished encoders are restarted and
// kept here instead, up to kPoolBytes per worker, and the next response of the same coding
// and level takes one. brotli's state cannot be restarted, so it is always made fresh.
//
// Worker-local (thread_local): encoders never cross threads.

#include <cstddef>

#include "filters/compress/encoder.h"

namespace portico::filters::compress {

// What one worker keeps at most, counted by Encoder::memoryBytes(): two zstd streams at the
// default level, or about fifteen gzip streams.
inline constexpr size_t kPoolBytes = 4 * 1024 * 1024;

// An encoder ready for a new stream: a spare one of this coding and level, or a new one
// (makeEncoder's rules: nullptr for Identity, a bad level, or no memory).
EncoderPtr acquireEncoder(http::ContentCoding coding, int level);
// Gives an encoder back, finished or abandoned mid-stream. It is restarted and kept while
// the pool has room; otherwise it is freed here.
void releaseEncoder(http::ContentCoding coding, int level, EncoderPtr encoder);
// Spare encoders and the bytes they hold, on this thread (for tests).
size_t pooledEncoders();
size_t pooledEncoderBytes();

}  // namespace portico::filters::compress
