#pragma once
// Error log: leveled, one line per event, safe to call from any thread.
// Lines are formatted in the caller's thread and written with one write(2) each,
// so lines from different workers never interleave. The error log is for rare
// events (rejections, upstream failures); the access log has its own batched path.

#include <fmt/format.h>

#include <atomic>
#include <string>
#include <string_view>

namespace portico::log {

enum class Level { Debug = 0, Info = 1, Warn = 2, Error = 3 };

// Parses "debug" | "info" | "warn" | "error".
bool parseLevel(std::string_view text, Level* out);
std::string_view levelName(Level level);

// Main thread only, before workers start (or between reloads: the fd swap is atomic).
// An empty path means stderr. Returns false with errno set if the file cannot be opened.
bool openErrorLog(const std::string& path);
void setLevel(Level level);

extern std::atomic<int> g_min_level;

inline bool enabled(Level level) {
  return static_cast<int>(level) >= g_min_level.load(std::memory_order_relaxed);
}

void write(Level level, std::string_view message);

template <typename... Args>
void logf(Level level, fmt::format_string<Args...> format, Args&&... args) {
  if (!enabled(level)) return;
  write(level, fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace portico::log

// The level is checked before the arguments are evaluated: a disabled debug line costs one
// relaxed load, not the strings its arguments would build.
#define PLOG_AT(level, ...)                                                       \
  do {                                                                            \
    if (::portico::log::enabled(level)) ::portico::log::logf(level, __VA_ARGS__); \
  } while (0)
#define PLOG_DEBUG(...) PLOG_AT(::portico::log::Level::Debug, __VA_ARGS__)
#define PLOG_INFO(...) PLOG_AT(::portico::log::Level::Info, __VA_ARGS__)
#define PLOG_WARN(...) PLOG_AT(::portico::log::Level::Warn, __VA_ARGS__)
#define PLOG_ERROR(...) PLOG_AT(::portico::log::Level::Error, __VA_ARGS__)
