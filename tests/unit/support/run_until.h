#pragma once
// Runs an event loop in a test until a condition holds, checking it every millisecond.

#include <cstdint>
#include <functional>

#include "event/event_loop.h"

namespace portico::testing {

// False after `limit_ms` without `done`: a test that expects something NOT to happen gives it
// a short while to go wrong.
inline bool runUntil(event::EventLoop& loop, const std::function<bool()>& done,
                     int64_t limit_ms = 2000) {
  bool ok = false;
  const event::MonoTime deadline = event::monotonicNowMs() + limit_ms;
  event::Timer* self = nullptr;
  event::Timer tick(loop, [&] {
    if (done()) {
      ok = true;
      loop.stop();
    } else if (event::monotonicNowMs() > deadline) {
      loop.stop();
    } else {
      self->armAfterMs(1);
    }
  });
  self = &tick;
  tick.armAfterMs(0);
  loop.run();
  return ok;
}

}  // namespace portico::testing
