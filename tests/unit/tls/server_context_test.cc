#include "tls/server_context.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/err.h>

#include "handshake.h"
#include "test_certs.h"
#include "tls/pem_files.h"

namespace portico::tls {
namespace {

using testing::CertSpec;
using ::testing::Contains;
using ::testing::HasSubstr;
using testing::KeyType;

struct ClientOptions {
  std::string sni;
  std::string sigalgs;  // empty: OpenSSL's default list
  std::string alpn;     // wire format
  int max_version = TLS1_3_VERSION;
  SSL_SESSION* session = nullptr;
};

struct Outcome {
  bool ok = false;
  unsigned long server_error = 0;
  std::vector<std::string> names;  // of the certificate the client got
  int key_type = 0;                // EVP_PKEY_EC, EVP_PKEY_RSA
  std::string alpn;
  bool reused = false;
  SessionPtr session;
};

class ServerContextTest : public ::testing::Test {
 public:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    certificate("default", {"default.test"}, KeyType::Ecdsa);
    certificate("a-rsa", {"a.test", "www.a.test"}, KeyType::Rsa);
    certificate("a-ec", {"www.a.test", "a.test"}, KeyType::Ecdsa);
    certificate("wild", {"*.wild.test"}, KeyType::Ecdsa);
  }
  static void TearDownTestSuite() { delete dir_; }

  static void certificate(const std::string& name, std::vector<std::string> dns, KeyType type) {
    CertSpec spec;
    spec.dns = std::move(dns);
    spec.key_type = type;
    testing::Identity id = testing::makeCert(spec);
    testing::writeCerts(dir_->file(name + ".crt"), {id.cert.get()});
    testing::writeKey(dir_->file(name + ".key"), id.key.get());
  }
  static CertificateFiles files(const std::string& name) {
    return {dir_->file(name + ".crt"), dir_->file(name + ".key")};
  }

  static ServerTlsConfig fullConfig() {
    ServerTlsConfig config;
    for (const char* name : {"default", "a-rsa", "a-ec", "wild"}) {
      config.certificates.push_back(files(name));
    }
    return config;
  }

  static std::shared_ptr<ServerContext> build(const ServerTlsConfig& config) {
    std::string key;
    auto built = ServerContext::build(config, &key);
    EXPECT_TRUE(built.ok()) << key << ": " << (built.ok() ? "" : built.error().detail);
    return built.ok() ? *built : nullptr;
  }

  static Outcome connect(const ServerContext& server, const ClientOptions& options) {
    SslCtxPtr client_ctx = testing::testClientContext();
    SSL_CTX_set_max_proto_version(client_ctx.get(), options.max_version);
    if (options.max_version < TLS1_2_VERSION) {
      // The client must really offer the old version for the server to be the one refusing.
      SSL_CTX_set_security_level(client_ctx.get(), 0);
      SSL_CTX_set_cipher_list(client_ctx.get(), "DEFAULT:@SECLEVEL=0");
    }
    SslPtr client(SSL_new(client_ctx.get()));
    SslPtr ssl(server.newSsl());
    if (!options.sni.empty()) SSL_set_tlsext_host_name(client.get(), options.sni.c_str());
    if (!options.sigalgs.empty()) SSL_set1_sigalgs_list(client.get(), options.sigalgs.c_str());
    if (!options.alpn.empty()) {
      SSL_set_alpn_protos(client.get(), reinterpret_cast<const unsigned char*>(options.alpn.data()),
                          static_cast<unsigned int>(options.alpn.size()));
    }
    if (options.session != nullptr) SSL_set_session(client.get(), options.session);
    testing::HandshakeResult hs = testing::handshake(client.get(), ssl.get());
    Outcome out;
    out.ok = hs.ok;
    out.server_error = hs.server_error;
    if (!hs.ok) return out;
    X509* peer = SSL_get0_peer_certificate(client.get());
    out.names = certificateNames(peer);
    out.key_type = EVP_PKEY_get_base_id(X509_get0_pubkey(peer));
    const unsigned char* proto = nullptr;
    unsigned int proto_len = 0;
    SSL_get0_alpn_selected(client.get(), &proto, &proto_len);
    out.alpn.assign(reinterpret_cast<const char*>(proto), proto_len);
    out.reused = SSL_session_reused(client.get()) == 1;
    out.session.reset(SSL_get1_session(client.get()));
    testing::closeBoth(client.get(), ssl.get());
    return out;
  }

  static testing::TempDir* dir_;
};

testing::TempDir* ServerContextTest::dir_ = nullptr;

TEST_F(ServerContextTest, SniPicksTheExactName) {
  auto server = build(fullConfig());
  Outcome out = connect(*server, {.sni = "www.a.test"});
  ASSERT_TRUE(out.ok);
  EXPECT_THAT(out.names, Contains("www.a.test"));
}

TEST_F(ServerContextTest, SniIsCaseInsensitiveAndIgnoresATrailingDot) {
  auto server = build(fullConfig());
  EXPECT_THAT(connect(*server, {.sni = "A.Test"}).names, Contains("a.test"));
  EXPECT_THAT(connect(*server, {.sni = "a.test."}).names, Contains("a.test"));
}

TEST_F(ServerContextTest, WildcardCoversExactlyOneLabel) {
  auto server = build(fullConfig());
  EXPECT_THAT(connect(*server, {.sni = "x.wild.test"}).names, Contains("*.wild.test"));
  EXPECT_THAT(connect(*server, {.sni = "x.y.wild.test"}).names, Contains("default.test"));
  EXPECT_THAT(connect(*server, {.sni = "wild.test"}).names, Contains("default.test"));
}

TEST_F(ServerContextTest, NoSniOrAnUnknownNameGetsTheFirstCertificate) {
  auto server = build(fullConfig());
  EXPECT_THAT(connect(*server, {}).names, Contains("default.test"));
  EXPECT_THAT(connect(*server, {.sni = "unknown.test"}).names, Contains("default.test"));
}

TEST_F(ServerContextTest, SameNamesServeRsaOrEcdsaByTheClientsSignatureAlgorithms) {
  auto server = build(fullConfig());
  for (int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    Outcome ec =
        connect(*server, {.sni = "a.test", .sigalgs = "ECDSA+SHA256", .max_version = version});
    ASSERT_TRUE(ec.ok) << version;
    EXPECT_EQ(ec.key_type, EVP_PKEY_EC) << version;
    Outcome rsa = connect(
        *server,
        {.sni = "a.test", .sigalgs = "rsa_pss_rsae_sha256:RSA+SHA256", .max_version = version});
    ASSERT_TRUE(rsa.ok) << version;
    EXPECT_EQ(rsa.key_type, EVP_PKEY_RSA) << version;
    EXPECT_THAT(rsa.names, Contains("a.test"));
  }
}

TEST_F(ServerContextTest, AlpnPrefersTheServersListAndToleratesNoOverlap) {
  ServerTlsConfig config = fullConfig();
  auto server = build(config);
  // The default list is [h2, http/1.1]: h2 wins whatever the client's order.
  EXPECT_EQ(connect(*server, {.alpn = std::string("\x08http/1.1\x02h2", 12)}).alpn, "h2");
  config.alpn = {"http/1.1"};
  server = build(config);
  EXPECT_EQ(connect(*server, {.alpn = std::string("\x02h2\x08http/1.1", 12)}).alpn, "http/1.1");
  // No overlap: the handshake goes on without ALPN rather than failing.
  Outcome h2_only = connect(*server, {.alpn = std::string("\x02h2", 3)});
  EXPECT_TRUE(h2_only.ok);
  EXPECT_EQ(h2_only.alpn, "");
  EXPECT_EQ(connect(*server, {}).alpn, "");
}

TEST_F(ServerContextTest, RefusesTls11) {
  auto server = build(fullConfig());
  Outcome out = connect(*server, {.max_version = TLS1_1_VERSION});
  EXPECT_FALSE(out.ok);
  EXPECT_EQ(ERR_GET_REASON(out.server_error), SSL_R_UNSUPPORTED_PROTOCOL);
}

TEST_F(ServerContextTest, MinVersion13RefusesTls12) {
  ServerTlsConfig config = fullConfig();
  config.min_version = TlsVersion::V1_3;
  auto server = build(config);
  EXPECT_FALSE(connect(*server, {.max_version = TLS1_2_VERSION}).ok);
  EXPECT_TRUE(connect(*server, {}).ok);
}

// Connects twice to a.test, the second time offering the first connection's session, on a
// second SSL of the same context: what two workers sharing it amount to.
bool resumes(const ServerContext& server, int version) {
  Outcome first = ServerContextTest::connect(server, {.sni = "a.test", .max_version = version});
  EXPECT_TRUE(first.ok && first.session && !first.reused) << version;
  Outcome second = ServerContextTest::connect(
      server, {.sni = "a.test", .max_version = version, .session = first.session.get()});
  EXPECT_TRUE(second.ok) << version;
  return second.reused;
}

TEST_F(ServerContextTest, TicketsResumeAcrossSslsOfOneContext) {
  ServerTlsConfig config = fullConfig();
  config.session_cache = false;
  auto server = build(config);
  EXPECT_TRUE(resumes(*server, TLS1_2_VERSION));
  EXPECT_TRUE(resumes(*server, TLS1_3_VERSION));
}

TEST_F(ServerContextTest, SessionCacheAloneResumes) {
  ServerTlsConfig config = fullConfig();
  config.session_tickets = false;
  auto server = build(config);
  EXPECT_TRUE(resumes(*server, TLS1_2_VERSION));
  EXPECT_TRUE(resumes(*server, TLS1_3_VERSION));
}

TEST_F(ServerContextTest, NoTicketsAndNoCacheNeverResume) {
  ServerTlsConfig config = fullConfig();
  config.session_tickets = false;
  config.session_cache = false;
  auto server = build(config);
  EXPECT_FALSE(resumes(*server, TLS1_2_VERSION));
  EXPECT_FALSE(resumes(*server, TLS1_3_VERSION));
}

TEST_F(ServerContextTest, ASessionForOneSiteDoesNotResumeOnAnother) {
  auto server = build(fullConfig());
  Outcome first = connect(*server, {.sni = "a.test"});
  ASSERT_TRUE(first.ok);
  Outcome other = connect(*server, {.sni = "x.wild.test", .session = first.session.get()});
  ASSERT_TRUE(other.ok);
  EXPECT_FALSE(other.reused);
  EXPECT_THAT(other.names, Contains("*.wild.test"));
}

TEST_F(ServerContextTest, AnotherContextForTheSameNamesResumes) {
  auto one = build(fullConfig());
  auto two = build(fullConfig());
  Outcome first = connect(*one, {.sni = "a.test"});
  ASSERT_TRUE(first.ok);
  EXPECT_TRUE(connect(*two, {.sni = "a.test", .session = first.session.get()}).reused);
}

// Build errors: the message names the file, error_key names the configuration key.
class ServerContextErrorTest : public ServerContextTest {
 protected:
  static void expectError(const ServerTlsConfig& config, const std::string& key,
                          const std::string& message_part) {
    std::string error_key;
    auto built = ServerContext::build(config, &error_key);
    ASSERT_FALSE(built.ok());
    EXPECT_EQ(error_key, key);
    EXPECT_THAT(built.error().detail, HasSubstr(message_part));
  }
  static ServerTlsConfig one(CertificateFiles f) {
    ServerTlsConfig config;
    config.certificates.push_back(std::move(f));
    return config;
  }
};

TEST_F(ServerContextErrorTest, UnreadableAndNonPemFiles) {
  expectError(one({dir_->file("missing.crt"), dir_->file("default.key")}), "certificates[0].cert",
              "missing.crt: No such file or directory");
  expectError(one({dir_->file("default.crt"), dir_->file("missing.key")}), "certificates[0].key",
              "missing.key: No such file or directory");
  std::string junk = testing::writeText(dir_->file("junk.txt"), "not a certificate\n");
  expectError(one({junk, dir_->file("default.key")}), "certificates[0].cert",
              "junk.txt is not PEM");
  expectError(one({dir_->file("default.crt"), junk}), "certificates[0].key", "junk.txt is not PEM");
  // The two files swapped.
  expectError(one({dir_->file("default.key"), dir_->file("default.crt")}), "certificates[0].cert",
              "default.key holds no certificate");
}

TEST_F(ServerContextErrorTest, KeyThatDoesNotMatch) {
  ServerTlsConfig config = fullConfig();
  config.certificates[1].key = dir_->file("default.key");
  expectError(config, "certificates[1].key", "does not match the certificate in");
}

TEST_F(ServerContextErrorTest, ExpiredOrNotYetValid) {
  CertSpec spec;
  spec.dns = {"old.test"};
  spec.valid_from_s = -10 * 24 * 3600;
  spec.valid_until_s = -24 * 3600;
  testing::Identity old = testing::makeCert(spec);
  spec.valid_from_s = 24 * 3600;
  spec.valid_until_s = 10 * 24 * 3600;
  testing::Identity future = testing::makeCert(spec);
  std::string key = testing::writeKey(dir_->file("dated.key"), old.key.get());
  expectError(one({testing::writeCerts(dir_->file("old.crt"), {old.cert.get()}), key}),
              "certificates[0].cert", "old.crt has expired");
  expectError(one({testing::writeCerts(dir_->file("future.crt"), {future.cert.get()}), key}),
              "certificates[0].cert", "future.crt is not valid yet");
}

TEST_F(ServerContextErrorTest, TwoCertificatesOfOneTypeForTheSameNames) {
  ServerTlsConfig config = fullConfig();
  config.certificates.push_back(files("a-ec"));
  expectError(config, "certificates[4].cert", "same names and key type");
}

TEST_F(ServerContextErrorTest, ProtocolSettings) {
  ServerTlsConfig config = fullConfig();
  config.ciphers = "NOT-A-CIPHER";
  expectError(config, "ciphers", "NOT-A-CIPHER");
  config = fullConfig();
  config.ciphersuites = "TLS_AES_128_GCM_SHA256:TLS_NOPE";
  expectError(config, "ciphersuites", "TLS_NOPE");
  config = fullConfig();
  config.groups = {"X25519", "curve9000"};
  expectError(config, "groups", "curve9000");
  config = fullConfig();
  config.min_version = TlsVersion::V1_3;
  config.max_version = TlsVersion::V1_2;
  expectError(config, "min_version", "above max_version");
}

}  // namespace
}  // namespace portico::tls
