#pragma once
// Fault injection: delays chosen phases of an exchange, or answers locally instead of the
// route, for a configured share of requests. It exists to rehearse what clients and backends
// do when the proxy path is slow or failing, and it exercises the filter manager's pause and
// resume at every phase of both directions.
//
// A delay pauses the chosen phases and resumes from a timer. On the body phases every chunk
// the filter is handed is held for the duration: bytes arriving meanwhile wait for the filter
// in the manager (bounded by the listener's buffer limit) and are handed over on resume, so a
// delayed body slows down but is never copied or changed here. An abort answers from the
// filter's position (after the request-headers delay, if that applies): only the filters
// between it and the client see the answer; the backend never sees the request.
//
// Route key: fault (docs/configuration.md).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "event/event_loop.h"
#include "filters/filter.h"

namespace portico::filters::fault {

enum class FaultPhase : uint8_t {
  RequestHeaders,
  RequestBody,
  RequestTrailers,
  ResponseHeaders,
  ResponseBody,
  ResponseTrailers,
};

// A phase's bit in FaultDelay::phases.
constexpr uint8_t phaseBit(FaultPhase phase) {
  return static_cast<uint8_t>(1u << static_cast<unsigned>(phase));
}

// The longest delay, configured or asked for: an hour is already far past any client's
// patience; longer is a typo.
inline constexpr int64_t kMaxDelayMs = 3'600'000;

struct FaultDelay {
  int64_t duration_ms = 0;
  uint8_t phases = phaseBit(FaultPhase::RequestHeaders);
  uint32_t percent = 100;
};

struct FaultAbort {
  uint16_t status = 503;
  uint32_t percent = 100;
  std::string body;  // empty: the listener's error page for the status
};

struct FaultConfig {
  std::optional<FaultDelay> delay;
  std::optional<FaultAbort> abort;
  // Request headers may ask for a fault (see kDelayHeader, kAbortHeader). Off by default: a
  // client must not be able to slow down or fail a production route on its own.
  bool allow_header_override = false;
};

// With allow_header_override: a duration ("250ms") that delays this request at the configured
// phases (request_headers when the route configures no delay), and a status that aborts it.
// Either applies to this request whatever the configured percent. Removed before the
// request goes on.
inline constexpr std::string_view kDelayHeader = "X-Portico-Fault-Delay";
inline constexpr std::string_view kAbortHeader = "X-Portico-Fault-Abort";

// True for `percent` out of 100 calls, on a per-thread generator.
bool rollPercent(uint32_t percent);

class FaultFilter final : public Filter {
 public:
  explicit FaultFilter(const FaultConfig& config) : config_(config) {}

  FilterStatus onRequestHeaders(http::RequestHead& head, bool end_stream) override;
  FilterStatus onRequestBody(buffer::Buffer& data, bool end_stream) override;
  FilterStatus onRequestTrailers(http::HeaderMap& trailers) override;
  FilterStatus onResponseHeaders(http::ResponseHead& head, bool end_stream) override;
  FilterStatus onResponseBody(buffer::Buffer& data, bool end_stream) override;
  FilterStatus onResponseTrailers(http::HeaderMap& trailers) override;
  // A delayed response body must pass through this filter, not around it with sendfile.
  bool transformsResponseBody() const override {
    return delay_ms_ > 0 && (phases_ & phaseBit(FaultPhase::ResponseBody)) != 0;
  }
  void onDestroy() override;

 private:
  // Decides this request's faults from the config and, if allowed, its headers.
  void decide(http::RequestHead& head);
  // Pauses `phase` when this request is delayed there.
  FilterStatus maybeDelay(FaultPhase phase);
  void sendAbort();
  void onTimer(bool request);
  event::Timer& timer(bool request);

  const FaultConfig& config_;
  // This request's faults: 0 = no delay; no abort when abort_status_ == 0.
  int64_t delay_ms_ = 0;
  uint8_t phases_ = 0;
  uint16_t abort_status_ = 0;
  bool abort_after_delay_ = false;
  // One timer per direction: a response may be delayed while the request body still is.
  std::optional<event::Timer> request_timer_;
  std::optional<event::Timer> response_timer_;
};

class FaultFilterFactory final : public FilterFactory {
 public:
  explicit FaultFilterFactory(FaultConfig config) : config_(std::move(config)) {}
  Filter* create(std::pmr::memory_resource& arena) const override {
    return arenaNew<FaultFilter>(arena, config_);
  }
  const FaultConfig& config() const { return config_; }

 private:
  FaultConfig config_;
};

}  // namespace portico::filters::fault
