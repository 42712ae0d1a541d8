// The h2 -> h1 translation, field by field: what becomes the RequestHead, and every rule
// that makes a request malformed (RFC 9113 8.2, 8.3).

#include "http2/request_translation.h"

#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace portico::http2 {
namespace {

using Fields = std::vector<std::pair<std::string, std::string>>;

Fields basic(const std::string& path = "/a?b=c") {
  return {{":method", "GET"}, {":scheme", "https"}, {":path", path}, {":authority", "ex.com"}};
}

struct Built {
  bool ok = false;
  const char* why = nullptr;
  bool too_large = false;
  http::RequestHead head;
};

Built build(const Fields& fields, bool end_stream = true,
            RequestBuilder::Limits limits = RequestBuilder::Limits{}) {
  Built b;
  RequestBuilder builder;
  builder.reset(&b.head, limits);
  b.ok = true;
  for (const auto& [n, v] : fields) {
    if (!builder.addField(n, v)) {
      b.ok = false;
      break;
    }
  }
  if (b.ok) b.ok = builder.finish(end_stream);
  b.why = builder.why();
  b.too_large = builder.tooLarge();
  return b;
}

TEST(RequestTranslationTest, WellFormedRequestBecomesAHead) {
  Fields f = basic();
  f.push_back({"accept", "*/*"});
  f.push_back({"cookie", "a=1"});
  f.push_back({"te", "trailers"});
  f.push_back({"cookie", "b=2"});
  Built b = build(f);
  ASSERT_TRUE(b.ok) << b.why;
  EXPECT_EQ(b.head.method, http::Method::Get);
  EXPECT_EQ(b.head.method_text, "GET");
  EXPECT_EQ(b.head.target, "/a?b=c");
  EXPECT_EQ(b.head.path, "/a");
  EXPECT_EQ(b.head.query, "b=c");
  EXPECT_EQ(b.head.authority, "ex.com");
  EXPECT_EQ(b.head.version, (http::Version{2, 0}));
  EXPECT_EQ(b.head.headers.get("accept"), "*/*");
  EXPECT_EQ(b.head.headers.get("te"), "trailers");
  // RFC 9113 8.2.3: crumbs joined into one field for HTTP/1.
  EXPECT_EQ(b.head.headers.count("cookie"), 1u);
  EXPECT_EQ(b.head.headers.get("cookie"), "a=1; b=2");
  // No pseudo-header leaks into the fields.
  b.head.headers.forEach([](std::string_view n, std::string_view) { EXPECT_NE(n[0], ':'); });
}

TEST(RequestTranslationTest, AuthorityAndHost) {
  // Only Host: it is the authority.
  Built b = build({{":method", "GET"}, {":scheme", "http"}, {":path", "/"}, {"host", "h.com"}});
  ASSERT_TRUE(b.ok) << b.why;
  EXPECT_EQ(b.head.authority, "h.com");
  // Both and equal (case aside): fine, one authority.
  Fields same = basic();
  same.push_back({"host", "EX.com"});
  EXPECT_TRUE(build(same).ok);
  // Both and different: malformed.
  Fields differ = basic();
  differ.push_back({"host", "other.com"});
  Built d = build(differ);
  EXPECT_FALSE(d.ok);
  EXPECT_STREQ(d.why, ":authority and Host differ");
}

TEST(RequestTranslationTest, ConnectNamesOnlyAnAuthority) {
  Built ok = build({{":method", "CONNECT"}, {":authority", "db:5432"}}, false);
  ASSERT_TRUE(ok.ok) << ok.why;
  EXPECT_EQ(ok.head.target, "db:5432");
  EXPECT_FALSE(build({{":method", "CONNECT"}, {":authority", "db:5432"}, {":path", "/"}}).ok);
  EXPECT_FALSE(build({{":method", "CONNECT"}}).ok);
}

// RFC 8441 4: an extended CONNECT carries :protocol and, unlike a plain CONNECT, :scheme
// and :path too.
TEST(RequestTranslationTest, ExtendedConnectHasProtocolSchemeAndPath) {
  Fields f = {{":method", "CONNECT"},
              {":protocol", "websocket"},
              {":scheme", "https"},
              {":path", "/chat?room=1"},
              {":authority", "ex.com"}};
  RequestBuilder builder;
  http::RequestHead head;
  builder.reset(&head, RequestBuilder::Limits{});
  for (const auto& [n, v] : f) ASSERT_TRUE(builder.addField(n, v));
  ASSERT_TRUE(builder.finish(false)) << builder.why();
  EXPECT_EQ(builder.protocol(), "websocket");
  EXPECT_EQ(head.path, "/chat");
  EXPECT_EQ(head.query, "room=1");
  EXPECT_EQ(head.authority, "ex.com");

  Fields no_path = {{":method", "CONNECT"},
                    {":protocol", "websocket"},
                    {":scheme", "https"},
                    {":authority", "ex.com"}};
  EXPECT_FALSE(build(no_path, false).ok);
  Fields no_authority = {
      {":method", "CONNECT"}, {":protocol", "websocket"}, {":scheme", "https"}, {":path", "/"}};
  EXPECT_FALSE(build(no_authority, false).ok);
  Fields not_connect = basic();
  not_connect.insert(not_connect.begin() + 1, {":protocol", "websocket"});
  EXPECT_FALSE(build(not_connect).ok);
  Fields twice = f;
  twice.insert(twice.begin() + 1, {":protocol", "websocket"});
  EXPECT_FALSE(build(twice, false).ok);
}

TEST(RequestTranslationTest, OptionsAsteriskOnly) {
  Fields f = basic("*");
  f[0].second = "OPTIONS";
  EXPECT_TRUE(build(f).ok);
  EXPECT_FALSE(build(basic("*")).ok);
}

struct Malformed {
  const char* name;
  Fields fields;
  bool end_stream;
};

// gtest would print the struct's raw bytes (padding included) otherwise.
void PrintTo(const Malformed& m, std::ostream* os) {
  *os << m.name;
}

class MalformedTest : public ::testing::TestWithParam<Malformed> {};

TEST_P(MalformedTest, IsRefused) {
  Built b = build(GetParam().fields, GetParam().end_stream);
  EXPECT_FALSE(b.ok) << GetParam().name;
  EXPECT_NE(b.why, nullptr);
}

Fields plus(Fields f, std::string n, std::string v) {
  f.push_back({std::move(n), std::move(v)});
  return f;
}

INSTANTIATE_TEST_SUITE_P(
    Rules, MalformedTest,
    ::testing::Values(
        Malformed{"uppercase", plus(basic(), "X-A", "1"), true},
        Malformed{"cr", plus(basic(), "x-a", "a\rb"), true},
        Malformed{"lf", plus(basic(), "x-a", "a\nb"), true},
        Malformed{"nul", plus(basic(), "x-a", std::string("a\0b", 3)), true},
        Malformed{"space-name", plus(basic(), "x a", "1"), true},
        Malformed{"empty-name", plus(basic(), "", "1"), true},
        Malformed{"outer-space", plus(basic(), "x-a", "v "), true},
        Malformed{"connection", plus(basic(), "connection", "close"), true},
        Malformed{"keep-alive", plus(basic(), "keep-alive", "1"), true},
        Malformed{"proxy-connection", plus(basic(), "proxy-connection", "x"), true},
        Malformed{"transfer-encoding", plus(basic(), "transfer-encoding", "chunked"), true},
        Malformed{"upgrade", plus(basic(), "upgrade", "h2c"), true},
        Malformed{"te", plus(basic(), "te", "gzip"), true},
        Malformed{"unknown-pseudo", plus(basic(), ":foo", "1"), true},
        Malformed{"status", plus(basic(), ":status", "200"), true},
        Malformed{"duplicate", plus(basic(), ":path", "/x"), true},
        Malformed{"after-regular",
                  Fields{{":method", "GET"}, {"x-a", "1"}, {":scheme", "http"}, {":path", "/"}},
                  true},
        Malformed{"no-method", Fields{{":scheme", "http"}, {":path", "/"}}, true},
        Malformed{"no-scheme", Fields{{":method", "GET"}, {":path", "/"}}, true},
        Malformed{"no-path", Fields{{":method", "GET"}, {":scheme", "http"}}, true},
        Malformed{"empty-path", basic(""), true}, Malformed{"relative-path", basic("a/b"), true},
        Malformed{"fragment", basic("/a#b"), true},
        Malformed{"bad-length", plus(basic(), "content-length", "1x"), false},
        Malformed{"two-lengths", plus(plus(basic(), "content-length", "1"), "content-length", "2"),
                  false},
        Malformed{"length-without-body", plus(basic(), "content-length", "5"), true},
        Malformed{
            "empty-authority",
            Fields{{":method", "GET"}, {":scheme", "http"}, {":path", "/"}, {":authority", ""}},
            true}),
    [](const ::testing::TestParamInfo<Malformed>& param) {
      std::string n = param.param.name;
      for (char& c : n)
        if (c == '-') c = '_';
      return n;
    });

TEST(RequestTranslationTest, TooLargeIsNotMalformed) {
  RequestBuilder::Limits limits;
  limits.max_list_size = 200;
  Fields f = basic();
  f.push_back({"x-big", std::string(300, 'a')});
  Built b = build(f, true, limits);
  EXPECT_TRUE(b.ok);
  EXPECT_TRUE(b.too_large);
  limits = {};
  limits.max_fields = 5;
  f = basic();
  for (int i = 0; i < 3; ++i) f.push_back({"x-" + std::to_string(i), "v"});
  EXPECT_TRUE(build(f, true, limits).too_large);
}

TEST(RequestTranslationTest, TrailersRefusePseudoAndConnectionFields) {
  http::HeaderMap t;
  const char* why = nullptr;
  EXPECT_TRUE(addTrailerField(t, "grpc-status", "0", &why));
  EXPECT_FALSE(addTrailerField(t, ":path", "/", &why));
  EXPECT_FALSE(addTrailerField(t, "connection", "close", &why));
  EXPECT_FALSE(addTrailerField(t, "X-Up", "1", &why));
  EXPECT_EQ(t.size(), 1u);
}

}  // namespace
}  // namespace portico::http2
