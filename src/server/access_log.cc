#include "server/access_log.h"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace portico::server {

namespace {

// The request line's protocol as nginx and Apache log it.
std::string_view protocolName(const http::Version& v) {
  if (v.major == 2) return "HTTP/2.0";
  return v.minor == 0 ? "HTTP/1.0" : "HTTP/1.1";
}

// The method the client sent: an HTTP/2 WebSocket (extended CONNECT) went to its backend as
// a GET handshake, but the client asked with CONNECT.
std::string_view loggedMethod(const http::RequestHead& request) {
  return request.upgraded_from_connect.empty() ? std::string_view(request.method_text)
                                               : std::string_view("CONNECT");
}
constexpr size_t kFlushBytes = 32 * 1024;
constexpr size_t kMaxQueuedBytes = 64 * 1024 * 1024;
constexpr int64_t kFlushIntervalMs = 1000;

// Quotes a field for the combined format: control characters, quotes and backslashes are
// escaped so a client cannot forge lines or fields.
void appendEscaped(std::string& out, std::string_view value, bool json) {
  for (char c : value) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (u < 0x20 || u == 0x7f || (json && u >= 0x80)) {
      if (json) {
        out += fmt::format("\\u{:04x}", u);
      } else {
        out += fmt::format("\\x{:02x}", u);
      }
    } else {
      out.push_back(c);
    }
  }
}

double seconds(int64_t ms) {
  return static_cast<double>(ms) / 1000.0;
}
}  // namespace

std::unique_ptr<AccessLogWriter> AccessLogWriter::open(const config::AccessLogConfig& config,
                                                       std::string* error) {
  if (config.path == "stdout")
    return std::unique_ptr<AccessLogWriter>(new AccessLogWriter(1, false));
  if (config.path == "stderr")
    return std::unique_ptr<AccessLogWriter>(new AccessLogWriter(2, false));
  int fd = ::open(config.path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd < 0) {
    *error = config.path + ": " + strerror(errno);
    return nullptr;
  }
  return std::unique_ptr<AccessLogWriter>(new AccessLogWriter(fd, true));
}

AccessLogWriter::AccessLogWriter(int fd, bool owns_fd) : fd_(fd), owns_fd_(owns_fd) {
  thread_ = std::thread([this] { run(); });
}

AccessLogWriter::~AccessLogWriter() {
  flushAndStop();
  if (owns_fd_) ::close(fd_);
}

void AccessLogWriter::submit(std::string&& chunk) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (queued_bytes_ + chunk.size() > kMaxQueuedBytes) {
      dropped_bytes_ += chunk.size();
      return;
    }
    queued_bytes_ += chunk.size();
    queue_.push_back(std::move(chunk));
  }
  cv_.notify_one();
}

uint64_t AccessLogWriter::droppedBytes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return dropped_bytes_;
}

void AccessLogWriter::flushAndStop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void AccessLogWriter::run() {
  for (;;) {
    std::string chunk;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      chunk = std::move(queue_.front());
      queue_.pop_front();
      queued_bytes_ -= chunk.size();
    }
    const char* p = chunk.data();
    size_t left = chunk.size();
    while (left > 0) {
      ssize_t n = ::write(fd_, p, left);
      if (n < 0) {
        if (errno == EINTR) continue;
        break;  // a broken log destination must not take the proxy down
      }
      p += n;
      left -= static_cast<size_t>(n);
    }
  }
}

AccessLogger::AccessLogger(event::EventLoop& loop, AccessLogWriter* writer,
                           config::AccessLogFormat format)
    : writer_(writer), format_(format), flush_timer_(loop, [this] { flush(); }) {
  buffer_.reserve(kFlushBytes * 2);
}

AccessLogger::~AccessLogger() {
  flush();
}

void AccessLogger::flush() {
  if (writer_ == nullptr || buffer_.empty()) return;
  std::string chunk;
  chunk.reserve(kFlushBytes * 2);
  chunk.swap(buffer_);
  writer_->submit(std::move(chunk));
}

const std::string& AccessLogger::timestamp(int64_t wall_us) {
  int64_t second = wall_us / 1000000;
  if (second != cached_second_) {
    cached_second_ = second;
    time_t t = static_cast<time_t>(second);
    struct tm tm;
    localtime_r(&t, &tm);
    char buf[64];
    size_t n = strftime(buf, sizeof buf, "%d/%b/%Y:%H:%M:%S %z", &tm);
    cached_time_.assign(buf, n);
  }
  return cached_time_;
}

void AccessLogger::log(const http::RequestHead* request, const filters::StreamInfo& info,
                       const net::Address& peer) {
  if (writer_ == nullptr) return;
  if (format_ == config::AccessLogFormat::Json) {
    formatJson(request, info, peer);
  } else {
    formatCombined(request, info, peer);
  }
  if (buffer_.size() >= kFlushBytes) {
    flush();
  } else if (!flush_timer_.armed()) {
    flush_timer_.armAfterMs(kFlushIntervalMs);
  }
}

void AccessLogger::formatCombined(const http::RequestHead* request, const filters::StreamInfo& info,
                                  const net::Address& peer) {
  int64_t wall = info.start_wall_us;
  if (wall == 0) wall = static_cast<int64_t>(time(nullptr)) * 1000000;
  std::string& b = buffer_;
  b += peer.hostString();
  b += " - - [";
  b += timestamp(wall);
  b += "] \"";
  if (request != nullptr) {
    appendEscaped(b, loggedMethod(*request), false);
    b += ' ';
    appendEscaped(b, request->target.empty() ? request->path : request->target, false);
    b += ' ';
    b += protocolName(request->version);
  } else {
    b += '-';
  }
  fmt::format_to(std::back_inserter(b), "\" {} {} \"", info.status, info.response_body_bytes);
  auto header = [&](std::string_view name) {
    if (request == nullptr) return b.push_back('-');
    auto v = request->headers.get(name);
    if (v) {
      appendEscaped(b, *v, false);
    } else {
      b.push_back('-');
    }
  };
  header("Referer");
  b += "\" \"";
  header("User-Agent");
  int64_t duration = info.end_ms - info.start_ms;
  int64_t upstream_ms = info.upstream_start_ms
                            ? (info.upstream_headers_ms ? info.upstream_headers_ms : info.end_ms) -
                                  info.upstream_start_ms
                            : -1;
  fmt::format_to(std::back_inserter(b), "\" rid={} in={} out={} dur={:.3f} up={} ut=",
                 info.request_id.empty() ? "-" : info.request_id, info.request_body_bytes,
                 info.response_body_bytes, seconds(duration),
                 info.upstream_address.empty() ? "-" : info.upstream_address);
  if (upstream_ms >= 0) {
    fmt::format_to(std::back_inserter(b), "{:.3f}", seconds(upstream_ms));
  } else {
    b.push_back('-');
  }
  if (request != nullptr && !request->upgraded_from_connect.empty()) {
    b += " upgrade=";
    appendEscaped(b, request->upgraded_from_connect, false);
  }
  if (!info.failure.empty()) {
    b += " err=\"";
    appendEscaped(b, info.failure, false);
    b.push_back('"');
  }
  b.push_back('\n');
}

void AccessLogger::formatJson(const http::RequestHead* request, const filters::StreamInfo& info,
                              const net::Address& peer) {
  std::string& b = buffer_;
  auto field = [&](std::string_view name, std::string_view value, bool first = false) {
    if (!first) b.push_back(',');
    b.push_back('"');
    b += name;
    b += "\":\"";
    appendEscaped(b, value, true);
    b.push_back('"');
  };
  int64_t wall = info.start_wall_us;
  b.push_back('{');
  fmt::format_to(std::back_inserter(b), "\"time\":{}.{:06}", wall / 1000000, wall % 1000000);
  field("client", peer.hostString());
  if (request != nullptr) {
    field("method", loggedMethod(*request));
    field("path", request->target.empty() ? request->path : request->target);
    field("protocol", protocolName(request->version));
    field("host", request->authority);
    auto ua = request->headers.get("User-Agent");
    field("user_agent", ua ? *ua : std::string_view());
    auto ref = request->headers.get("Referer");
    field("referer", ref ? *ref : std::string_view());
  }
  int64_t duration = info.end_ms - info.start_ms;
  fmt::format_to(std::back_inserter(b),
                 ",\"status\":{},\"bytes_in\":{},\"bytes_out\":{},"
                 "\"duration_ms\":{}",
                 info.status, info.request_body_bytes, info.response_body_bytes, duration);
  field("request_id", info.request_id);
  field("upstream", info.upstream_address);
  if (info.upstream_start_ms) {
    int64_t end = info.upstream_headers_ms ? info.upstream_headers_ms : info.end_ms;
    fmt::format_to(std::back_inserter(b), ",\"upstream_ms\":{}", end - info.upstream_start_ms);
  } else {
    b += ",\"upstream_ms\":null";
  }
  if (request != nullptr && !request->upgraded_from_connect.empty())
    field("upgrade", request->upgraded_from_connect);
  if (!info.failure.empty()) field("error", info.failure);
  b += "}\n";
}

}  // namespace portico::server
