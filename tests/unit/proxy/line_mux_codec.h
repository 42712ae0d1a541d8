#pragma once
// A toy multiplexing protocol implementing the server codec interface, so tests can drive many
// concurrent streams through the real ConnectionManager before HTTP/2 exists. One message per
// line, N a stream id:
//   client -> server: "open N PATH", "data N TEXT", "end N", "reset N"
//   server -> client: "headers N STATUS", "data N TEXT", "end N", "reset N"
// Response body bytes are sent as they come (a test keeps them free of newlines). A stream
// whose request body is paused holds its "data" lines until it resumes, without stopping the
// connection: per-stream flow control, as HTTP/2's windows will be.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "http/codec.h"
#include "http/server_codec_factory.h"

namespace portico::testing {

class LineMuxCodec final : public http::ServerCodec {
 public:
  LineMuxCodec(http::CodecOutput& output, http::ServerConnectionCallbacks& callbacks)
      : output_(output), callbacks_(callbacks) {}

  bool dispatch(buffer::Buffer& data) override {
    pending_ += data.toString();
    data.clear();
    size_t eol;
    while (!closing_ && (eol = pending_.find('\n')) != std::string::npos) {
      std::string line = pending_.substr(0, eol);
      pending_.erase(0, eol + 1);
      onLine(line);
    }
    return !closing_;
  }
  void onEndOfInput() override {
    closing_ = true;
    output_.closeAfterFlush();
  }
  bool idle() const override { return live_ == 0 && pending_.empty(); }
  bool readingHead() const override { return false; }
  uint32_t requestCount() const override { return opened_; }
  void startDrain() override {}
  void sendConnectionError(uint16_t) override {
    closing_ = true;
    output_.closeAfterFlush();
  }

 private:
  class Stream final : public http::ResponseEncoder {
   public:
    Stream(LineMuxCodec& codec, http::StreamId id) : codec_(codec), id_(id) {}
    http::StreamId streamId() const override { return id_; }
    void encodeInterim(uint16_t, const http::HeaderMap&) override {}
    void encodeHeaders(http::ResponseHead& head, bool end_stream) override {
      if (done_) return;
      started_ = true;
      write("headers", std::to_string(head.status));
      if (end_stream) finish();
    }
    void encodeData(buffer::Buffer& data, bool end_stream) override {
      if (done_) return data.clear();
      if (!data.empty()) write("data", data.toString());
      data.clear();
      if (end_stream) finish();
    }
    void encodeFile(int, uint64_t, uint64_t, bool) override {}
    void encodeTrailers(const http::HeaderMap&) override { finish(); }
    bool responseStarted() const override { return started_; }
    bool peerAcceptsTrailers() const override { return true; }
    void resetStream() override {
      if (done_) return;
      write("reset", "");
      complete();
    }
    void failStream(uint16_t status) override {
      if (done_) return;
      if (decoder_) decoder_->onStreamReset(http::StreamResetReason::LocalReset);
      if (started_) {
        write("reset", "");
      } else {
        write("headers", std::to_string(status));
        write("end", "");
      }
      complete();
    }
    void pauseRequestBody(bool pause) override {
      paused_ = pause;
      while (!paused_ && !held_.empty() && !done_) {
        std::string text = std::move(held_.front());
        held_.erase(held_.begin());
        deliver(text);
      }
    }

    // Client side events.
    void open(const std::string& path) {
      head_.method = http::Method::Post;
      head_.method_text = "POST";
      head_.version = {1, 1};
      head_.target = path;
      head_.path = path;
      head_.authority = "a";
      head_.headers.add("Host", "a");
      decoder_ = &codec_.callbacks_.newStream(*this);
      decoder_->decodeHeaders(head_, false);
    }
    void data(const std::string& text) {
      if (done_) return;
      if (paused_) return held_.push_back(text);
      deliver(text);
    }
    void reset() {
      if (done_) return;
      if (decoder_) decoder_->onStreamReset(http::StreamResetReason::ProtocolError);
      complete();
    }

   private:
    // An empty text is the end of the request body.
    void deliver(const std::string& text) {
      buffer::Buffer body;
      body.append(text);
      decoder_->decodeData(body, text.empty());
    }
    void write(const char* what, const std::string& text) {
      std::string line = std::string(what) + " " + std::to_string(id_);
      if (!text.empty()) line += " " + text;
      line += "\n";
      buffer::Buffer out;
      out.append(line);
      codec_.output_.writeToPeer(out);
    }
    void finish() {
      write("end", "");
      complete();
    }
    void complete() {
      done_ = true;
      --codec_.live_;
      http::RequestDecoder* stream = decoder_;
      decoder_ = nullptr;
      codec_.callbacks_.onStreamComplete(*stream);
    }

    LineMuxCodec& codec_;
    const http::StreamId id_;
    http::RequestHead head_;
    http::RequestDecoder* decoder_ = nullptr;
    std::vector<std::string> held_;
    bool paused_ = false;
    bool started_ = false;
    bool done_ = false;
  };

  void onLine(const std::string& line) {
    size_t sp1 = line.find(' ');
    std::string verb = line.substr(0, sp1);
    size_t sp2 = line.find(' ', sp1 + 1);
    auto id = static_cast<http::StreamId>(std::stoul(line.substr(sp1 + 1, sp2 - sp1 - 1)));
    std::string rest = sp2 == std::string::npos ? "" : line.substr(sp2 + 1);
    if (verb == "open") {
      // Encoders live as long as the codec: the stream may call its encoder until it is
      // reaped, after it completed.
      auto& stream = streams_[id];
      stream = std::make_unique<Stream>(*this, id);
      ++opened_;
      ++live_;
      stream->open(rest);
      return;
    }
    auto it = streams_.find(id);
    if (it == streams_.end()) return;
    if (verb == "data") it->second->data(rest);
    if (verb == "end") it->second->data("");
    if (verb == "reset") it->second->reset();
  }

  http::CodecOutput& output_;
  http::ServerConnectionCallbacks& callbacks_;
  std::string pending_;  // a partial line
  std::map<http::StreamId, std::unique_ptr<Stream>> streams_;
  uint32_t opened_ = 0;
  uint32_t live_ = 0;
  bool closing_ = false;
};

class LineMuxFactory final : public http::ServerCodecFactory {
 public:
  std::string_view protocol() const override { return "x-line-mux"; }
  std::unique_ptr<http::ServerCodec> create(http::CodecOutput& output,
                                            http::ServerConnectionCallbacks& callbacks,
                                            const http::ServerCodecSettings&,
                                            uint32_t) const override {
    return std::make_unique<LineMuxCodec>(output, callbacks);
  }
};

}  // namespace portico::testing
