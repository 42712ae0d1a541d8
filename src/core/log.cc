#include "core/log.h"

#include <fcntl.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

namespace portico::log {

std::atomic<int> g_min_level{static_cast<int>(Level::Info)};
static std::atomic<int> g_fd{STDERR_FILENO};

bool parseLevel(std::string_view text, Level* out) {
  if (text == "debug")
    *out = Level::Debug;
  else if (text == "info")
    *out = Level::Info;
  else if (text == "warn")
    *out = Level::Warn;
  else if (text == "error")
    *out = Level::Error;
  else
    return false;
  return true;
}

std::string_view levelName(Level level) {
  switch (level) {
    case Level::Debug:
      return "debug";
    case Level::Info:
      return "info";
    case Level::Warn:
      return "warn";
    case Level::Error:
      return "error";
  }
  return "?";
}

bool openErrorLog(const std::string& path) {
  int fd = STDERR_FILENO;
  if (!path.empty()) {
    fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0) return false;
  }
  int old = g_fd.exchange(fd);
  if (old != STDERR_FILENO && old != fd) ::close(old);
  return true;
}

void setLevel(Level level) {
  g_min_level.store(static_cast<int>(level));
}

void write(Level level, std::string_view message) {
  struct timeval tv;
  gettimeofday(&tv, nullptr);
  struct tm tm;
  gmtime_r(&tv.tv_sec, &tm);
  fmt::memory_buffer line;
  fmt::format_to(std::back_inserter(line), "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z [{}] ",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 static_cast<int>(tv.tv_usec / 1000), levelName(level));
  // Control characters from network input must not forge log lines.
  for (char c : message) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      fmt::format_to(std::back_inserter(line), "\\x{:02x}", u);
    } else {
      line.push_back(c);
    }
  }
  line.push_back('\n');
  const char* p = line.data();
  size_t left = line.size();
  int fd = g_fd.load(std::memory_order_relaxed);
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;  // nowhere to report a failing error log
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
}

}  // namespace portico::log
