#pragma once
// A terminal filter for tests that drive many streams through a real ConnectionManager: it
// collects the request body and answers "echo:<body>" in two pieces when the test says so.
// A path starting with /paused stops its request body until the test resumes it. What every
// stream's terminal is doing is on a Board the test reads.

#include <map>
#include <string>

#include "filters/filter.h"

namespace portico::testing {

class AnswerTerminal;

// What the terminals of all streams expose to the test.
struct Board {
  std::map<std::string, AnswerTerminal*> ready;   // request ended, waiting to be answered
  std::map<std::string, AnswerTerminal*> paused;  // holding their request body
  int destroyed = 0;
};

// Collects the request body; answers "echo:<body>" in two pieces when the test says so. A
// path starting with /paused stops its request body until the test resumes it.
class AnswerTerminal final : public filters::Filter {
 public:
  using FilterStatus = filters::FilterStatus;
  explicit AnswerTerminal(Board& board) : board_(board) {}
  FilterStatus onRequestHeaders(http::RequestHead& head, bool) override {
    path_ = head.path;
    if (path_.rfind("/paused", 0) == 0) {
      callbacks_->pauseRequestBody(true);
      board_.paused[path_] = this;
    }
    return FilterStatus::Continue;
  }
  FilterStatus onRequestBody(buffer::Buffer& data, bool end_stream) override {
    body_ += data.toString();
    data.clear();
    if (end_stream) board_.ready[path_] = this;
    return FilterStatus::Continue;
  }
  void onDestroy() override {
    ++board_.destroyed;
    if (board_.ready.count(path_) && board_.ready[path_] == this) board_.ready.erase(path_);
    if (board_.paused.count(path_) && board_.paused[path_] == this) board_.paused.erase(path_);
  }
  void answer() {
    http::ResponseHead head;
    head.status = 200;
    callbacks_->encodeHeaders(std::move(head), false);
    buffer::Buffer first, second;
    first.append("echo:");
    callbacks_->encodeData(first, false);
    second.append(body_);
    callbacks_->encodeData(second, true);
  }
  void resume() {
    board_.paused.erase(path_);
    callbacks_->pauseRequestBody(false);
  }

 private:
  Board& board_;
  std::string path_;
  std::string body_;
};

}  // namespace portico::testing
