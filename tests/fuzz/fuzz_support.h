#pragma once
// What the libFuzzer targets share: a failed check is a finding (abort, so libFuzzer keeps the
// input), a deterministic splitter that cuts a byte stream into pieces the way a socket might
// deliver it, exact-size copies so AddressSanitizer sees any read past the end, and the loop
// that feeds a stream to a sans-I/O HTTP/1 parser as the codecs do.

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "http/header_map.h"
#include "http1/parser.h"

namespace portico::fuzz {

inline void check(bool ok) {
  if (!ok) std::abort();
}

// Cuts a stream into pieces chosen by `seed`: mostly 1-16 bytes, one in eight 64-4159 bytes.
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
  // The next piece, no longer than `left`.
  size_t next(size_t left) {
    size_t n = next();
    return n < left ? n : left;
  }

 private:
  uint32_t state_;
};

// A heap copy of exactly `bytes.size()` bytes: reading one past the end is an ASan report.
class ExactCopy {
 public:
  explicit ExactCopy(std::string_view bytes)
      : data_(new char[bytes.empty() ? 1 : bytes.size()]), size_(bytes.size()) {
    if (size_ > 0) std::memcpy(data_.get(), bytes.data(), size_);
  }
  const char* data() const { return data_.get(); }
  size_t size() const { return size_; }

 private:
  std::unique_ptr<char[]> data_;
  size_t size_;
};

// Appends "\nname:value" for every field, in order.
inline void appendFields(std::string& t, const http::HeaderMap& fields) {
  fields.forEach([&t](std::string_view n, std::string_view v) {
    t += '\n';
    t += n;
    t += ':';
    t += v;
  });
}

// What a parser produced, as text, so that two runs over the same bytes can be compared.
// Consecutive body pieces are joined, so how the bytes were split does not show.
class Transcript {
 public:
  std::string text;
  uint64_t body_bytes = 0;  // of the current message

  // Records one result's body bytes, or ends a run of them. Checks the framing promises: a
  // body piece is never empty, belongs to a message that has a body, and never exceeds the
  // Content-Length.
  template <class Parser>
  void recordBody(const Parser& parser, const http1::ParseResult& r, const ExactCopy& buf) {
    if (r.event != http1::ParseEvent::Body) {
      in_body_ = false;
      return;
    }
    check(r.body_len > 0);
    check(parser.bodyKind() != http1::BodyKind::None);
    body_bytes += r.body_len;
    if (parser.bodyKind() == http1::BodyKind::ContentLength) {
      check(body_bytes <= parser.contentLength());
    }
    if (in_body_) {
      text.pop_back();
    } else {
      text += "B ";
    }
    text.append(buf.data() + r.consumed - r.body_len, r.body_len);
    text += '\n';
    in_body_ = true;
  }

  template <class Parser>
  void recordTrailers(const Parser& parser) {
    check(parser.bodyKind() == http1::BodyKind::Chunked && !parser.trailers().empty());
    text += "T";
    appendFields(text, parser.trailers());
    text += '\n';
  }

 private:
  bool in_body_ = false;
};

// Feeds `size` bytes to `parser` in pieces of `next_piece(bytes_left)` bytes, as the codecs
// do: bytes a call did not consume are passed again, with the next piece, in a fresh exact-size
// buffer. `on_event(result, bytes)` sees every result but NeedMore and may reset the parser
// after MessageComplete. Checks the parser's contract on every call: it never consumes more
// than it was given, takes head and framing bytes whole, and errors stick. Returns false if
// the parser stopped with an error.
template <class Parser, class NextPiece, class OnEvent>
bool feedPieces(Parser& parser, const uint8_t* data, size_t size, NextPiece next_piece,
                OnEvent on_event) {
  std::string pending;
  size_t pos = 0;
  for (;;) {
    size_t piece = next_piece(size - pos);
    pending.append(reinterpret_cast<const char*>(data) + pos, piece);
    pos += piece;
    for (int guard = 0;; ++guard) {
      check(guard < 1000000);
      ExactCopy buf(pending);
      http1::ParseResult r = parser.feed(buf.data(), buf.size());
      check(r.consumed <= buf.size());
      check(r.body_len <= r.consumed);
      if (r.event != http1::ParseEvent::Body) check(r.body_len == 0);
      if (r.event != http1::ParseEvent::Error) check(parser.error() == http1::ParseError::None);
      if (r.event == http1::ParseEvent::NeedMore) {
        check(r.consumed == buf.size());
        pending.clear();
        break;
      }
      if (r.event == http1::ParseEvent::Error) {
        http1::ParseResult again = parser.feed(buf.data(), buf.size());
        check(again.event == http1::ParseEvent::Error && again.consumed == 0);
        on_event(r, buf);
        return false;
      }
      on_event(r, buf);
      pending.erase(0, r.consumed);
    }
    if (pos == size) return true;
  }
}

// The same, whole (one piece) or in pieces chosen by `seed`.
template <class Parser, class OnEvent>
bool feedStream(Parser& parser, const uint8_t* data, size_t size, uint32_t seed, bool whole,
                OnEvent on_event) {
  Splitter split(seed);
  return feedPieces(
      parser, data, size, [&](size_t left) { return whole ? left : split.next(left); }, on_event);
}

}  // namespace portico::fuzz
