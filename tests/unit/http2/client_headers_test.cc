#include "http2/client_headers.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace portico::http2 {
namespace {

std::vector<std::pair<std::string, std::string>> fields(HeaderList& list) {
  std::vector<std::pair<std::string, std::string>> out;
  nghttp2_nv* nv = list.data();
  for (size_t i = 0; i < list.size(); ++i) {
    out.emplace_back(std::string(reinterpret_cast<char*>(nv[i].name), nv[i].namelen),
                     std::string(reinterpret_cast<char*>(nv[i].value), nv[i].valuelen));
  }
  return out;
}

TEST(Http2ClientHeadersTest, RequestHeadBecomesPseudoHeadersAndLowerCaseFields) {
  http::RequestHead head;
  head.method_text = "POST";
  head.path = "/a/b";
  head.query = "x=1";
  head.headers.add("Host", "app.test:8443");
  head.headers.add("X-Custom", "yes");
  head.headers.add("Connection", "keep-alive, X-Hop");
  head.headers.add("X-Hop", "1");
  head.headers.add("Keep-Alive", "timeout=5");
  head.headers.add("Transfer-Encoding", "chunked");
  head.headers.add("Upgrade", "websocket");
  HeaderList list;
  requestHeaderList(head, "https", &list);
  std::vector<std::pair<std::string, std::string>> expected = {
      {":method", "POST"},   {":scheme", "https"}, {":authority", "app.test:8443"},
      {":path", "/a/b?x=1"}, {"x-custom", "yes"},  {"te", "trailers"}};
  EXPECT_EQ(fields(list), expected);
}

TEST(Http2ClientHeadersTest, TeOtherThanTrailersIsDropped) {
  http::RequestHead head;
  head.method_text = "GET";
  head.path = "/";
  head.authority = "fallback.test";
  head.headers.add("TE", "gzip");
  HeaderList list;
  requestHeaderList(head, "http", &list);
  auto f = fields(list);
  EXPECT_EQ(f[2], std::make_pair(std::string(":authority"), std::string("fallback.test")));
  EXPECT_EQ(f.back(), std::make_pair(std::string("te"), std::string("trailers")));
  EXPECT_EQ(f.size(), 5u);
}

class ResponseReaderTest : public ::testing::Test {
 protected:
  // Feeds one block; the error text, or "" if it was accepted.
  std::string read(const std::vector<std::pair<std::string, std::string>>& block,
                   bool trailers = false) {
    reader_.begin(trailers);
    for (const auto& [name, value] : block) {
      if (!reader_.add(name, value, &head_, &trailers_)) return reader_.error();
    }
    return reader_.finish() ? "" : reader_.error();
  }
  ResponseHeaderReader reader_;
  http::ResponseHead head_;
  http::HeaderMap trailers_;
};

TEST_F(ResponseReaderTest, WellFormedHead) {
  EXPECT_EQ(read({{":status", "204"}, {"server", "x"}}), "");
  EXPECT_EQ(head_.status, 204);
  EXPECT_EQ(head_.headers.get("server"), "x");
}

TEST_F(ResponseReaderTest, MalformedBlocksAreRefused) {
  EXPECT_EQ(read({{"server", "x"}}), "response without :status");
  EXPECT_EQ(read({{":status", "20"}}), "invalid :status");
  EXPECT_EQ(read({{":status", "200"}, {":status", "200"}}), "repeated :status");
  EXPECT_EQ(read({{":status", "200"}, {":path", "/"}}), "unknown response pseudo-header :path");
  EXPECT_EQ(read({{"server", "x"}, {":status", "200"}}),
            "pseudo-header after a regular response field");
  EXPECT_EQ(read({{":status", "200"}, {"Server", "x"}}), "invalid response field name");
  EXPECT_EQ(read({{":status", "200"}, {"x", "a\r\nb"}}), "invalid value in response field x");
  EXPECT_EQ(read({{":status", "200"}, {"x", std::string("a\0b", 3)}}),
            "invalid value in response field x");
  EXPECT_EQ(read({{":status", "200"}, {"transfer-encoding", "chunked"}}),
            "connection-specific field transfer-encoding in an HTTP/2 response");
  EXPECT_EQ(read({{":status", "200"}}, /*trailers=*/true), "pseudo-header in response trailers");
}

TEST_F(ResponseReaderTest, TrailersGoToTheirOwnMap) {
  EXPECT_EQ(read({{"grpc-status", "0"}}, /*trailers=*/true), "");
  EXPECT_EQ(trailers_.get("grpc-status"), "0");
}

}  // namespace
}  // namespace portico::http2
