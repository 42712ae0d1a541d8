#include "core/repeat_log.h"

#include <algorithm>

namespace portico::log {

RepeatLog::RepeatLog(Level level, int64_t interval_ms, Clock clock, Writer writer)
    : level_(level),
      interval_ms_(interval_ms),
      clock_(std::move(clock)),
      writer_(std::move(writer)) {}

void RepeatLog::add(std::string key, std::string message) {
  const int64_t now = clock_();
  closeWindowIfOver(now);
  if (open_ && key == last_) {
    ++repeats_;
    return;
  }
  if (open_ && repeats_ > 0) writeRepeats(now);
  writer_(level_, message);
  last_ = std::move(key);
  window_start_ = now;
  repeats_ = 0;
  open_ = true;
}

void RepeatLog::flush() {
  closeWindowIfOver(clock_());
}

int64_t RepeatLog::msUntilFlush() const {
  if (!open_ || repeats_ == 0) return -1;
  return std::max<int64_t>(0, window_start_ + interval_ms_ - clock_());
}

void RepeatLog::closeWindowIfOver(int64_t now) {
  if (!open_ || now - window_start_ < interval_ms_) return;
  if (repeats_ == 0) {
    open_ = false;
    return;
  }
  writeRepeats(now);
  // A window that had repeats is likely part of a flood that goes on: keep counting rather
  // than write the next occurrence in full.
  window_start_ = now;
}

void RepeatLog::writeRepeats(int64_t now) {
  const int64_t seconds = std::max<int64_t>(1, (now - window_start_ + 500) / 1000);
  writer_(level_, fmt::format("{} (repeated {} time{} in the last {}s)", last_, repeats_,
                              repeats_ == 1 ? "" : "s", seconds));
  repeats_ = 0;
}

}  // namespace portico::log
