#include "filters/websocket/websocket_filter.h"

#include <sys/uio.h>

#include <random>
#include <vector>

#include "core/log.h"
#include "http/field_list.h"

namespace portico::filters::websocket {

namespace {
// Masking keys for the close frames sent to a backend. RFC 6455 10.3 wants them unpredictable
// to scripts in a browser; these frames carry only our own close code, so a per-thread
// generator is enough.
uint32_t maskKey() {
  thread_local std::mt19937 rng{std::random_device{}()};
  return static_cast<uint32_t>(rng());
}
}  // namespace

bool asksForWebSocket(const http::RequestHead& head) {
  std::string storage;
  return http::listHasToken(http::joinedValues(head.headers, "Upgrade", &storage), "websocket");
}

FilterStatus WebSocketFilter::onRequestHeaders(http::RequestHead& head, bool) {
  upgrade_ = asksForWebSocket(head);
  return FilterStatus::Continue;
}

FilterStatus WebSocketFilter::onResponseHeaders(http::ResponseHead& head, bool end_stream) {
  if (!upgrade_ || head.status != 101 || end_stream) return FilterStatus::Continue;
  tunnel_ = true;
  last_activity_ = callbacks_->loop().now();
  if (config_.idle_timeout_ms > 0) {
    timer_.emplace(callbacks_->loop(), [this] { onTimer(); });
    timer_->armAfterMs(config_.idle_timeout_ms);
  }
  return FilterStatus::Continue;
}

FilterStatus WebSocketFilter::onRequestBody(buffer::Buffer& data, bool end_stream) {
  // Bytes a client sends behind its upgrade request, before the 101, are frames too.
  if (!upgrade_) return FilterStatus::Continue;
  return scan(client_, true, data, end_stream);
}

FilterStatus WebSocketFilter::onResponseBody(buffer::Buffer& data, bool end_stream) {
  if (!tunnel_) return FilterStatus::Continue;
  return scan(backend_, false, data, end_stream);
}

FilterStatus WebSocketFilter::scan(Direction& dir, bool from_client, buffer::Buffer& data,
                                   bool end_stream) {
  if (closing_) {
    data.clear();  // the tunnel is being closed: nothing more goes either way
    return FilterStatus::Continue;
  }
  if (!data.empty()) last_activity_ = callbacks_->loop().now();
  // The bytes this call works on: the held partial header (already read) and the new ones.
  const uint64_t start = dir.scanner.position() - dir.held.length();
  iovec small[16];
  std::vector<iovec> large;  // only for a chunk of many slices
  iovec* slices = small;
  const size_t count = data.sliceCount();
  if (count > 16) {
    large.resize(count);
    slices = large.data();
  }
  const int n = data.iovecs(slices, static_cast<int>(count));
  for (int k = 0; k < n && dir.scanner.verdict() == FrameScanner::Verdict::Ok; ++k) {
    dir.scanner.feed(
        std::string_view(static_cast<const char*>(slices[k].iov_base), slices[k].iov_len));
  }
  dir.held.moveFrom(data);  // held = everything this call works on, in order
  switch (dir.scanner.verdict()) {
    case FrameScanner::Verdict::Ok: {
      // A partial header stays until its frame is known; at the end of the stream it goes.
      const size_t keep = end_stream ? 0 : dir.scanner.pendingHeaderBytes();
      data.moveFrom(dir.held, dir.held.length() - keep);
      return FilterStatus::Continue;
    }
    case FrameScanner::Verdict::TooBig:
      PLOG_INFO("websocket: a message from the {} exceeds {} bytes: closing with 1009 (request {})",
                from_client ? "client" : "backend", config_.max_message,
                callbacks_->info().request_id);
      callbacks_->info().failure = "websocket message too big";
      break;
    case FrameScanner::Verdict::Malformed:
      PLOG_INFO("websocket: bad framing from the {}: closing with 1002 (request {})",
                from_client ? "client" : "backend", callbacks_->info().request_id);
      callbacks_->info().failure = "websocket protocol error";
      break;
  }
  // What came before the offending frame goes on, then the close frame in its place.
  data.moveFrom(dir.held, dir.scanner.offendingFrameStart() - start);
  dir.held.clear();
  const bool too_big = dir.scanner.verdict() == FrameScanner::Verdict::TooBig;
  closeTunnel(too_big ? kCloseMessageTooBig : kCloseProtocolError,
              too_big ? "message too big" : "protocol error", from_client ? &data : nullptr,
              from_client ? nullptr : &data);
  return FilterStatus::Continue;
}

void WebSocketFilter::closeTunnel(uint16_t code, std::string_view reason,
                                  buffer::Buffer* backend_way, buffer::Buffer* client_way) {
  closing_ = true;
  // Toward the backend frames are masked, as a client's must be.
  buffer::Buffer to_backend;
  to_backend.append(closeFrame(code, reason, true, maskKey()));
  buffer::Buffer to_client;
  to_client.append(closeFrame(code, reason, false, 0));
  if (backend_way != nullptr) {
    backend_way->moveFrom(to_backend);
  } else {
    callbacks_->injectRequestData(to_backend, false);
  }
  if (client_way != nullptr) {
    client_way->moveFrom(to_client);
  } else {
    callbacks_->injectResponseData(to_client, false);
  }
  // The reset waits a turn: the frames leave with what this hook returns, and a reset now
  // would stop the chain before they pass. Closing flushes what was written.
  if (!timer_) timer_.emplace(callbacks_->loop(), [this] { onTimer(); });
  timer_->armAfterMs(0);
}

void WebSocketFilter::onTimer() {
  if (closing_) {
    callbacks_->resetStream(callbacks_->info().failure);
    return;
  }
  const event::MonoTime now = callbacks_->loop().now();
  const int64_t idle = static_cast<int64_t>(now - last_activity_);
  if (idle < config_.idle_timeout_ms) {
    timer_->armAfterMs(config_.idle_timeout_ms - idle);
    return;
  }
  PLOG_INFO("websocket: idle for {} ms: closing with 1001 (request {})", idle,
            callbacks_->info().request_id);
  callbacks_->info().failure = "websocket idle timeout";
  closeTunnel(kCloseGoingAway, "idle timeout", nullptr, nullptr);
}

void WebSocketFilter::onDestroy() {
  if (timer_) timer_->disarm();
}

}  // namespace portico::filters::websocket
