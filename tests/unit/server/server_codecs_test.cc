// The registry of server codecs decides what a TLS listener may offer by ALPN: a protocol
// without a codec must not be found (server.cc refuses to start with it in tls.alpn).

#include <gtest/gtest.h>

#include "server/server_codecs.h"

namespace portico::server {
namespace {

TEST(ServerCodecsTest, HttpOneHttp2AndPriorKnowledge) {
  const http::ServerCodecRegistry& codecs = builtinServerCodecs();
  const http::ServerCodecFactory* h1 = codecs.find("http/1.1");
  ASSERT_NE(h1, nullptr);
  EXPECT_EQ(h1->protocol(), "http/1.1");
  const http::ServerCodecFactory* h2 = codecs.find("h2");
  ASSERT_NE(h2, nullptr);
  EXPECT_EQ(h2->protocol(), "h2");
  // Plain-text listeners' default: HTTP/2 by preface, else HTTP/1.1.
  ASSERT_NE(codecs.find("h2c"), nullptr);
  EXPECT_EQ(codecs.find("h3"), nullptr);
  EXPECT_EQ(codecs.find(""), nullptr);
}

}  // namespace
}  // namespace portico::server
