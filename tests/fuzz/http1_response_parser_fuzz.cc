// libFuzzer target for the HTTP/1 response parser.
//
// The first two input bytes choose the request method the responses answer, the limits, whether
// the connection closes after the last byte, and how the rest is cut into pieces; the rest is
// the byte stream from a backend. The stream is parsed twice, once whole and once in pieces, as
// the client codec would (unconsumed bytes passed again with the next piece, reset() after each
// message), and the two transcripts must be equal. Every call gets a buffer of exactly `len`
// bytes so that AddressSanitizer sees any read past it.

#include <cstdint>
#include <string>

#include "fuzz_support.h"
#include "http/message.h"
#include "http1/parser.h"

namespace {

using portico::fuzz::appendFields;
using portico::fuzz::check;
using portico::fuzz::ExactCopy;
using portico::http::Method;
using portico::http1::BodyKind;
using portico::http1::ParseError;
using portico::http1::ParseEvent;
using portico::http1::ParseResult;
using portico::http1::ParserLimits;
using portico::http1::ResponseParser;

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
  portico::fuzz::Transcript t;
  bool interim_before = false;
  auto on_event = [&](const ParseResult& r, const ExactCopy& buf) {
    if (r.event == ParseEvent::Error) {
      ParseError e = parser.error();
      check(e != ParseError::None && e != ParseError::PrematureEof);
      check(portico::http1::describe(e)[0] != '\0');
      t.text += "E " + std::to_string(static_cast<int>(e)) + '\n';
      return;
    }
    t.recordBody(parser, r, buf);
    if (r.event == ParseEvent::Body) check(cfg.method != Method::Head);
    if (r.event == ParseEvent::Head) {
      t.body_bytes = 0;
      uint16_t s = head.status;
      check(s >= 100 && s <= 999);
      check(parser.isInterim() == (s < 200 && s != 101));
      if (parser.isInterim() || portico::http::statusHasNoBody(s)) {
        check(parser.bodyKind() == BodyKind::None);
      }
      if (parser.bodyKind() == BodyKind::UntilClose) check(!parser.keepAlive());
      interim_before = parser.isInterim();
      t.text += "H " + std::to_string(s) + ' ' + head.reason + ' ' +
                std::to_string(head.version.minor) + ' ' + std::to_string(parser.isInterim()) +
                std::to_string(static_cast<int>(parser.bodyKind())) + ' ' +
                std::to_string(parser.contentLength()) + std::to_string(parser.keepAlive());
      appendFields(t.text, head.headers);
      t.text += '\n';
    } else if (r.event == ParseEvent::Trailers) {
      t.recordTrailers(parser);
    } else if (r.event == ParseEvent::MessageComplete) {
      check(!interim_before);
      check(parser.done());
      if (parser.bodyKind() == BodyKind::ContentLength) {
        check(t.body_bytes == parser.contentLength());
      }
      ParseResult idle = parser.feed(buf.data(), buf.size());
      check(idle.event == ParseEvent::NeedMore && idle.consumed == 0);
      t.text += "C\n";
      parser.reset();
      parser.setRequestMethod(cfg.method);
    }
  };
  const bool clean = portico::fuzz::feedStream(parser, data, size, cfg.seed, whole, on_event);
  if (cfg.eof && clean) {
    ParseResult r = parser.onEof();
    check(r.consumed == 0 && r.body_len == 0);
    if (r.event == ParseEvent::Error) {
      check(parser.error() == ParseError::PrematureEof);
      t.text += "EOF-ERROR\n";
    } else if (r.event == ParseEvent::MessageComplete) {
      t.text += "EOF-C\n";
    } else {
      check(r.event == ParseEvent::NeedMore);
      t.text += "EOF\n";
    }
  }
  return t.text;
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
