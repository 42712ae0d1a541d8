#pragma once
// StreamEncoder: the part every coding shares. It walks the input buffer's slices in place
// (no copy), reserves output straight in the output buffer's blocks, and runs the flush and
// finish loops; a coding only says how one library call maps onto Spans (run()).

#include "filters/compress/encoder.h"
#include "filters/compress/spans.h"

namespace portico::filters::compress {

class StreamEncoder : public Encoder {
 public:
  bool encode(buffer::Buffer& in, buffer::Buffer& out, Flush flush) final;
  bool restart() final;

 protected:
  enum class Step { More, Done, Error };
  // One library call over `spans` with `flush`. With Flush::None the driver supplies input
  // and the result only matters if it is Error. With Sync or Finish the driver supplies no
  // input and calls again, with fresh output room, until run() says Done: everything
  // flushed (Sync), or the stream's end written (Finish).
  virtual Step run(Spans& spans, Flush flush) = 0;
  // Resets the library's stream state for restart(); false if it cannot.
  virtual bool resetStream() { return false; }

 private:
  // One call with fresh output room: commits what was produced, drains what was consumed.
  // Returns the step and whether the call made progress.
  Step runOnce(buffer::Buffer& in, buffer::Buffer& out, Flush flush, bool& progressed);

  enum class State { Open, Finished, Failed };
  State state_ = State::Open;
  // Input taken since the last flush: a Sync with nothing new writes nothing (zlib would
  // otherwise add an empty block each time, and a filter may sync on every chunk).
  bool unflushed_ = false;
};

}  // namespace portico::filters::compress
