#include "tls/ticket_keys.h"

#include <gtest/gtest.h>

#include "handshake.h"
#include "test_certs.h"
#include "tls/server_context.h"

namespace portico::tls {
namespace {

// Whether `session` resumes (null: a first connection); *fresh receives the session the client
// ended with.
bool resume(const ServerContext& server, int version, SSL_SESSION* session, SessionPtr* fresh) {
  SslCtxPtr client_ctx = testing::testClientContext();
  SSL_CTX_set_max_proto_version(client_ctx.get(), version);
  SslPtr client(SSL_new(client_ctx.get()));
  SslPtr ssl(server.newSsl());
  if (session != nullptr) SSL_set_session(client.get(), session);
  if (!testing::handshake(client.get(), ssl.get()).ok) return false;
  if (fresh != nullptr) fresh->reset(SSL_get1_session(client.get()));
  bool reused = SSL_session_reused(client.get()) == 1;
  testing::closeBoth(client.get(), ssl.get());
  return reused;
}

TEST(TicketKeysTest, OldTicketsResumeForTwoRotationsThenNot) {
  testing::TempDir dir;
  testing::CertSpec spec;
  spec.dns = {"tickets.test"};
  testing::Identity id = testing::makeCert(spec);
  ServerTlsConfig config;
  config.certificates.push_back({testing::writeCerts(dir.file("c.crt"), {id.cert.get()}),
                                 testing::writeKey(dir.file("c.key"), id.key.get())});
  config.session_cache = false;  // only tickets can resume
  auto server = ServerContext::build(config);
  ASSERT_TRUE(server.ok());
  for (int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    SCOPED_TRACE(version);
    SessionPtr original;
    ASSERT_FALSE(resume(**server, version, nullptr, &original));
    ASSERT_TRUE(original);
    TicketKeys::shared().rotate();
    SessionPtr renewed;
    EXPECT_TRUE(resume(**server, version, original.get(), &renewed));
    TicketKeys::shared().rotate();
    EXPECT_TRUE(resume(**server, version, original.get(), nullptr));
    TicketKeys::shared().rotate();
    EXPECT_FALSE(resume(**server, version, original.get(), nullptr));
    // Accepted under an older key, the ticket was renewed under the then current one, which
    // is still among the three.
    EXPECT_TRUE(resume(**server, version, renewed.get(), nullptr));
  }
}

}  // namespace
}  // namespace portico::tls
