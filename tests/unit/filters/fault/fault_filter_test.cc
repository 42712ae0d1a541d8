// The fault filter on its own, with callbacks that record what it asks of its stream and a
// real event loop for its timers: when it pauses, resumes and answers, and that it leaves
// headers and bytes alone.
#include "filters/fault/fault_filter.h"

#include <gtest/gtest.h>

#include <string>

#include "support/run_until.h"

namespace portico::filters::fault {
namespace {

class RecordingCallbacks final : public FilterCallbacks {
 public:
  event::EventLoop& loop() override { return loop_; }
  http::RequestHead& requestHead() override { return head; }
  StreamInfo& info() override { return info_; }
  void continueRequest() override { ++request_resumes; }
  void continueResponse() override { ++response_resumes; }
  void sendLocalReply(uint16_t s, std::string_view b, std::string_view) override {
    status = s;
    body = std::string(b);
  }
  void encodeHeaders(http::ResponseHead&&, bool) override { ADD_FAILURE(); }
  void encodeData(buffer::Buffer&, bool) override { ADD_FAILURE(); }
  void encodeFile(int, uint64_t, uint64_t, bool) override { ADD_FAILURE(); }
  void encodeTrailers(http::HeaderMap&&) override { ADD_FAILURE(); }
  void encodeInterim(uint16_t, const http::HeaderMap&) override { ADD_FAILURE(); }
  void injectRequestData(buffer::Buffer&, bool) override { ADD_FAILURE(); }
  void injectResponseData(buffer::Buffer&, bool) override { ADD_FAILURE(); }
  bool responseStarted() const override { return status != 0; }
  void resetStream(std::string_view) override { ADD_FAILURE(); }
  void pauseRequestBody(bool) override { ADD_FAILURE(); }
  bool downstreamBlocked() const override { return false; }

  http::RequestHead head;
  int request_resumes = 0;
  int response_resumes = 0;
  uint16_t status = 0;
  std::string body;

 private:
  event::EventLoop loop_;
  StreamInfo info_;
};

struct Harness {
  explicit Harness(FaultConfig c) : config(std::move(c)), filter(config) {
    filter.setCallbacks(&cb);
  }
  FaultConfig config;
  RecordingCallbacks cb;
  FaultFilter filter;
};

FaultConfig delayAt(std::initializer_list<FaultPhase> phases, int64_t ms = 5) {
  FaultConfig c;
  c.delay.emplace();
  c.delay->duration_ms = ms;
  c.delay->phases = 0;
  for (FaultPhase p : phases) c.delay->phases |= phaseBit(p);
  return c;
}

TEST(FaultFilterTest, DelaysEveryBodyCallAndLeavesTheBytes) {
  Harness h(delayAt({FaultPhase::RequestBody, FaultPhase::ResponseTrailers}));
  EXPECT_EQ(h.filter.onRequestHeaders(h.cb.head, false), FilterStatus::Continue);
  for (int i = 1; i <= 3; ++i) {
    buffer::Buffer data;
    data.append("chunk");
    EXPECT_EQ(h.filter.onRequestBody(data, i == 3), FilterStatus::Pause);
    EXPECT_EQ(data.toString(), "chunk");  // its output, untouched
    EXPECT_TRUE(testing::runUntil(h.cb.loop(), [&] { return h.cb.request_resumes == i; }));
  }
  http::HeaderMap trailers;
  EXPECT_EQ(h.filter.onRequestTrailers(trailers), FilterStatus::Continue);
  http::ResponseHead response;
  EXPECT_EQ(h.filter.onResponseHeaders(response, false), FilterStatus::Continue);
  EXPECT_FALSE(h.filter.transformsResponseBody());
  EXPECT_EQ(h.filter.onResponseTrailers(trailers), FilterStatus::Pause);
  EXPECT_TRUE(testing::runUntil(h.cb.loop(), [&] { return h.cb.response_resumes == 1; }));
  EXPECT_EQ(h.cb.request_resumes, 3);
  EXPECT_EQ(h.cb.status, 0);
}

TEST(FaultFilterTest, ResponseBodyDelayIsNotBypassedBySendfile) {
  Harness h(delayAt({FaultPhase::ResponseBody}));
  h.filter.onRequestHeaders(h.cb.head, true);
  EXPECT_TRUE(h.filter.transformsResponseBody());
}

TEST(FaultFilterTest, DestroyedWhilePausedNeverResumes) {
  Harness h(delayAt({FaultPhase::RequestHeaders, FaultPhase::ResponseHeaders}, 1));
  EXPECT_EQ(h.filter.onRequestHeaders(h.cb.head, true), FilterStatus::Pause);
  http::ResponseHead response;
  EXPECT_EQ(h.filter.onResponseHeaders(response, true), FilterStatus::Pause);
  h.filter.onDestroy();
  EXPECT_FALSE(testing::runUntil(
      h.cb.loop(), [&] { return h.cb.request_resumes + h.cb.response_resumes > 0; }, 30));
}

TEST(FaultFilterTest, AbortAnswersAtOnceOrAfterTheHeadersDelay) {
  FaultConfig c;
  c.abort.emplace();
  c.abort->status = 503;
  c.abort->body = "fault injected";
  Harness now(c);
  EXPECT_EQ(now.filter.onRequestHeaders(now.cb.head, true), FilterStatus::Respond);
  EXPECT_EQ(now.cb.status, 503);
  EXPECT_EQ(now.cb.body, "fault injected");

  FaultConfig d = delayAt({FaultPhase::RequestHeaders});
  d.abort = c.abort;
  Harness later(d);
  EXPECT_EQ(later.filter.onRequestHeaders(later.cb.head, true), FilterStatus::Pause);
  EXPECT_EQ(later.cb.status, 0);
  EXPECT_TRUE(testing::runUntil(later.cb.loop(), [&] { return later.cb.status == 503; }));
  EXPECT_EQ(later.cb.request_resumes, 0);  // answered instead of resuming
}

TEST(FaultFilterTest, PercentZeroNeverFires) {
  FaultConfig c = delayAt({FaultPhase::RequestHeaders});
  c.delay->percent = 0;
  c.abort.emplace();
  c.abort->percent = 0;
  for (int i = 0; i < 100; ++i) {
    Harness h(c);
    EXPECT_EQ(h.filter.onRequestHeaders(h.cb.head, true), FilterStatus::Continue);
  }
}

TEST(FaultFilterTest, HeaderOverrideOnlyWhenAllowed) {
  FaultConfig c;
  c.allow_header_override = false;
  c.abort.emplace();
  c.abort->percent = 0;
  Harness off(c);
  off.cb.head.headers.add(kAbortHeader, "418");
  EXPECT_EQ(off.filter.onRequestHeaders(off.cb.head, true), FilterStatus::Continue);
  EXPECT_TRUE(off.cb.head.headers.has(kAbortHeader));  // not ours to touch

  c.allow_header_override = true;
  Harness abort(c);
  abort.cb.head.headers.add(kAbortHeader, "418");
  EXPECT_EQ(abort.filter.onRequestHeaders(abort.cb.head, true), FilterStatus::Respond);
  EXPECT_EQ(abort.cb.status, 418);

  Harness delay(c);
  delay.cb.head.headers.add(kDelayHeader, "2ms");
  delay.cb.head.headers.add(kAbortHeader, "99");  // not a final status: ignored
  EXPECT_EQ(delay.filter.onRequestHeaders(delay.cb.head, true), FilterStatus::Pause);
  EXPECT_FALSE(delay.cb.head.headers.has(kDelayHeader));
  EXPECT_FALSE(delay.cb.head.headers.has(kAbortHeader));
  EXPECT_TRUE(testing::runUntil(delay.cb.loop(), [&] { return delay.cb.request_resumes == 1; }));
  EXPECT_EQ(delay.cb.status, 0);

  Harness zero(c);
  zero.cb.head.headers.add(kDelayHeader, "0ms");  // never a 0 ms timer
  EXPECT_EQ(zero.filter.onRequestHeaders(zero.cb.head, true), FilterStatus::Continue);
}

}  // namespace
}  // namespace portico::filters::fault
