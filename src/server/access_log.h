#pragma once
// Access log: one line per finished exchange, combined text or JSON.
//
// Why it looks like this: workers must never block on a slow disk or a full pipe. Each worker
// formats lines into its own buffer and hands full buffers (or, once a second, partial ones)
// to a single writer thread. If the writer falls behind by more than a bound, whole buffers are
// dropped and counted rather than stalling request processing.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

#include "config/server_config.h"
#include "event/event_loop.h"
#include "filters/stream_info.h"
#include "http/message.h"
#include "net/address.h"

namespace portico::server {

// The writer thread. Main thread creates and destroys it; workers call submit().
class AccessLogWriter {
 public:
  // Opens `path` ("stdout", "stderr" or a file). Returns nullptr and sets `error` on failure.
  static std::unique_ptr<AccessLogWriter> open(const config::AccessLogConfig& config,
                                               std::string* error);
  ~AccessLogWriter();
  // Thread-safe; never blocks for I/O.
  void submit(std::string&& chunk);
  uint64_t droppedBytes() const;
  // Writes everything queued, then returns (shutdown).
  void flushAndStop();

 private:
  AccessLogWriter(int fd, bool owns_fd);
  void run();

  int fd_;
  bool owns_fd_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  size_t queued_bytes_ = 0;
  uint64_t dropped_bytes_ = 0;
  bool stopping_ = false;
  std::thread thread_;
};

// Per worker: formats lines and batches them for the writer.
class AccessLogger {
 public:
  AccessLogger(event::EventLoop& loop, AccessLogWriter* writer, config::AccessLogFormat format);
  ~AccessLogger();
  void log(const http::RequestHead* request, const filters::StreamInfo& info,
           const net::Address& peer);
  void flush();

 private:
  void formatCombined(const http::RequestHead* request, const filters::StreamInfo& info,
                      const net::Address& peer);
  void formatJson(const http::RequestHead* request, const filters::StreamInfo& info,
                  const net::Address& peer);
  const std::string& timestamp(int64_t wall_us);

  AccessLogWriter* writer_;
  config::AccessLogFormat format_;
  std::string buffer_;
  event::Timer flush_timer_;
  int64_t cached_second_ = -1;
  std::string cached_time_;
};

}  // namespace portico::server
