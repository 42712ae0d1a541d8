// libFuzzer target for the HTTP/1 response parser.
//
// The first two input bytes choose the request method the responses answer, the limits, whether
// the connection closes after the last byte, and how the rest is cut into pieces; the rest is
// the byte stream from a backend. The stream is parsed twice, once whole and once in pieces, as
// the client codec would (unconsumed bytes passed again with the next piece, reset() after each
// message), and the two transcripts must be equal. Every call gets a buffer of exactly `len`
// bytes so that AddressSanitizer sees any read past it.

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "http/message.h"
#include "http1/parser.h"

namespace {

using portico::http::Method;
using portico::http1::BodyKind;
using portico::http1::ParseError;
using portico::http1::ParseEvent;
using portico::http1::ParseResult;
using portico::http1::ParserLimits;
using portico::http1::ResponseParser;

void check(bool ok) {
  if (!ok) std::abort();
}

class Splitter {
 public:
  explicit Splitter(uint32_t seed) : state_(seed * 2654435761u + 1) {}
  size_t next() {
    state_ ^= state_ << 13;
    state_ ^= state_ >> 17;
    state_ ^= state_ << 5;
    uint32_t r = state_;
    if ((r & 7) == 0) return 64 + (r >> 8) % 4096;
    return 1 + (r >> 8) % 16;
  }

 private:
  uint32_t state_;
};

struct Config {
  ParserLimits limits;
  Method method = Method::Get;
  bool eof = false;
  uint32_t seed = 0;
};

std::string parse(const uint8_t* data, size_t size, const Config& cfg, bool whole) {
  portico::http::ResponseHead head;
  ResponseParser parser(&head, cfg.limits);
  parser.setRequestMethod(cfg.method);
  Splitter split(cfg.seed);
  std::string pending;
  std::string t;
  size_t pos = 0;
  bool in_body = false;
  bool interim_before = false;
  uint64_t body_bytes = 0;
  bool stopped = false;
  while (!stopped) {
    size_t piece = whole ? size - pos : std::min(split.next(), size - pos);
    pending.append(reinterpret_cast<const char*>(data) + pos, piece);
    pos += piece;
    bool last = pos == size;
    for (int guard = 0;; ++guard) {
      check(guard < 1000000);
      size_t len = pending.size();
      std::unique_ptr<char[]> buf(new char[len == 0 ? 1 : len]);
      if (len > 0) std::memcpy(buf.get(), pending.data(), len);
      ParseResult r = parser.feed(buf.get(), len);
      check(r.consumed <= len);
      check(r.body_len <= r.consumed);
      if (r.event != ParseEvent::Body) check(r.body_len == 0);
      if (r.event == ParseEvent::NeedMore) {
        check(r.consumed == len);
        pending.clear();
        break;
      }
      if (r.event == ParseEvent::Error) {
        ParseError e = parser.error();
        check(e != ParseError::None && e != ParseError::PrematureEof);
        check(portico::http1::describe(e)[0] != '\0');
        ParseResult again = parser.feed(buf.get(), len);
        check(again.event == ParseEvent::Error && again.consumed == 0);
        t += "E " + std::to_string(static_cast<int>(e)) + '\n';
        stopped = true;
        break;
      }
      if (r.event == ParseEvent::Body) {
        check(r.body_len > 0);
        check(parser.bodyKind() != BodyKind::None);
        check(cfg.method != Method::Head);
        body_bytes += r.body_len;
        if (parser.bodyKind() == BodyKind::ContentLength) {
          check(body_bytes <= parser.contentLength());
        }
        if (!in_body) t += "B ";
        if (in_body) t.pop_back();
        t.append(buf.get() + r.consumed - r.body_len, r.body_len);
        t += '\n';
        in_body = true;
      } else {
        in_body = false;
      }
      if (r.event == ParseEvent::Head) {
        body_bytes = 0;
        uint16_t s = head.status;
        check(s >= 100 && s <= 599);
        check(parser.isInterim() == (s < 200 && s != 101));
        if (parser.isInterim() || portico::http::statusHasNoBody(s)) {
          check(parser.bodyKind() == BodyKind::None);
        }
        if (parser.bodyKind() == BodyKind::UntilClose) check(!parser.keepAlive());
        interim_before = parser.isInterim();
        t += "H " + std::to_string(s) + ' ' + head.reason + ' ' +
             std::to_string(head.version.minor) + ' ' + std::to_string(parser.isInterim()) +
             std::to_string(static_cast<int>(parser.bodyKind())) + ' ' +
             std::to_string(parser.contentLength()) + std::to_string(parser.keepAlive());
        head.headers.forEach([&t](std::string_view n, std::string_view v) {
          t += '\n';
          t += n;
          t += ':';
          t += v;
        });
        t += '\n';
      } else if (r.event == ParseEvent::Trailers) {
        check(parser.bodyKind() == BodyKind::Chunked && !parser.trailers().empty());
        t += "T";
        parser.trailers().forEach([&t](std::string_view n, std::string_view v) {
          t += n;
          t += ':';
          t += v;
          t += '\n';
        });
      } else if (r.event == ParseEvent::MessageComplete) {
        check(!interim_before);
        check(parser.done());
        if (parser.bodyKind() == BodyKind::ContentLength) {
          check(body_bytes == parser.contentLength());
        }
        ParseResult idle = parser.feed(buf.get(), len);
        check(idle.event == ParseEvent::NeedMore && idle.consumed == 0);
        t += "C\n";
        pending.erase(0, r.consumed);
        parser.reset();
        parser.setRequestMethod(cfg.method);
        continue;
      }
      pending.erase(0, r.consumed);
    }
    if (last) break;
  }
  if (cfg.eof && !stopped) {
    ParseResult r = parser.onEof();
    check(r.consumed == 0 && r.body_len == 0);
    if (r.event == ParseEvent::Error) {
      check(parser.error() == ParseError::PrematureEof);
      t += "EOF-ERROR\n";
    } else if (r.event == ParseEvent::MessageComplete) {
      t += "EOF-C\n";
    } else {
      check(r.event == ParseEvent::NeedMore);
      t += "EOF\n";
    }
  }
  return t;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  uint8_t mode = data[0];
  Config cfg;
  cfg.seed = data[1];
  data += 2;
  size -= 2;
  static constexpr Method kMethods[] = {Method::Get, Method::Head, Method::Connect, Method::Post};
  cfg.method = kMethods[mode & 3];
  cfg.eof = mode & 4;
  if (mode & 8) {
    cfg.limits.max_header_line = 16 + (mode >> 3);
    cfg.limits.max_header_bytes = 64 + 4 * mode;
    cfg.limits.max_header_count = 1 + (mode >> 5);
  }
  std::string whole = parse(data, size, cfg, true);
  std::string split = parse(data, size, cfg, false);
  check(whole == split);
  return 0;
}
