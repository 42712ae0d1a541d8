// Client certificates (mTLS) through a real ServerContext: required and optional modes, CRLs,
// the policy chosen by SNI name, resumption, and load-time errors.

#include "tls/client_auth.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/pem.h>

#include "handshake.h"
#include "test_certs.h"
#include "tls/server_context.h"
#include "tls/tls_transport.h"

namespace portico::tls {
namespace {

using testing::CertSpec;
using ::testing::HasSubstr;
using testing::Identity;

struct Client {
  const Identity* cert = nullptr;  // null: no client certificate
  std::string sni;
  int max_version = TLS1_3_VERSION;
  SSL_SESSION* session = nullptr;
};

struct Outcome {
  bool ok = false;
  bool reused = false;
  std::optional<net::PeerCertificate> peer;  // what the server's transport reports
  SessionPtr session;
};

class ClientAuthTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    CertSpec ca_spec;
    ca_spec.cn = "Clients CA";
    ca_spec.is_ca = true;
    ca_ = new Identity(testing::makeCert(ca_spec, nullptr, 1));
    CertSpec other_spec = ca_spec;
    other_spec.cn = "Other CA";
    other_ca_ = new Identity(testing::makeCert(other_spec, nullptr, 2));

    CertSpec client;
    client.cn = "alice";
    client.dns = {"alice.clients.test"};
    alice_ = new Identity(testing::makeCert(client, ca_));
    client.cn = "mallory";
    revoked_ = new Identity(testing::makeCert(client, ca_));
    client.cn = "stranger";
    stranger_ = new Identity(testing::makeCert(client, other_ca_));
    client.cn = "late";
    client.valid_from_s = -7200;
    client.valid_until_s = -60;
    expired_ = new Identity(testing::makeCert(client, ca_));

    for (const char* site : {"a", "b"}) {
      CertSpec spec;
      spec.dns = {std::string(site) + ".test"};
      Identity id = testing::makeCert(spec);
      testing::writeCerts(dir_->file(std::string(site) + ".crt"), {id.cert.get()});
      testing::writeKey(dir_->file(std::string(site) + ".key"), id.key.get());
    }
    testing::writeCerts(dir_->file("ca.pem"), {ca_->cert.get()});
    writeCrl(dir_->file("crl.pem"), *ca_, {revoked_->cert.get()}, 24 * 3600);
    writeCrl(dir_->file("stale-crl.pem"), *ca_, {}, -60);
    writeCrl(dir_->file("other-crl.pem"), *other_ca_, {}, 24 * 3600);
  }
  static void TearDownTestSuite() {
    for (Identity* id : {ca_, other_ca_, alice_, revoked_, stranger_, expired_}) delete id;
    delete dir_;
  }

  static void writeCrl(const std::string& path, const Identity& issuer,
                       const std::vector<X509*>& revoked, long next_update_s) {
    X509_CRL* crl = X509_CRL_new();
    X509_CRL_set_version(crl, 1);
    X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer.cert.get()));
    ASN1_TIME* last = X509_gmtime_adj(nullptr, -3600);
    ASN1_TIME* next = X509_gmtime_adj(nullptr, next_update_s);
    X509_CRL_set1_lastUpdate(crl, last);
    X509_CRL_set1_nextUpdate(crl, next);
    for (X509* cert : revoked) {
      X509_REVOKED* entry = X509_REVOKED_new();
      X509_REVOKED_set_serialNumber(entry, X509_get_serialNumber(cert));
      X509_REVOKED_set_revocationDate(entry, last);
      X509_CRL_add0_revoked(crl, entry);
    }
    X509_CRL_sort(crl);
    X509_CRL_sign(crl, issuer.key.get(), EVP_sha256());
    FILE* f = std::fopen(path.c_str(), "w");
    PEM_write_X509_CRL(f, crl);
    std::fclose(f);
    ASN1_TIME_free(last);
    ASN1_TIME_free(next);
    X509_CRL_free(crl);
  }

  static ClientAuthConfig auth(ClientAuthMode mode, bool with_crl = true) {
    ClientAuthConfig config;
    config.mode = mode;
    config.ca = dir_->file("ca.pem");
    if (with_crl) config.crl = dir_->file("crl.pem");
    return config;
  }

  // a.test (the default) and b.test, with `listener` for both unless an entry overrides it.
  static ServerTlsConfig config(std::optional<ClientAuthConfig> listener,
                                std::optional<ClientAuthConfig> a = std::nullopt,
                                std::optional<ClientAuthConfig> b = std::nullopt) {
    ServerTlsConfig c;
    c.certificates.push_back(
        {.cert = dir_->file("a.crt"), .key = dir_->file("a.key"), .client_auth = a});
    c.certificates.push_back(
        {.cert = dir_->file("b.crt"), .key = dir_->file("b.key"), .client_auth = b});
    c.client_auth = std::move(listener);
    return c;
  }

  static std::shared_ptr<ServerContext> build(const ServerTlsConfig& c) {
    std::string key;
    auto built = ServerContext::build(c, &key);
    EXPECT_TRUE(built.ok()) << key << ": " << (built.ok() ? "" : built.error().detail);
    return built.ok() ? *built : nullptr;
  }

  static Outcome connect(const ServerContext& server, const Client& options) {
    SslCtxPtr client_ctx = testing::testClientContext();
    SSL_CTX_set_max_proto_version(client_ctx.get(), options.max_version);
    SslPtr client(SSL_new(client_ctx.get()));
    if (options.cert != nullptr) {
      SSL_use_certificate(client.get(), options.cert->cert.get());
      SSL_use_PrivateKey(client.get(), options.cert->key.get());
    }
    if (!options.sni.empty()) SSL_set_tlsext_host_name(client.get(), options.sni.c_str());
    if (options.session != nullptr) SSL_set_session(client.get(), options.session);
    SSL* ssl = server.newSsl();
    TlsTransport transport(ssl);  // owns it; reports the peer certificate as Portico sees it
    testing::HandshakeResult hs = testing::handshake(client.get(), ssl);
    Outcome out;
    out.ok = hs.ok;
    if (!hs.ok) return out;
    out.reused = SSL_session_reused(ssl) == 1;
    out.peer = transport.peerCertificate();
    out.session.reset(SSL_get1_session(client.get()));
    testing::closeBoth(client.get(), ssl);
    return out;
  }

  static testing::TempDir* dir_;
  static Identity* ca_;
  static Identity* other_ca_;
  static Identity* alice_;
  static Identity* revoked_;
  static Identity* stranger_;
  static Identity* expired_;
};

testing::TempDir* ClientAuthTest::dir_ = nullptr;
Identity* ClientAuthTest::ca_ = nullptr;
Identity* ClientAuthTest::other_ca_ = nullptr;
Identity* ClientAuthTest::alice_ = nullptr;
Identity* ClientAuthTest::revoked_ = nullptr;
Identity* ClientAuthTest::stranger_ = nullptr;
Identity* ClientAuthTest::expired_ = nullptr;

TEST_F(ClientAuthTest, RequiredAcceptsOnlyAValidUnrevokedCertificate) {
  auto server = build(config(auth(ClientAuthMode::Required)));
  for (int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    Outcome good = connect(*server, {.cert = alice_, .sni = "a.test", .max_version = version});
    ASSERT_TRUE(good.ok) << version;
    ASSERT_TRUE(good.peer) << version;
    EXPECT_TRUE(good.peer->verified);
    EXPECT_EQ(good.peer->subject, "CN=alice");
    EXPECT_EQ(good.peer->sans, std::vector<std::string>{"DNS:alice.clients.test"});
    EXPECT_EQ(good.peer->sha256_fingerprint.size(), 64u);
    EXPECT_FALSE(connect(*server, {.sni = "a.test", .max_version = version}).ok) << version;
    EXPECT_FALSE(connect(*server, {.cert = revoked_, .max_version = version}).ok) << version;
    EXPECT_FALSE(connect(*server, {.cert = stranger_, .max_version = version}).ok) << version;
    EXPECT_FALSE(connect(*server, {.cert = expired_, .max_version = version}).ok) << version;
    // b.test shares the listener's policy (and its trust store).
    EXPECT_TRUE(connect(*server, {.cert = alice_, .sni = "b.test", .max_version = version}).ok);
    EXPECT_FALSE(connect(*server, {.sni = "b.test", .max_version = version}).ok);
    EXPECT_FALSE(connect(*server, {.cert = revoked_, .sni = "b.test", .max_version = version}).ok);
  }
}

TEST_F(ClientAuthTest, WithoutACrlARevokedCertificateIsNotRecognised) {
  auto server = build(config(auth(ClientAuthMode::Required, /*with_crl=*/false)));
  EXPECT_TRUE(connect(*server, {.cert = revoked_}).ok);
}

TEST_F(ClientAuthTest, OptionalLetsEveryoneInButVerifiesOnlyGoodCertificates) {
  auto server = build(config(auth(ClientAuthMode::Optional)));
  for (int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    Outcome none = connect(*server, {.max_version = version});
    ASSERT_TRUE(none.ok);
    EXPECT_FALSE(none.peer);
    for (const Identity* bad : {revoked_, stranger_, expired_}) {
      Outcome presented = connect(*server, {.cert = bad, .max_version = version});
      ASSERT_TRUE(presented.ok) << version;
      ASSERT_TRUE(presented.peer);
      EXPECT_FALSE(presented.peer->verified) << presented.peer->subject << " " << version;
    }
    Outcome good = connect(*server, {.cert = alice_, .max_version = version});
    ASSERT_TRUE(good.ok && good.peer);
    EXPECT_TRUE(good.peer->verified);
  }
}

TEST_F(ClientAuthTest, ThePolicyFollowsTheServerName) {
  // a.test (also the default: no SNI) requires a certificate; b.test asks for none.
  auto server = build(config(std::nullopt, auth(ClientAuthMode::Required)));
  EXPECT_FALSE(connect(*server, {.sni = "a.test"}).ok);
  EXPECT_FALSE(connect(*server, {}).ok);
  EXPECT_TRUE(connect(*server, {.cert = alice_, .sni = "a.test"}).ok);
  Outcome b = connect(*server, {.sni = "b.test"});
  EXPECT_TRUE(b.ok);
  EXPECT_FALSE(b.peer);
  // A certificate sent unasked is not even requested, so there is none to report.
  Outcome b_with = connect(*server, {.cert = alice_, .sni = "b.test"});
  EXPECT_TRUE(b_with.ok);
  EXPECT_FALSE(b_with.peer);

  // The listener requires, and b.test's entry turns it off.
  ClientAuthConfig off;
  off.mode = ClientAuthMode::Off;
  auto except_b = build(config(auth(ClientAuthMode::Required), std::nullopt, off));
  EXPECT_FALSE(connect(*except_b, {.sni = "a.test"}).ok);
  EXPECT_TRUE(connect(*except_b, {.sni = "b.test"}).ok);
}

TEST_F(ClientAuthTest, AResumedSessionKeepsTheVerifiedCertificate) {
  auto server = build(config(auth(ClientAuthMode::Required)));
  for (int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    Outcome first = connect(*server, {.cert = alice_, .sni = "a.test", .max_version = version});
    ASSERT_TRUE(first.ok && first.session) << version;
    // No certificate this time: resumption alone must carry the identity.
    Outcome again =
        connect(*server, {.sni = "a.test", .max_version = version, .session = first.session.get()});
    ASSERT_TRUE(again.ok) << version;
    EXPECT_TRUE(again.reused) << version;
    ASSERT_TRUE(again.peer) << version;
    EXPECT_TRUE(again.peer->verified);
    EXPECT_EQ(again.peer->sha256_fingerprint, first.peer->sha256_fingerprint);
  }
}

TEST_F(ClientAuthTest, ASessionNeverResumesAcrossClientCertificatePolicies) {
  // Optional without a certificate, then the same names with required: no resumption, so the
  // client must show a certificate.
  auto optional = build(config(auth(ClientAuthMode::Optional)));
  auto required = build(config(auth(ClientAuthMode::Required)));
  auto plain = build(config(std::nullopt));
  for (int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    Outcome first = connect(*optional, {.sni = "a.test", .max_version = version});
    ASSERT_TRUE(first.ok && first.session);
    EXPECT_FALSE(connect(*required,
                         {.sni = "a.test", .max_version = version, .session = first.session.get()})
                     .ok)
        << version;
    Outcome from_plain = connect(*plain, {.sni = "a.test", .max_version = version});
    ASSERT_TRUE(from_plain.ok && from_plain.session);
    EXPECT_FALSE(
        connect(*required,
                {.sni = "a.test", .max_version = version, .session = from_plain.session.get()})
            .ok)
        << version;
    // The same policy rebuilt (a certificate reload) still resumes.
    auto required_again = build(config(auth(ClientAuthMode::Required)));
    Outcome good = connect(*required, {.cert = alice_, .sni = "a.test", .max_version = version});
    ASSERT_TRUE(good.ok && good.session);
    EXPECT_TRUE(connect(*required_again,
                        {.sni = "a.test", .max_version = version, .session = good.session.get()})
                    .reused)
        << version;
  }
}

TEST_F(ClientAuthTest, EveryNameHasThePolicyItsHandshakeApplies) {
  auto uniform = build(config(auth(ClientAuthMode::Required)));
  EXPECT_TRUE(uniform->clientAuthNames()->uniform());
  EXPECT_TRUE(build(config(std::nullopt))->clientAuthNames()->uniform());

  // a.test (the default) requires, b.test asks for nothing.
  auto mixed = build(config(std::nullopt, auth(ClientAuthMode::Required)));
  const ClientAuthNames& names = *mixed->clientAuthNames();
  EXPECT_FALSE(names.uniform());
  EXPECT_EQ(names.policyOf("b.test"), 0);
  EXPECT_NE(names.policyOf("a.test"), 0);
  EXPECT_EQ(names.policyOf("A.TEST."), names.policyOf("a.test"));
  EXPECT_EQ(names.policyOf(""), names.policyOf("a.test"));  // no SNI: the default's
  EXPECT_EQ(names.policyOf("127.0.0.1"), names.policyOf("a.test"));
  // The same configuration for both names is one policy.
  auto same =
      build(config(std::nullopt, auth(ClientAuthMode::Required), auth(ClientAuthMode::Required)));
  EXPECT_TRUE(same->clientAuthNames()->uniform());
  auto other =
      build(config(std::nullopt, auth(ClientAuthMode::Required), auth(ClientAuthMode::Optional)));
  EXPECT_NE(other->clientAuthNames()->policyOf("a.test"),
            other->clientAuthNames()->policyOf("b.test"));
}

// Build errors: the message names the file, the key is where it was configured.
TEST_F(ClientAuthTest, LoadErrorsNameTheKey) {
  auto expectError = [](const ServerTlsConfig& c, const std::string& key, const std::string& part) {
    std::string error_key;
    auto built = ServerContext::build(c, &error_key);
    ASSERT_FALSE(built.ok()) << key;
    EXPECT_EQ(error_key, key);
    EXPECT_THAT(built.error().detail, HasSubstr(part));
  };
  ClientAuthConfig missing = auth(ClientAuthMode::Required);
  missing.ca = dir_->file("nope.pem");
  expectError(config(missing), "client_auth.ca", "cannot read");
  ClientAuthConfig not_pem = auth(ClientAuthMode::Required);
  not_pem.ca = dir_->file("a.key");
  expectError(config(std::nullopt, std::nullopt, not_pem), "certificates[1].client_auth.ca",
              "no PEM certificate");
  ClientAuthConfig no_crl = auth(ClientAuthMode::Required);
  no_crl.crl = dir_->file("ca.pem");
  expectError(config(no_crl), "client_auth.crl", "no PEM CRL");
  ClientAuthConfig foreign = auth(ClientAuthMode::Required);
  foreign.crl = dir_->file("other-crl.pem");
  expectError(config(foreign), "client_auth.crl", "was not signed by a CA");
  ClientAuthConfig stale = auth(ClientAuthMode::Required);
  stale.crl = dir_->file("stale-crl.pem");
  expectError(config(stale), "client_auth.crl", "expired");
  // Two certificates for the same names share one context, so one policy.
  ServerTlsConfig twice;
  twice.certificates.push_back({dir_->file("a.crt"), dir_->file("a.key")});
  CertSpec rsa;
  rsa.dns = {"a.test"};
  rsa.key_type = testing::KeyType::Rsa;
  Identity a_rsa = testing::makeCert(rsa);
  testing::writeCerts(dir_->file("a-rsa.crt"), {a_rsa.cert.get()});
  testing::writeKey(dir_->file("a-rsa.key"), a_rsa.key.get());
  twice.certificates.push_back({.cert = dir_->file("a-rsa.crt"),
                                .key = dir_->file("a-rsa.key"),
                                .client_auth = auth(ClientAuthMode::Required)});
  expectError(twice, "certificates[1].client_auth", "another client_auth");
}

}  // namespace
}  // namespace portico::tls
