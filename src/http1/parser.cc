// HTTP/1.1 parser: how it stays strict, incremental and cheap.
//
// A head (and a chunked trailer section) is a run of lines. The parser finds each line end with
// memchr and handles the line as soon as it is complete: the start line fills the head's strings,
// a field line is validated and appended to the HeaderMap (which copies it), and framing fields
// (Host, Content-Length, Transfer-Encoding, Connection, ...) are interpreted right there, so there
// is no second pass over the fields. Because every complete line is copied out at once, only the
// one line that straddles two feed() calls is kept in partial_; a head that arrives whole is
// read in place and nothing but the head object is written.
//
// Same answer for every split. Errors are found in stream order: line by line, and within a line
// limits first, then content. A limit is broken at a definite byte of the stream (the first byte
// past max_header_bytes; the first byte of a line past max_*_line that is not its closing CR),
// and when a line breaks both, the one broken at the earlier byte wins. The check runs on the
// prefix of an incomplete line too, so an endless line is refused after max_*_line + 1 bytes
// instead of being buffered, with the answer the complete line would have given.
//
// Bodies are never copied: a Body event points at the caller's bytes. Chunk framing is parsed
// one byte at a time by a small state machine that needs no buffer; chunk data and
// Content-Length bodies are handed out in runs as large as the input allows.
//
// Both parsers share Engine<P>; `if constexpr` picks the request or response rules, so there is
// no virtual call and each parser's code is specialised for its role.

#include "http1/parser.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <string_view>
#include <type_traits>

#include "http/field_list.h"

namespace portico::http1 {

namespace {

using std::string_view;

enum State : uint8_t {
  kStartLine = 0,  // the default state_ of a fresh parser
  kFieldLines,
  kTrailerLines,
  kInterimDone,  // response: a 1xx head was returned; the next head follows
  kBodyLength,
  kBodyUntilClose,
  kChunkSize,    // hex digits
  kChunkSizeWs,  // BWS after the digits: only ';' may follow
  kChunkExt,     // chunk extensions, ignored up to CR
  kChunkSizeLf,  // CR of the chunk-size line seen
  kChunkData,
  kChunkDataCr,
  kChunkDataLf,
  kComplete,  // body finished: the next call reports MessageComplete
  kDone,
  kError,
};

// What the fields of the current head said.
enum Flag : uint16_t {
  kHost = 1 << 0,
  kContentLength = 1 << 1,
  kTransferEncoding = 1 << 2,
  kChunkedSeen = 1 << 3,
  kChunkedLast = 1 << 4,
  kConnClose = 1 << 5,
  kConnKeepAlive = 1 << 6,
  kConnUpgrade = 1 << 7,
  kUpgrade = 1 << 8,
  kTargetAuthority = 1 << 9,  // absolute-form target: its authority wins over Host
  kExpectContinue = 1 << 10,
  kTeTrailers = 1 << 11,
  kContentLengthOdd = 1 << 12,  // repeated, a list, or leading zeros: rewritten canonical
  kOtherCoding = 1 << 13,       // a transfer coding other than chunked
};

// RFC 9112 2.2 asks servers to ignore at least one empty line before the request line (some
// clients send CRLF after a POST body); a few are fine, an endless stream is not.
constexpr uint8_t kMaxBlankLines = 4;
constexpr size_t kNever = std::numeric_limits<size_t>::max();

struct CharTables {
  bool tchar[256] = {};
  bool value[256] = {};   // field-value and reason-phrase bytes: HTAB, SP, VCHAR, obs-text
  bool target[256] = {};  // request-target bytes: VCHAR except '#'
  bool authority[256] = {};
  int8_t hex[256] = {};

  constexpr CharTables() {
    for (int c = 0; c < 256; ++c) {
      bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
      tchar[c] = alnum || (c != 0 && string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) !=
                                         string_view::npos);
      value[c] = c == '\t' || (c >= 0x20 && c != 0x7f);
      target[c] = c > 0x20 && c < 0x7f && c != '#';
      // unreserved / pct-encoded / sub-delims / ":" / IP-literal brackets (RFC 3986 3.2).
      authority[c] =
          alnum || (c != 0 && string_view("-._~%!$&'()*+,;=:[]").find(static_cast<char>(c)) !=
                                  string_view::npos);
      hex[c] = (c >= '0' && c <= '9')   ? static_cast<int8_t>(c - '0')
               : (c >= 'a' && c <= 'f') ? static_cast<int8_t>(c - 'a' + 10)
               : (c >= 'A' && c <= 'F') ? static_cast<int8_t>(c - 'A' + 10)
                                        : int8_t{-1};
    }
  }
};
constexpr CharTables kChars;

inline const unsigned char* u8(const char* p) {
  return reinterpret_cast<const unsigned char*>(p);
}
inline bool isOws(unsigned char c) {
  return c == ' ' || c == '\t';
}

// Eight bytes at a time: most bytes of a head are plain printable ASCII, and proving that for a
// word is a few integer operations. A word that may hold an interesting byte is re-checked one
// byte at a time, so the tricks below only need to be right about "none here".
constexpr uint64_t kOnes = 0x0101010101010101ULL;
constexpr uint64_t kHighs = 0x8080808080808080ULL;
inline uint64_t load64(const unsigned char* p) {
  uint64_t x;
  std::memcpy(&x, p, sizeof x);
  return x;
}
// Non-zero if some byte of x is below n (n <= 128).
inline uint64_t anyBelow(uint64_t x, uint8_t n) {
  return (x - kOnes * n) & ~x & kHighs;
}
// Non-zero if some byte of x equals b.
inline uint64_t anyEqual(uint64_t x, uint8_t b) {
  uint64_t y = x ^ (kOnes * b);
  return (y - kOnes) & ~y & kHighs;
}

// Index of the first byte in s[0, n) that `table` refuses, or n. `suspect(word)` is non-zero
// when the eight bytes may hold a refused byte; it must never miss one.
template <typename Suspect>
inline size_t scanWords(const unsigned char* s, size_t n, const bool* table, Suspect suspect) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    if (suspect(load64(s + i)) == 0) continue;
    for (size_t j = i; j < i + 8; ++j) {
      if (!table[s[j]]) return j;
    }
  }
  // The tail: the last eight bytes overlap what was checked, which is fine for a clean word.
  if (i < n && n >= 8 && suspect(load64(s + n - 8)) == 0) return n;
  for (; i < n; ++i) {
    if (!table[s[i]]) return i;
  }
  return n;
}

// Index of the first byte that may not appear in a field value, or n.
size_t firstBadValueByte(const unsigned char* s, size_t n) {
  return scanWords(s, n, kChars.value,
                   [](uint64_t x) { return anyBelow(x, 0x20) | anyEqual(x, 0x7f); });
}

// Index of the first byte that cannot be part of a request-target (SP ends it), or n.
size_t scanTarget(const unsigned char* s, size_t n) {
  return scanWords(s, n, kChars.target, [](uint64_t x) {
    return anyBelow(x, 0x21) | (x & kHighs) | anyEqual(x, 0x7f) | anyEqual(x, '#');
  });
}

size_t scanTchars(const unsigned char* s, size_t n) {
  size_t i = 0;
  while (i < n && kChars.tchar[s[i]]) ++i;
  return i;
}

string_view trimOws(string_view v) {
  size_t b = 0;
  size_t e = v.size();
  while (b < e && isOws(static_cast<unsigned char>(v[b]))) ++b;
  while (e > b && isOws(static_cast<unsigned char>(v[e - 1]))) --e;
  return v.substr(b, e - b);
}

// Case-insensitive comparison with a lowercase literal of letters, digits and '-'. Exact for
// the bytes it is used on (tchar names, validated field values): OR-ing in 0x20 maps only
// 'A'..'Z' onto a letter, and only CTLs (already refused) onto a digit or '-'.
inline bool equalsLower(string_view s, string_view lower) {
  if (s.size() != lower.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) | 0x20) != static_cast<unsigned char>(lower[i])) {
      return false;
    }
  }
  return true;
}

bool startsWithIgnoreCase(string_view s, string_view prefix) {
  return s.size() >= prefix.size() && http::equalsIgnoreCase(s.substr(0, prefix.size()), prefix);
}

// host [":" port] as in Host and authority-form; no userinfo (RFC 9110 4.2.4 calls it an
// error in http URIs, and "user@host" is a classic way to make two parsers disagree on host).
bool validAuthority(string_view a, bool require_port) {
  for (unsigned char c : a) {
    if (!kChars.authority[c]) return false;
  }
  if (!require_port) return true;
  size_t colon = a.rfind(':');
  if (colon == string_view::npos || colon == 0 || colon + 1 == a.size()) return false;
  if (a.size() - colon - 1 > 5) return false;
  for (size_t i = colon + 1; i < a.size(); ++i) {
    if (a[i] < '0' || a[i] > '9') return false;
  }
  return true;
}

// Content-Length = 1*DIGIT, possibly repeated as a list of identical values (RFC 9110 8.6).
ParseError parseContentLength(string_view v, bool seen_before, uint64_t* length) {
  uint64_t first = 0;
  bool have_first = seen_before;
  if (seen_before) first = *length;
  size_t pos = 0;
  while (true) {
    size_t comma = v.find(',', pos);
    string_view el = trimOws(v.substr(pos, comma == string_view::npos ? comma : comma - pos));
    if (el.empty()) return ParseError::BadContentLength;
    uint64_t n = 0;
    for (char ch : el) {
      if (ch < '0' || ch > '9') return ParseError::BadContentLength;
      unsigned d = static_cast<unsigned>(ch - '0');
      if (n > (std::numeric_limits<uint64_t>::max() - d) / 10) return ParseError::BadContentLength;
      n = n * 10 + d;
    }
    if (have_first && n != first) return ParseError::ConflictingContentLength;
    first = n;
    have_first = true;
    if (comma == string_view::npos) break;
    pos = comma + 1;
  }
  *length = first;
  return ParseError::None;
}

bool isLimitError(ParseError e) {
  return e == ParseError::HeaderLineTooLong || e == ParseError::HeadersTooLarge ||
         e == ParseError::TooManyHeaders;
}

}  // namespace

namespace detail {

template <class P>
struct Engine {
  static constexpr bool kRequest = std::is_same_v<P, RequestParser>;

  static ParseResult fail(P& p, ParseError e) {
    p.error_ = e;
    p.state_ = kError;
    return {ParseEvent::Error, 0, 0};
  }

  static void resetState(P& p) {
    p.trailers_.clear();
    p.partial_.clear();
    p.error_ = ParseError::None;
    p.body_kind_ = BodyKind::None;
    p.content_length_ = 0;
    p.body_remaining_ = 0;
    p.section_bytes_ = 0;
    p.fields_ = 0;
    p.chunk_line_ = 0;
    p.flags_ = 0;
    p.blank_lines_ = 0;
    p.hex_digits_ = 0;
    p.state_ = kStartLine;
    p.keep_alive_ = true;
    if constexpr (kRequest) {
      p.body_seen_ = 0;
      p.expect_continue_ = false;
      p.upgrade_ = false;
      p.te_trailers_ = false;
    } else {
      p.interim_ = false;
    }
  }

  static ParseResult feed(P& p, const char* data, size_t len) {
    switch (p.state_) {
      case kStartLine:
      case kFieldLines:
      case kTrailerLines:
        return feedLines(p, data, len);
      case kBodyLength: {
        if (len == 0) return {ParseEvent::NeedMore, 0, 0};
        size_t n = static_cast<size_t>(std::min<uint64_t>(len, p.body_remaining_));
        p.body_remaining_ -= n;
        if (p.body_remaining_ == 0) p.state_ = kComplete;
        return {ParseEvent::Body, n, n};
      }
      case kBodyUntilClose:
        if (len == 0) return {ParseEvent::NeedMore, 0, 0};
        return {ParseEvent::Body, len, len};
      case kComplete:
        p.state_ = kDone;
        return {ParseEvent::MessageComplete, 0, 0};
      case kDone:
        return {ParseEvent::NeedMore, 0, 0};
      case kError:
        return {ParseEvent::Error, 0, 0};
      case kInterimDone:
        if constexpr (!kRequest) {
          // The caller has seen the 1xx head; the final response reuses the head object.
          bool after = p.after_interim_;
          p.head_->clear();
          resetState(p);
          p.after_interim_ = after;
          return feedLines(p, data, len);
        }
        return fail(p, ParseError::BadStatusLine);  // unreachable for requests
      default:
        return feedChunked(p, data, len);
    }
  }

  // ---- lines: head and trailer section ----

  static size_t lineLimit(const P& p) {
    if constexpr (kRequest) {
      if (p.state_ == kStartLine) return p.limits_.max_request_line;
    }
    return p.limits_.max_header_line;
  }

  // The limit the current line breaks given its first n bytes (LF excluded), or None;
  // `at_max` is the line's byte at index max_line when n > max_line. See the file comment: each
  // limit is broken at a definite byte, and the earlier one is reported.
  static ParseError limitError(const P& p, size_t n, bool complete, char at_max) {
    size_t max_line = lineLimit(p);
    size_t max_total = p.limits_.max_header_bytes;
    size_t seen = n + (complete ? 1 : 0);
    size_t at_total = kNever;
    size_t at_line = kNever;
    if (seen > max_total - p.section_bytes_) at_total = max_total - p.section_bytes_;
    // Byte max_line breaks the line limit unless it is the CR of the line end; then the byte
    // after it does (if it is not the LF).
    if (n > max_line) {
      if (at_max != '\r') {
        at_line = max_line;
      } else if (n - max_line > 1) {
        at_line = max_line + 1;
      }
    }
    if (at_total == kNever && at_line == kNever) return ParseError::None;
    if (at_total <= at_line) return ParseError::HeadersTooLarge;
    if constexpr (kRequest) {
      if (p.state_ == kStartLine) return ParseError::UriTooLong;
    }
    return ParseError::HeaderLineTooLong;
  }

  // The limit check for a line made of partial_ and data[pos, end).
  static ParseError splitLineLimitError(const P& p, const char* data, size_t pos, size_t end,
                                        bool complete) {
    size_t n = p.partial_.size() + (end - pos);
    size_t max_line = lineLimit(p);
    char at_max = 0;
    if (n > max_line) {
      at_max = max_line < p.partial_.size() ? p.partial_[max_line]
                                            : data[pos + (max_line - p.partial_.size())];
    }
    return limitError(p, n, complete, at_max);
  }

  // Keeps the start of an incomplete line for the next call, if the limits allow it.
  static ParseResult keepPartial(P& p, const char* data, size_t len, size_t pos) {
    ParseError e = splitLineLimitError(p, data, pos, len, false);
    if (e != ParseError::None) return fail(p, e);
    p.partial_.append(data + pos, len - pos);
    return {ParseEvent::NeedMore, len, 0};
  }

  static ParseResult feedLines(P& p, const char* data, size_t len) {
    if (len == 0) return {ParseEvent::NeedMore, 0, 0};
    size_t pos = 0;
    if (!p.partial_.empty()) {
      const void* lf = std::memchr(data, '\n', len);
      if (lf == nullptr) return keepPartial(p, data, len, 0);
      size_t end = static_cast<size_t>(static_cast<const char*>(lf) - data);
      // Refuse an overlong line before copying it.
      ParseError e = splitLineLimitError(p, data, 0, end, true);
      if (e != ParseError::None) return fail(p, e);
      p.partial_.append(data, end);
      ParseEvent ev = onLine(p, p.partial_.data(), p.partial_.size());
      p.partial_.clear();
      pos = end + 1;
      if (ev != ParseEvent::NeedMore) return finishSection(ev, pos);
    }
    while (pos < len) {
      const void* lf = std::memchr(data + pos, '\n', len - pos);
      if (lf == nullptr) return keepPartial(p, data, len, pos);
      size_t end = static_cast<size_t>(static_cast<const char*>(lf) - data);
      ParseEvent ev = onLine(p, data + pos, end - pos);
      pos = end + 1;
      if (ev != ParseEvent::NeedMore) return finishSection(ev, pos);
    }
    return {ParseEvent::NeedMore, len, 0};
  }

  static ParseResult finishSection(ParseEvent ev, size_t consumed) {
    if (ev == ParseEvent::Error) return {ParseEvent::Error, 0, 0};
    return {ev, consumed, 0};
  }

  // One complete line, LF excluded. Returns NeedMore to go on reading lines, or the event that
  // ends the section (Head, Trailers, MessageComplete, Error).
  static ParseEvent onLine(P& p, const char* line, size_t n) {
    size_t content = (n > 0 && line[n - 1] == '\r') ? n - 1 : n;
    size_t max_line = lineLimit(p);
    ParseError e = limitError(p, n, true, n > max_line ? line[max_line] : 0);
    if (e != ParseError::None) return failEvent(p, e);
    p.section_bytes_ += n + 1;
    switch (p.state_) {
      case kStartLine:
        if (content == 0) {
          if (++p.blank_lines_ > kMaxBlankLines) {
            return failEvent(p, kRequest ? ParseError::BadRequestLine : ParseError::BadStatusLine);
          }
          return ParseEvent::NeedMore;
        }
        if constexpr (kRequest) {
          e = parseRequestLine(p, line, content);
        } else {
          e = parseStatusLine(p, line, content);
        }
        if (e != ParseError::None) return failEvent(p, e);
        p.state_ = kFieldLines;
        return ParseEvent::NeedMore;
      case kFieldLines:
        if (content == 0) {
          e = finishHead(p);
          if (e != ParseError::None) return failEvent(p, e);
          return ParseEvent::Head;
        }
        e = parseField(p, line, content, false);
        if (e != ParseError::None) return failEvent(p, e);
        return ParseEvent::NeedMore;
      default:  // kTrailerLines
        if (content == 0) {
          if (p.fields_ > 0) {
            p.state_ = kComplete;
            return ParseEvent::Trailers;
          }
          p.state_ = kDone;
          return ParseEvent::MessageComplete;
        }
        e = parseField(p, line, content, true);
        if (e != ParseError::None) {
          return failEvent(p, isLimitError(e) ? e : ParseError::BadTrailer);
        }
        return ParseEvent::NeedMore;
    }
  }

  static ParseEvent failEvent(P& p, ParseError e) {
    fail(p, e);
    return ParseEvent::Error;
  }

  // ---- start lines ----

  static ParseError parseVersion(const char* v, size_t n, http::Version* out) {
    if (n != 8 || std::memcmp(v, "HTTP/", 5) != 0 || v[6] != '.' || v[5] < '0' || v[5] > '9' ||
        v[7] < '0' || v[7] > '9') {
      return ParseError::BadVersion;
    }
    if (v[5] != '1' || (v[7] != '0' && v[7] != '1')) return ParseError::UnsupportedVersion;
    out->major = 1;
    out->minor = static_cast<uint8_t>(v[7] - '0');
    return ParseError::None;
  }

  static ParseError parseRequestLine(RequestParser& p, const char* line, size_t n) {
    ParseError e = parseRequestLineParts(p, line, n);
    // A CR in the start line is reported as such, whatever else it broke.
    if (e != ParseError::None && std::memchr(line, '\r', n) != nullptr) {
      return ParseError::BareCr;
    }
    return e;
  }

  static ParseError parseRequestLineParts(RequestParser& p, const char* line, size_t n) {
    const unsigned char* s = u8(line);
    http::RequestHead& h = *p.head_;
    size_t m = scanTchars(s, n);
    if (m == n) return ParseError::BadRequestLine;
    if (s[m] != ' ') return ParseError::BadMethod;
    if (m == 0) return ParseError::BadRequestLine;
    size_t t0 = m + 1;
    size_t t1 = t0 + scanTarget(s + t0, n - t0);
    if (t1 == n) return ParseError::BadRequestLine;  // no version: HTTP/0.9 or garbage
    if (s[t1] != ' ') return ParseError::BadTarget;
    if (t1 == t0) return ParseError::BadTarget;
    ParseError e = parseVersion(line + t1 + 1, n - t1 - 1, &h.version);
    if (e != ParseError::None) return e;

    string_view method(line, m);
    string_view target(line + t0, t1 - t0);
    h.method = http::parseMethod(method);
    h.method_text.assign(method);
    h.target.assign(target);
    return parseTarget(p, target);
  }

  // RFC 9112 3.2: the four forms of request-target, each allowed only where it belongs.
  static ParseError parseTarget(RequestParser& p, string_view t) {
    http::RequestHead& h = *p.head_;
    if (t[0] == '/') {
      if (h.method == http::Method::Connect) return ParseError::BadTarget;
      splitPathQuery(h, t);
      return ParseError::None;
    }
    if (t == "*") {
      if (h.method != http::Method::Options) return ParseError::BadTarget;
      h.path.assign(t);
      h.query.clear();
      return ParseError::None;
    }
    if (h.method == http::Method::Connect) {
      if (!validAuthority(t, true)) return ParseError::BadTarget;
      h.authority.assign(t);
      h.path.clear();
      h.query.clear();
      p.flags_ |= kTargetAuthority;
      return ParseError::None;
    }
    size_t scheme_len;
    if (startsWithIgnoreCase(t, "http://")) {
      scheme_len = 7;
    } else if (startsWithIgnoreCase(t, "https://")) {
      scheme_len = 8;
    } else {
      return ParseError::BadTarget;
    }
    string_view rest = t.substr(scheme_len);
    size_t a_end = rest.find_first_of("/?");
    string_view authority = rest.substr(0, a_end);
    if (authority.empty() || !validAuthority(authority, false)) return ParseError::BadTarget;
    h.authority.assign(authority);
    p.flags_ |= kTargetAuthority;
    rest.remove_prefix(authority.size());
    if (rest.empty() || rest[0] == '?') {
      // An empty path means "/", or "*" for OPTIONS (RFC 9112 3.2.1, 3.2.4).
      h.path.assign(h.method == http::Method::Options ? "*" : "/");
      h.query.assign(rest.empty() ? rest : rest.substr(1));
    } else {
      splitPathQuery(h, rest);
    }
    return ParseError::None;
  }

  static void splitPathQuery(http::RequestHead& h, string_view t) {
    size_t q = t.find('?');
    if (q == string_view::npos) {
      h.path.assign(t);
      h.query.clear();
    } else {
      h.path.assign(t.substr(0, q));
      h.query.assign(t.substr(q + 1));
    }
  }

  // "HTTP/1.x DDD reason", the reason possibly empty and its SP possibly missing.
  static ParseError parseStatusLine(ResponseParser& p, const char* line, size_t n) {
    const unsigned char* s = u8(line);
    http::ResponseHead& h = *p.head_;
    bool ok = n >= 12 && std::memcmp(line, "HTTP/1.", 7) == 0 && s[7] >= '0' && s[7] <= '9' &&
              s[8] == ' ' && s[9] >= '1' && s[9] <= '9' && s[10] >= '0' && s[10] <= '9' &&
              s[11] >= '0' && s[11] <= '9' && (n == 12 || s[12] == ' ');
    if (ok && n > 13 && firstBadValueByte(s + 13, n - 13) != n - 13) ok = false;
    if (!ok) {
      return std::memchr(line, '\r', n) != nullptr ? ParseError::BareCr : ParseError::BadStatusLine;
    }
    h.version.major = 1;
    h.version.minor = static_cast<uint8_t>(s[7] - '0');
    h.status = static_cast<uint16_t>((s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0'));
    if (n > 13) {
      h.reason.assign(line + 13, n - 13);
    } else {
      h.reason.clear();
    }
    return ParseError::None;
  }

  // ---- fields ----

  static ParseError parseField(P& p, const char* line, size_t n, bool trailer) {
    const unsigned char* s = u8(line);
    if (isOws(s[0])) return ParseError::ObsFold;
    size_t i = scanTchars(s, n);
    if (i == n) return ParseError::BadHeaderName;
    if (s[i] != ':') {
      if (isOws(s[i])) {
        size_t j = i;
        while (j < n && isOws(s[j])) ++j;
        return j < n && s[j] == ':' ? ParseError::WhitespaceBeforeColon : ParseError::BadHeaderName;
      }
      return s[i] == '\r' ? ParseError::BareCr : ParseError::BadHeaderName;
    }
    if (i == 0) return ParseError::BadHeaderName;
    size_t v0 = i + 1;
    size_t v1 = n;
    while (v0 < v1 && isOws(s[v0])) ++v0;
    while (v1 > v0 && isOws(s[v1 - 1])) --v1;
    if (firstBadValueByte(s + v0, v1 - v0) != v1 - v0) return ParseError::BadHeaderValue;
    if (++p.fields_ > p.limits_.max_header_count) return ParseError::TooManyHeaders;
    string_view name(line, i);
    string_view value(line + v0, v1 - v0);
    if (trailer) {
      // Framing and routing fields mean nothing after the body and must not be mistaken for
      // header fields by anyone downstream (RFC 9110 6.5.1).
      if (isFramingName(name)) return ParseError::BadTrailer;
      p.trailers_.add(name, value);
      return ParseError::None;
    }
    p.head_->headers.add(name, value);
    return onField(p, name, value);
  }

  static bool isFramingName(string_view name) {
    return equalsLower(name, "content-length") || equalsLower(name, "transfer-encoding") ||
           equalsLower(name, "host");
  }

  // Interprets the fields that decide framing, connection handling and routing.
  static ParseError onField(P& p, string_view name, string_view value) {
    switch (name.size()) {
      case 2:
        if constexpr (kRequest) {
          if (equalsLower(name, "te")) {
            http::forEachListElement(value, [&p](string_view el) {
              string_view coding = trimOws(el.substr(0, el.find(';')));
              if (equalsLower(coding, "trailers")) p.flags_ |= kTeTrailers;
              return true;
            });
          }
        }
        break;
      case 4:
        if constexpr (kRequest) {
          if (equalsLower(name, "host")) {
            if (p.flags_ & kHost) return ParseError::DuplicateHost;
            p.flags_ |= kHost;
            if (!validAuthority(value, false)) return ParseError::BadHeaderValue;
            if (!(p.flags_ & kTargetAuthority)) p.head_->authority.assign(value);
          }
        }
        break;
      case 6:
        if constexpr (kRequest) {
          if (equalsLower(name, "expect")) {
            http::forEachListElement(value, [&p](string_view el) {
              if (equalsLower(el, "100-continue")) p.flags_ |= kExpectContinue;
              return true;
            });
          }
        }
        break;
      case 7:
        if (equalsLower(name, "upgrade")) p.flags_ |= kUpgrade;
        break;
      case 10:
        if (equalsLower(name, "connection")) {
          http::forEachListElement(value, [&p](string_view el) {
            if (equalsLower(el, "close")) {
              p.flags_ |= kConnClose;
            } else if (equalsLower(el, "keep-alive")) {
              p.flags_ |= kConnKeepAlive;
            } else if (equalsLower(el, "upgrade")) {
              p.flags_ |= kConnUpgrade;
            }
            return true;
          });
        }
        break;
      case 14:
        if (equalsLower(name, "content-length")) {
          ParseError e = parseContentLength(value, p.flags_ & kContentLength, &p.content_length_);
          if (e != ParseError::None) return e;
          // Forwarded as received, "010" or a repeated value may be read differently by the
          // next hop (octal, or a list it refuses); the head carries one canonical field.
          if ((p.flags_ & kContentLength) || value.find(',') != string_view::npos ||
              (value.size() > 1 && value[0] == '0'))
            p.flags_ |= kContentLengthOdd;
          p.flags_ |= kContentLength;
        }
        break;
      case 17:
        if (equalsLower(name, "transfer-encoding")) return onTransferEncoding(p, value);
        break;
      default:
        break;
    }
    return ParseError::None;
  }

  static ParseError onTransferEncoding(P& p, string_view value) {
    // RFC 9112 6.1: HTTP/1.0 has no Transfer-Encoding; a 1.0 message carrying one was mangled
    // by something in between, and its framing cannot be trusted.
    if (p.head_->version.minor == 0) return ParseError::TransferEncodingOnHttp10;
    p.flags_ |= kTransferEncoding;
    ParseError e = ParseError::None;
    http::forEachListElement(value, [&p, &e](string_view coding) {
      if (equalsLower(coding, "chunked")) {
        // Chunked twice would make the body's end depend on who decodes how many times.
        if (p.flags_ & kChunkedSeen) {
          e = ParseError::TransferEncodingNotChunkedLast;
          return false;
        }
        p.flags_ |= kChunkedSeen | kChunkedLast;
      } else if (!knownCoding(coding)) {
        e = ParseError::UnknownTransferEncoding;
        return false;
      } else {
        p.flags_ = static_cast<uint16_t>((p.flags_ | kOtherCoding) & ~kChunkedLast);
      }
      if constexpr (!kRequest) {
        // The codings stay applied to the body we pass on; the client must hear about them.
        std::string& codings = p.head_->transfer_codings;
        if (!codings.empty()) codings += ", ";
        codings.append(coding);
      }
      return true;
    });
    return e;
  }

  // A request may only use the codings we decode (chunked); a response may carry any coding
  // that is syntactically one (token *(OWS ";" OWS parameter)): we pass it on undecoded.
  static bool knownCoding(string_view coding) {
    if constexpr (kRequest) {
      return equalsLower(coding, "gzip") || equalsLower(coding, "deflate") ||
             equalsLower(coding, "compress") || equalsLower(coding, "x-gzip");
    } else {
      // "chunked;x=1" is not chunked to everyone: ambiguous framing, refused.
      string_view name = trimOws(coding.substr(0, coding.find(';')));
      return !name.empty() && scanTchars(u8(name.data()), name.size()) == name.size() &&
             !equalsLower(name, "chunked");
    }
  }

  // Several Content-Length fields, a list, or leading zeros become one plain field (rare: the
  // allocation does not matter).
  static void canonicalContentLength(P& p) {
    p.head_->headers.set("Content-Length", std::to_string(p.content_length_));
  }

  // The codings listed before a final chunked are what the body still carries once we take the
  // chunked framing off.
  static void dropFinalChunked(std::string& codings) {
    size_t comma = codings.rfind(',');
    codings.resize(comma == std::string::npos ? 0 : comma);
  }

  static ParseError finishHead(P& p) {
    uint16_t f = p.flags_;
    bool http11 = p.head_->version.minor >= 1;
    bool close = f & kConnClose;
    bool keep_alive = http11 ? !close : ((f & kConnKeepAlive) && !close);
    if constexpr (kRequest) {
      if (http11 && !(f & kHost)) return ParseError::MissingHost;
      // RFC 9112 6.1 lets a server pick Transfer-Encoding; a proxy must not, since the peer
      // on the other side may have picked the other one (request smuggling).
      if ((f & kTransferEncoding) && (f & kContentLength)) {
        return ParseError::ContentLengthAndTransferEncoding;
      }
      if (f & kContentLengthOdd) canonicalContentLength(p);
      if (f & kTransferEncoding) {
        if (!(f & kChunkedLast)) return ParseError::TransferEncodingNotChunkedLast;
        // Dropping the hop-by-hop Transfer-Encoding would strip the coding off the body's
        // description but not off the body; decoding gzip and the like is not a proxy's job.
        if (f & kOtherCoding) return ParseError::TransferCodingNotSupported;
        p.body_kind_ = BodyKind::Chunked;
        startChunkSize(p);
      } else if (f & kContentLength) {
        if (p.limits_.max_body_bytes != 0 && p.content_length_ > p.limits_.max_body_bytes) {
          return ParseError::BodyTooLarge;
        }
        p.body_kind_ = BodyKind::ContentLength;
        p.body_remaining_ = p.content_length_;
        p.state_ = p.content_length_ > 0 ? kBodyLength : kComplete;
      } else {
        p.body_kind_ = BodyKind::None;
        p.state_ = kComplete;
      }
      p.keep_alive_ = keep_alive;
      p.expect_continue_ = http11 && (f & kExpectContinue);
      // RFC 9110 7.8: Upgrade in an HTTP/1.0 request is ignored.
      p.upgrade_ = http11 && (f & kConnUpgrade) && (f & kUpgrade);
      p.te_trailers_ = f & kTeTrailers;
      return ParseError::None;
    } else {
      if ((f & kTransferEncoding) && (f & kContentLength)) {
        return ParseError::ContentLengthAndTransferEncoding;
      }
      if (f & kContentLengthOdd) canonicalContentLength(p);
      uint16_t status = p.head_->status;
      http::Method method = p.request_method_;
      p.interim_ = false;
      if (status < 200 && status != 101) {
        p.interim_ = true;
        p.after_interim_ = true;
        p.body_kind_ = BodyKind::None;
        p.keep_alive_ = keep_alive;
        p.state_ = kInterimDone;
        return ParseError::None;
      }
      p.after_interim_ = false;
      bool tunnel = status == 101 || (method == http::Method::Connect && status / 100 == 2);
      bool no_body = tunnel || http::statusHasNoBody(status) || method == http::Method::Head;
      if (no_body) {
        p.head_->transfer_codings.clear();  // no body carries them
        p.body_kind_ = BodyKind::None;
        p.state_ = kComplete;
      } else if (f & kTransferEncoding) {
        // RFC 9112 6.3: a response whose final coding is not chunked ends at close.
        if (f & kChunkedLast) {
          dropFinalChunked(p.head_->transfer_codings);
          p.body_kind_ = BodyKind::Chunked;
          startChunkSize(p);
        } else {
          p.body_kind_ = BodyKind::UntilClose;
          p.state_ = kBodyUntilClose;
        }
      } else if (f & kContentLength) {
        p.body_kind_ = BodyKind::ContentLength;
        p.body_remaining_ = p.content_length_;
        p.state_ = p.content_length_ > 0 ? kBodyLength : kComplete;
      } else {
        p.body_kind_ = BodyKind::UntilClose;
        p.state_ = kBodyUntilClose;
      }
      p.keep_alive_ = keep_alive && !tunnel && p.body_kind_ != BodyKind::UntilClose;
      return ParseError::None;
    }
  }

  // ---- chunked body ----

  static void startChunkSize(P& p) {
    p.state_ = kChunkSize;
    p.body_remaining_ = 0;
    p.hex_digits_ = 0;
    p.chunk_line_ = 0;
  }

  static ParseResult feedChunked(P& p, const char* data, size_t len) {
    const unsigned char* s = u8(data);
    size_t pos = 0;
    while (pos < len) {
      unsigned char c = s[pos];
      switch (p.state_) {
        case kChunkSize: {
          int v = kChars.hex[c];
          if (v >= 0) {
            if (p.hex_digits_ == 16) return fail(p, ParseError::BadChunkSize);
            p.body_remaining_ = (p.body_remaining_ << 4) | static_cast<uint64_t>(v);
            ++p.hex_digits_;
          } else if (p.hex_digits_ == 0) {
            return fail(p, ParseError::BadChunkSize);
          } else if (c == '\r') {
            p.state_ = kChunkSizeLf;
          } else if (c == ';') {
            p.state_ = kChunkExt;
          } else if (isOws(c)) {
            p.state_ = kChunkSizeWs;
          } else {
            return fail(p, ParseError::BadChunkSize);
          }
          break;
        }
        case kChunkSizeWs:
          // chunk-ext = *( BWS ";" ... ): whitespace after the size must lead to an extension.
          if (c == ';') {
            p.state_ = kChunkExt;
          } else if (!isOws(c)) {
            return fail(p, ParseError::BadChunkSize);
          }
          break;
        case kChunkExt:
          if (c == '\r') {
            p.state_ = kChunkSizeLf;
          } else if (!kChars.value[c]) {
            return fail(p, ParseError::BadChunkSize);
          }
          break;
        case kChunkSizeLf: {
          // Strict CRLF in the framing: a bare LF here is where parsers have disagreed.
          if (c != '\n') return fail(p, ParseError::BadChunkSize);
          ++pos;
          if (p.body_remaining_ == 0) {
            p.state_ = kTrailerLines;
            p.section_bytes_ = 0;
            p.fields_ = 0;
            ParseResult r = feedLines(p, data + pos, len - pos);
            if (r.event != ParseEvent::Error) r.consumed += pos;
            return r;
          }
          if constexpr (kRequest) {
            uint64_t max = p.limits_.max_body_bytes;
            if (max != 0 && p.body_remaining_ > max - std::min(max, p.body_seen_)) {
              return fail(p, ParseError::BodyTooLarge);
            }
            p.body_seen_ += p.body_remaining_;
          }
          p.state_ = kChunkData;
          continue;
        }
        case kChunkData: {
          size_t n = static_cast<size_t>(std::min<uint64_t>(len - pos, p.body_remaining_));
          p.body_remaining_ -= n;
          if (p.body_remaining_ == 0) p.state_ = kChunkDataCr;
          return {ParseEvent::Body, pos + n, n};
        }
        case kChunkDataCr:
          if (c != '\r') return fail(p, ParseError::BadChunkData);
          p.state_ = kChunkDataLf;
          break;
        case kChunkDataLf:
          if (c != '\n') return fail(p, ParseError::BadChunkData);
          startChunkSize(p);
          break;
        default:
          return fail(p, ParseError::BadChunkSize);  // unreachable
      }
      if (p.state_ == kChunkSizeWs || p.state_ == kChunkExt) {
        // Extensions are ignored, so bound how many bytes of them we are willing to skip.
        if (++p.chunk_line_ > p.limits_.max_header_line) return fail(p, ParseError::BadChunkSize);
      }
      ++pos;
    }
    return {ParseEvent::NeedMore, len, 0};
  }

  static ParseResult onEof(ResponseParser& p) {
    switch (p.state_) {
      case kBodyUntilClose:
      case kComplete:
        p.state_ = kDone;
        return {ParseEvent::MessageComplete, 0, 0};
      case kDone:
        return {ParseEvent::NeedMore, 0, 0};
      case kError:
        return {ParseEvent::Error, 0, 0};
      case kStartLine:
        if (p.section_bytes_ == 0 && p.partial_.empty() && !p.after_interim_) {
          return {ParseEvent::NeedMore, 0, 0};
        }
        return fail(p, ParseError::PrematureEof);
      default:
        return fail(p, ParseError::PrematureEof);
    }
  }
};

}  // namespace detail

uint16_t statusFor(ParseError e) {
  switch (e) {
    case ParseError::UriTooLong:
      return 414;
    case ParseError::UnsupportedVersion:
      return 505;
    case ParseError::BadStatusLine:
      return 502;
    case ParseError::HeaderLineTooLong:
    case ParseError::HeadersTooLarge:
    case ParseError::TooManyHeaders:
      return 431;
    case ParseError::UnknownTransferEncoding:
    case ParseError::TransferCodingNotSupported:
      return 501;
    case ParseError::BodyTooLarge:
      return 413;
    default:
      // Everything else is a malformed request; None has no status of its own and gets the
      // generic one rather than a success code.
      return 400;
  }
}

const char* describe(ParseError e) {
  switch (e) {
    case ParseError::None:
      return "no error";
    case ParseError::BadRequestLine:
      return "malformed request line";
    case ParseError::BadMethod:
      return "method is not a token";
    case ParseError::BadTarget:
      return "invalid request-target";
    case ParseError::UriTooLong:
      return "request line too long";
    case ParseError::BadVersion:
      return "malformed HTTP version";
    case ParseError::UnsupportedVersion:
      return "unsupported HTTP version";
    case ParseError::BadStatusLine:
      return "malformed status line";
    case ParseError::BadHeaderName:
      return "invalid field name";
    case ParseError::BadHeaderValue:
      return "invalid field value";
    case ParseError::WhitespaceBeforeColon:
      return "whitespace between field name and colon";
    case ParseError::ObsFold:
      return "obsolete line folding";
    case ParseError::BareCr:
      return "CR not followed by LF";
    case ParseError::HeaderLineTooLong:
      return "field line too long";
    case ParseError::HeadersTooLarge:
      return "header section too large";
    case ParseError::TooManyHeaders:
      return "too many fields";
    case ParseError::MissingHost:
      return "HTTP/1.1 request without Host";
    case ParseError::DuplicateHost:
      return "more than one Host";
    case ParseError::BadContentLength:
      return "invalid Content-Length";
    case ParseError::ConflictingContentLength:
      return "conflicting Content-Length values";
    case ParseError::ContentLengthAndTransferEncoding:
      return "both Content-Length and Transfer-Encoding";
    case ParseError::TransferEncodingNotChunkedLast:
      return "chunked is not the final coding once";
    case ParseError::UnknownTransferEncoding:
      return "unknown transfer coding";
    case ParseError::TransferCodingNotSupported:
      return "transfer coding other than chunked";
    case ParseError::TransferEncodingOnHttp10:
      return "Transfer-Encoding in HTTP/1.0";
    case ParseError::BadChunkSize:
      return "malformed chunk size line";
    case ParseError::BadChunkData:
      return "chunk data not followed by CRLF";
    case ParseError::BadTrailer:
      return "malformed trailer section";
    case ParseError::BodyTooLarge:
      return "body too large";
    case ParseError::PrematureEof:
      return "connection closed inside a message";
  }
  return "unknown parse error";
}

// ---- RequestParser ----

RequestParser::RequestParser(http::RequestHead* head, const ParserLimits& limits)
    : head_(head), limits_(limits) {}

ParseResult RequestParser::feed(const char* data, size_t len) {
  return detail::Engine<RequestParser>::feed(*this, data, len);
}

void RequestParser::reset() {
  head_->clear();
  detail::Engine<RequestParser>::resetState(*this);
}

bool RequestParser::done() const {
  return state_ == kDone;
}

// ---- ResponseParser ----

ResponseParser::ResponseParser(http::ResponseHead* head, const ParserLimits& limits)
    : head_(head), limits_(limits) {}

ParseResult ResponseParser::feed(const char* data, size_t len) {
  return detail::Engine<ResponseParser>::feed(*this, data, len);
}

ParseResult ResponseParser::onEof() {
  return detail::Engine<ResponseParser>::onEof(*this);
}

void ResponseParser::reset() {
  head_->clear();
  detail::Engine<ResponseParser>::resetState(*this);
  after_interim_ = false;
}

bool ResponseParser::done() const {
  return state_ == kDone;
}

}  // namespace portico::http1
