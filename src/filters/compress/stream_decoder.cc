#include "filters/compress/stream_decoder.h"

#include <algorithm>
#include <string_view>

namespace portico::filters::compress {

DecodeResult StreamDecoder::checkLimits() const {
  if (total_out_ > limits_.max_size) return DecodeResult::TooLarge;
  // total_in_ * max_ratio could overflow only for absurd limits; divide instead.
  if (total_out_ > limits_.ratio_floor && limits_.max_ratio > 0 &&
      total_out_ / limits_.max_ratio > total_in_)
    return DecodeResult::BombDetected;
  return DecodeResult::Ok;
}

DecodeResult StreamDecoder::decode(buffer::Buffer& in, buffer::Buffer& out) {
  if (final_ == DecodeResult::Finished && !in.empty()) final_ = DecodeResult::Error;
  if (final_ != DecodeResult::Ok) return final_;
  int idle = 0;
  for (;;) {
    const std::string_view slice = in.firstSlice();
    // Never more room than the size limit leaves plus one byte: the library cannot write
    // past the cap, however small its input.
    const uint64_t left = limits_.max_size - std::min(total_out_, limits_.max_size);
    const uint64_t allowance = left == UINT64_MAX ? left : left + 1;
    auto [dst, room] = out.reserve(kMinOutputRoom);
    const size_t granted = static_cast<size_t>(std::min<uint64_t>(room, allowance));
    Spans spans{reinterpret_cast<const uint8_t*>(slice.data()), slice.size(),
                reinterpret_cast<uint8_t*>(dst), granted};
    const Step step = run(spans);
    const size_t consumed = slice.size() - spans.in_left;
    const size_t produced = granted - spans.out_left;
    out.commit(produced);
    in.drain(consumed);
    total_in_ += consumed;
    total_out_ += produced;

    if (step == Step::Error) return final_ = DecodeResult::Error;
    if (const DecodeResult over = checkLimits(); over != DecodeResult::Ok) return final_ = over;
    if (step == Step::End) {
      final_ = in.empty() ? DecodeResult::Finished : DecodeResult::Error;
      return final_;
    }
    // Done for now once the input is gone and the library left output room unused: it has
    // nothing more to give until more input arrives.
    if (in.empty() && spans.out_left > 0) return DecodeResult::Ok;
    if (consumed == 0 && produced == 0 && ++idle > kMaxIdleCalls)
      return final_ = DecodeResult::Error;
    if (consumed > 0 || produced > 0) idle = 0;
  }
}

}  // namespace portico::filters::compress
