// libFuzzer target for the HTTP/1 request parser.
//
// The first two input bytes choose the limits and how the rest is cut into pieces; the rest is
// the byte stream from a client. The stream is parsed twice, once whole and once in pieces, as a
// server codec would (unconsumed bytes passed again with the next piece, reset() after each
// message), and the two transcripts must be equal: the parser's answer may not depend on how
// the bytes arrived. Every call gets a buffer of exactly `len` bytes so that AddressSanitizer
// sees any read past it. Per-call invariants are checked along the way.

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "http/message.h"
#include "http1/parser.h"

namespace {

using portico::http1::BodyKind;
using portico::http1::ParseError;
using portico::http1::ParseEvent;
using portico::http1::ParseResult;
using portico::http1::ParserLimits;
using portico::http1::RequestParser;

void check(bool ok) {
  if (!ok) std::abort();
}

class Splitter {
 public:
  explicit Splitter(uint32_t seed) : state_(seed * 2654435761u + 1) {}
  // Mostly small pieces, some large ones.
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

void appendHead(std::string& t, const portico::http::RequestHead& h, const RequestParser& p) {
  t += "H ";
  t += h.method_text + ' ' + h.target + ' ' + h.path + ' ' + h.query + ' ' + h.authority + ' ';
  t += std::to_string(h.version.minor) + ' ' + std::to_string(static_cast<int>(p.bodyKind()));
  t += ' ' + std::to_string(p.contentLength()) + ' ' + std::to_string(p.keepAlive()) +
       std::to_string(p.expectsContinue()) + std::to_string(p.wantsUpgrade()) +
       std::to_string(p.acceptsTrailers());
  h.headers.forEach([&t](std::string_view n, std::string_view v) {
    t += '\n';
    t += n;
    t += ':';
    t += v;
  });
  t += '\n';
}

std::string parse(const uint8_t* data, size_t size, const ParserLimits& limits, uint32_t seed,
                  bool whole) {
  portico::http::RequestHead head;
  RequestParser parser(&head, limits);
  Splitter split(seed);
  std::string pending;
  std::string t;
  size_t pos = 0;
  bool in_body = false;
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
      if (r.event != ParseEvent::Error) check(parser.error() == ParseError::None);
      if (r.event == ParseEvent::NeedMore) {
        // Head and framing bytes are taken whole; nothing is left for the caller to hold.
        check(r.consumed == len);
        pending.clear();
        break;
      }
      if (r.event == ParseEvent::Error) {
        ParseError e = parser.error();
        check(e != ParseError::None && e != ParseError::BadStatusLine &&
              e != ParseError::PrematureEof);
        uint16_t status = portico::http1::statusFor(e);
        check(status == 400 || status == 413 || status == 414 || status == 431 || status == 501 ||
              status == 505);
        check(portico::http1::describe(e)[0] != '\0');
        // Errors stick.
        ParseResult again = parser.feed(buf.get(), len);
        check(again.event == ParseEvent::Error && again.consumed == 0);
        t += "E " + std::to_string(static_cast<int>(e)) + '\n';
        stopped = true;
        break;
      }
      if (r.event == ParseEvent::Body) {
        check(r.body_len > 0);
        check(parser.bodyKind() != BodyKind::None);
        body_bytes += r.body_len;
        if (parser.bodyKind() == BodyKind::ContentLength) {
          check(body_bytes <= parser.contentLength());
        }
        if (limits.max_body_bytes != 0) check(body_bytes <= limits.max_body_bytes);
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
        check(head.method_text.size() > 0 && !head.target.empty());
        check(head.scheme.empty());
        appendHead(t, head, parser);
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
        check(parser.done());
        if (parser.bodyKind() == BodyKind::ContentLength) {
          check(body_bytes == parser.contentLength());
        }
        if (parser.bodyKind() == BodyKind::None) check(body_bytes == 0);
        ParseResult idle = parser.feed(buf.get(), len);
        check(idle.event == ParseEvent::NeedMore && idle.consumed == 0);
        t += "C\n";
        pending.erase(0, r.consumed);
        parser.reset();
        check(!parser.done() && head.headers.empty());
        continue;
      }
      pending.erase(0, r.consumed);
    }
    if (last) break;
  }
  return t;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  uint8_t mode = data[0];
  uint32_t seed = data[1];
  data += 2;
  size -= 2;
  ParserLimits limits;
  if (mode & 1) {
    // Small limits reach every limit error with short inputs.
    limits.max_request_line = 24 + (mode >> 4);
    limits.max_header_line = 16 + (mode >> 3);
    limits.max_header_bytes = 64 + 4 * mode;
    limits.max_header_count = 1 + (mode >> 5);
    limits.max_body_bytes = (mode & 2) ? 0 : 16 + mode;
  }
  std::string whole = parse(data, size, limits, seed, true);
  std::string split = parse(data, size, limits, seed, false);
  check(whole == split);
  return 0;
}
