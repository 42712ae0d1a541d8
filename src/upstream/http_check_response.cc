#include "upstream/http_check_response.h"

#include <algorithm>

namespace portico::upstream {

HttpCheckResponse::HttpCheckResponse(const HealthCheckConfig& config, bool head_request)
    : config_(config), parser_(&head_, http1::ParserLimits{}) {
  parser_.setRequestMethod(head_request ? http::Method::Head : http::Method::Get);
}

HttpCheckResponse::Verdict HttpCheckResponse::fail(std::string why) {
  verdict_ = Verdict::Unhealthy;
  reason_ = std::move(why);
  return verdict_;
}

HttpCheckResponse::Verdict HttpCheckResponse::feed(const char* data, size_t len) {
  if (verdict_ != Verdict::Pending) return verdict_;
  if (!carry_.empty()) {
    carry_.append(data, len);
    std::string joined = std::move(carry_);
    carry_.clear();
    return feedContiguous(joined.data(), joined.size());
  }
  return feedContiguous(data, len);
}

HttpCheckResponse::Verdict HttpCheckResponse::feedContiguous(const char* data, size_t len) {
  while (verdict_ == Verdict::Pending) {
    http1::ParseResult r = parser_.feed(data, len);
    data += r.consumed;
    len -= r.consumed;
    switch (r.event) {
      case http1::ParseEvent::NeedMore:
        // The parser copies split heads itself; what it left is bounded by its head limits.
        carry_.assign(data, len);
        return verdict_;
      case http1::ParseEvent::Head:
        // A 1xx is interim: the parser goes on to the final response by itself.
        if (!parser_.isInterim()) onHead();
        break;
      case http1::ParseEvent::Body:
        onBody(data - r.body_len, r.body_len);
        break;
      case http1::ParseEvent::Trailers:
        break;
      case http1::ParseEvent::MessageComplete:
        return onComplete();
      case http1::ParseEvent::Error:
        return fail(std::string("invalid response: ") + http1::describe(parser_.error()));
    }
  }
  return verdict_;
}

HttpCheckResponse::Verdict HttpCheckResponse::onEof() {
  if (verdict_ != Verdict::Pending) return verdict_;
  http1::ParseResult r = parser_.onEof();
  if (r.event == http1::ParseEvent::MessageComplete) return onComplete();
  return fail("connection closed before a complete response");
}

HttpCheckResponse::Verdict HttpCheckResponse::onHead() {
  if (!config_.statusExpected(head_.status)) return fail("status " + std::to_string(head_.status));
  if (config_.body_contains.empty()) verdict_ = Verdict::Healthy;
  return verdict_;
}

void HttpCheckResponse::onBody(const char* data, size_t len) {
  if (verdict_ != Verdict::Pending) return;
  size_t room = kHealthCheckBodyLimit - body_.size();
  body_.append(data, std::min(len, room));
  if (body_.find(config_.body_contains) != std::string::npos) {
    verdict_ = Verdict::Healthy;
    body_.clear();
  } else if (body_.size() >= kHealthCheckBodyLimit) {
    fail("body mismatch (no match in the first " + std::to_string(kHealthCheckBodyLimit) +
         " bytes)");
  }
}

HttpCheckResponse::Verdict HttpCheckResponse::onComplete() {
  if (verdict_ != Verdict::Pending) return verdict_;
  return fail("body mismatch");
}

}  // namespace portico::upstream
