#include "proxy/filter_manager.h"

#include <unistd.h>

#include <algorithm>

#include "core/log.h"
#include "http/grpc_local_reply.h"

namespace portico::proxy {

using filters::FilterStatus;

namespace {
// A file body read through memory goes in slices of this size, each only when the chain and
// the client have room for it.
constexpr uint64_t kFileChunk = 64 * 1024;
}  // namespace

// ---- the callbacks each filter holds -------------------------------------------------------

class FilterManager::Handle final : public filters::FilterCallbacks {
 public:
  Handle(FilterManager& manager, size_t index) : m_(manager), index_(index) {}

  event::EventLoop& loop() override { return m_.owner_.loop(); }
  http::RequestHead& requestHead() override { return m_.owner_.requestHead(); }
  filters::StreamInfo& info() override { return m_.owner_.info(); }
  const net::Address* clientAddress() const override { return m_.owner_.clientAddress(); }
  void continueRequest() override { m_.continueRequest(index_); }
  void continueResponse() override { m_.continueResponse(index_); }
  void sendLocalReply(uint16_t status, std::string_view body,
                      std::string_view content_type) override {
    m_.produceLocalReply(index_, status, body, content_type, {}, {});
  }
  void encodeHeaders(http::ResponseHead&& head, bool end_stream) override {
    m_.produceHeaders(index_, std::move(head), end_stream);
  }
  void encodeData(buffer::Buffer& data, bool end_stream) override {
    m_.produceData(index_, data, end_stream);
  }
  void encodeFile(int file_fd, uint64_t offset, uint64_t length, bool end_stream) override {
    m_.produceFile(index_, file_fd, offset, length, end_stream);
  }
  void encodeTrailers(http::HeaderMap&& trailers) override {
    m_.produceTrailers(index_, std::move(trailers));
  }
  void encodeInterim(uint16_t status, const http::HeaderMap& headers) override {
    // 1xx pass straight to the client: filters act on the final response.
    if (!m_.stopped_ && !m_.response_produced_) m_.owner_.sendInterim(status, headers);
  }
  void injectRequestData(buffer::Buffer& data, bool end_stream) override {
    m_.injectRequest(index_, data, end_stream);
  }
  void injectResponseData(buffer::Buffer& data, bool end_stream) override {
    m_.injectResponse(index_, data, end_stream);
  }
  bool responseStarted() const override { return m_.response_produced_; }
  void resetStream(std::string_view why) override { m_.owner_.resetStream(why); }
  void pauseRequestBody(bool pause) override { m_.terminalPausesReading(pause); }
  bool downstreamBlocked() const override { return m_.watermark_told_; }

 private:
  FilterManager& m_;
  const size_t index_;
};

void FilterManager::Inbox::reset() {
  phase = Phase::Headers;
  paused = false;
  headers = false;
  trailers = false;
  end = false;
  body.clear();
}

FilterManager::FilterManager(FilterChainOwner& owner) : owner_(owner) {
  filters_.reserve(8);
}

FilterManager::~FilterManager() {
  tearing_down_ = true;  // the owner is going away too: tell it nothing
  clear();
}

void FilterManager::addFilter(filters::Filter* filter, std::pmr::memory_resource& arena) {
  Slot slot;
  slot.filter = filter;
  slot.handle = filters::arenaNew<Handle>(arena, *this, filters_.size());
  filter->setCallbacks(slot.handle);
  filters_.push_back(std::move(slot));
}

void FilterManager::stop() {
  stopped_ = true;
  closeFile();
  applyClientReading();  // a stream that ended stops no one from reading
}

void FilterManager::notifyDestroyed() {
  if (destroyed_) return;
  destroyed_ = true;
  for (Slot& s : filters_) s.filter->onDestroy();
}

void FilterManager::clear() {
  notifyDestroyed();
  if (client_reading_paused_ && !tearing_down_) owner_.pauseClientReading(false);
  closeFile();
  for (Slot& s : filters_) {
    s.filter->~Filter();
    s.handle->~Handle();
  }
  filters_.clear();
  client_inbox_.reset();
  request_head_ = nullptr;
  request_trailers_ = nullptr;
  origin_ = 0;
  response_produced_ = false;
  response_sent_ = false;
  response_ended_ = false;
  stopped_ = false;
  destroyed_ = false;
  request_running_ = false;
  request_rerun_ = SIZE_MAX;
  response_running_ = false;
  response_rerun_pending_ = false;
  request_done_ = false;
  watermark_told_ = false;
  reading_paused_ = false;
  terminal_paused_ = false;
  client_reading_paused_ = false;
}

uint64_t FilterManager::bufferedRequestBytes() const {
  uint64_t total = 0;
  for (const Slot& s : filters_) total += s.request.body.length();
  return total;
}

uint64_t FilterManager::bufferedResponseBytes() const {
  uint64_t total = client_inbox_.body.length();
  for (const Slot& s : filters_) total += s.response.body.length();
  return total;
}

// ---- request path --------------------------------------------------------------------------

void FilterManager::decodeHeaders(http::RequestHead& head, bool end_stream) {
  request_head_ = &head;
  if (stopped_ || filters_.empty()) return;
  Inbox& in = filters_[0].request;
  in.headers = true;
  in.end = end_stream;
  runRequest(0);
}

void FilterManager::decodeData(buffer::Buffer& data, bool end_stream) {
  if (stopped_ || request_done_ || filters_.empty()) {
    data.clear();
    return;
  }
  Inbox& in = filters_[0].request;
  in.body.moveFrom(data);
  in.end = in.end || end_stream;
  runRequest(0);
}

void FilterManager::decodeTrailers(http::HeaderMap& trailers) {
  if (stopped_ || request_done_ || filters_.empty()) return;
  request_trailers_ = &trailers;
  Inbox& in = filters_[0].request;
  in.trailers = true;
  in.end = true;
  runRequest(0);
}

void FilterManager::runRequest(size_t index) {
  if (request_running_) {
    request_rerun_ = std::min(request_rerun_, index);
    return;
  }
  request_running_ = true;
  size_t i = index;
  for (;;) {
    while (!stopped_ && !request_done_ && i < filters_.size() && stepRequest(i)) ++i;
    if (stopped_ || request_done_ || request_rerun_ == SIZE_MAX) break;
    i = request_rerun_;
    request_rerun_ = SIZE_MAX;
  }
  request_rerun_ = SIZE_MAX;
  request_running_ = false;
  updateWatermarks();
}

bool FilterManager::stepRequest(size_t index) {
  Slot& s = filters_[index];
  Inbox& in = s.request;
  if (in.paused) return false;
  Inbox* next = index + 1 < filters_.size() ? &filters_[index + 1].request : nullptr;
  if (in.headers) {
    in.headers = false;
    const bool end = in.end && in.body.empty() && !in.trailers;
    if (end) in.end = false;
    in.phase = end ? Phase::Ended : Phase::Body;
    FilterStatus status = s.filter->onRequestHeaders(*request_head_, end);
    if (stopped_) return false;
    if (next != nullptr && status != FilterStatus::Respond) {
      next->headers = true;
      next->end = next->end || end;
    }
    if (!proceed(status, in, true)) return false;
  }
  // After the end, bytes still come on a tunnel (an upgrade or CONNECT): they are body too.
  if (in.phase != Phase::Headers && (!in.body.empty() || (in.end && !in.trailers))) {
    const bool end = in.end && !in.trailers;
    if (end) {
      in.end = false;
      in.phase = Phase::Ended;
    }
    FilterStatus status = s.filter->onRequestBody(in.body, end);
    if (stopped_) return false;
    if (next != nullptr && status != FilterStatus::Respond) {
      next->body.moveFrom(in.body);
      next->end = next->end || end;
    } else {
      in.body.clear();
    }
    if (!proceed(status, in, true)) return false;
  }
  if (in.phase == Phase::Body && in.trailers) {
    in.trailers = false;
    in.end = false;
    in.phase = Phase::Ended;
    FilterStatus status = s.filter->onRequestTrailers(*request_trailers_);
    if (stopped_) return false;
    if (next != nullptr && status != FilterStatus::Respond) {
      next->trailers = true;
      next->end = true;
    }
    if (!proceed(status, in, true)) return false;
  }
  return true;
}

bool FilterManager::proceed(FilterStatus status, Inbox& inbox, bool request) {
  switch (status) {
    case FilterStatus::Continue:
      return true;
    case FilterStatus::Pause:
      inbox.paused = true;
      return false;
    case FilterStatus::Respond:
      if (request) request_done_ = true;
      if (!response_produced_ && !stopped_) {
        // A filter that says it answered must have: a silent stream would hang the client.
        PLOG_ERROR("a filter returned Respond without answering (request {}): 500",
                   owner_.info().request_id);
        owner_.info().failure = "filter returned Respond without a response";
        produceLocalReply(filters_.empty() ? 0 : filters_.size() - 1, 500, {}, "text/plain", {},
                          {});
      }
      return false;
  }
  return false;
}

void FilterManager::continueRequest(size_t index) {
  if (stopped_ || request_done_ || index >= filters_.size()) return;
  Inbox& in = filters_[index].request;
  if (!in.paused) return;
  in.paused = false;
  runRequest(index);
}

void FilterManager::injectRequest(size_t index, buffer::Buffer& data, bool end) {
  if (stopped_ || request_done_ || index + 1 >= filters_.size()) {
    data.clear();
    return;
  }
  Inbox& next = filters_[index + 1].request;
  next.body.moveFrom(data);
  next.end = next.end || end;
  // Behind whatever this filter holds: while it is paused, the bytes wait with its output.
  if (!filters_[index].request.paused) runRequest(index + 1);
}

void FilterManager::terminalPausesReading(bool pause) {
  terminal_paused_ = pause;
  applyClientReading();
}

void FilterManager::applyClientReading() {
  bool pause = !stopped_ && (reading_paused_ || terminal_paused_);
  if (pause == client_reading_paused_) return;
  client_reading_paused_ = pause;
  owner_.pauseClientReading(pause);
}

// ---- response path -------------------------------------------------------------------------

bool FilterManager::claimOrigin(size_t origin) {
  if (stopped_) return false;
  if (!response_produced_) {
    response_produced_ = true;
    origin_ = origin;
    ++generation_;
    return true;
  }
  if (origin == origin_) return true;
  if (origin > origin_) return false;  // superseded by an answer nearer the client
  // An answer nearer the client replaces the response in progress, as long as nothing of it
  // went past the answering filter: no filter in front has seen its head, nor the client.
  bool seen = response_sent_ || client_inbox_.headers;
  for (size_t k = 0; k < origin && !seen; ++k) {
    seen = filters_[k].response.phase != Phase::Headers;
  }
  if (seen) {
    owner_.resetStream("an answer after the response started");
    return false;
  }
  for (size_t k = 0; k <= origin; ++k) filters_[k].response.reset();
  client_inbox_.reset();
  closeFile();
  origin_ = origin;
  ++generation_;
  return true;
}

void FilterManager::produceHeaders(size_t origin, http::ResponseHead&& head, bool end) {
  if (!claimOrigin(origin)) return;
  // Swapped, not moved: the producer's head keeps our previous allocation for its next
  // response, so a keep-alive connection allocates no header storage per response.
  std::swap(response_head_, head);
  Inbox& in = responseInbox(origin);
  in.headers = true;
  in.end = in.end || end;
  runResponse(origin);
}

void FilterManager::produceData(size_t origin, buffer::Buffer& data, bool end) {
  if (stopped_ || !response_produced_ || origin != origin_) {
    data.clear();
    return;
  }
  Inbox& in = responseInbox(origin);
  in.body.moveFrom(data);
  in.end = in.end || end;
  runResponse(origin);
}

void FilterManager::produceTrailers(size_t origin, http::HeaderMap&& trailers) {
  if (stopped_ || !response_produced_ || origin != origin_) return;
  std::swap(response_trailers_, trailers);
  Inbox& in = responseInbox(origin);
  in.trailers = true;
  in.end = true;
  runResponse(origin);
}

void FilterManager::produceFile(size_t origin, int fd, uint64_t offset, uint64_t length, bool end) {
  if (stopped_ || !response_produced_ || origin != origin_ || file_fd_ >= 0) {
    ::close(fd);
    return;
  }
  // sendfile only when no byte would skip a filter: nothing waits anywhere in front, the head
  // is out, and no filter in front transforms the body.
  bool through_memory = !response_sent_ || !client_inbox_.body.empty() || client_inbox_.end;
  for (size_t k = 0; k < origin && !through_memory; ++k) {
    const Slot& s = filters_[k];
    through_memory = s.filter->transformsResponseBody() || s.response.paused ||
                     !s.response.body.empty() || s.response.end;
  }
  if (!through_memory) {
    owner_.info().response_body_bytes += length;
    if (end) response_ended_ = true;
    owner_.sendFile(fd, offset, length, end);
    return;
  }
  file_fd_ = fd;
  file_offset_ = offset;
  file_left_ = length;
  file_end_ = end;
  file_origin_ = origin;
  pumpFile();
}

void FilterManager::pumpFile() {
  if (pumping_) return;
  pumping_ = true;
  // The client's state is read afresh each round, not through watermark_told_: a file answered
  // from inside a request run (static files) is pumped before the run ends and updates it.
  while (file_fd_ >= 0 && !stopped_ && !responseAboveLimit()) {
    const uint64_t want = std::min(file_left_, kFileChunk);
    buffer::Buffer data;
    if (want > 0 && data.appendFromFile(file_fd_, file_offset_, want) != want) {
      PLOG_WARN("reading a file body failed at offset {} (request {})", file_offset_,
                owner_.info().request_id);
      closeFile();
      owner_.resetStream("file read failed");
      break;
    }
    file_offset_ += want;
    file_left_ -= want;
    const bool last = file_left_ == 0;
    const bool end = last && file_end_;
    const size_t origin = file_origin_;
    if (last) closeFile();
    produceData(origin, data, end);
  }
  pumping_ = false;
}

void FilterManager::closeFile() {
  if (file_fd_ < 0) return;
  ::close(file_fd_);
  file_fd_ = -1;
  file_left_ = 0;
}

void FilterManager::produceLocalReply(size_t origin, uint16_t status, std::string_view body,
                                      std::string_view content_type, std::string_view extra_name,
                                      std::string_view extra_value) {
  if (stopped_) return;
  if (request_head_ != nullptr && http::isGrpcRequest(request_head_->headers)) {
    // A gRPC client reads grpc-status, never an error page (http/grpc_local_reply.h).
    http::ResponseHead head;
    makeGrpcLocalReply(status, body, *request_head_->headers.get("Content-Type"), head);
    if (!extra_name.empty()) head.headers.add(extra_name, extra_value);
    owner_.info().local_reply = true;
    produceHeaders(origin, std::move(head), true);
    return;
  }
  std::string text = body.empty() ? owner_.errorBody(status) : std::string(body);
  http::ResponseHead head;
  head.status = status;
  head.headers.add("Content-Type", content_type);
  head.headers.add("Content-Length", std::to_string(text.size()));
  if (!extra_name.empty()) head.headers.add(extra_name, extra_value);
  owner_.info().local_reply = true;
  const bool head_request = request_head_ != nullptr && request_head_->method == http::Method::Head;
  const bool no_body = text.empty() || head_request;
  produceHeaders(origin, std::move(head), no_body);
  if (no_body) return;
  buffer::Buffer data;
  data.append(text);
  produceData(origin, data, true);
}

void FilterManager::sendLocalReply(uint16_t status, std::string_view body,
                                   std::string_view content_type, std::string_view extra_name,
                                   std::string_view extra_value) {
  size_t origin = filters_.empty() ? 0 : filters_.size() - 1;
  if (response_produced_ && origin_ < origin) origin = origin_;
  produceLocalReply(origin, status, body, content_type, extra_name, extra_value);
}

void FilterManager::runResponse(size_t position) {
  if (response_running_) {
    if (!response_rerun_pending_ || position > response_rerun_) response_rerun_ = position;
    response_rerun_pending_ = true;
    return;
  }
  response_running_ = true;
  size_t p = position;
  for (;;) {
    while (!stopped_ && stepResponse(p) && p > 0) --p;
    if (stopped_ || !response_rerun_pending_) break;
    p = response_rerun_;
    response_rerun_pending_ = false;
  }
  response_rerun_pending_ = false;
  response_running_ = false;
  updateWatermarks();
}

bool FilterManager::stepResponse(size_t position) {
  if (position == 0) {
    deliverToClient();
    return true;
  }
  const size_t index = position - 1;
  if (!response_produced_ || index >= origin_) return true;  // not on this response's path
  Slot& s = filters_[index];
  Inbox& in = s.response;
  if (in.paused) return false;
  Inbox& next = responseInbox(position - 1);
  const uint64_t generation = generation_;
  if (in.headers) {
    in.headers = false;
    const bool end = in.end && in.body.empty() && !in.trailers;
    if (end) in.end = false;
    in.phase = end ? Phase::Ended : Phase::Body;
    FilterStatus status = s.filter->onResponseHeaders(response_head_, end);
    if (stopped_ || generation != generation_) return false;
    if (status != FilterStatus::Respond) {
      next.headers = true;
      next.end = next.end || end;
    }
    if (!proceed(status, in, false)) return false;
  }
  if (in.phase != Phase::Headers && (!in.body.empty() || (in.end && !in.trailers))) {
    const bool end = in.end && !in.trailers;
    if (end) {
      in.end = false;
      in.phase = Phase::Ended;
    }
    FilterStatus status = s.filter->onResponseBody(in.body, end);
    if (stopped_ || generation != generation_) return false;
    if (status != FilterStatus::Respond) {
      next.body.moveFrom(in.body);
      next.end = next.end || end;
    }
    if (!proceed(status, in, false)) return false;
  }
  if (in.phase == Phase::Body && in.trailers) {
    in.trailers = false;
    in.end = false;
    in.phase = Phase::Ended;
    FilterStatus status = s.filter->onResponseTrailers(response_trailers_);
    if (stopped_ || generation != generation_) return false;
    if (status != FilterStatus::Respond) {
      next.trailers = true;
      next.end = true;
    }
    if (!proceed(status, in, false)) return false;
  }
  return true;
}

void FilterManager::deliverToClient() {
  Inbox& in = client_inbox_;
  if (in.headers) {
    in.headers = false;
    const bool end = in.end && in.body.empty() && !in.trailers;
    if (end) {
      in.end = false;
      response_ended_ = true;
    }
    response_sent_ = true;
    owner_.sendHeaders(response_head_, end);
    if (stopped_) return;
  }
  if (!response_sent_) return;
  if (!in.body.empty() || (in.end && !in.trailers)) {
    const bool end = in.end && !in.trailers;
    if (end) {
      in.end = false;
      response_ended_ = true;
    }
    owner_.info().response_body_bytes += in.body.length();
    owner_.sendData(in.body, end);
    in.body.clear();
    if (stopped_) return;
  }
  if (in.trailers) {
    in.trailers = false;
    in.end = false;
    response_ended_ = true;
    owner_.sendTrailers(response_trailers_);
  }
}

void FilterManager::continueResponse(size_t index) {
  if (stopped_ || index >= filters_.size()) return;
  Inbox& in = filters_[index].response;
  if (!in.paused) return;
  in.paused = false;
  if (!response_produced_ || index >= origin_) return;
  runResponse(index + 1);
}

void FilterManager::injectResponse(size_t index, buffer::Buffer& data, bool end) {
  if (stopped_ || !response_produced_ || index >= origin_) {
    data.clear();
    return;
  }
  Inbox& next = responseInbox(index);
  next.body.moveFrom(data);
  next.end = next.end || end;
  if (!filters_[index].response.paused) runResponse(index);
}

// ---- backpressure --------------------------------------------------------------------------

void FilterManager::onClientWatermark(bool) {
  updateWatermarks();  // reads the client's state itself: it outlives any one stream
}

bool FilterManager::responseAboveLimit() const {
  return owner_.clientWriteBlocked() || bufferedResponseBytes() > owner_.bufferLimit();
}

void FilterManager::updateWatermarks() {
  if (request_running_ || response_running_ || stopped_) return;
  const uint64_t limit = owner_.bufferLimit();
  const bool over = bufferedRequestBytes() > limit;
  if (over != reading_paused_) {
    reading_paused_ = over;
    applyClientReading();
  }
  const bool above = responseAboveLimit();
  if (above != watermark_told_) {
    watermark_told_ = above;
    for (Slot& s : filters_) s.filter->onDownstreamWatermark(above);
  }
  if (!above && file_fd_ >= 0) pumpFile();
}

}  // namespace portico::proxy
