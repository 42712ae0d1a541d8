#pragma once
// gzip for a body held whole: libdeflate, which compresses a complete buffer two to three
// times faster than zlib's streaming deflate at the same level, with output as small.
//
// The compression filter uses it for responses whose declared Content-Length is small enough
// to hold (kWholeBodyMax): such a body is complete within moments of its head, so holding it
// delays nothing a client could use, and the bytes held are bounded like an encoder's state.
// Bodies without a length (streams, server-sent events) and larger ones use the streaming
// encoder (encoder.h).
//
// Worker-local: each thread keeps one libdeflate compressor per level, made on first use.

#include <cstddef>
#include <string_view>

#include "buffer/buffer.h"

namespace portico::filters::compress {

// The largest body compressed whole; 256 KiB is about what a gzip stream's state costs.
inline constexpr size_t kWholeBodyMax = 256 * 1024;

// Appends the gzip member (RFC 1952) of `body` at `level` (1-9) to `out`. False when the
// compressor cannot be allocated.
bool gzipWhole(std::string_view body, int level, buffer::Buffer& out);

}  // namespace portico::filters::compress
