// ACME's cryptography and helpers: base64url (RFC 4648), JWK thumbprints (RFC 7638), ES256
// flattened JWS (RFC 7515, RFC 8555 section 6.2), key authorizations, the challenge store,
// problem documents and the certificates ACME stores and presents.

#include <gtest/gtest.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>

#include <nlohmann/json.hpp>

#include "tls/acme/challenges.h"
#include "tls/acme/client.h"
#include "tls/acme/jws.h"
#include "tls/acme/storage.h"

namespace portico::tls::acme {
namespace {

TEST(Base64Url, Rfc4648Vectors) {
  EXPECT_EQ(base64url(""), "");
  EXPECT_EQ(base64url("f"), "Zg");
  EXPECT_EQ(base64url("fo"), "Zm8");
  EXPECT_EQ(base64url("foo"), "Zm9v");
  EXPECT_EQ(base64url("foob"), "Zm9vYg");
  EXPECT_EQ(base64url("fooba"), "Zm9vYmE");
  EXPECT_EQ(base64url("foobar"), "Zm9vYmFy");
}

TEST(Base64Url, UrlSafeAlphabetAndRoundTrip) {
  const std::string bytes("\xfb\xff\xbf\x00\x3e", 5);
  EXPECT_EQ(base64url(bytes), "-_-_AD4");
  std::string back;
  ASSERT_TRUE(base64urlDecode("-_-_AD4", &back));
  EXPECT_EQ(back, bytes);
  ASSERT_TRUE(base64urlDecode("Zm9vYg==", &back));
  EXPECT_EQ(back, "foob");
  EXPECT_FALSE(base64urlDecode("Zm9v+g", &back));
  EXPECT_FALSE(base64urlDecode("Z", &back));
}

// RFC 7638 section 3.1.
TEST(JwkThumbprint, Rfc7638Example) {
  const std::string n =
      "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_"
      "BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-"
      "65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdk"
      "t-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
  EXPECT_EQ(jwkThumbprint({{"kty", "RSA"}, {"n", n}, {"e", "AQAB"}}),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
}

TEST(Jwk, EcKeyMembersInOrder) {
  PkeyPtr key = generateEcKey();
  ASSERT_TRUE(key);
  std::string jwk = ecJwk(key.get());
  ASSERT_EQ(jwk.rfind(R"({"crv":"P-256","kty":"EC","x":")", 0), 0u) << jwk;
  nlohmann::json parsed = nlohmann::json::parse(jwk);
  std::string x;
  ASSERT_TRUE(base64urlDecode(parsed["x"].get<std::string>(), &x));
  EXPECT_EQ(x.size(), 32u);
  // The thumbprint is the hash of exactly that text.
  EXPECT_EQ(ecThumbprint(key.get()), base64url(sha256(jwk)));
  EXPECT_EQ(ecThumbprint(key.get()).size(), 43u);
}

TEST(Jws, FlattenedEs256VerifiesAndCarriesHeader) {
  PkeyPtr key = generateEcKey();
  ASSERT_TRUE(key);
  std::string body = signedRequest(key.get(), "", "nonce-1", "https://ca.test/new-account",
                                   R"({"termsOfServiceAgreed":true})");
  nlohmann::json jws = nlohmann::json::parse(body);
  ASSERT_EQ(jws.size(), 3u);
  std::string header_text, payload, signature;
  ASSERT_TRUE(base64urlDecode(jws["protected"].get<std::string>(), &header_text));
  ASSERT_TRUE(base64urlDecode(jws["payload"].get<std::string>(), &payload));
  ASSERT_TRUE(base64urlDecode(jws["signature"].get<std::string>(), &signature));
  nlohmann::json header = nlohmann::json::parse(header_text);
  EXPECT_EQ(header["alg"], "ES256");
  EXPECT_EQ(header["nonce"], "nonce-1");
  EXPECT_EQ(header["url"], "https://ca.test/new-account");
  EXPECT_EQ(header["jwk"]["kty"], "EC");
  EXPECT_FALSE(header.contains("kid"));
  EXPECT_EQ(payload, R"({"termsOfServiceAgreed":true})");
  ASSERT_EQ(signature.size(), 64u);  // raw R || S, not DER
  std::string input = jws["protected"].get<std::string>() + "." + jws["payload"].get<std::string>();
  EXPECT_TRUE(verifyEs256(key.get(), input, signature));
  EXPECT_FALSE(verifyEs256(key.get(), input + "x", signature));
}

TEST(Jws, KidAndPostAsGet) {
  PkeyPtr key = generateEcKey();
  nlohmann::json jws = nlohmann::json::parse(
      signedRequest(key.get(), "https://ca.test/acct/1", "n2", "https://ca.test/order/1", ""));
  std::string header_text;
  ASSERT_TRUE(base64urlDecode(jws["protected"].get<std::string>(), &header_text));
  nlohmann::json header = nlohmann::json::parse(header_text);
  EXPECT_EQ(header["kid"], "https://ca.test/acct/1");
  EXPECT_FALSE(header.contains("jwk"));
  EXPECT_EQ(jws["payload"], "");  // POST-as-GET
}

TEST(KeyAuthorization, TokenDotThumbprint) {
  EXPECT_EQ(keyAuthorization("evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA",
                             "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"),
            "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA."
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
  EXPECT_EQ(sha256("abc").size(), 32u);
  EXPECT_EQ(base64url(sha256("abc")), "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0");
}

TEST(ChallengeStore, HttpTokens) {
  ChallengeStore& store = ChallengeStore::shared();
  store.addHttp("tok1", "tok1.thumb");
  EXPECT_EQ(store.httpResponse("/.well-known/acme-challenge/tok1"), "tok1.thumb");
  EXPECT_FALSE(store.httpResponse("/.well-known/acme-challenge/other"));
  EXPECT_FALSE(store.httpResponse("/tok1"));
  store.removeHttp("tok1");
  EXPECT_FALSE(store.httpResponse("/.well-known/acme-challenge/tok1"));
}

TEST(Problem, DescribesTypeDetailAndSubproblems) {
  EXPECT_EQ(describeProblem(403, R"({"type":"urn:ietf:params:acme:error:unauthorized",)"
                                 R"("detail":"no","subproblems":[{"type":"t2","detail":"d2"}]})"),
            "HTTP 403 urn:ietf:params:acme:error:unauthorized: no; t2: d2");
  EXPECT_EQ(describeProblem(502, "bad\ngateway"), "HTTP 502: bad gateway");
}

TEST(Certificates, TlsAlpnCertificateCarriesCriticalAcmeIdentifier) {
  PkeyPtr key = generateEcKey();
  std::string digest = sha256("token.thumb");
  X509Ptr cert = selfSigned({"a.test"}, key.get(), 3600, "test", &digest);
  ASSERT_TRUE(cert);
  ASN1_OBJECT* oid = OBJ_txt2obj("1.3.6.1.5.5.7.1.31", 1);
  int index = X509_get_ext_by_OBJ(cert.get(), oid, -1);
  ASN1_OBJECT_free(oid);
  ASSERT_GE(index, 0);
  X509_EXTENSION* ext = X509_get_ext(cert.get(), index);
  EXPECT_EQ(X509_EXTENSION_get_critical(ext), 1);
  ASN1_OCTET_STRING* data = X509_EXTENSION_get_data(ext);
  std::string der(reinterpret_cast<const char*>(ASN1_STRING_get0_data(data)),
                  static_cast<size_t>(ASN1_STRING_length(data)));
  EXPECT_EQ(der, std::string("\x04\x20", 2) + digest);  // OCTET STRING (SIZE (32))
}

TEST(Certificates, CsrIsDerWithTheNames) {
  PkeyPtr key = generateEcKey();
  std::string der = certificateRequest({"a.test", "www.a.test"}, key.get());
  ASSERT_FALSE(der.empty());
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  X509_REQ* req = d2i_X509_REQ(nullptr, &p, static_cast<long>(der.size()));
  ASSERT_NE(req, nullptr);
  EXPECT_EQ(X509_REQ_verify(req, key.get()), 1);
  STACK_OF(X509_EXTENSION)* exts = X509_REQ_get_extensions(req);
  ASSERT_NE(exts, nullptr);
  EXPECT_EQ(sk_X509_EXTENSION_num(exts), 1);
  sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  X509_REQ_free(req);
}

}  // namespace
}  // namespace portico::tls::acme

namespace portico::tls::acme {
namespace {

class StorageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/acme-storage-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    managed_.names = {"a.test", "www.a.test"};
    managed_.cert = root_ + "/store/a.test.crt";
    managed_.key = root_ + "/store/a.test.key";
  }
  void TearDown() override {
    for (const char* f : {"/store/a.test.crt", "/store/a.test.key"}) ::unlink((root_ + f).c_str());
    ::rmdir((root_ + "/store").c_str());
    ::rmdir(root_.c_str());
  }
  static unsigned modeOf(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return st.st_mode & 0777;
  }
  std::string root_;
  ManagedCertificate managed_;
};

TEST_F(StorageTest, PlaceholderIsWrittenOnceWithPrivateModes) {
  std::string error;
  ASSERT_TRUE(makePrivateDirectory(root_ + "/store", &error)) << error;
  EXPECT_EQ(modeOf(root_ + "/store"), 0700u);
  EXPECT_FALSE(inspect(managed_).usable);
  bool wrote = false;
  ASSERT_TRUE(ensureServable(managed_, &wrote, &error)) << error;
  EXPECT_TRUE(wrote);
  EXPECT_EQ(modeOf(managed_.key), 0600u);
  StoredCertificate stored = inspect(managed_);
  EXPECT_TRUE(stored.usable);
  EXPECT_TRUE(stored.placeholder);
  EXPECT_EQ(stored.names, managed_.names);
  EXPECT_GT(stored.not_after, std::time(nullptr));
  // A servable one is left alone.
  ASSERT_TRUE(ensureServable(managed_, &wrote, &error));
  EXPECT_FALSE(wrote);
}

TEST_F(StorageTest, StoredCertificateReplacesBothFiles) {
  std::string error;
  ASSERT_TRUE(makePrivateDirectory(root_ + "/store", &error)) << error;
  PkeyPtr key = generateEcKey();
  X509Ptr cert = selfSigned(managed_.names, key.get(), 90 * 24 * 3600, "Test CA");
  ASSERT_TRUE(storeCertificate(managed_, key.get(), certificateToPem(cert.get()), &error)) << error;
  StoredCertificate stored = inspect(managed_);
  EXPECT_TRUE(stored.usable);
  EXPECT_FALSE(stored.placeholder);
  EXPECT_EQ(modeOf(managed_.key), 0600u);
  EXPECT_NE(::access((managed_.key + ".tmp").c_str(), F_OK), 0);
}

}  // namespace
}  // namespace portico::tls::acme
