// ResponseHead -> HTTP/2 header block: lowercase names, :status first, connection-specific
// fields (and those Connection nominates) gone.

#include "http2/response_translation.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace portico::http2 {
namespace {

std::vector<std::pair<std::string, std::string>> pairs(const HeaderBlock& b) {
  std::vector<std::pair<std::string, std::string>> out;
  for (size_t i = 0; i < b.size(); ++i) {
    const nghttp2_nv& nv = b.data()[i];
    out.emplace_back(std::string(reinterpret_cast<const char*>(nv.name), nv.namelen),
                     std::string(reinterpret_cast<const char*>(nv.value), nv.valuelen));
  }
  return out;
}

TEST(ResponseTranslationTest, StatusFirstLowercaseNoConnectionFields) {
  http::HeaderMap h;
  h.add("Content-Type", "text/plain");
  h.add("Connection", "close, X-Hop");
  h.add("X-Hop", "1");
  h.add("Keep-Alive", "timeout=5");
  h.add("Transfer-Encoding", "chunked");
  h.add("Upgrade", "websocket");
  h.add("Proxy-Connection", "x");
  h.add("Set-Cookie", "a=1");
  h.add("Set-Cookie", "b=2");
  HeaderBlock b;
  b.buildResponse(404, h);
  using P = std::pair<std::string, std::string>;
  EXPECT_EQ(pairs(b), (std::vector<P>{{":status", "404"},
                                      {"content-type", "text/plain"},
                                      {"set-cookie", "a=1"},
                                      {"set-cookie", "b=2"}}));
}

TEST(ResponseTranslationTest, TrailersHaveNoStatusAndSurviveReuse) {
  http::HeaderMap t;
  t.add("Grpc-Status", "0");
  HeaderBlock b;
  b.buildResponse(200, t);
  b.buildTrailers(t);
  using P = std::pair<std::string, std::string>;
  EXPECT_EQ(pairs(b), (std::vector<P>{{"grpc-status", "0"}}));
  // Many fields: the pointers are taken after every byte is in place.
  http::HeaderMap many;
  for (int i = 0; i < 200; ++i) many.add("X-F" + std::to_string(i), std::string(50, 'v'));
  b.buildResponse(200, many);
  auto got = pairs(b);
  ASSERT_EQ(got.size(), 201u);
  EXPECT_EQ(got[200].first, "x-f199");
  EXPECT_EQ(got[200].second, std::string(50, 'v'));
}

}  // namespace
}  // namespace portico::http2
