#include "filters/fault/fault_filter.h"

#include <random>

#include "yaml/units.h"

namespace portico::filters::fault {
namespace {

std::optional<uint16_t> parseStatus(std::string_view text) {
  std::optional<int64_t> n = yaml::parseInteger(text);
  if (!n || *n < 200 || *n > 599) return std::nullopt;
  return static_cast<uint16_t>(*n);
}

}  // namespace

bool rollPercent(uint32_t percent) {
  if (percent >= 100) return true;
  if (percent == 0) return false;
  // Fault injection needs a fair share, not unpredictability: a fast per-thread generator.
  thread_local std::minstd_rand rng{std::random_device{}()};
  return std::uniform_int_distribution<uint32_t>(0, 99)(rng) < percent;
}

void FaultFilter::decide(http::RequestHead& head) {
  if (config_.delay && rollPercent(config_.delay->percent)) {
    delay_ms_ = config_.delay->duration_ms;
    phases_ = config_.delay->phases;
  }
  if (config_.abort && rollPercent(config_.abort->percent)) abort_status_ = config_.abort->status;
  if (!config_.allow_header_override) return;
  if (std::optional<std::string_view> v = head.headers.get(kDelayHeader)) {
    std::optional<int64_t> ms = yaml::parseDurationMs(*v);
    if (ms && *ms >= 1 && *ms <= kMaxDelayMs) {
      delay_ms_ = *ms;
      phases_ = config_.delay ? config_.delay->phases : phaseBit(FaultPhase::RequestHeaders);
    }
  }
  if (std::optional<std::string_view> v = head.headers.get(kAbortHeader)) {
    if (std::optional<uint16_t> status = parseStatus(*v)) abort_status_ = *status;
  }
  // The backend must not act on a fault request meant for the proxy.
  head.headers.remove(kDelayHeader);
  head.headers.remove(kAbortHeader);
}

FilterStatus FaultFilter::onRequestHeaders(http::RequestHead& head, bool) {
  decide(head);
  if (abort_status_ == 0) return maybeDelay(FaultPhase::RequestHeaders);
  if (delay_ms_ > 0 && (phases_ & phaseBit(FaultPhase::RequestHeaders)) != 0) {
    // Delay, then abort: the client sees a slow failure, as from an overloaded backend.
    abort_after_delay_ = true;
    return maybeDelay(FaultPhase::RequestHeaders);
  }
  sendAbort();
  return FilterStatus::Respond;
}

FilterStatus FaultFilter::onRequestBody(buffer::Buffer&, bool) {
  return maybeDelay(FaultPhase::RequestBody);
}

FilterStatus FaultFilter::onRequestTrailers(http::HeaderMap&) {
  return maybeDelay(FaultPhase::RequestTrailers);
}

FilterStatus FaultFilter::onResponseHeaders(http::ResponseHead&, bool) {
  return maybeDelay(FaultPhase::ResponseHeaders);
}

FilterStatus FaultFilter::onResponseBody(buffer::Buffer&, bool) {
  return maybeDelay(FaultPhase::ResponseBody);
}

FilterStatus FaultFilter::onResponseTrailers(http::HeaderMap&) {
  return maybeDelay(FaultPhase::ResponseTrailers);
}

FilterStatus FaultFilter::maybeDelay(FaultPhase phase) {
  if (delay_ms_ <= 0 || (phases_ & phaseBit(phase)) == 0) return FilterStatus::Continue;
  const bool request = phase <= FaultPhase::RequestTrailers;
  // delay_ms_ >= 1 (config and header both refuse 0): a resume never spins in one loop turn.
  timer(request).armAfterMs(delay_ms_);
  return FilterStatus::Pause;
}

void FaultFilter::sendAbort() {
  const std::string_view body = config_.abort ? std::string_view(config_.abort->body) : "";
  callbacks_->sendLocalReply(abort_status_, body);
}

void FaultFilter::onTimer(bool request) {
  if (!request) {
    callbacks_->continueResponse();
    return;
  }
  if (abort_after_delay_) {
    // Still paused at the request head: the request goes no further than this filter.
    abort_after_delay_ = false;
    sendAbort();
    return;
  }
  callbacks_->continueRequest();
}

event::Timer& FaultFilter::timer(bool request) {
  // Made on first use: the loop is known only once the callbacks are set.
  std::optional<event::Timer>& t = request ? request_timer_ : response_timer_;
  if (!t) t.emplace(callbacks_->loop(), [this, request] { onTimer(request); });
  return *t;
}

void FaultFilter::onDestroy() {
  if (request_timer_) request_timer_->disarm();
  if (response_timer_) response_timer_->disarm();
}

}  // namespace portico::filters::fault
