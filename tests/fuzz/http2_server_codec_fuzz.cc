// libFuzzer target for the HTTP/2 server codec (nghttp2 session, stream objects, the strict
// request translation), sans I/O: the input, after the connection preface, is what a client
// sends, cut into pieces by its first byte. Each request that reaches the proxy core is
// answered at once (a head, a body, sometimes trailers; some streams reset, some paused).
// Checked: no crash or leak (ASan), the codec's output is bounded, every stream handed to
// the core is completed exactly once, and no request with a pseudo-header, an uppercase or
// a connection-specific field, or CR/LF/NUL in a value ever reaches it.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "buffer/buffer.h"
#include "fuzz_support.h"
#include "http/codec.h"
#include "http2/prior_knowledge.h"
#include "http2/server_codec.h"

namespace {

using namespace portico;
using fuzz::check;

class Output final : public http::CodecOutput {
 public:
  void writeToPeer(buffer::Buffer& bytes) override {
    written += bytes.length();
    bytes.clear();
  }
  void writeFileToPeer(int, uint64_t, uint64_t) override { check(false); }
  void closeAfterFlush() override { closed = true; }
  void shutdownWriteAfterFlush() override {}
  uint64_t written = 0;
  bool closed = false;
};

class Stream final : public http::RequestDecoder {
 public:
  Stream(http::ResponseEncoder& encoder, uint32_t n) : encoder_(encoder), n_(n) {}
  void decodeHeaders(http::RequestHead& head, bool end_stream) override {
    head.headers.forEach([](std::string_view name, std::string_view value) {
      check(!name.empty() && name[0] != ':');
      for (char c : name) check(!(c >= 'A' && c <= 'Z'));
      check(name != "connection" && name != "transfer-encoding" && name != "upgrade" &&
            name != "keep-alive" && name != "proxy-connection");
      for (char c : value) check(c != '\r' && c != '\n' && c != '\0');
    });
    check(!head.method_text.empty());
    if (n_ % 5 == 1) encoder_.pauseRequestBody(true);
    if (n_ % 7 == 3) return encoder_.resetStream();
    if (end_stream || n_ % 3 == 0) answer();
  }
  void decodeData(buffer::Buffer& data, bool end_stream) override {
    data.clear();
    if (end_stream && !encoder_.responseStarted()) answer();
  }
  void decodeTrailers(http::HeaderMap&) override {
    if (!encoder_.responseStarted()) answer();
  }
  void onStreamReset(http::StreamResetReason) override { reset_ = true; }

 private:
  void answer() {
    http::ResponseHead head;
    head.status = 200;
    head.headers.add("Content-Type", "text/plain");
    head.headers.add("Connection", "close");  // must be dropped, not sent
    encoder_.encodeHeaders(head, false);
    buffer::Buffer body;
    body.append(std::string(1000 + n_ % 40000, 'x'));
    encoder_.encodeData(body, n_ % 2 == 0);
    if (n_ % 2 == 1) {
      http::HeaderMap trailers;
      trailers.add("X-Sum", "1");
      encoder_.encodeTrailers(trailers);
    }
  }
  http::ResponseEncoder& encoder_;
  uint32_t n_;
  bool reset_ = false;
};

class Callbacks final : public http::ServerConnectionCallbacks {
 public:
  http::RequestDecoder& newStream(http::ResponseEncoder& encoder) override {
    auto s = std::make_unique<Stream>(encoder, ++count_);
    Stream* raw = s.get();
    live_[raw] = std::move(s);
    return *raw;
  }
  void onStreamComplete(http::RequestDecoder& stream) override {
    auto it = live_.find(static_cast<Stream*>(&stream));
    check(it != live_.end());  // completed once, and only what was handed out
    done_.push_back(std::move(it->second));
    live_.erase(it);
  }
  void onRequestRejected(http::RequestDecoder*, uint16_t, std::string_view) override {}
  void onTunnelStarted() override { check(false); }
  void pauseReading(bool) override { check(false); }
  // Streams are kept until the codec is gone: the core reaps them after the turn.
  std::map<Stream*, std::unique_ptr<Stream>> live_;
  std::vector<std::unique_ptr<Stream>> done_;
  uint32_t count_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  fuzz::Splitter split(data[0]);
  http::ServerCodecSettings settings;
  settings.max_body = 1 << 20;
  settings.http2.max_concurrent_streams = 8;
  Output output;
  Callbacks callbacks;
  {
    http2::ServerCodecImpl codec(output, callbacks, settings, 0, {});
    std::string input(http2::kConnectionPreface);
    input.append(reinterpret_cast<const char*>(data + 1), size - 1);
    size_t at = 0;
    while (at < input.size() && !output.closed) {
      const size_t n = split.next(input.size() - at);
      buffer::Buffer piece;
      piece.append(input.data() + at, n);
      at += n;
      if (!codec.dispatch(piece)) break;
      check(piece.empty());  // HTTP/2 consumes everything it is given
    }
    // Bounded output: the streams' answers and the frames around them, nothing more.
    check(output.written <=
          4096 + static_cast<uint64_t>(callbacks.count_) * 48 * 1024 + input.size() * 8);
  }
  return 0;
}
