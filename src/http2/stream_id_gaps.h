#pragma once
// StreamIdGaps: which client stream ids a connection skipped, so a request HEADERS that comes
// for one of them later (out of order) can be told from trailers on a stream we closed.
//
// RFC 9113 5.1.1: opening stream N implicitly closes every idle stream below N, and a HEADERS
// for such an id is an "unexpected stream identifier". nghttp2 cannot tell it from late
// trailers (it does not remember every closed stream), so it drops the header block without a
// word and the client waits for an answer that never comes. Some clients do send out of order:
// httpx/httpcore 0.16 with several threads on one HTTP/2 connection picks stream ids and sends
// the HEADERS without one lock around both. Knowing the gaps, the codec refuses such a stream
// (RST_STREAM REFUSED_STREAM: not processed, safe to retry) instead of leaving it hanging.
//
// Bounded: the most recent kMaxGaps gaps are kept; an id in a forgotten gap is left to
// nghttp2 (ignored), as before. Worker-local.

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace portico::http2 {

class StreamIdGaps {
 public:
  static constexpr size_t kMaxGaps = 16;

  // A HEADERS frame arrived on client stream `id` (odd). True if `id` is a stream the client
  // skipped earlier and now tries to open out of order; false for a new stream in order or a
  // stream opened before (trailers, or frames after we closed it).
  bool outOfOrder(int32_t id);

 private:
  int32_t highest_ = 0;  // the highest client stream id a HEADERS came for
  std::vector<std::pair<int32_t, int32_t>> gaps_;  // skipped ids, [first, last], oldest first
};

}  // namespace portico::http2
