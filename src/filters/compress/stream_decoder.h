#pragma once
// StreamDecoder: what every decoder shares. It feeds the input buffer's slices in place,
// decodes straight into the output buffer's blocks, and applies the limits after every
// library call, handing the library no more output room than the size limit leaves (plus
// one byte, so that crossing the limit is seen). A coding only maps one library call onto
// Spans (run()).

#include "filters/compress/decoder.h"
#include "filters/compress/spans.h"

namespace portico::filters::compress {

class StreamDecoder : public Decoder {
 public:
  explicit StreamDecoder(const DecodeLimits& limits) : limits_(limits) {}
  DecodeResult decode(buffer::Buffer& in, buffer::Buffer& out) final;

 protected:
  enum class Step { More, End, Error };
  // One library call over `spans`: More (give me input or output room), End (the stream's
  // last byte was consumed), or Error (malformed input or library failure).
  virtual Step run(Spans& spans) = 0;

 private:
  // The result of a call that produced output, judged against the limits; Ok if within.
  DecodeResult checkLimits() const;

  const DecodeLimits limits_;
  uint64_t total_in_ = 0;
  uint64_t total_out_ = 0;
  // Ok while the stream goes on; otherwise the final result, repeated on every call.
  DecodeResult final_ = DecodeResult::Ok;
};

}  // namespace portico::filters::compress
