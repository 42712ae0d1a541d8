// libFuzzer target for the HTTP/1 request parser.
//
// The first two input bytes choose the limits and how the rest is cut into pieces; the rest is
// the byte stream from a client. The stream is parsed twice, once whole and once in pieces, as a
// server codec would (unconsumed bytes passed again with the next piece, reset() after each
// message), and the two transcripts must be equal: the parser's answer may not depend on how
// the bytes arrived. Every call gets a buffer of exactly `len` bytes so that AddressSanitizer
// sees any read past it. Per-call invariants are checked along the way.

#include <cstdint>
#include <string>

#include "fuzz_support.h"
#include "http/message.h"
#include "http1/parser.h"

namespace {

using portico::fuzz::appendFields;
using portico::fuzz::check;
using portico::fuzz::ExactCopy;
using portico::http1::BodyKind;
using portico::http1::ParseError;
using portico::http1::ParseEvent;
using portico::http1::ParseResult;
using portico::http1::ParserLimits;
using portico::http1::RequestParser;

void appendHead(std::string& t, const portico::http::RequestHead& h, const RequestParser& p) {
  t += "H ";
  t += h.method_text + ' ' + h.target + ' ' + h.path + ' ' + h.query + ' ' + h.authority + ' ';
  t += std::to_string(h.version.minor) + ' ' + std::to_string(static_cast<int>(p.bodyKind()));
  t += ' ' + std::to_string(p.contentLength()) + ' ' + std::to_string(p.keepAlive()) +
       std::to_string(p.expectsContinue()) + std::to_string(p.wantsUpgrade()) +
       std::to_string(p.acceptsTrailers());
  appendFields(t, h.headers);
  t += '\n';
}

std::string parse(const uint8_t* data, size_t size, const ParserLimits& limits, uint32_t seed,
                  bool whole) {
  portico::http::RequestHead head;
  RequestParser parser(&head, limits);
  portico::fuzz::Transcript t;
  auto on_event = [&](const ParseResult& r, const ExactCopy& buf) {
    if (r.event == ParseEvent::Error) {
      ParseError e = parser.error();
      check(e != ParseError::None && e != ParseError::BadStatusLine &&
            e != ParseError::PrematureEof);
      uint16_t status = portico::http1::statusFor(e);
      check(status == 400 || status == 413 || status == 414 || status == 431 || status == 501 ||
            status == 505);
      check(portico::http1::describe(e)[0] != '\0');
      t.text += "E " + std::to_string(static_cast<int>(e)) + '\n';
      return;
    }
    t.recordBody(parser, r, buf);
    if (limits.max_body_bytes != 0) check(t.body_bytes <= limits.max_body_bytes);
    if (r.event == ParseEvent::Head) {
      t.body_bytes = 0;
      check(head.method_text.size() > 0 && !head.target.empty());
      check(head.scheme.empty());
      appendHead(t.text, head, parser);
    } else if (r.event == ParseEvent::Trailers) {
      t.recordTrailers(parser);
    } else if (r.event == ParseEvent::MessageComplete) {
      check(parser.done());
      if (parser.bodyKind() == BodyKind::ContentLength) {
        check(t.body_bytes == parser.contentLength());
      }
      if (parser.bodyKind() == BodyKind::None) check(t.body_bytes == 0);
      ParseResult idle = parser.feed(buf.data(), buf.size());
      check(idle.event == ParseEvent::NeedMore && idle.consumed == 0);
      t.text += "C\n";
      parser.reset();
      check(!parser.done() && head.headers.empty());
    }
  };
  portico::fuzz::feedStream(parser, data, size, seed, whole, on_event);
  return t.text;
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
