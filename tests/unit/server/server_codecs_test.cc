// The registry of server codecs decides what a TLS listener may offer by ALPN: a protocol
// without a codec must not be found (server.cc refuses to start with it in tls.alpn).

#include <gtest/gtest.h>

#include "server/server_codecs.h"

namespace portico::server {
namespace {

TEST(ServerCodecsTest, HttpOneIsTheOnlyProtocolUntilHttp2Lands) {
  const http::ServerCodecRegistry& codecs = builtinServerCodecs();
  const http::ServerCodecFactory* h1 = codecs.find("http/1.1");
  ASSERT_NE(h1, nullptr);
  EXPECT_EQ(h1->protocol(), "http/1.1");
  EXPECT_EQ(codecs.find("h2"), nullptr);
  EXPECT_EQ(codecs.find(""), nullptr);
}

}  // namespace
}  // namespace portico::server
