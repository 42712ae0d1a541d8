#include "filters/compress/stream_encoder.h"

#include <string_view>

namespace portico::filters::compress {

StreamEncoder::Step StreamEncoder::runOnce(buffer::Buffer& in, buffer::Buffer& out, Flush flush,
                                           bool& progressed) {
  // With a flush, the input has been consumed already: the library drains what it holds.
  const std::string_view slice = flush == Flush::None ? in.firstSlice() : std::string_view();
  auto [dst, room] = out.reserve(kMinOutputRoom);
  Spans spans{reinterpret_cast<const uint8_t*>(slice.data()), slice.size(),
              reinterpret_cast<uint8_t*>(dst), room};
  const Step step = run(spans, flush);
  const size_t consumed = slice.size() - spans.in_left;
  const size_t produced = room - spans.out_left;
  out.commit(produced);  // commit(0) gives back a block reserve() added for nothing
  in.drain(consumed);
  progressed = consumed > 0 || produced > 0;
  return step;
}

bool StreamEncoder::encode(buffer::Buffer& in, buffer::Buffer& out, Flush flush) {
  if (state_ != State::Open) return false;
  int idle = 0;
  bool progressed = false;
  while (!in.empty()) {
    if (runOnce(in, out, Flush::None, progressed) == Step::Error ||
        (!progressed && ++idle > kMaxIdleCalls)) {
      state_ = State::Failed;
      return false;
    }
    if (progressed) idle = 0;
    unflushed_ = true;
  }
  if (flush == Flush::None || (flush == Flush::Sync && !unflushed_)) return true;
  idle = 0;
  for (;;) {
    const Step step = runOnce(in, out, flush, progressed);
    if (step == Step::Done) break;
    if (step == Step::Error || (!progressed && ++idle > kMaxIdleCalls)) {
      state_ = State::Failed;
      return false;
    }
    if (progressed) idle = 0;
  }
  unflushed_ = false;
  if (flush == Flush::Finish) state_ = State::Finished;
  return true;
}

bool StreamEncoder::restart() {
  if (!resetStream()) return false;
  state_ = State::Open;
  unflushed_ = false;
  return true;
}

}  // namespace portico::filters::compress
