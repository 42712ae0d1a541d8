#include "tls/client_context.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/x509_vfy.h>

#include "handshake.h"
#include "net/address.h"
#include "test_certs.h"
#include "tls/server_context.h"

namespace portico::tls {
namespace {

using ::testing::HasSubstr;

// A backend whose certificate a test CA signed for backend.test and 127.0.0.1, and a second
// CA that signed nothing the backend serves.
class ClientContextTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    testing::CertSpec ca_spec;
    ca_spec.cn = "portico test CA";
    ca_spec.is_ca = true;
    testing::Identity ca = testing::makeCert(ca_spec);
    testing::writeCerts(dir_->file("ca.crt"), {ca.cert.get()});
    ca_spec.cn = "some other CA";
    testing::Identity other = testing::makeCert(ca_spec, nullptr, 1);
    testing::writeCerts(dir_->file("other-ca.crt"), {other.cert.get()});
    testing::CertSpec leaf;
    leaf.dns = {"backend.test"};
    leaf.ips = {"127.0.0.1"};
    testing::Identity backend = testing::makeCert(leaf, &ca, 2);
    ServerTlsConfig server;
    server.certificates.push_back(
        {testing::writeCerts(dir_->file("backend.crt"), {backend.cert.get(), ca.cert.get()}),
         testing::writeKey(dir_->file("backend.key"), backend.key.get())});
    auto built = ServerContext::build(server);
    ASSERT_TRUE(built.ok()) << built.error().detail;
    server_ = new std::shared_ptr<ServerContext>(*built);
  }
  static void TearDownTestSuite() {
    delete server_;
    delete dir_;
  }

  static ClientTlsConfig trusting() {
    ClientTlsConfig config;
    config.ca = dir_->file("ca.crt");
    return config;
  }

  static std::shared_ptr<ClientContext> build(const ClientTlsConfig& config) {
    auto built = ClientContext::build(config);
    EXPECT_TRUE(built.ok()) << (built.ok() ? "" : built.error().detail);
    return built.ok() ? *built : nullptr;
  }

  struct Outcome {
    bool ok = false;
    long verify_result = X509_V_OK;
    bool reused = false;
    std::string alpn;
  };

  static Outcome connect(const ClientContext& client, const char* endpoint = "127.0.0.1:8443",
                         std::string_view endpoint_name = {}) {
    net::Address address;
    EXPECT_TRUE(net::parseAddress(endpoint, &address));
    SslPtr ssl(client.newSsl(address, {}, endpoint_name));
    SslPtr server_ssl((*server_)->newSsl());
    Outcome out;
    out.ok = testing::handshake(ssl.get(), server_ssl.get()).ok;
    out.verify_result = SSL_get_verify_result(ssl.get());
    out.reused = SSL_session_reused(ssl.get()) == 1;
    const unsigned char* proto = nullptr;
    unsigned int len = 0;
    SSL_get0_alpn_selected(ssl.get(), &proto, &len);
    out.alpn.assign(reinterpret_cast<const char*>(proto), len);
    if (out.ok) testing::closeBoth(ssl.get(), server_ssl.get());
    return out;
  }

  static testing::TempDir* dir_;
  static std::shared_ptr<ServerContext>* server_;
};

testing::TempDir* ClientContextTest::dir_ = nullptr;
std::shared_ptr<ServerContext>* ClientContextTest::server_ = nullptr;

TEST_F(ClientContextTest, VerifiesTheChainAndTheSniName) {
  ClientTlsConfig config = trusting();
  config.sni = "backend.test";
  Outcome out = connect(*build(config));
  EXPECT_TRUE(out.ok);
  EXPECT_EQ(out.verify_result, X509_V_OK);
  EXPECT_EQ(out.alpn, "http/1.1");
}

TEST_F(ClientContextTest, FailsOnAWrongName) {
  ClientTlsConfig config = trusting();
  config.sni = "backend.test";
  config.verify_name = "other.test";
  Outcome out = connect(*build(config));
  EXPECT_FALSE(out.ok);
  EXPECT_EQ(out.verify_result, X509_V_ERR_HOSTNAME_MISMATCH);
}

TEST_F(ClientContextTest, FailsOnAnUntrustedCa) {
  ClientTlsConfig config;
  config.ca = dir_->file("other-ca.crt");
  config.sni = "backend.test";
  Outcome out = connect(*build(config));
  EXPECT_FALSE(out.ok);
  // The backend sends its CA along, which this client does not trust.
  EXPECT_EQ(out.verify_result, X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN);
}

TEST_F(ClientContextTest, WithoutANameTheEndpointIpIsVerified) {
  auto client = build(trusting());
  EXPECT_TRUE(connect(*client, "127.0.0.1:8443").ok);
  // Not even a session verified for the other IP lets this one through.
  Outcome elsewhere = connect(*client, "10.0.0.9:8443");
  EXPECT_FALSE(elsewhere.ok);
  EXPECT_EQ(elsewhere.verify_result, X509_V_ERR_IP_ADDRESS_MISMATCH);
}

TEST_F(ClientContextTest, ADiscoveredEndpointsDnsNameIsSentAndVerified) {
  auto client = build(trusting());
  // 10.0.0.9 is not in the certificate, but the name the endpoint was discovered under is.
  EXPECT_TRUE(connect(*client, "10.0.0.9:8443", "backend.test").ok);
  Outcome wrong = connect(*client, "127.0.0.1:8443", "other.test");
  EXPECT_FALSE(wrong.ok);
  EXPECT_EQ(wrong.verify_result, X509_V_ERR_HOSTNAME_MISMATCH);
  // A configured name wins over the discovered one.
  ClientTlsConfig config = trusting();
  config.sni = "backend.test";
  EXPECT_TRUE(connect(*build(config), "127.0.0.1:8443", "other.test").ok);
}

TEST_F(ClientContextTest, VerifyOffAcceptsAnyCertificate) {
  ClientTlsConfig config;
  config.verify = false;
  config.ca = "/nonexistent";  // not read when nothing is verified
  EXPECT_TRUE(connect(*build(config)).ok);
}

TEST_F(ClientContextTest, ReusesTheLatestSessionOnTheNextConnection) {
  ClientTlsConfig config = trusting();
  config.sni = "backend.test";
  auto client = build(config);
  EXPECT_FALSE(connect(*client).reused);
  EXPECT_TRUE(connect(*client).reused);
  EXPECT_TRUE(connect(*client).reused);
}

TEST_F(ClientContextTest, SessionReuseOff) {
  ClientTlsConfig config = trusting();
  config.sni = "backend.test";
  config.session_reuse = false;
  auto client = build(config);
  EXPECT_TRUE(connect(*client).ok);
  EXPECT_FALSE(connect(*client).reused);
}

TEST_F(ClientContextTest, BuildErrorsNameTheKey) {
  std::string key;
  ClientTlsConfig config;
  config.ca = dir_->file("missing.pem");
  auto built = ClientContext::build(config, &key);
  ASSERT_FALSE(built.ok());
  EXPECT_EQ(key, "ca");
  EXPECT_THAT(built.error().detail, HasSubstr("missing.pem: No such file or directory"));
  config = trusting();
  config.cert = dir_->file("backend.crt");
  config.key = dir_->file("ca.crt");
  built = ClientContext::build(config, &key);
  ASSERT_FALSE(built.ok());
  EXPECT_EQ(key, "key");
}

}  // namespace
}  // namespace portico::tls
