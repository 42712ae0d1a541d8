// The mTLS keys: tls.client_auth, certificates[].client_auth and
// forwarding.client_cert_headers.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "../tls/test_certs.h"
#include "config/loader.h"

namespace portico::config {
namespace {

using ::testing::HasSubstr;

class ClientAuthLoaderTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new tls::testing::TempDir();
    for (const char* name : {"a", "b"}) {
      tls::testing::CertSpec spec;
      spec.dns = {std::string(name) + ".test"};
      tls::testing::Identity id = tls::testing::makeCert(spec);
      tls::testing::writeCerts(dir_->file(std::string(name) + ".crt"), {id.cert.get()});
      tls::testing::writeKey(dir_->file(std::string(name) + ".key"), id.key.get());
    }
  }
  static void TearDownTestSuite() { delete dir_; }

  // Line 8 is `client_auth` of certificates[0], line 11 the listener's; `forwarding` starts
  // at line 12.
  static std::string yaml(const std::string& a_auth, const std::string& listener_auth,
                          const std::string& forwarding = "{}") {
    return "listeners:\n"
           "  - name: l\n"
           "    address: 127.0.0.1:8443\n"
           "    tls:\n"
           "      certificates:\n"
           "        - cert: " +
           dir_->file("a.crt") +
           "\n"
           "          key: " +
           dir_->file("a.key") +
           "\n"
           "          client_auth: " +
           a_auth +
           "\n"
           "        - cert: " +
           dir_->file("b.crt") +
           "\n"
           "          key: " +
           dir_->file("b.key") +
           "\n"
           "      client_auth: " +
           listener_auth +
           "\n"
           "    forwarding: " +
           forwarding +
           "\n"
           "    virtual_hosts:\n"
           "      - name: v\n"
           "        domains: ['*']\n"
           "        routes:\n"
           "          - direct_response: {status: 200}\n";
  }
  static std::string ca() { return dir_->file("b.crt"); }  // any certificate is a bundle

  static std::string onlyError(const LoadResult& r) {
    if (r.config || r.errors.size() != 1) return "expected exactly one error";
    return r.errors[0].toString();
  }

  static tls::testing::TempDir* dir_;
};

tls::testing::TempDir* ClientAuthLoaderTest::dir_ = nullptr;

TEST_F(ClientAuthLoaderTest, KeysAndDefaults) {
  LoadResult r = loadConfigString(
      yaml("false", "{ mode: optional, ca: " + ca() + ", verify_depth: 5 }"), "test.yaml");
  ASSERT_TRUE(r.config) << (r.errors.empty() ? "" : r.errors[0].toString());
  const proxy::ListenerConfig& l = r.config->listeners[0];
  ASSERT_TRUE(l.tls->client_auth);
  EXPECT_EQ(l.tls->client_auth->mode, tls::ClientAuthMode::Optional);
  EXPECT_EQ(l.tls->client_auth->ca, ca());
  EXPECT_EQ(l.tls->client_auth->crl, "");
  EXPECT_EQ(l.tls->client_auth->verify_depth, 5);
  ASSERT_TRUE(l.tls->certificates[0].client_auth);
  EXPECT_EQ(l.tls->certificates[0].client_auth->mode, tls::ClientAuthMode::Off);
  EXPECT_FALSE(l.tls->certificates[1].client_auth);
  EXPECT_EQ(l.forwarding.client_cert_headers.subject, "X-Client-Cert-Subject");
  EXPECT_EQ(l.forwarding.client_cert_headers.verified, "X-Client-Cert-Verified");
  ASSERT_TRUE(l.client_auth_names);
  EXPECT_EQ(l.client_auth_names->policyOf("a.test"), 0);
  EXPECT_NE(l.client_auth_names->policyOf("b.test"), 0);

  LoadResult required = loadConfigString(yaml("{ ca: " + ca() + " }", "false"), "test.yaml");
  ASSERT_TRUE(required.config);
  EXPECT_EQ(required.config->listeners[0].tls->certificates[0].client_auth->mode,
            tls::ClientAuthMode::Required);
  EXPECT_EQ(required.config->listeners[0].tls->certificates[0].client_auth->verify_depth, 3);
}

TEST_F(ClientAuthLoaderTest, ErrorsPointAtTheKey) {
  EXPECT_THAT(onlyError(loadConfigString(yaml("false", "{ ca: /nonexistent.pem }"), "test.yaml")),
              HasSubstr("test.yaml:11:26: listeners[0].tls.client_auth.ca: cannot read"));
  EXPECT_THAT(onlyError(loadConfigString(yaml("{ ca: " + ca() + ", crl: " + ca() + " }", "false"),
                                         "test.yaml")),
              HasSubstr(":8:66: listeners[0].tls.certificates[0].client_auth.crl: " + ca() +
                        " has no PEM CRL"));
  EXPECT_THAT(
      onlyError(loadConfigString(yaml("false", "{ mode: maybe, ca: " + ca() + " }"), "test.yaml")),
      HasSubstr("listeners[0].tls.client_auth.mode: expected one of: required, optional"));
  EXPECT_THAT(onlyError(loadConfigString(yaml("false", "{ mode: optional }"), "test.yaml")),
              HasSubstr("test.yaml:11:20: listeners[0].tls.client_auth.ca: missing required key"));
  EXPECT_THAT(onlyError(loadConfigString(yaml("true", "false"), "test.yaml")),
              HasSubstr("certificates[0].client_auth: client_auth needs at least a CA bundle"));
}

TEST_F(ClientAuthLoaderTest, ClientCertHeaders) {
  LoadResult r = loadConfigString(
      yaml("false", "false",
           "{ client_cert_headers: { subject: X-SSL-DN, sans: '', fingerprint: false } }"),
      "test.yaml");
  ASSERT_TRUE(r.config) << (r.errors.empty() ? "" : r.errors[0].toString());
  const proxy::ClientCertHeaders& h = r.config->listeners[0].forwarding.client_cert_headers;
  EXPECT_EQ(h.subject, "X-SSL-DN");
  EXPECT_EQ(h.sans, "");
  EXPECT_EQ(h.fingerprint, "");
  EXPECT_EQ(h.verified, "X-Client-Cert-Verified");

  auto error = [](const std::string& headers) {
    return onlyError(loadConfigString(
        yaml("false", "false", "{ client_cert_headers: " + headers + " }"), "test.yaml"));
  };
  EXPECT_THAT(error("{ subject: X-Forwarded-User }"),
              HasSubstr("client_cert_headers.subject: \"X-Forwarded-User\" is set by the "
                        "forwarding stage"));
  EXPECT_THAT(error("{ subject: Content-Length }"), HasSubstr("is managed by the proxy"));
  EXPECT_THAT(error("{ sans: x-client-cert-subject }"),
              HasSubstr("client_cert_headers.sans: duplicate client certificate header"));
  EXPECT_THAT(error("{ subject: 'bad name' }"), HasSubstr("expected a header name"));
  EXPECT_THAT(error("{ issuer: X-Issuer }"), HasSubstr("client_cert_headers.issuer: unknown key"));
}

}  // namespace
}  // namespace portico::config
