// FilterManager on its own, with a recording owner: pauses at every phase of both directions,
// body transformations, answers from the middle of the chain, and a randomized property test
// that no byte is lost, duplicated or reordered and that waiting bytes stay bounded.

#include "proxy/filter_manager.h"

#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace portico::proxy {
namespace {

using filters::FilterStatus;

class RecordingOwner final : public FilterChainOwner {
 public:
  event::EventLoop& loop() override { return loop_; }
  http::RequestHead& requestHead() override { return request; }
  filters::StreamInfo& info() override { return info_; }
  void sendHeaders(http::ResponseHead& head, bool end_stream) override {
    ++heads_sent;
    status = head.status;
    response_headers = head.headers;
    ended = end_stream;
  }
  void sendData(buffer::Buffer& data, bool end_stream) override {
    EXPECT_FALSE(ended) << "data after the end";
    body += data.toString();
    data.clear();
    ended = end_stream;
  }
  void sendFile(int, uint64_t, uint64_t, bool) override { ADD_FAILURE() << "no files here"; }
  void sendTrailers(http::HeaderMap& trailers) override {
    response_trailers = trailers;
    ended = true;
  }
  void sendInterim(uint16_t, const http::HeaderMap&) override {}
  void resetStream(std::string_view why) override { reset_why = std::string(why); }
  std::string errorBody(uint16_t s) override { return "error " + std::to_string(s) + "\n"; }
  void pauseClientReading(bool pause) override { reading_paused = pause; }
  bool clientWriteBlocked() const override { return false; }
  uint64_t bufferLimit() const override { return limit; }

  http::RequestHead request;
  int heads_sent = 0;
  uint16_t status = 0;
  http::HeaderMap response_headers;
  http::HeaderMap response_trailers;
  std::string body;
  bool ended = false;
  std::string reset_why;
  bool reading_paused = false;
  uint64_t limit = 64 * 1024;

 private:
  event::EventLoop loop_;
  filters::StreamInfo info_;
};

// Resumes scheduled by filters, run later in an order the test controls.
class Scheduler {
 public:
  void add(std::function<void()> task) { tasks_.push_back(std::move(task)); }
  bool runOne(std::mt19937& rng) {
    if (tasks_.empty()) return false;
    size_t i = std::uniform_int_distribution<size_t>(0, tasks_.size() - 1)(rng);
    std::function<void()> task = std::move(tasks_[i]);
    tasks_.erase(tasks_.begin() + static_cast<std::ptrdiff_t>(i));
    task();
    return true;
  }
  bool empty() const { return tasks_.empty(); }

 private:
  std::deque<std::function<void()>> tasks_;
};

enum class Transform { None, Upper, DropVowels, Double };

std::string applyTransform(Transform t, std::string_view in) {
  std::string out;
  for (char c : in) {
    switch (t) {
      case Transform::None:
        out += c;
        break;
      case Transform::Upper:
        out += (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c;
        break;
      case Transform::DropVowels:
        if (std::string_view("aeiou").find(c) == std::string_view::npos) out += c;
        break;
      case Transform::Double:
        out += c;
        out += c;
        break;
    }
  }
  return out;
}

// A filter that records what it is handed, transforms body bytes one to one per chunk, and
// pauses at random (resuming later through the scheduler).
class ProbeFilter final : public filters::Filter {
 public:
  struct Record {
    std::string request_body;
    std::string response_body;
    int request_heads = 0;
    int response_heads = 0;
    int request_ends = 0;
    int response_ends = 0;
    int request_trailers = 0;
    int response_trailers = 0;
  };
  ProbeFilter(Scheduler& scheduler, std::mt19937& rng, int pause_percent, Transform request_t,
              Transform response_t, Record& record)
      : scheduler_(scheduler),
        rng_(rng),
        pause_percent_(pause_percent),
        request_t_(request_t),
        response_t_(response_t),
        record_(record) {}

  FilterStatus onRequestHeaders(http::RequestHead&, bool end_stream) override {
    ++record_.request_heads;
    if (end_stream) ++record_.request_ends;
    return maybePause(true);
  }
  FilterStatus onRequestBody(buffer::Buffer& data, bool end_stream) override {
    std::string seen = data.toString();
    record_.request_body += seen;
    data.clear();
    data.append(applyTransform(request_t_, seen));
    if (end_stream) ++record_.request_ends;
    return maybePause(true);
  }
  FilterStatus onRequestTrailers(http::HeaderMap&) override {
    ++record_.request_trailers;
    ++record_.request_ends;
    return maybePause(true);
  }
  FilterStatus onResponseHeaders(http::ResponseHead& head, bool end_stream) override {
    ++record_.response_heads;
    head.headers.add("X-Seen-By", "probe");
    if (end_stream) ++record_.response_ends;
    return maybePause(false);
  }
  FilterStatus onResponseBody(buffer::Buffer& data, bool end_stream) override {
    std::string seen = data.toString();
    record_.response_body += seen;
    data.clear();
    data.append(applyTransform(response_t_, seen));
    if (end_stream) ++record_.response_ends;
    return maybePause(false);
  }
  FilterStatus onResponseTrailers(http::HeaderMap&) override {
    ++record_.response_trailers;
    ++record_.response_ends;
    return maybePause(false);
  }

 private:
  FilterStatus maybePause(bool request) {
    if (std::uniform_int_distribution<int>(0, 99)(rng_) >= pause_percent_)
      return FilterStatus::Continue;
    filters::FilterCallbacks* cb = callbacks_;
    scheduler_.add([cb, request] {
      if (request) {
        cb->continueRequest();
      } else {
        cb->continueResponse();
      }
    });
    return FilterStatus::Pause;
  }

  Scheduler& scheduler_;
  std::mt19937& rng_;
  int pause_percent_;
  Transform request_t_;
  Transform response_t_;
  Record& record_;
};

// The terminal: collects the request body and, once the request ended, answers with a body
// split into random chunks (scheduled, so the answer arrives while other things happen).
class EchoTerminal final : public filters::Filter {
 public:
  EchoTerminal(Scheduler& scheduler, std::mt19937& rng, std::string response_body, bool trailers,
               std::string& request_seen)
      : scheduler_(scheduler),
        rng_(rng),
        response_body_(std::move(response_body)),
        trailers_(trailers),
        request_seen_(request_seen) {}

  FilterStatus onRequestHeaders(http::RequestHead&, bool end_stream) override {
    if (end_stream) answer();
    return FilterStatus::Continue;
  }
  FilterStatus onRequestBody(buffer::Buffer& data, bool end_stream) override {
    request_seen_ += data.toString();
    data.clear();
    if (end_stream) answer();
    return FilterStatus::Continue;
  }
  FilterStatus onRequestTrailers(http::HeaderMap&) override {
    answer();
    return FilterStatus::Continue;
  }

 private:
  void answer() {
    scheduler_.add([this] {
      http::ResponseHead head;
      head.status = 200;
      callbacks_->encodeHeaders(std::move(head), response_body_.empty() && !trailers_);
      sendSome(0);
    });
  }
  void sendSome(size_t offset) {
    if (offset >= response_body_.size()) {
      if (trailers_) {
        http::HeaderMap t;
        t.add("X-Checksum", "ok");
        callbacks_->encodeTrailers(std::move(t));
      } else if (!response_body_.empty() && offset == response_body_.size()) {
        // already ended with the last chunk
      }
      return;
    }
    size_t n = std::uniform_int_distribution<size_t>(1, 5000)(rng_);
    n = std::min(n, response_body_.size() - offset);
    buffer::Buffer chunk;
    chunk.append(std::string_view(response_body_).substr(offset, n));
    bool end = !trailers_ && offset + n == response_body_.size();
    callbacks_->encodeData(chunk, end);
    if (offset + n < response_body_.size() || trailers_) {
      scheduler_.add([this, offset, n] { sendSome(offset + n); });
    }
  }

  Scheduler& scheduler_;
  std::mt19937& rng_;
  std::string response_body_;
  bool trailers_;
  std::string& request_seen_;
};

std::string randomText(std::mt19937& rng, size_t n) {
  static constexpr std::string_view kAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789 \n";
  std::string s(n, ' ');
  std::uniform_int_distribution<size_t> pick(0, kAlphabet.size() - 1);
  for (char& c : s) c = kAlphabet[pick(rng)];
  return s;
}

struct Arena {
  std::pmr::monotonic_buffer_resource resource{64 * 1024};
};

TEST(FilterManagerTest, RandomPausesAndTransformsKeepEveryByteInOrder) {
  for (uint32_t seed = 1; seed <= 300; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    RecordingOwner owner;
    owner.limit = std::uniform_int_distribution<uint64_t>(1024, 128 * 1024)(rng);
    Arena arena;
    Scheduler scheduler;
    FilterManager chain(owner);

    const size_t n_filters = std::uniform_int_distribution<size_t>(0, 4)(rng);
    std::vector<ProbeFilter::Record> records(n_filters);
    std::vector<Transform> req_t, resp_t;
    for (size_t i = 0; i < n_filters; ++i) {
      req_t.push_back(static_cast<Transform>(std::uniform_int_distribution<int>(0, 3)(rng)));
      resp_t.push_back(static_cast<Transform>(std::uniform_int_distribution<int>(0, 3)(rng)));
      int pause = std::uniform_int_distribution<int>(0, 60)(rng);
      chain.addFilter(filters::arenaNew<ProbeFilter>(arena.resource, scheduler, rng, pause,
                                                     req_t.back(), resp_t.back(), records[i]),
                      arena.resource);
    }
    const std::string request_body =
        randomText(rng, std::uniform_int_distribution<size_t>(0, 200000)(rng));
    const std::string response_body =
        randomText(rng, std::uniform_int_distribution<size_t>(0, 200000)(rng));
    const bool request_trailers = std::uniform_int_distribution<int>(0, 3)(rng) == 0;
    const bool response_trailers = std::uniform_int_distribution<int>(0, 3)(rng) == 0;
    std::string terminal_seen;
    chain.addFilter(filters::arenaNew<EchoTerminal>(arena.resource, scheduler, rng, response_body,
                                                    response_trailers, terminal_seen),
                    arena.resource);

    // The client: sends its request in random pieces, only while reading is not paused.
    http::HeaderMap trailers;
    trailers.add("X-Sum", "1");
    const bool head_only = request_body.empty() && !request_trailers;
    chain.bindRequest(owner.request);
    chain.decodeHeaders(owner.request, head_only);
    size_t sent = 0;
    bool request_done = head_only;
    uint64_t max_buffered = 0;
    for (int steps = 0; steps < 1000000; ++steps) {
      max_buffered = std::max(max_buffered, chain.bufferedRequestBytes());
      bool progressed = false;
      if (!request_done && !owner.reading_paused && std::uniform_int_distribution<int>(0, 1)(rng)) {
        size_t n = std::min(request_body.size() - sent,
                            std::uniform_int_distribution<size_t>(1, 8000)(rng));
        buffer::Buffer piece;
        piece.append(std::string_view(request_body).substr(sent, n));
        sent += n;
        bool last = sent == request_body.size();
        if (last && request_trailers) {
          if (n > 0) chain.decodeData(piece, false);
          chain.decodeTrailers(trailers);
        } else {
          chain.decodeData(piece, last);
        }
        request_done = last;
        progressed = true;
      } else {
        progressed = scheduler.runOne(rng);
      }
      if (!progressed && (request_done || owner.reading_paused) && scheduler.empty()) break;
    }
    // The source stops above the limit; one piece of the client's and what a filter's
    // transformation doubles may arrive before it does.
    EXPECT_LE(max_buffered, 2 * (owner.limit + 8000) * (n_filters + 1));

    // Every filter saw the request body exactly once, as the filter before it passed it on.
    std::string expected_request = request_body;
    for (size_t i = 0; i < n_filters; ++i) {
      ASSERT_EQ(records[i].request_body, expected_request) << "filter " << i;
      EXPECT_EQ(records[i].request_heads, 1);
      EXPECT_EQ(records[i].request_ends, 1);
      EXPECT_EQ(records[i].request_trailers, request_trailers ? 1 : 0);
      expected_request = applyTransform(req_t[i], expected_request);
    }
    EXPECT_EQ(terminal_seen, expected_request);

    // The response travels back through the filters in reverse order.
    ASSERT_EQ(owner.heads_sent, 1);
    EXPECT_TRUE(owner.ended);
    std::string expected_response = response_body;
    for (size_t i = n_filters; i-- > 0;) {
      ASSERT_EQ(records[i].response_body, expected_response) << "filter " << i;
      EXPECT_EQ(records[i].response_heads, 1);
      EXPECT_EQ(records[i].response_ends, 1);
      EXPECT_EQ(records[i].response_trailers, response_trailers ? 1 : 0);
      expected_response = applyTransform(resp_t[i], expected_response);
    }
    EXPECT_EQ(owner.body, expected_response);
    EXPECT_EQ(owner.response_headers.count("X-Seen-By"), n_filters);
    EXPECT_EQ(owner.response_trailers.has("X-Checksum"), response_trailers);
    EXPECT_EQ(chain.bufferedRequestBytes(), 0u);
    EXPECT_EQ(chain.bufferedResponseBytes(), 0u);
    chain.clear();
  }
}

// Answers from its position: the filters in front see the answer, the ones behind see nothing.
class AnswerFilter final : public filters::Filter {
 public:
  FilterStatus onRequestHeaders(http::RequestHead&, bool) override {
    callbacks_->sendLocalReply(403, "no entry\n", "text/plain");
    return FilterStatus::Respond;
  }
};

TEST(FilterManagerTest, AnswerFromTheMiddlePassesOnlyTheFiltersInFront) {
  std::mt19937 rng(7);
  RecordingOwner owner;
  Arena arena;
  Scheduler scheduler;
  FilterManager chain(owner);
  ProbeFilter::Record front, behind;
  std::string terminal_seen;
  chain.addFilter(filters::arenaNew<ProbeFilter>(arena.resource, scheduler, rng, 0, Transform::None,
                                                 Transform::Upper, front),
                  arena.resource);
  chain.addFilter(filters::arenaNew<AnswerFilter>(arena.resource), arena.resource);
  chain.addFilter(filters::arenaNew<ProbeFilter>(arena.resource, scheduler, rng, 0, Transform::None,
                                                 Transform::None, behind),
                  arena.resource);
  chain.addFilter(filters::arenaNew<EchoTerminal>(arena.resource, scheduler, rng, "never", false,
                                                  terminal_seen),
                  arena.resource);
  chain.bindRequest(owner.request);
  chain.decodeHeaders(owner.request, false);
  buffer::Buffer body;
  body.append("ignored");
  chain.decodeData(body, true);
  while (scheduler.runOne(rng)) {
  }
  EXPECT_EQ(owner.status, 403);
  EXPECT_EQ(owner.body, "NO ENTRY\n");  // the filter in front transformed it
  EXPECT_EQ(front.response_heads, 1);
  EXPECT_EQ(front.request_body, "");  // the request stopped at the answer
  EXPECT_EQ(behind.request_heads, 0);
  EXPECT_EQ(behind.response_heads, 0);
  EXPECT_EQ(terminal_seen, "");
}

// A gRPC request answered locally gets a gRPC error, never the error page: the filters in
// front see a head-only response carrying grpc-status.
TEST(FilterManagerTest, LocalReplyToAGrpcRequestIsATrailersOnlyGrpcError) {
  RecordingOwner owner;
  Arena arena;
  FilterManager chain(owner);
  chain.addFilter(filters::arenaNew<AnswerFilter>(arena.resource), arena.resource);
  owner.request.headers.add("Content-Type", "application/grpc");
  chain.bindRequest(owner.request);
  chain.decodeHeaders(owner.request, false);
  EXPECT_EQ(owner.heads_sent, 1);
  EXPECT_EQ(owner.status, 200);
  EXPECT_TRUE(owner.ended);
  EXPECT_EQ(owner.body, "");
  EXPECT_EQ(*owner.response_headers.get("content-type"), "application/grpc");
  EXPECT_EQ(*owner.response_headers.get("grpc-status"), "7");  // 403: PERMISSION_DENIED
  EXPECT_EQ(*owner.response_headers.get("grpc-message"), "no entry%0A");
  EXPECT_TRUE(owner.info().local_reply);
  chain.clear();
}

TEST(FilterManagerTest, LocalReplyWithoutAChainToAGrpcRequestIsAGrpcError) {
  RecordingOwner owner;
  FilterManager chain(owner);
  owner.request.headers.add("Content-Type", "application/grpc+proto");
  chain.bindRequest(owner.request);
  chain.sendLocalReply(404, {}, "text/plain");
  EXPECT_EQ(owner.status, 200);
  EXPECT_TRUE(owner.ended);
  EXPECT_EQ(*owner.response_headers.get("grpc-status"), "12");  // UNIMPLEMENTED
  EXPECT_EQ(*owner.response_headers.get("grpc-message"), "404 Not Found");
}

// Pauses the response head, then replaces the response with its own answer.
class ReplaceOnResponse final : public filters::Filter {
 public:
  FilterStatus onResponseHeaders(http::ResponseHead& head, bool) override {
    if (head.status != 502) return FilterStatus::Continue;
    callbacks_->sendLocalReply(503, "replaced\n", "text/plain");
    return FilterStatus::Respond;
  }
};

class FailingTerminal final : public filters::Filter {
 public:
  FilterStatus onRequestHeaders(http::RequestHead&, bool) override {
    http::ResponseHead head;
    head.status = 502;
    callbacks_->encodeHeaders(std::move(head), false);
    buffer::Buffer data;
    data.append("upstream garbage");
    callbacks_->encodeData(data, true);  // superseded: dropped
    return FilterStatus::Respond;
  }
};

TEST(FilterManagerTest, ResponseFilterReplacesAResponseNotYetSent) {
  RecordingOwner owner;
  Arena arena;
  FilterManager chain(owner);
  chain.addFilter(filters::arenaNew<ReplaceOnResponse>(arena.resource), arena.resource);
  chain.addFilter(filters::arenaNew<FailingTerminal>(arena.resource), arena.resource);
  chain.bindRequest(owner.request);
  chain.decodeHeaders(owner.request, true);
  EXPECT_EQ(owner.heads_sent, 1);
  EXPECT_EQ(owner.status, 503);
  EXPECT_EQ(owner.body, "replaced\n");
  EXPECT_TRUE(owner.ended);
  EXPECT_EQ(owner.reset_why, "");
}

// Holds every response byte until the end, then injects a trailer line of its own.
class HoldAndInject final : public filters::Filter {
 public:
  FilterStatus onResponseBody(buffer::Buffer& data, bool end_stream) override {
    held_ += data.toString();
    data.clear();
    if (!end_stream) return FilterStatus::Continue;
    data.append(held_);
    data.append("[end]");
    return FilterStatus::Continue;
  }
  bool transformsResponseBody() const override { return true; }

 private:
  std::string held_;
};

class LaterInject final : public filters::Filter {
 public:
  explicit LaterInject(Scheduler& scheduler) : scheduler_(scheduler) {}
  FilterStatus onResponseBody(buffer::Buffer&, bool end_stream) override {
    if (!end_stream) return FilterStatus::Continue;
    // Holds the last chunk back; later adds bytes of its own behind it and resumes.
    scheduler_.add([this] {
      injected = true;
      buffer::Buffer extra;
      extra.append("+late");
      callbacks_->injectResponseData(extra, false);
      callbacks_->continueResponse();
    });
    return FilterStatus::Pause;
  }
  bool injected = false;

 private:
  Scheduler& scheduler_;
};

TEST(FilterManagerTest, FiltersAddAndInjectData) {
  std::mt19937 rng(3);
  RecordingOwner owner;
  Arena arena;
  Scheduler scheduler;
  FilterManager chain(owner);
  std::string terminal_seen;
  chain.addFilter(filters::arenaNew<HoldAndInject>(arena.resource), arena.resource);
  chain.addFilter(filters::arenaNew<EchoTerminal>(arena.resource, scheduler, rng, "hello world",
                                                  false, terminal_seen),
                  arena.resource);
  chain.bindRequest(owner.request);
  chain.decodeHeaders(owner.request, true);
  while (scheduler.runOne(rng)) {
  }
  EXPECT_EQ(owner.body, "hello world[end]");
  EXPECT_TRUE(owner.ended);
}

TEST(FilterManagerTest, InjectedBytesQueueBehindWhatAPausedFilterHolds) {
  std::mt19937 rng(5);
  RecordingOwner owner;
  Arena arena;
  Scheduler scheduler;
  FilterManager chain(owner);
  std::string terminal_seen;
  auto* later = filters::arenaNew<LaterInject>(arena.resource, scheduler);
  chain.addFilter(later, arena.resource);
  chain.addFilter(
      filters::arenaNew<EchoTerminal>(arena.resource, scheduler, rng, "body", false, terminal_seen),
      arena.resource);
  chain.bindRequest(owner.request);
  chain.decodeHeaders(owner.request, true);
  while (scheduler.runOne(rng)) {
    if (!later->injected) {
      EXPECT_EQ(owner.body, "");  // held while the filter is paused
    }
  }
  EXPECT_EQ(owner.body, "body+late");
  EXPECT_TRUE(owner.ended);
}

}  // namespace
}  // namespace portico::proxy
