#pragma once
// RepeatLog: one recurring warning, written once and then counted.
//
// Some warnings come in floods that say nothing new after the first line: every refused
// connection while a listener is at its limit, every failed accept while the process is out of
// descriptors. Writing each would cost a write(2) per event at the worst moment and bury the
// rest of the log. A RepeatLog writes the first occurrence at once and opens a window of
// `interval_ms`; identical messages inside the window are only counted, and when it closes
// (flush()) one line reports them: "MESSAGE (repeated N times in the last Xs)". A window that
// reported repeats opens the next one, so a steady flood costs one line per interval; a window
// without repeats ends quietly, and the next occurrence is written at once again. A different
// message reports the pending count first, then is written at once.
//
// The clock and the writer are injected, so tests drive time by hand. Owned by one thread (no
// locking): the owner arms its own timer for flush() with msUntilFlush(), since core/ knows
// nothing of event loops.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "core/log.h"

namespace portico::log {

class RepeatLog {
 public:
  using Clock = std::function<int64_t()>;  // milliseconds, monotonic
  using Writer = std::function<void(Level, std::string_view)>;

  RepeatLog(Level level, int64_t interval_ms, Clock clock, Writer writer = &write);

  template <typename... Args>
  void log(fmt::format_string<Args...> format, Args&&... args) {
    if (!enabled(level_)) return;
    std::string message = fmt::format(format, std::forward<Args>(args)...);
    add(message, message);
  }
  // For one condition whose messages differ in details (a peer address, counts): `message` is
  // written in full when it would be, but repeats are recognised, and summarised, by `key`.
  void logAs(std::string key, std::string message) {
    if (!enabled(level_)) return;
    add(std::move(key), std::move(message));
  }
  // Reports the repeats of a window that has ended. Cheap when nothing is due.
  void flush();
  // Milliseconds until flush() has something to report (0: now), or -1 when no repeat is held.
  int64_t msUntilFlush() const;

 private:
  void add(std::string key, std::string message);
  void closeWindowIfOver(int64_t now);
  void writeRepeats(int64_t now);

  Level level_;
  int64_t interval_ms_;
  Clock clock_;
  Writer writer_;
  std::string last_;  // the key of the last message written
  int64_t window_start_ = 0;
  uint64_t repeats_ = 0;
  bool open_ = false;  // a window is open: identical messages are counted, not written
};

}  // namespace portico::log
