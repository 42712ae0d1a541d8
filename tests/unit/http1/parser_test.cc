// Tests for the HTTP/1 request and response parsers: a corpus of valid messages fed at every
// split point, a table of malformed requests with the status each must get, and the limits.

#include "http1/parser.h"

#include <gtest/gtest.h>

#include <string>
#include <type_traits>
#include <vector>

#include "http/message.h"

namespace portico::http1 {
namespace {

using namespace std::string_literals;

// ---- a caller of the parsers ----
// Feeds a byte stream in given pieces the way a codec does (unconsumed bytes are passed again
// with the next piece), resets after each message, and writes all it observes as text. Feeding
// the same stream in different pieces must give the same text.

const char* kindName(BodyKind k) {
  switch (k) {
    case BodyKind::None:
      return "none";
    case BodyKind::ContentLength:
      return "length";
    case BodyKind::Chunked:
      return "chunked";
    case BodyKind::UntilClose:
      return "close";
  }
  return "?";
}

std::string dumpFields(const http::HeaderMap& m) {
  std::string s;
  m.forEach([&s](std::string_view n, std::string_view v) {
    s += "\n  ";
    s += n;
    s += ": [";
    s += v;
    s += "]";
  });
  return s;
}

std::string dumpHead(const http::RequestHead& h, const RequestParser& p) {
  std::string s = "HEAD " + h.method_text + " target=" + h.target + " path=" + h.path +
                  " query=" + h.query + " authority=" + h.authority + " scheme=" + h.scheme +
                  " version=" + std::to_string(h.version.major) + "." +
                  std::to_string(h.version.minor) +
                  " method=" + std::to_string(static_cast<int>(h.method));
  s += std::string(" body=") + kindName(p.bodyKind()) + " cl=" + std::to_string(p.contentLength());
  s += " keepalive=" + std::to_string(p.keepAlive()) +
       " continue=" + std::to_string(p.expectsContinue()) +
       " upgrade=" + std::to_string(p.wantsUpgrade()) +
       " trailers=" + std::to_string(p.acceptsTrailers());
  return s + dumpFields(h.headers);
}

std::string dumpHead(const http::ResponseHead& h, const ResponseParser& p) {
  std::string s = "HEAD " + std::to_string(h.status) + " reason=" + h.reason +
                  " version=" + std::to_string(h.version.major) + "." +
                  std::to_string(h.version.minor);
  s += std::string(" interim=") + std::to_string(p.isInterim()) +
       " body=" + kindName(p.bodyKind()) + " cl=" + std::to_string(p.contentLength()) +
       " keepalive=" + std::to_string(p.keepAlive());
  return s + dumpFields(h.headers);
}

struct Outcome {
  std::string text;
  ParseError error = ParseError::None;
  int messages = 0;
};

struct FeedOptions {
  http::Method method = http::Method::Get;  // responses: the request they answer
  bool eof = false;                         // responses: call onEof() after the last byte
  ParserLimits limits;
};

template <class Parser, class Head>
class Harness {
 public:
  explicit Harness(const FeedOptions& opt) : opt_(opt), parser_(&head_, opt.limits) { setMethod(); }

  // Splits `input` before each offset in `cuts` (ascending) and feeds the pieces.
  Outcome run(const std::string& input, const std::vector<size_t>& cuts) {
    size_t from = 0;
    for (size_t cut : cuts) {
      pending_.append(input, from, cut - from);
      from = cut;
      pump();
    }
    pending_.append(input, from, std::string::npos);
    pump();
    if constexpr (std::is_same_v<Parser, ResponseParser>) {
      if (opt_.eof && !stopped_) {
        ParseResult r = parser_.onEof();
        EXPECT_EQ(r.consumed, 0u);
        record(r);
      }
    }
    return {text_, parser_.error(), messages_};
  }

 private:
  void setMethod() {
    if constexpr (std::is_same_v<Parser, ResponseParser>) parser_.setRequestMethod(opt_.method);
  }

  void pump() {
    // Bounded so that a parser bug shows up as a failure, not a hang.
    if (stopped_) return;
    for (int guard = 0; guard < 100000; ++guard) {
      ParseResult r = parser_.feed(pending_.data(), pending_.size());
      EXPECT_LE(r.consumed, pending_.size());
      EXPECT_LE(r.body_len, r.consumed);
      if (r.consumed > pending_.size() || r.body_len > r.consumed) {
        stopped_ = true;
        return;
      }
      if (r.event == ParseEvent::NeedMore) {
        // Head bytes are taken whole (copied if need be); only a finished parser takes none.
        if (!pending_.empty() && r.consumed == 0) {
          EXPECT_TRUE(parser_.done());
        }
        pending_.erase(0, r.consumed);
        return;
      }
      record(r);
      if (stopped_) return;
      pending_.erase(0, r.consumed);
      if (r.event == ParseEvent::MessageComplete) {
        parser_.reset();
        setMethod();
      }
    }
    ADD_FAILURE() << "parser made no progress";
    stopped_ = true;
  }

  void record(const ParseResult& r) {
    switch (r.event) {
      case ParseEvent::NeedMore:
        text_ += "NEEDMORE\n";
        return;
      case ParseEvent::Head:
        EXPECT_EQ(r.body_len, 0u);
        text_ += dumpHead(head_, parser_) + "\n";
        break;
      case ParseEvent::Body:
        EXPECT_GT(r.body_len, 0u);
        if (!in_body_) text_ += "BODY ";
        // Merge Body events: how the body is cut depends on the split, its bytes do not.
        text_.erase(text_.size() - (in_body_ ? 1 : 0));
        text_.append(pending_, r.consumed - r.body_len, r.body_len);
        text_ += "\n";
        in_body_ = true;
        return;
      case ParseEvent::Trailers:
        EXPECT_FALSE(parser_.trailers().empty());
        text_ += "TRAILERS" + dumpFields(parser_.trailers()) + "\n";
        break;
      case ParseEvent::MessageComplete:
        EXPECT_TRUE(parser_.done());
        text_ += "COMPLETE\n";
        ++messages_;
        break;
      case ParseEvent::Error:
        text_ += std::string("ERROR ") + describe(parser_.error()) + "\n";
        stopped_ = true;
        break;
    }
    in_body_ = false;
  }

  FeedOptions opt_;
  Head head_;
  Parser parser_;
  std::string pending_;
  std::string text_;
  int messages_ = 0;
  bool in_body_ = false;
  bool stopped_ = false;
};

Outcome feedRequest(const std::string& input, const std::vector<size_t>& cuts = {},
                    const FeedOptions& opt = {}) {
  return Harness<RequestParser, http::RequestHead>(opt).run(input, cuts);
}

Outcome feedResponse(const std::string& input, const std::vector<size_t>& cuts = {},
                     const FeedOptions& opt = {}) {
  return Harness<ResponseParser, http::ResponseHead>(opt).run(input, cuts);
}

std::vector<size_t> everyByte(size_t n) {
  std::vector<size_t> cuts;
  for (size_t i = 1; i < n; ++i) cuts.push_back(i);
  return cuts;
}

// Every split into two pieces, and one byte at a time, gives the unsplit transcript.
template <typename Feed>
void expectSplitInvariant(Feed feed, const std::string& input, const std::string& whole,
                          const std::string& name) {
  for (size_t i = 0; i <= input.size(); ++i) {
    Outcome split = feed(input, std::vector<size_t>{i});
    ASSERT_EQ(split.text, whole) << name << ": split at " << i;
  }
  Outcome bytes = feed(input, everyByte(input.size()));
  ASSERT_EQ(bytes.text, whole) << name << ": one byte at a time";
}

// ---- valid requests ----

struct Valid {
  const char* name;
  std::string input;
  int messages;
};

std::vector<Valid> validRequests() {
  return {
      {"get_with_headers",
       "GET /index.html?x=1&y=2 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: curl/8.4.0\r\n"
       "Accept: */*\r\nX-Empty:\r\nX-Spaces:   padded value \t \r\n"
       "Cookie: session=0123456789abcdef0123456789abcdef; theme=dark\tmode\r\n\r\n",
       1},
      {"post_content_length",
       "POST /submit HTTP/1.1\r\nHost: a.example:8080\r\nContent-Type: text/plain\r\n"
       "Content-Length: 11\r\n\r\nhello world",
       1},
      {"chunked_extensions_trailers",
       "PUT /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTE: trailers\r\n\r\n"
       "5;name=value\r\nhello\r\n6 ; a=\"b c\";d\r\n world\r\n0;last\r\n"
       "X-Checksum: abc\r\nX-Other:  1 \r\n\r\n",
       1},
      {"chunked_no_trailers",
       "POST /x HTTP/1.1\r\nHost: h\r\nX-Latin: caf\xe9\r\ntransfer-encoding: Chunked\r\n\r\n"
       "A\r\n0123456789\r\n1f\r\n0123456789012345678901234567890\r\n0\r\n\r\n",
       1},
      {"pipelined_two",
       "GET /a HTTP/1.1\r\nHost: h\r\n\r\nPOST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n"
       "Connection: close\r\n\r\nabc",
       2},
      {"pipelined_chunked_then_get",
       "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
       "GET /d HTTP/1.1\r\nHost: h\r\n\r\n",
       2},
      {"http10", "GET /old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 1},
      {"http10_close", "GET /old HTTP/1.0\r\nHost: h\r\n\r\n", 1},
      {"bare_lf_and_leading_blank_lines", "\r\n\nGET / HTTP/1.1\nHost: h\nX: y\r\n\n", 1},
      {"absolute_form",
       "GET http://Example.com:81/p/q?z=1 HTTP/1.1\r\nHost: ignored.example\r\n\r\n", 1},
      {"absolute_form_no_path", "GET https://example.com?q HTTP/1.1\r\nHost: example.com\r\n\r\n",
       1},
      {"connect", "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", 1},
      {"options_star", "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", 1},
      {"upgrade_and_expect",
       "POST /ws HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n"
       "Expect: 100-Continue\r\nContent-Length: 0\r\n\r\n",
       1},
      {"content_length_list",
       "POST /l HTTP/1.1\r\nHost: h\r\nContent-Length: 4, 4\r\nContent-Length: 4\r\n\r\nabcd", 1},
      {"extension_method_and_ipv6_host",
       "PROPFIND /dav/ HTTP/1.1\r\nHost: [::1]:8080\r\nDepth: 1\r\n\r\n", 1},
  };
}

TEST(RequestParserCorpus, EverySplitGivesTheSameResult) {
  for (const Valid& v : validRequests()) {
    Outcome whole = feedRequest(v.input);
    EXPECT_EQ(whole.error, ParseError::None) << v.name << "\n" << whole.text;
    EXPECT_EQ(whole.messages, v.messages) << v.name << "\n" << whole.text;
    expectSplitInvariant([](const std::string& in,
                            const std::vector<size_t>& cuts) { return feedRequest(in, cuts); },
                         v.input, whole.text, v.name);
  }
}

TEST(RequestParserCorpus, TranscriptsSayWhatTheMessagesMean) {
  Outcome o = feedRequest(validRequests()[0].input);
  EXPECT_EQ(o.text,
            "HEAD GET target=/index.html?x=1&y=2 path=/index.html query=x=1&y=2 "
            "authority=example.com scheme= version=1.1 method=0 body=none cl=0 keepalive=1 "
            "continue=0 upgrade=0 trailers=0\n"
            "  Host: [example.com]\n  User-Agent: [curl/8.4.0]\n  Accept: [*/*]\n"
            "  X-Empty: []\n  X-Spaces: [padded value]\n"
            "  Cookie: [session=0123456789abcdef0123456789abcdef; theme=dark\tmode]\n"
            "COMPLETE\n");

  o = feedRequest(validRequests()[2].input);
  EXPECT_EQ(o.text,
            "HEAD PUT target=/up path=/up query= authority=h scheme= version=1.1 method=3 "
            "body=chunked cl=0 keepalive=1 continue=0 upgrade=0 trailers=1\n"
            "  Host: [h]\n  Transfer-Encoding: [chunked]\n  TE: [trailers]\n"
            "BODY hello world\n"
            "TRAILERS\n  X-Checksum: [abc]\n  X-Other: [1]\n"
            "COMPLETE\n");

  o = feedRequest(validRequests()[4].input);
  EXPECT_EQ(o.text,
            "HEAD GET target=/a path=/a query= authority=h scheme= version=1.1 method=0 "
            "body=none cl=0 keepalive=1 continue=0 upgrade=0 trailers=0\n  Host: [h]\n"
            "COMPLETE\n"
            "HEAD POST target=/b path=/b query= authority=h scheme= version=1.1 method=2 "
            "body=length cl=3 keepalive=0 continue=0 upgrade=0 trailers=0\n"
            "  Host: [h]\n  Content-Length: [3]\n  Connection: [close]\n"
            "BODY abc\nCOMPLETE\n");
}

// Parses one request whole and returns the parser state after Head, for field checks.
struct Parsed {
  http::RequestHead head;
  RequestParser parser{&head, ParserLimits{}};
  ParseResult result;
  explicit Parsed(const std::string& in) { result = parser.feed(in.data(), in.size()); }
};

TEST(RequestParser, HeadFields) {
  {
    Parsed p("GET http://Example.com:81/p/q?z=1 HTTP/1.1\r\nHost: ignored.example\r\n\r\n");
    ASSERT_EQ(p.result.event, ParseEvent::Head);
    EXPECT_EQ(p.head.authority, "Example.com:81");  // absolute-form wins over Host
    EXPECT_EQ(p.head.path, "/p/q");
    EXPECT_EQ(p.head.query, "z=1");
    EXPECT_EQ(p.head.target, "http://Example.com:81/p/q?z=1");
    EXPECT_EQ(p.head.scheme, "");  // the proxy sets it
  }
  {
    Parsed p("GET https://example.com?q HTTP/1.1\r\nHost: example.com\r\n\r\n");
    ASSERT_EQ(p.result.event, ParseEvent::Head);
    EXPECT_EQ(p.head.path, "/");
    EXPECT_EQ(p.head.query, "q");
  }
  {
    Parsed p("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
    ASSERT_EQ(p.result.event, ParseEvent::Head);
    EXPECT_EQ(p.head.method, http::Method::Connect);
    EXPECT_EQ(p.head.authority, "example.com:443");
    EXPECT_EQ(p.parser.bodyKind(), BodyKind::None);
  }
  {
    Parsed p("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n");
    ASSERT_EQ(p.result.event, ParseEvent::Head);
    EXPECT_EQ(p.head.path, "*");
  }
  {
    Parsed p("GET /a?b?c HTTP/1.1\r\nHost: h\r\n\r\n");
    EXPECT_EQ(p.head.path, "/a");
    EXPECT_EQ(p.head.query, "b?c");  // split at the first '?'
  }
  {
    Parsed p("get / HTTP/1.1\r\nHost: h\r\n\r\n");
    ASSERT_EQ(p.result.event, ParseEvent::Head);
    EXPECT_EQ(p.head.method, http::Method::Other);  // methods are case-sensitive
    EXPECT_EQ(p.head.method_text, "get");
  }
}

TEST(RequestParser, ConnectionSemantics) {
  auto parse = [](const std::string& in) {
    auto p = std::make_unique<Parsed>(in);
    EXPECT_EQ(p->result.event, ParseEvent::Head) << in;
    return p;
  };
  EXPECT_TRUE(parse("GET / HTTP/1.1\r\nHost: h\r\n\r\n")->parser.keepAlive());
  EXPECT_FALSE(
      parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: x, CLOSE\r\n\r\n")->parser.keepAlive());
  EXPECT_FALSE(parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\nConnection: close"
                     "\r\n\r\n")
                   ->parser.keepAlive());
  EXPECT_FALSE(parse("GET / HTTP/1.0\r\n\r\n")->parser.keepAlive());
  EXPECT_TRUE(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")->parser.keepAlive());
  EXPECT_FALSE(
      parse("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n")->parser.keepAlive());

  EXPECT_TRUE(parse("POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 1"
                    "\r\n\r\n")
                  ->parser.expectsContinue());
  EXPECT_FALSE(parse("POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n")
                   ->parser.expectsContinue());
  EXPECT_FALSE(
      parse("POST / HTTP/1.1\r\nHost: h\r\nExpect: something\r\n\r\n")->parser.expectsContinue());

  EXPECT_TRUE(parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n")
                  ->parser.wantsUpgrade());
  EXPECT_FALSE(parse("GET / HTTP/1.1\r\nHost: h\r\nUpgrade: h2c\r\n\r\n")->parser.wantsUpgrade());
  EXPECT_FALSE(
      parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: upgrade\r\n\r\n")->parser.wantsUpgrade());
  EXPECT_FALSE(
      parse("GET / HTTP/1.0\r\nConnection: upgrade\r\nUpgrade: x\r\n\r\n")->parser.wantsUpgrade());

  EXPECT_TRUE(parse("GET / HTTP/1.1\r\nHost: h\r\nTE: gzip;q=0.5, trailers\r\n\r\n")
                  ->parser.acceptsTrailers());
  EXPECT_FALSE(parse("GET / HTTP/1.1\r\nHost: h\r\nTE: gzip\r\n\r\n")->parser.acceptsTrailers());
}

TEST(RequestParser, LifecycleAfterCompleteAndError) {
  http::RequestHead head;
  RequestParser p(&head, ParserLimits{});
  std::string two = "GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n";
  ParseResult r = p.feed(two.data(), two.size());
  ASSERT_EQ(r.event, ParseEvent::Head);
  size_t first = r.consumed;
  EXPECT_EQ(first, two.size() / 2);
  EXPECT_FALSE(p.done());
  r = p.feed(two.data() + first, two.size() - first);
  EXPECT_EQ(r.event, ParseEvent::MessageComplete);
  EXPECT_EQ(r.consumed, 0u);
  EXPECT_TRUE(p.done());
  // Pipelined bytes stay with the caller until reset().
  r = p.feed(two.data() + first, two.size() - first);
  EXPECT_EQ(r.event, ParseEvent::NeedMore);
  EXPECT_EQ(r.consumed, 0u);
  p.reset();
  EXPECT_TRUE(head.headers.empty());
  EXPECT_FALSE(p.done());
  r = p.feed(two.data() + first, two.size() - first);
  ASSERT_EQ(r.event, ParseEvent::Head);
  EXPECT_EQ(head.path, "/2");
  EXPECT_EQ(head.headers.size(), 1u);

  // Errors stick until reset().
  p.reset();
  std::string bad = "GET / HTTP/1.1\r\nBad Header: x\r\n\r\n";
  r = p.feed(bad.data(), bad.size());
  EXPECT_EQ(r.event, ParseEvent::Error);
  EXPECT_EQ(p.error(), ParseError::BadHeaderName);
  r = p.feed(two.data(), two.size());
  EXPECT_EQ(r.event, ParseEvent::Error);
  EXPECT_EQ(r.consumed, 0u);
  p.reset();
  EXPECT_EQ(p.error(), ParseError::None);
  r = p.feed(two.data(), two.size());
  EXPECT_EQ(r.event, ParseEvent::Head);

  // Empty feeds are harmless.
  p.reset();
  r = p.feed(nullptr, 0);
  EXPECT_EQ(r.event, ParseEvent::NeedMore);
  EXPECT_EQ(r.consumed, 0u);
}

TEST(RequestParser, BodyBytesAreTheCallersBytes) {
  http::RequestHead head;
  RequestParser p(&head, ParserLimits{});
  std::string in =
      "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n"
      "0\r\n\r\n";
  ParseResult r = p.feed(in.data(), in.size());
  ASSERT_EQ(r.event, ParseEvent::Head);
  size_t off = r.consumed;
  r = p.feed(in.data() + off, in.size() - off);
  ASSERT_EQ(r.event, ParseEvent::Body);
  EXPECT_EQ(r.body_len, 3u);
  EXPECT_EQ(r.consumed, 6u);  // "3\r\n" framing, then the data
  EXPECT_EQ(std::string_view(in.data() + off + r.consumed - r.body_len, r.body_len), "abc");
  off += r.consumed;
  r = p.feed(in.data() + off, in.size() - off);
  ASSERT_EQ(r.event, ParseEvent::Body);
  EXPECT_EQ(std::string_view(in.data() + off + r.consumed - r.body_len, r.body_len), "de");
  off += r.consumed;
  r = p.feed(in.data() + off, in.size() - off);
  EXPECT_EQ(r.event, ParseEvent::MessageComplete);  // no trailers: no Trailers event
  EXPECT_EQ(off + r.consumed, in.size());
}

// ---- malformed requests ----

struct Bad {
  const char* name;
  std::string input;
  ParseError error;
  uint16_t status;
};

ParserLimits tableLimits() {
  ParserLimits l;
  l.max_request_line = 64;
  l.max_header_line = 64;
  l.max_header_bytes = 256;
  l.max_header_count = 8;
  l.max_body_bytes = 100;
  return l;
}

std::string req(const std::string& line, const std::string& fields = "Host: h\r\n",
                const std::string& body = "") {
  return line + "\r\n" + fields + "\r\n" + body;
}

std::string chunked(const std::string& body) {
  return req("POST / HTTP/1.1", "Host: h\r\nTransfer-Encoding: chunked\r\n", body);
}

std::vector<Bad> badRequests() {
  using E = ParseError;
  std::string long_target = "GET /" + std::string(60, 'a') + " HTTP/1.1";
  std::string many;
  for (int i = 0; i < 8; ++i) many += "X" + std::to_string(i) + ": v\r\n";
  std::string big;
  for (int i = 0; i < 5; ++i) big += "X" + std::to_string(i) + ": " + std::string(40, 'v') + "\r\n";
  std::string blank5 = "\r\n\r\n\r\n\r\n\r\n" + req("GET / HTTP/1.1");
  return {
      {"no_space", req("GET"), E::BadRequestLine, 400},
      {"http09", req("GET /"), E::BadRequestLine, 400},
      {"leading_space", req(" GET / HTTP/1.1"), E::BadRequestLine, 400},
      {"too_many_blank_lines", blank5, E::BadRequestLine, 400},
      {"method_separator", req("G(T / HTTP/1.1"), E::BadMethod, 400},
      {"method_tab", req("GET\t/ HTTP/1.1"), E::BadMethod, 400},
      {"method_non_ascii", req("G\xc3\x8bT / HTTP/1.1"), E::BadMethod, 400},
      {"target_fragment", req("GET /a#frag HTTP/1.1"), E::BadTarget, 400},
      {"target_del", req("GET /a\x7f HTTP/1.1"), E::BadTarget, 400},
      {"target_non_ascii", req("GET /caf\xc3\xa9 HTTP/1.1"), E::BadTarget, 400},
      {"target_control", req("GET /\x01 HTTP/1.1"), E::BadTarget, 400},
      {"target_empty", req("GET  / HTTP/1.1"), E::BadTarget, 400},
      {"star_not_options", req("GET * HTTP/1.1"), E::BadTarget, 400},
      {"authority_form_not_connect", req("GET example.com:80 HTTP/1.1"), E::BadTarget, 400},
      {"connect_origin_form", req("CONNECT /x HTTP/1.1"), E::BadTarget, 400},
      {"connect_no_port", req("CONNECT example.com HTTP/1.1"), E::BadTarget, 400},
      {"other_scheme", req("GET ftp://x/ HTTP/1.1"), E::BadTarget, 400},
      {"userinfo", req("GET http://user@host/ HTTP/1.1"), E::BadTarget, 400},
      {"empty_authority", req("GET http:///path HTTP/1.1"), E::BadTarget, 400},
      {"long_target", req(long_target), E::UriTooLong, 414},
      {"version_lowercase", req("GET / http/1.1"), E::BadVersion, 400},
      {"version_no_dot", req("GET / HTTP/11"), E::BadVersion, 400},
      {"version_trailing_space", req("GET / HTTP/1.1 "), E::BadVersion, 400},
      {"version_two_digits", req("GET / HTTP/1.10"), E::BadVersion, 400},
      {"version_2", req("GET / HTTP/2.0"), E::UnsupportedVersion, 505},
      {"version_1_2", req("GET / HTTP/1.2"), E::UnsupportedVersion, 505},
      {"version_0_9", req("GET / HTTP/0.9"), E::UnsupportedVersion, 505},
      {"name_separator", req("GET / HTTP/1.1", "Host: h\r\nBad(Name: x\r\n"), E::BadHeaderName,
       400},
      {"name_empty", req("GET / HTTP/1.1", "Host: h\r\n: v\r\n"), E::BadHeaderName, 400},
      {"name_no_colon", req("GET / HTTP/1.1", "Host: h\r\nNoColon\r\n"), E::BadHeaderName, 400},
      {"name_inner_space", req("GET / HTTP/1.1", "Host: h\r\nBad Name: x\r\n"), E::BadHeaderName,
       400},
      {"value_control", req("GET / HTTP/1.1", "Host: h\r\nX: a\x01z\r\n"), E::BadHeaderValue, 400},
      {"value_nul", req("GET / HTTP/1.1", "Host: h\r\nX: a\0z\r\n"s), E::BadHeaderValue, 400},
      {"value_del", req("GET / HTTP/1.1", "Host: h\r\nX: abcdefghij\x7fz\r\n"), E::BadHeaderValue,
       400},
      {"value_cr", req("GET / HTTP/1.1", "Host: h\r\nX: a\rb\r\n"), E::BadHeaderValue, 400},
      {"host_with_space", req("GET / HTTP/1.1", "Host: a b\r\n"), E::BadHeaderValue, 400},
      {"host_userinfo", req("GET / HTTP/1.1", "Host: user@h\r\n"), E::BadHeaderValue, 400},
      {"space_before_colon", req("GET / HTTP/1.1", "Host : h\r\n"), E::WhitespaceBeforeColon, 400},
      {"tab_before_colon", req("GET / HTTP/1.1", "Host: h\r\nX\t: y\r\n"), E::WhitespaceBeforeColon,
       400},
      {"obs_fold", req("GET / HTTP/1.1", "Host: h\r\nX: a\r\n b\r\n"), E::ObsFold, 400},
      {"obs_fold_first_line", req("GET / HTTP/1.1", " X: a\r\nHost: h\r\n"), E::ObsFold, 400},
      {"cr_in_request_line", "GET / HTTP/1.1\rHost: h\r\n\r\n", E::BareCr, 400},
      {"cr_in_name", req("GET / HTTP/1.1", "Host: h\r\nX\r: v\r\n"), E::BareCr, 400},
      {"cr_line", req("GET / HTTP/1.1", "Host: h\r\n\r\r\n"), E::BareCr, 400},
      {"long_field_line", req("GET / HTTP/1.1", "Host: h\r\nX: " + std::string(70, 'v') + "\r\n"),
       E::HeaderLineTooLong, 431},
      {"head_too_large", req("GET / HTTP/1.1", "Host: h\r\n" + big), E::HeadersTooLarge, 431},
      {"too_many_fields", req("GET / HTTP/1.1", "Host: h\r\n" + many), E::TooManyHeaders, 431},
      {"missing_host", req("GET / HTTP/1.1", ""), E::MissingHost, 400},
      {"missing_host_absolute_form", req("GET http://h/ HTTP/1.1", ""), E::MissingHost, 400},
      {"duplicate_host", req("GET / HTTP/1.1", "Host: a\r\nHost: a\r\n"), E::DuplicateHost, 400},
      {"cl_sign", req("POST / HTTP/1.1", "Host: h\r\nContent-Length: +5\r\n"), E::BadContentLength,
       400},
      {"cl_negative", req("POST / HTTP/1.1", "Host: h\r\nContent-Length: -1\r\n"),
       E::BadContentLength, 400},
      {"cl_letters", req("POST / HTTP/1.1", "Host: h\r\nContent-Length: 5a\r\n"),
       E::BadContentLength, 400},
      {"cl_empty", req("POST / HTTP/1.1", "Host: h\r\nContent-Length:\r\n"), E::BadContentLength,
       400},
      {"cl_inner_space", req("POST / HTTP/1.1", "Host: h\r\nContent-Length: 1 2\r\n"),
       E::BadContentLength, 400},
      {"cl_empty_element", req("POST / HTTP/1.1", "Host: h\r\nContent-Length: 1,,1\r\n"),
       E::BadContentLength, 400},
      {"cl_overflow", req("POST / HTTP/1.1", "Host: h\r\nContent-Length: 18446744073709551616\r\n"),
       E::BadContentLength, 400},
      {"cl_list_differs", req("POST / HTTP/1.1", "Host: h\r\nContent-Length: 5, 6\r\n"),
       E::ConflictingContentLength, 400},
      {"cl_fields_differ",
       req("POST / HTTP/1.1", "Host: h\r\nContent-Length: 5\r\nContent-Length: 6\r\n"),
       E::ConflictingContentLength, 400},
      {"cl_and_te",
       req("POST / HTTP/1.1", "Host: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n",
           "0\r\n\r\n"),
       E::ContentLengthAndTransferEncoding, 400},
      {"te_and_cl",
       req("POST / HTTP/1.1", "Host: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 0\r\n"),
       E::ContentLengthAndTransferEncoding, 400},
      {"te_chunked_not_last",
       req("POST / HTTP/1.1", "Host: h\r\nTransfer-Encoding: chunked, gzip\r\n"),
       E::TransferEncodingNotChunkedLast, 400},
      {"te_chunked_twice",
       req("POST / HTTP/1.1",
           "Host: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: "
           "chunked\r\n"),
       E::TransferEncodingNotChunkedLast, 400},
      {"te_gzip_then_chunked",
       req("POST / HTTP/1.1", "Host: h\r\nTransfer-Encoding: gzip, chunked\r\n"),
       E::TransferCodingNotSupported, 501},
      {"te_gzip_then_chunked_two_fields",
       req("POST / HTTP/1.1",
           "Host: h\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n"),
       E::TransferCodingNotSupported, 501},
      {"te_gzip_only", req("POST / HTTP/1.1", "Host: h\r\nTransfer-Encoding: gzip\r\n"),
       E::TransferEncodingNotChunkedLast, 400},
      {"te_empty", req("POST / HTTP/1.1", "Host: h\r\nTransfer-Encoding: \r\n"),
       E::TransferEncodingNotChunkedLast, 400},
      {"te_unknown", req("POST / HTTP/1.1", "Host: h\r\nTransfer-Encoding: foo, chunked\r\n"),
       E::UnknownTransferEncoding, 501},
      {"te_identity", req("POST / HTTP/1.1", "Host: h\r\nTransfer-Encoding: identity\r\n"),
       E::UnknownTransferEncoding, 501},
      {"te_chunked_with_params",
       req("POST / HTTP/1.1", "Host: h\r\nTransfer-Encoding: chunked;x=1\r\n"),
       E::UnknownTransferEncoding, 501},
      {"te_http10", req("POST / HTTP/1.0", "Transfer-Encoding: chunked\r\n", "0\r\n\r\n"),
       E::TransferEncodingOnHttp10, 400},
      {"chunk_size_not_hex", chunked("Z\r\n"), E::BadChunkSize, 400},
      {"chunk_size_empty", chunked("\r\n"), E::BadChunkSize, 400},
      {"chunk_size_trailing_space", chunked("5 \r\nhello\r\n0\r\n\r\n"), E::BadChunkSize, 400},
      {"chunk_size_bare_lf", chunked("5\nhello\r\n0\r\n\r\n"), E::BadChunkSize, 400},
      {"chunk_size_17_digits", chunked("00000000000000005\r\nhello\r\n0\r\n\r\n"), E::BadChunkSize,
       400},
      {"chunk_size_negative", chunked("-5\r\nhello\r\n0\r\n\r\n"), E::BadChunkSize, 400},
      {"chunk_size_0x", chunked("0x5\r\nhello\r\n0\r\n\r\n"), E::BadChunkSize, 400},
      {"chunk_ext_control", chunked("5;a\x01\r\nhello\r\n0\r\n\r\n"), E::BadChunkSize, 400},
      {"chunk_ext_too_long", chunked("5;" + std::string(80, 'e') + "\r\nhello\r\n0\r\n\r\n"),
       E::BadChunkSize, 400},
      {"chunk_data_too_long", chunked("5\r\nhelloX\r\n0\r\n\r\n"), E::BadChunkData, 400},
      {"chunk_data_bare_lf", chunked("5\r\nhello\n0\r\n\r\n"), E::BadChunkData, 400},
      {"trailer_bad_name", chunked("0\r\nBad Name: x\r\n\r\n"), E::BadTrailer, 400},
      {"trailer_content_length", chunked("0\r\nContent-Length: 5\r\n\r\n"), E::BadTrailer, 400},
      {"trailer_obs_fold", chunked("0\r\nX: a\r\n folded\r\n\r\n"), E::BadTrailer, 400},
      {"trailer_bad_value", chunked("0\r\nX: a\x01\r\n\r\n"), E::BadTrailer, 400},
      {"body_too_large_length", req("POST / HTTP/1.1", "Host: h\r\nContent-Length: 101\r\n"),
       E::BodyTooLarge, 413},
      {"body_too_large_chunked",
       chunked("40\r\n" + std::string(64, 'x') + "\r\n40\r\n" + std::string(64, 'y') +
               "\r\n0\r\n\r\n"),
       E::BodyTooLarge, 413},
  };
}

TEST(RequestParserMalformed, EachGetsItsErrorAndStatusAtEverySplit) {
  std::vector<Bad> table = badRequests();
  EXPECT_GE(table.size(), 40u);
  FeedOptions opt;
  opt.limits = tableLimits();
  for (const Bad& b : table) {
    Outcome whole = feedRequest(b.input, {}, opt);
    EXPECT_EQ(whole.error, b.error) << b.name << "\n" << whole.text;
    EXPECT_EQ(statusFor(whole.error), b.status) << b.name;
    EXPECT_NE(whole.text.find(std::string("ERROR ") + describe(b.error)), std::string::npos)
        << b.name;
    expectSplitInvariant(
        [&opt](const std::string& in, const std::vector<size_t>& cuts) {
          return feedRequest(in, cuts, opt);
        },
        b.input, whole.text, b.name);
  }
}

TEST(RequestParserMalformed, TableCoversEveryRequestError) {
  std::vector<Bad> table = badRequests();
  for (int i = static_cast<int>(ParseError::BadRequestLine);
       i <= static_cast<int>(ParseError::PrematureEof); ++i) {
    auto e = static_cast<ParseError>(i);
    // Only responses can have these: a request has no status line and no end-of-file rule.
    if (e == ParseError::BadStatusLine || e == ParseError::PrematureEof) continue;
    bool found = false;
    for (const Bad& b : table) found = found || b.error == e;
    EXPECT_TRUE(found) << "no malformed request for " << describe(e);
  }
}

TEST(ParseErrors, StatusAndDescription) {
  EXPECT_EQ(statusFor(ParseError::UriTooLong), 414);
  EXPECT_EQ(statusFor(ParseError::HeadersTooLarge), 431);
  EXPECT_EQ(statusFor(ParseError::UnsupportedVersion), 505);
  EXPECT_EQ(statusFor(ParseError::UnknownTransferEncoding), 501);
  EXPECT_EQ(statusFor(ParseError::BodyTooLarge), 413);
  EXPECT_EQ(statusFor(ParseError::BadStatusLine), 502);
  for (int i = 0; i <= static_cast<int>(ParseError::PrematureEof); ++i) {
    std::string d = describe(static_cast<ParseError>(i));
    EXPECT_FALSE(d.empty());
    EXPECT_NE(d, "unknown parse error");
  }
}

// ---- limits ----

ParserLimits smallLimits() {
  ParserLimits l;
  l.max_request_line = 32;
  l.max_header_line = 32;
  l.max_header_bytes = 200;
  l.max_header_count = 4;
  l.max_body_bytes = 10;
  return l;
}

ParseError parseError(const std::string& in, const ParserLimits& limits) {
  FeedOptions opt;
  opt.limits = limits;
  Outcome whole = feedRequest(in, {}, opt);
  Outcome bytes = feedRequest(in, everyByte(in.size()), opt);
  EXPECT_EQ(whole.text, bytes.text) << in;
  return whole.error;
}

TEST(RequestParserLimits, RequestLineBoundary) {
  ParserLimits l = smallLimits();
  // "GET /aaa HTTP/1.1" is 4 + target + 9 bytes.
  std::string at_limit = "GET /" + std::string(32 - 14, 'a') + " HTTP/1.1";
  ASSERT_EQ(at_limit.size(), 32u);
  EXPECT_EQ(parseError(at_limit + "\r\nHost: h\r\n\r\n", l), ParseError::None);
  EXPECT_EQ(parseError(at_limit + "\nHost: h\r\n\r\n", l), ParseError::None);
  std::string over = "GET /" + std::string(32 - 14 + 1, 'a') + " HTTP/1.1";
  EXPECT_EQ(parseError(over + "\r\nHost: h\r\n\r\n", l), ParseError::UriTooLong);
  EXPECT_EQ(parseError(over + "\nHost: h\r\n\r\n", l), ParseError::UriTooLong);
}

TEST(RequestParserLimits, RefusesBeforeTheLineEnds) {
  http::RequestHead head;
  RequestParser p(&head, smallLimits());
  std::string start = "GET /" + std::string(28, 'a');  // 33 bytes, no line end yet
  ParseResult r = p.feed(start.data(), 20);
  EXPECT_EQ(r.event, ParseEvent::NeedMore);
  EXPECT_EQ(r.consumed, 20u);
  r = p.feed(start.data() + 20, start.size() - 20);
  EXPECT_EQ(r.event, ParseEvent::Error);
  EXPECT_EQ(p.error(), ParseError::UriTooLong);

  // A line of exactly the limit is not refused while its LF is still missing.
  p.reset();
  std::string exact = "GET /" + std::string(18, 'a') + " HTTP/1.1\r";
  r = p.feed(exact.data(), exact.size());
  EXPECT_EQ(r.event, ParseEvent::NeedMore);
  r = p.feed("\nHost: h\r\n\r\n", 12);
  EXPECT_EQ(r.event, ParseEvent::Head);

  // An endless field line is refused once it cannot fit, not buffered.
  p.reset();
  std::string in = "GET / HTTP/1.1\r\nX: " + std::string(40, 'v');
  r = p.feed(in.data(), in.size());
  EXPECT_EQ(r.event, ParseEvent::Error);
  EXPECT_EQ(p.error(), ParseError::HeaderLineTooLong);

  // So is an endless head of short lines.
  p.reset();
  ParserLimits many = smallLimits();
  many.max_header_count = 1000;
  RequestParser q(&head, many);
  std::string line = "X: v\r\n";
  r = q.feed("GET / HTTP/1.1\r\n", 16);
  ParseError e = ParseError::None;
  for (int i = 0; i < 100 && e == ParseError::None; ++i) {
    r = q.feed(line.data(), line.size());
    if (r.event == ParseEvent::Error) e = q.error();
  }
  EXPECT_EQ(e, ParseError::HeadersTooLarge);
}

TEST(RequestParserLimits, FieldLineBoundary) {
  ParserLimits l = smallLimits();
  std::string at = "X: " + std::string(29, 'v');
  ASSERT_EQ(at.size(), 32u);
  EXPECT_EQ(parseError("GET / HTTP/1.1\r\nHost: h\r\n" + at + "\r\n\r\n", l), ParseError::None);
  EXPECT_EQ(parseError("GET / HTTP/1.1\r\nHost: h\r\n" + at + "\n\n", l), ParseError::None);
  EXPECT_EQ(parseError("GET / HTTP/1.1\r\nHost: h\r\n" + at + "v\r\n\r\n", l),
            ParseError::HeaderLineTooLong);
  EXPECT_EQ(parseError("GET / HTTP/1.1\r\nHost: h\r\n" + at + "v\n\n", l),
            ParseError::HeaderLineTooLong);
}

TEST(RequestParserLimits, HeadBytesBoundary) {
  ParserLimits l = smallLimits();
  l.max_header_count = 100;
  l.max_header_line = 1000;
  std::string head = "GET / HTTP/1.1\r\nHost: h\r\n";
  for (int i = 0; i < 10; ++i) head += "X: 12345678\r\n";
  // One more field padded so that the head, final CRLF included, is exactly the limit.
  size_t pad = 200 - head.size() - std::string("Y: \r\n\r\n").size();
  std::string exact = head + "Y: " + std::string(pad, 'p') + "\r\n\r\n";
  ASSERT_EQ(exact.size(), 200u);
  EXPECT_EQ(parseError(exact, l), ParseError::None);
  std::string over = head + "Y: " + std::string(pad + 1, 'p') + "\r\n\r\n";
  EXPECT_EQ(parseError(over, l), ParseError::HeadersTooLarge);
  // Bare LF line ends count one byte each.
  std::string lf = head + "Y: " + std::string(pad + 2, 'p') + "\n\n";
  ASSERT_EQ(lf.size(), 200u);
  EXPECT_EQ(parseError(lf, l), ParseError::None);
}

TEST(RequestParserLimits, LimitBrokenFirstWins) {
  // A line that breaks the head size before its own length limit reports the head size, and
  // the other way round, whichever way the bytes arrive.
  ParserLimits l = smallLimits();
  l.max_header_bytes = 40;
  std::string base = "GET / HTTP/1.1\r\nHost: h\r\n";  // 25 bytes
  EXPECT_EQ(parseError(base + "X: " + std::string(40, 'v') + "\r\n\r\n", l),
            ParseError::HeadersTooLarge);
  l.max_header_bytes = 200;
  l.max_header_line = 10;
  EXPECT_EQ(parseError(base + "X: " + std::string(40, 'v') + "\r\n\r\n", l),
            ParseError::HeaderLineTooLong);
}

TEST(RequestParserLimits, FieldCount) {
  ParserLimits l = smallLimits();
  EXPECT_EQ(parseError("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", l),
            ParseError::None);
  EXPECT_EQ(parseError("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n", l),
            ParseError::TooManyHeaders);
}

TEST(RequestParserLimits, BodySize) {
  ParserLimits l = smallLimits();
  EXPECT_EQ(parseError("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n0123456789", l),
            ParseError::None);
  EXPECT_EQ(parseError("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n", l),
            ParseError::BodyTooLarge);
  std::string te = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
  EXPECT_EQ(parseError(te + "5\r\n01234\r\n5\r\n56789\r\n0\r\n\r\n", l), ParseError::None);
  EXPECT_EQ(parseError(te + "5\r\n01234\r\n6\r\n56789a\r\n0\r\n\r\n", l), ParseError::BodyTooLarge);
  EXPECT_EQ(parseError(te + "ffffffffffffffff\r\n", l), ParseError::BodyTooLarge);
  l.max_body_bytes = 0;  // unlimited
  EXPECT_EQ(parseError("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999\r\n\r\n", l),
            ParseError::None);
}

TEST(RequestParserLimits, TrailersHaveTheSameLimits) {
  ParserLimits l = smallLimits();
  std::string te = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n";
  EXPECT_EQ(parseError(te + "A: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n", l), ParseError::None);
  EXPECT_EQ(parseError(te + "A: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\n\r\n", l),
            ParseError::TooManyHeaders);
  EXPECT_EQ(parseError(te + "X: " + std::string(40, 'v') + "\r\n\r\n", l),
            ParseError::HeaderLineTooLong);
}

TEST(RequestParserLimits, ChunkSizeDigits) {
  std::string te = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
  ParserLimits l;
  EXPECT_EQ(parseError(te + "0000000000000005\r\nhello\r\n0\r\n\r\n", l), ParseError::None);
  EXPECT_EQ(parseError(te + "10000000000000000\r\n", l), ParseError::BadChunkSize);
}

TEST(RequestParserLimits, BlankLinesBeforeRequestLine) {
  ParserLimits l;
  EXPECT_EQ(parseError("\r\n\r\n\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", l), ParseError::None);
  EXPECT_EQ(parseError("\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", l),
            ParseError::BadRequestLine);
}

// ---- responses ----

struct ValidResponse {
  const char* name;
  std::string input;
  http::Method method;
  bool eof;
  std::string expected;  // the transcript
};

std::vector<ValidResponse> validResponses() {
  using M = http::Method;
  return {
      {"content_length",
       "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello", M::Get,
       false,
       "HEAD 200 reason=OK version=1.1 interim=0 body=length cl=5 keepalive=1\n"
       "  Content-Length: [5]\n  Content-Type: [text/plain]\nBODY hello\nCOMPLETE\n"},
      {"chunked_trailers",
       "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n5;ext=1\r\npedia\r\n"
       "0\r\nExpires: never\r\n\r\n",
       M::Get, false,
       "HEAD 200 reason=OK version=1.1 interim=0 body=chunked cl=0 keepalive=1\n"
       "  Transfer-Encoding: [chunked]\nBODY Wikipedia\nTRAILERS\n  Expires: [never]\n"
       "COMPLETE\n"},
      {"until_close", "HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n<html>body</html>", M::Get,
       true,
       "HEAD 200 reason=OK version=1.0 interim=0 body=close cl=0 keepalive=0\n"
       "  Content-Type: [text/html]\nBODY <html>body</html>\nCOMPLETE\n"},
      {"until_close_empty", "HTTP/1.1 200 OK\r\n\r\n", M::Get, true,
       "HEAD 200 reason=OK version=1.1 interim=0 body=close cl=0 keepalive=0\nCOMPLETE\n"},
      {"no_content", "HTTP/1.1 204 No Content\r\nDate: x\r\n\r\n", M::Delete, false,
       "HEAD 204 reason=No Content version=1.1 interim=0 body=none cl=0 keepalive=1\n"
       "  Date: [x]\nCOMPLETE\n"},
      {"not_modified", "HTTP/1.1 304 Not Modified\r\nContent-Length: 1234\r\nETag: \"x\"\r\n\r\n",
       M::Get, false,
       "HEAD 304 reason=Not Modified version=1.1 interim=0 body=none cl=1234 keepalive=1\n"
       "  Content-Length: [1234]\n  ETag: [\"x\"]\nCOMPLETE\n"},
      {"head_request", "HTTP/1.1 200 OK\r\nContent-Length: 42\r\n\r\n", M::Head, false,
       "HEAD 200 reason=OK version=1.1 interim=0 body=none cl=42 keepalive=1\n"
       "  Content-Length: [42]\nCOMPLETE\n"},
      {"continue_then_ok",
       "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", M::Post,
       false,
       "HEAD 100 reason=Continue version=1.1 interim=1 body=none cl=0 keepalive=1\n"
       "HEAD 200 reason=OK version=1.1 interim=0 body=length cl=2 keepalive=1\n"
       "  Content-Length: [2]\nBODY ok\nCOMPLETE\n"},
      {"early_hints_then_chunked",
       "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n"
       "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
       M::Get, false,
       "HEAD 103 reason=Early Hints version=1.1 interim=1 body=none cl=0 keepalive=1\n"
       "  Link: [</s.css>; rel=preload]\n"
       "HEAD 200 reason=OK version=1.1 interim=0 body=chunked cl=0 keepalive=1\n"
       "  Transfer-Encoding: [chunked]\nBODY abc\nCOMPLETE\n"},
      {"switching_protocols",
       "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
       M::Get, false,
       "HEAD 101 reason=Switching Protocols version=1.1 interim=0 body=none cl=0 keepalive=0\n"
       "  Upgrade: [websocket]\n  Connection: [Upgrade]\nCOMPLETE\n"},
      {"connect_established", "HTTP/1.1 200 Connection Established\r\n\r\n", M::Connect, false,
       "HEAD 200 reason=Connection Established version=1.1 interim=0 body=none cl=0 "
       "keepalive=0\nCOMPLETE\n"},
      {"no_reason", "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", M::Get, false,
       "HEAD 200 reason= version=1.1 interim=0 body=length cl=0 keepalive=1\n"
       "  Content-Length: [0]\nCOMPLETE\n"},
      {"empty_reason_obs_text", "HTTP/1.1 404 \r\nX: \xff\r\nContent-Length: 0\r\n\r\n", M::Get,
       false,
       "HEAD 404 reason= version=1.1 interim=0 body=length cl=0 keepalive=1\n"
       "  X: [\xff]\n  Content-Length: [0]\nCOMPLETE\n"},
      {"gzip_not_chunked_last", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nzzzz", M::Get,
       true,
       "HEAD 200 reason=OK version=1.1 interim=0 body=close cl=0 keepalive=0\n"
       "  Transfer-Encoding: [gzip]\nBODY zzzz\nCOMPLETE\n"},
      {"http10_keep_alive",
       "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 3\r\n\r\nabc", M::Get, false,
       "HEAD 200 reason=OK version=1.0 interim=0 body=length cl=3 keepalive=1\n"
       "  Connection: [keep-alive]\n  Content-Length: [3]\nBODY abc\nCOMPLETE\n"},
      {"close", "HTTP/1.1 500 Oops\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx", M::Get,
       false,
       "HEAD 500 reason=Oops version=1.1 interim=0 body=length cl=1 keepalive=0\n"
       "  Connection: [close]\n  Content-Length: [1]\nBODY x\nCOMPLETE\n"},
  };
}

TEST(ResponseParserCorpus, EverySplitGivesTheSameResult) {
  for (const ValidResponse& v : validResponses()) {
    FeedOptions opt;
    opt.method = v.method;
    opt.eof = v.eof;
    Outcome whole = feedResponse(v.input, {}, opt);
    EXPECT_EQ(whole.text, v.expected) << v.name;
    expectSplitInvariant(
        [&opt](const std::string& in, const std::vector<size_t>& cuts) {
          return feedResponse(in, cuts, opt);
        },
        v.input, whole.text, v.name);
  }
}

TEST(ResponseParser, EndOfFile) {
  http::ResponseHead head;
  ResponseParser p(&head, ParserLimits{});
  // Nothing started: a clean close.
  ParseResult r = p.onEof();
  EXPECT_EQ(r.event, ParseEvent::NeedMore);
  EXPECT_EQ(r.consumed, 0u);

  // Inside a Content-Length body.
  std::string in = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc";
  r = p.feed(in.data(), in.size());
  ASSERT_EQ(r.event, ParseEvent::Head);
  size_t off = r.consumed;
  r = p.feed(in.data() + off, in.size() - off);
  ASSERT_EQ(r.event, ParseEvent::Body);
  EXPECT_EQ(r.body_len, 3u);
  r = p.onEof();
  EXPECT_EQ(r.event, ParseEvent::Error);
  EXPECT_EQ(p.error(), ParseError::PrematureEof);

  // Inside a chunked body.
  p.reset();
  in = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab";
  for (off = 0; off < in.size();) {
    r = p.feed(in.data() + off, in.size() - off);
    off += r.consumed;
    if (r.event == ParseEvent::NeedMore) break;
  }
  r = p.onEof();
  EXPECT_EQ(r.event, ParseEvent::Error);
  EXPECT_EQ(p.error(), ParseError::PrematureEof);

  // Inside a head.
  p.reset();
  in = "HTTP/1.1 200 OK\r\nContent-";
  r = p.feed(in.data(), in.size());
  EXPECT_EQ(r.event, ParseEvent::NeedMore);
  EXPECT_EQ(p.onEof().event, ParseEvent::Error);
  EXPECT_EQ(p.error(), ParseError::PrematureEof);

  // After an interim response, the final one is still owed.
  p.reset();
  in = "HTTP/1.1 100 Continue\r\n\r\n";
  r = p.feed(in.data(), in.size());
  ASSERT_EQ(r.event, ParseEvent::Head);
  EXPECT_TRUE(p.isInterim());
  r = p.feed(nullptr, 0);
  EXPECT_EQ(r.event, ParseEvent::NeedMore);
  EXPECT_EQ(p.onEof().event, ParseEvent::Error);

  // A message that is already complete.
  p.reset();
  in = "HTTP/1.1 204 No Content\r\n\r\n";
  r = p.feed(in.data(), in.size());
  ASSERT_EQ(r.event, ParseEvent::Head);
  r = p.onEof();
  EXPECT_EQ(r.event, ParseEvent::MessageComplete);
  EXPECT_TRUE(p.done());
}

TEST(ResponseParser, Malformed) {
  struct Row {
    std::string input;
    ParseError error;
  };
  using E = ParseError;
  std::vector<Row> rows = {
      {"HTTP/1.1 20 OK\r\n\r\n", E::BadStatusLine},
      {"HTTP/1.1 2000 OK\r\n\r\n", E::BadStatusLine},
      {"HTTP/1.1 099 Low\r\n\r\n", E::BadStatusLine},
      {"HTTP/1.1 0600 High\r\n\r\n", E::BadStatusLine},
      {"HTTP/2.0 200 OK\r\n\r\n", E::BadStatusLine},
      {"http/1.1 200 OK\r\n\r\n", E::BadStatusLine},
      {"HTTP/1.1  200 OK\r\n\r\n", E::BadStatusLine},
      {"HTTP/1.1 200 O\x01K\r\n\r\n", E::BadStatusLine},
      {"HTTP/1.1 200 OK\rX\r\n\r\n", E::BareCr},
      {"ICY 200 OK\r\n\r\n", E::BadStatusLine},
      {"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
       E::ContentLengthAndTransferEncoding},
      {"HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\n", E::ConflictingContentLength},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: b r\r\n\r\n", E::UnknownTransferEncoding},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked;x=1\r\n\r\n",
       E::UnknownTransferEncoding},
      {"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", E::TransferEncodingOnHttp10},
      {"HTTP/1.1 200 OK\r\nX: a\r\n  b\r\n\r\n", E::ObsFold},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcd", E::BadChunkData},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nHost: x\r\n\r\n", E::BadTrailer},
  };
  for (const Row& row : rows) {
    Outcome whole = feedResponse(row.input);
    EXPECT_EQ(whole.error, row.error) << row.input;
    Outcome bytes = feedResponse(row.input, everyByte(row.input.size()));
    EXPECT_EQ(bytes.text, whole.text) << row.input;
  }
}

// Parses one response whole, up to its Head.
struct ParsedResponse {
  http::ResponseHead head;
  ResponseParser parser{&head, ParserLimits{}};
  ParseResult result;
  explicit ParsedResponse(const std::string& in) { result = parser.feed(in.data(), in.size()); }
  std::vector<std::string> all(std::string_view name) const {
    std::vector<std::string> out;
    head.headers.forEach([&](std::string_view n, std::string_view v) {
      if (http::equalsIgnoreCase(n, name)) out.emplace_back(v);
    });
    return out;
  }
};

TEST(ResponseParser, StatusesUpTo999AreResponses) {
  for (const char* line : {"HTTP/1.1 600 Custom", "HTTP/1.1 799 X", "HTTP/1.1 999"}) {
    ParsedResponse p(std::string(line) + "\r\nContent-Length: 2\r\n\r\nok");
    ASSERT_EQ(p.result.event, ParseEvent::Head) << line;
    EXPECT_EQ(p.head.status, std::stoi(std::string(line).substr(9, 3)));
    EXPECT_EQ(p.parser.bodyKind(), BodyKind::ContentLength);
    EXPECT_EQ(http::statusClass(p.head.status), 5u);
  }
  EXPECT_EQ(http::statusClass(404), 4u);
  EXPECT_EQ(http::statusClass(101), 1u);
}

TEST(ContentLength, OneCanonicalFieldWhateverWasReceived) {
  for (const char* fields :
       {"Content-Length: 005\r\n", "Content-Length: 5\r\nContent-Length: 5\r\n",
        "Content-Length: 5 , 005\r\n", "Content-Length: 5\r\n"}) {
    ParsedResponse r(std::string("HTTP/1.1 200 OK\r\n") + fields + "\r\nhello");
    ASSERT_EQ(r.result.event, ParseEvent::Head) << fields;
    EXPECT_EQ(r.all("Content-Length"), std::vector<std::string>{"5"}) << fields;
    Parsed q(std::string("POST / HTTP/1.1\r\nHost: h\r\n") + fields + "\r\nhello");
    ASSERT_EQ(q.result.event, ParseEvent::Head) << fields;
    std::vector<std::string> got;
    q.head.headers.forEach([&](std::string_view n, std::string_view v) {
      if (http::equalsIgnoreCase(n, "Content-Length")) got.emplace_back(v);
    });
    EXPECT_EQ(got, std::vector<std::string>{"5"}) << fields;
  }
  ParsedResponse zero("HTTP/1.1 200 OK\r\nContent-Length: 000\r\n\r\n");
  EXPECT_EQ(zero.all("Content-Length"), std::vector<std::string>{"0"});
}

TEST(ResponseParser, TransferCodingsThatStayOnTheBody) {
  struct Row {
    std::string te;
    BodyKind kind;
    std::string codings;
  };
  for (const Row& row : std::vector<Row>{
           {"chunked", BodyKind::Chunked, ""},
           {"gzip, chunked", BodyKind::Chunked, "gzip"},
           {"gzip\r\nTransfer-Encoding: Chunked", BodyKind::Chunked, "gzip"},
           {"x-custom;level=1 ,  chunked", BodyKind::Chunked, "x-custom;level=1"},
           {"gzip", BodyKind::UntilClose, "gzip"},
           {"chunked, gzip", BodyKind::UntilClose, "chunked, gzip"},
           {"br", BodyKind::UntilClose, "br"},
       }) {
    ParsedResponse r("HTTP/1.1 200 OK\r\nTransfer-Encoding: " + row.te + "\r\n\r\n");
    ASSERT_EQ(r.result.event, ParseEvent::Head) << row.te;
    EXPECT_EQ(r.parser.bodyKind(), row.kind) << row.te;
    EXPECT_EQ(r.head.transfer_codings, row.codings) << row.te;
  }
  ParsedResponse r("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n");
  r.parser.reset();
  EXPECT_EQ(r.head.transfer_codings, "");
}

TEST(ResponseParser, InterimThenFinalReusesHead) {
  http::ResponseHead head;
  ResponseParser p(&head, ParserLimits{});
  p.setRequestMethod(http::Method::Post);
  std::string in =
      "HTTP/1.1 100 Continue\r\nX-Interim: 1\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0"
      "\r\n\r\n";
  ParseResult r = p.feed(in.data(), in.size());
  ASSERT_EQ(r.event, ParseEvent::Head);
  EXPECT_TRUE(p.isInterim());
  EXPECT_EQ(head.status, 100);
  EXPECT_TRUE(head.headers.has("X-Interim"));
  size_t off = r.consumed;
  r = p.feed(in.data() + off, in.size() - off);
  ASSERT_EQ(r.event, ParseEvent::Head);
  EXPECT_FALSE(p.isInterim());
  EXPECT_EQ(head.status, 201);
  EXPECT_FALSE(head.headers.has("X-Interim"));
  EXPECT_EQ(off + r.consumed, in.size());
  r = p.feed(nullptr, 0);
  EXPECT_EQ(r.event, ParseEvent::MessageComplete);
}

}  // namespace
}  // namespace portico::http1
