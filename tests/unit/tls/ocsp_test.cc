// OCSP stapling: response verification, refresh schedule, the responder URL and HTTP reply
// parsing, the handshake callback, and one fetch over loopback. The CA, certificates and
// responses are made here with the OpenSSL API.

#include "tls/ocsp.h"

#include <gtest/gtest.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "event/event_loop.h"
#include "tls/ocsp_fetch.h"
#include "tls/server_context.h"

namespace portico::tls {
namespace {

using OcspBasicPtr = std::unique_ptr<OCSP_BASICRESP, Freer<OCSP_BASICRESP_free>>;
using OcspResponsePtr = std::unique_ptr<OCSP_RESPONSE, Freer<OCSP_RESPONSE_free>>;

constexpr long kDay = 24 * 3600;

PkeyPtr newKey() {
  return PkeyPtr(EVP_EC_gen("P-256"));
}

void addExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  ASSERT_NE(ext, nullptr) << value;
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

struct Issued {
  X509Ptr cert;
  PkeyPtr key;
};

// A certificate for `cn`, signed by `issuer` (self-signed when null), valid from a day ago for
// 30 days. `extensions` are (nid, value) pairs in openssl.cnf syntax.
Issued issue(const char* cn, const Issued* issuer, long serial,
             std::vector<std::pair<int, const char*>> extensions) {
  Issued out{X509Ptr(X509_new()), newKey()};
  X509* x = out.cert.get();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
  X509_gmtime_adj(X509_getm_notBefore(x), -kDay);
  X509_gmtime_adj(X509_getm_notAfter(x), 30 * kDay);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn),
                             -1, -1, 0);
  X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer->cert.get()) : name);
  X509_set_pubkey(x, out.key.get());
  X509* signer_cert = issuer ? issuer->cert.get() : x;
  for (const auto& [nid, value] : extensions) addExtension(x, signer_cert, nid, value);
  X509_sign(x, issuer ? issuer->key.get() : out.key.get(), EVP_sha256());
  return out;
}

struct Pki {
  Issued ca = issue("Test CA", nullptr, 1,
                    {{NID_basic_constraints, "critical,CA:TRUE"},
                     {NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature"},
                     {NID_subject_key_identifier, "hash"}});
  Issued leaf = issue("site.test", &ca, 2,
                      {{NID_subject_alt_name, "DNS:site.test"},
                       {NID_info_access, "OCSP;URI:http://127.0.0.1:9/ocsp"},
                       {NID_authority_key_identifier, "keyid"}});
  Issued other = issue("other.test", &ca, 3, {{NID_subject_alt_name, "DNS:other.test"}});
  Issued responder =
      issue("Test OCSP", &ca, 4,
            {{NID_ext_key_usage, "OCSPSigning"}, {NID_key_usage, "digitalSignature"}});
  Issued plain = issue("Not an OCSP signer", &ca, 5, {});
  Issued stranger = issue("Other CA", nullptr, 6, {{NID_basic_constraints, "critical,CA:TRUE"}});

  std::vector<X509Ptr> chain() const {
    std::vector<X509Ptr> out;
    X509_up_ref(ca.cert.get());
    out.emplace_back(ca.cert.get());
    return out;
  }
};

struct ResponseSpec {
  const Issued* about = nullptr;   // the certificate the status is for
  const Issued* signer = nullptr;  // default: the CA
  int status = V_OCSP_CERTSTATUS_GOOD;
  long this_update = -3600;  // seconds from now
  long next_update = 3 * kDay;
  bool has_next_update = true;
  int response_status = OCSP_RESPONSE_STATUS_SUCCESSFUL;
};

std::string der(OCSP_RESPONSE* resp) {
  unsigned char* out = nullptr;
  int n = i2d_OCSP_RESPONSE(resp, &out);
  std::string s(reinterpret_cast<char*>(out), static_cast<size_t>(n));
  OPENSSL_free(out);
  return s;
}

std::string makeResponse(const Pki& pki, ResponseSpec spec) {
  if (spec.response_status != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
    OcspResponsePtr resp(OCSP_response_create(spec.response_status, nullptr));
    return der(resp.get());
  }
  const Issued& about = spec.about ? *spec.about : pki.leaf;
  const Issued& signer = spec.signer ? *spec.signer : pki.ca;
  OcspBasicPtr basic(OCSP_BASICRESP_new());
  OCSP_CERTID* id = OCSP_cert_to_id(nullptr, about.cert.get(), pki.ca.cert.get());
  ASN1_TIME* this_update = X509_gmtime_adj(nullptr, spec.this_update);
  ASN1_TIME* next_update =
      spec.has_next_update ? X509_gmtime_adj(nullptr, spec.next_update) : nullptr;
  ASN1_TIME* revoked_at =
      spec.status == V_OCSP_CERTSTATUS_REVOKED ? X509_gmtime_adj(nullptr, -kDay) : nullptr;
  OCSP_basic_add1_status(basic.get(), id, spec.status, OCSP_REVOKED_STATUS_KEYCOMPROMISE,
                         revoked_at, this_update, next_update);
  OCSP_basic_sign(basic.get(), signer.cert.get(), signer.key.get(), EVP_sha256(), nullptr, 0);
  OCSP_CERTID_free(id);
  ASN1_TIME_free(this_update);
  ASN1_TIME_free(next_update);
  ASN1_TIME_free(revoked_at);
  OcspResponsePtr resp(OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, basic.get()));
  return der(resp.get());
}

Result<OcspVerdict> verify(const Pki& pki, const std::string& response) {
  return verifyOcspResponse(response, pki.leaf.cert.get(), pki.ca.cert.get(), pki.chain());
}

// The response is refused, and the reason says `why`.
::testing::AssertionResult rejected(const Pki& pki, const std::string& response,
                                    std::string_view why) {
  Result<OcspVerdict> v = verify(pki, response);
  if (v) return ::testing::AssertionFailure() << "accepted";
  if (v.error().detail.find(why) == std::string::npos) {
    return ::testing::AssertionFailure() << "refused for: " << v.error().detail;
  }
  return ::testing::AssertionSuccess();
}

class OcspVerifyTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pki_ = new Pki(); }
  static void TearDownTestSuite() {
    delete pki_;
    pki_ = nullptr;
  }
  static Pki* pki_;
};
Pki* OcspVerifyTest::pki_ = nullptr;

TEST_F(OcspVerifyTest, GoodResponseSignedByTheIssuer) {
  Result<OcspVerdict> v = verify(*pki_, makeResponse(*pki_, {}));
  ASSERT_TRUE(v) << v.error().detail;
  EXPECT_EQ(v->status, V_OCSP_CERTSTATUS_GOOD);
  EXPECT_NEAR(static_cast<double>(v->next_update - std::time(nullptr)), 3.0 * kDay, 5);
  EXPECT_NEAR(static_cast<double>(std::time(nullptr) - v->this_update), 3600, 5);
}

TEST_F(OcspVerifyTest, RevokedResponseVerifiesWithItsStatus) {
  ResponseSpec spec;
  spec.status = V_OCSP_CERTSTATUS_REVOKED;
  Result<OcspVerdict> v = verify(*pki_, makeResponse(*pki_, spec));
  ASSERT_TRUE(v) << v.error().detail;
  EXPECT_EQ(v->status, V_OCSP_CERTSTATUS_REVOKED);
  EXPECT_EQ(v->reason, OCSP_REVOKED_STATUS_KEYCOMPROMISE);
}

TEST_F(OcspVerifyTest, ExpiredResponseIsRejected) {
  ResponseSpec spec;
  spec.this_update = -3 * kDay;
  spec.next_update = -kDay;
  EXPECT_TRUE(rejected(*pki_, makeResponse(*pki_, spec), "expired"));
}

TEST_F(OcspVerifyTest, NotYetValidResponseIsRejected) {
  ResponseSpec spec;
  spec.this_update = 2 * 3600;  // beyond the 5 minutes of clock skew allowed
  EXPECT_TRUE(rejected(*pki_, makeResponse(*pki_, spec), "not yet valid"));
}

TEST_F(OcspVerifyTest, ResponseForAnotherCertificateIsRejected) {
  ResponseSpec spec;
  spec.about = &pki_->other;
  EXPECT_TRUE(rejected(*pki_, makeResponse(*pki_, spec), "not about this certificate"));
}

TEST_F(OcspVerifyTest, ResponseSignedByAnUnrelatedKeyIsRejected) {
  ResponseSpec spec;
  spec.signer = &pki_->stranger;
  EXPECT_TRUE(rejected(*pki_, makeResponse(*pki_, spec), "signature does not verify"));
}

TEST_F(OcspVerifyTest, DelegatedResponderNeedsTheOcspSigningPurpose) {
  ResponseSpec spec;
  spec.signer = &pki_->responder;
  Result<OcspVerdict> delegated = verify(*pki_, makeResponse(*pki_, spec));
  ASSERT_TRUE(delegated) << delegated.error().detail;
  EXPECT_EQ(delegated->status, V_OCSP_CERTSTATUS_GOOD);

  spec.signer = &pki_->plain;  // issued by the CA, but not for OCSP signing
  EXPECT_FALSE(verify(*pki_, makeResponse(*pki_, spec)));
}

TEST_F(OcspVerifyTest, UnknownStatusAndUnsuccessfulResponsesAreRejected) {
  ResponseSpec unknown;
  unknown.status = V_OCSP_CERTSTATUS_UNKNOWN;
  EXPECT_TRUE(rejected(*pki_, makeResponse(*pki_, unknown), "unknown"));

  ResponseSpec later;
  later.response_status = OCSP_RESPONSE_STATUS_TRYLATER;
  EXPECT_TRUE(rejected(*pki_, makeResponse(*pki_, later), "trylater"));
  EXPECT_TRUE(rejected(*pki_, "HTTP/1.0 200 OK\r\n\r\nnot DER", "not a DER OCSP response"));
}

TEST_F(OcspVerifyTest, ResponseWithoutNextUpdateVerifies) {
  ResponseSpec spec;
  spec.has_next_update = false;
  Result<OcspVerdict> v = verify(*pki_, makeResponse(*pki_, spec));
  ASSERT_TRUE(v) << v.error().detail;
  EXPECT_EQ(v->next_update, 0);
}

TEST_F(OcspVerifyTest, RequestNamesTheCertificate) {
  Result<std::string> request = buildOcspRequest(pki_->leaf.cert.get(), pki_->ca.cert.get());
  ASSERT_TRUE(request) << request.error().detail;
  const auto* p = reinterpret_cast<const unsigned char*>(request->data());
  OCSP_REQUEST* req = d2i_OCSP_REQUEST(nullptr, &p, static_cast<long>(request->size()));
  ASSERT_NE(req, nullptr);
  ASSERT_EQ(OCSP_request_onereq_count(req), 1);
  OCSP_CERTID* want = OCSP_cert_to_id(nullptr, pki_->leaf.cert.get(), pki_->ca.cert.get());
  EXPECT_EQ(OCSP_id_cmp(OCSP_onereq_get0_id(OCSP_request_onereq_get0(req, 0)), want), 0);
  OCSP_CERTID_free(want);
  OCSP_REQUEST_free(req);
}

TEST_F(OcspVerifyTest, ResponderUrlAndIssuerComeFromTheCertificate) {
  EXPECT_EQ(ocspResponderUrl(pki_->leaf.cert.get()), "http://127.0.0.1:9/ocsp");
  EXPECT_EQ(ocspResponderUrl(pki_->other.cert.get()), "");
  std::vector<X509Ptr> chain = pki_->chain();
  EXPECT_EQ(findIssuer(pki_->leaf.cert.get(), chain), pki_->ca.cert.get());
  EXPECT_EQ(findIssuer(pki_->stranger.cert.get(), chain), nullptr);
}

TEST(OcspSchedule, RefreshesHalfwayAtLeastHourlyAtMostEveryMinute) {
  std::time_t now = 1'800'000'000;
  EXPECT_EQ(OcspSchedule::afterSuccess(now, now + 7 * kDay), 3600);
  EXPECT_EQ(OcspSchedule::afterSuccess(now, now + 1200), 600);
  EXPECT_EQ(OcspSchedule::afterSuccess(now, now + 30), 60);
  EXPECT_EQ(OcspSchedule::afterSuccess(now, now - 30), 60);  // already past: soon, not at once
  EXPECT_EQ(OcspSchedule::afterSuccess(now, 0), 1800);       // no nextUpdate: 1 h lifetime
  EXPECT_EQ(OcspSchedule::expiry(now, now + 500), now + 500);
  EXPECT_EQ(OcspSchedule::expiry(now, 0), now + 3600);
}

TEST(OcspSchedule, BacksOffFromOneMinuteToOneHour) {
  EXPECT_EQ(OcspSchedule::afterFailure(1), 60);
  EXPECT_EQ(OcspSchedule::afterFailure(2), 120);
  EXPECT_EQ(OcspSchedule::afterFailure(3), 240);
  EXPECT_EQ(OcspSchedule::afterFailure(6), 1920);
  EXPECT_EQ(OcspSchedule::afterFailure(7), 3600);
  EXPECT_EQ(OcspSchedule::afterFailure(1000), 3600);
}

TEST(OcspUrl, ParsesHttpUrls) {
  Result<HttpUrl> u = parseHttpUrl("http://ocsp.example.com/a/b?x=1");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "ocsp.example.com");
  EXPECT_EQ(u->port, 80);
  EXPECT_EQ(u->path, "/a/b?x=1");
  EXPECT_EQ(u->hostHeader(), "ocsp.example.com");

  u = parseHttpUrl("HTTP://127.0.0.1:8888");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->port, 8888);
  EXPECT_EQ(u->path, "/");
  EXPECT_EQ(u->hostHeader(), "127.0.0.1:8888");

  u = parseHttpUrl("http://[::1]:81/ocsp");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->hostHeader(), "[::1]:81");
}

TEST(OcspUrl, RejectsWhatCannotBeFetched) {
  Result<HttpUrl> https = parseHttpUrl("https://ocsp.example.com/");
  ASSERT_FALSE(https);
  EXPECT_NE(https.error().detail.find("only http://"), std::string::npos);
  EXPECT_FALSE(parseHttpUrl("ldap://x"));
  EXPECT_FALSE(parseHttpUrl("http://"));
  EXPECT_FALSE(parseHttpUrl("http://host:0/"));
  EXPECT_FALSE(parseHttpUrl("http://host:70000/"));
  EXPECT_FALSE(parseHttpUrl("http://host:/"));
  EXPECT_FALSE(parseHttpUrl("http://user@host/"));
  EXPECT_FALSE(parseHttpUrl("http://host/a b"));
  EXPECT_FALSE(parseHttpUrl("http://[::1/"));
}

TEST(OcspHttp, RequestIsAPostOfTheDer) {
  HttpUrl url{"ocsp.test", 8080, "/x"};
  std::string r = ocspHttpRequest(url, std::string("\x30\x03\x02\x01\x00", 5));
  EXPECT_EQ(r.rfind("POST /x HTTP/1.1\r\nHost: ocsp.test:8080\r\n", 0), 0u) << r;
  EXPECT_NE(r.find("Content-Type: application/ocsp-request\r\n"), std::string::npos);
  EXPECT_NE(r.find("Content-Length: 5\r\n"), std::string::npos);
  EXPECT_EQ(r.substr(r.size() - 5), std::string("\x30\x03\x02\x01\x00", 5));
}

TEST(OcspHttp, ReadsBodiesByLengthChunksOrClose) {
  std::string head = "HTTP/1.0 200 OK\r\nContent-Type: application/ocsp-response\r\n";
  Result<HttpBodyResult> r = parseOcspHttpResponse(head + "Content-Length: 4\r\n\r\nab", false);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->done);
  r = parseOcspHttpResponse(head + "Content-Length: 4\r\n\r\nabcdEXTRA", false);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->done);
  EXPECT_EQ(r->body, "abcd");
  EXPECT_FALSE(parseOcspHttpResponse(head + "Content-Length: 4\r\n\r\nab", true));

  std::string chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  r = parseOcspHttpResponse(chunked + "3\r\nabc\r\n2;x=y\r\nde\r\n", false);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->done);
  r = parseOcspHttpResponse(chunked + "3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n", false);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->done);
  EXPECT_EQ(r->body, "abcde");
  EXPECT_FALSE(parseOcspHttpResponse(chunked + "zz\r\n", false));

  r = parseOcspHttpResponse(head + "\r\nuntil close", false);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->done);
  r = parseOcspHttpResponse(head + "\r\nuntil close", true);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->done);
  EXPECT_EQ(r->body, "until close");
}

TEST(OcspHttp, RefusesErrorsAndOversizedReplies) {
  Result<HttpBodyResult> r = parseOcspHttpResponse("HTTP/1.1 404 Not Found\r\n\r\n", false);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().detail.find("404 Not Found"), std::string::npos) << r.error().detail;
  EXPECT_FALSE(parseOcspHttpResponse("SSH-2.0-OpenSSH\r\n\r\n", false));
  EXPECT_FALSE(parseOcspHttpResponse("HTTP/1.1 200 OK\r\nContent-Length: 70000\r\n\r\n", false));
  EXPECT_FALSE(parseOcspHttpResponse(std::string(70000, 'x'), false));
  EXPECT_FALSE(parseOcspHttpResponse("HTTP/1.1 200 OK\r\n", true));
}

// The files a ServerContext reads, in a fresh directory.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/portico-ocsp-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string write(const std::string& name, const std::string& content) const {
    std::string p = path_ + "/" + name;
    std::ofstream(p, std::ios::binary) << content;
    return p;
  }
  std::string writePem(const std::string& name, std::initializer_list<X509*> certs) const {
    BioPtr bio(BIO_new(BIO_s_mem()));
    for (X509* c : certs) PEM_write_bio_X509(bio.get(), c);
    return write(name, bioText(bio.get()));
  }
  std::string writeKey(const std::string& name, EVP_PKEY* key) const {
    BioPtr bio(BIO_new(BIO_s_mem()));
    PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
    return write(name, bioText(bio.get()));
  }

 private:
  static std::string bioText(BIO* bio) {
    char* data = nullptr;
    long n = BIO_get_mem_data(bio, &data);
    return std::string(data, static_cast<size_t>(n));
  }
  std::string path_;
};

// A client that asks for a status, and what it was given.
std::string handshakeStaple(const ServerContext& server, const char* sni) {
  SslCtxPtr client_ctx(SSL_CTX_new(TLS_client_method()));
  SslPtr client(SSL_new(client_ctx.get()));
  SslPtr srv(server.newSsl());
  BIO* client_bio = nullptr;
  BIO* server_bio = nullptr;
  BIO_new_bio_pair(&client_bio, 0, &server_bio, 0);
  SSL_set_bio(client.get(), client_bio, client_bio);
  SSL_set_bio(srv.get(), server_bio, server_bio);
  SSL_set_connect_state(client.get());
  SSL_set_tlsext_host_name(client.get(), sni);
  SSL_set_tlsext_status_type(client.get(), TLSEXT_STATUSTYPE_ocsp);
  for (int i = 0; i < 20; ++i) {
    int c = SSL_do_handshake(client.get());
    int s = SSL_do_handshake(srv.get());
    if (c == 1 && s == 1) break;
  }
  const unsigned char* resp = nullptr;
  long n = SSL_get_tlsext_status_ocsp_resp(client.get(), &resp);
  return n > 0 ? std::string(reinterpret_cast<const char*>(resp), static_cast<size_t>(n)) : "";
}

TEST_F(OcspVerifyTest, HandshakeStaplesThePublishedResponseOfTheChosenCertificate) {
  TempDir dir;
  std::string response = makeResponse(*pki_, {});
  ServerTlsConfig config;
  CertificateFiles site{dir.writePem("site.pem", {pki_->leaf.cert.get(), pki_->ca.cert.get()}),
                        dir.writeKey("site.key", pki_->leaf.key.get())};
  CertificateFiles other{dir.writePem("other.pem", {pki_->other.cert.get(), pki_->ca.cert.get()}),
                         dir.writeKey("other.key", pki_->other.key.get())};
  other.ocsp.file = dir.write("other.der", "stapled as-is from a file");
  std::string key;
  // A file that is not an OCSP response is refused at its key.
  config.certificates = {site, other};
  Result<std::shared_ptr<ServerContext>> bad = ServerContext::build(config, &key);
  ASSERT_FALSE(bad);
  EXPECT_EQ(key, "certificates[1].ocsp");

  std::string other_response = makeResponse(*pki_, {.about = &pki_->other});
  other.ocsp.file = dir.write("other.der", other_response);
  config.certificates = {site, other};
  Result<std::shared_ptr<ServerContext>> built = ServerContext::build(config, &key);
  ASSERT_TRUE(built) << built.error().detail;
  const ServerContext& server = **built;
  ASSERT_EQ(server.ocsp().certificates().size(), 2u);
  const auto& site_ocsp = server.ocsp().certificates()[0];
  EXPECT_EQ(site_ocsp->name, "site.test");
  EXPECT_EQ(site_ocsp->responder, "http://127.0.0.1:9/ocsp");
  EXPECT_TRUE(site_ocsp->problem.empty());

  // Nothing fetched yet: no staple, and the handshake still succeeds.
  EXPECT_EQ(handshakeStaple(server, "site.test"), "");
  site_ocsp->publish(
      std::make_shared<const OcspStaple>(OcspStaple{response, std::time(nullptr) + 3600}));
  EXPECT_EQ(handshakeStaple(server, "site.test"), response);
  // The file's response goes with its own certificate.
  EXPECT_EQ(handshakeStaple(server, "other.test"), other_response);
  // An expired staple is no longer sent.
  site_ocsp->publish(
      std::make_shared<const OcspStaple>(OcspStaple{response, std::time(nullptr) - 1}));
  EXPECT_EQ(handshakeStaple(server, "site.test"), "");
}

TEST_F(OcspVerifyTest, ExplicitStaplingNeedsAResponderAndTheIssuer) {
  TempDir dir;
  ServerTlsConfig config;
  CertificateFiles other{dir.writePem("other.pem", {pki_->other.cert.get(), pki_->ca.cert.get()}),
                         dir.writeKey("other.key", pki_->other.key.get())};
  config.certificates = {other};
  std::string key;
  Result<std::shared_ptr<ServerContext>> built = ServerContext::build(config, &key);
  ASSERT_TRUE(built);  // no responder, not asked to staple: nothing to do
  EXPECT_TRUE((*built)->ocsp().certificates().empty());

  config.certificates[0].ocsp.staple = true;
  built = ServerContext::build(config, &key);
  ASSERT_FALSE(built);
  EXPECT_EQ(key, "certificates[0].ocsp");
  EXPECT_NE(built.error().detail.find("names no OCSP responder"), std::string::npos);

  // The leaf alone, without its issuer: a configured responder cannot be asked.
  config.certificates[0].cert = dir.writePem("alone.pem", {pki_->other.cert.get()});
  config.certificates[0].ocsp.responder = "http://127.0.0.1:9/";
  built = ServerContext::build(config, &key);
  ASSERT_FALSE(built);
  EXPECT_NE(built.error().detail.find("lacks the leaf's issuer"), std::string::npos);

  // A certificate that names a responder staples by default; staple: false turns it off.
  CertificateFiles site{dir.writePem("site.pem", {pki_->leaf.cert.get(), pki_->ca.cert.get()}),
                        dir.writeKey("site.key", pki_->leaf.key.get())};
  config.certificates = {site};
  built = ServerContext::build(config, &key);
  ASSERT_TRUE(built);
  EXPECT_EQ((*built)->ocsp().certificates().size(), 1u);
  config.certificates[0].ocsp.staple = false;
  built = ServerContext::build(config, &key);
  ASSERT_TRUE(built);
  EXPECT_TRUE((*built)->ocsp().certificates().empty());
}

TEST_F(OcspVerifyTest, RebuiltContextStartsWithTheStapleOfTheSameLeaf) {
  TempDir dir;
  ServerTlsConfig config;
  config.certificates = {{dir.writePem("site.pem", {pki_->leaf.cert.get(), pki_->ca.cert.get()}),
                          dir.writeKey("site.key", pki_->leaf.key.get())}};
  Result<std::shared_ptr<ServerContext>> first = ServerContext::build(config);
  ASSERT_TRUE(first);
  auto staple = std::make_shared<const OcspStaple>(
      OcspStaple{makeResponse(*pki_, {}), std::time(nullptr) + 3600});
  (*first)->ocsp().certificates()[0]->publish(staple);

  Result<std::shared_ptr<ServerContext>> second = ServerContext::build(config);  // a reload
  ASSERT_TRUE(second);
  const auto& entry = (*second)->ocsp().certificates()[0];
  EXPECT_EQ(entry->key, (*first)->ocsp().certificates()[0]->key);
  EXPECT_EQ(entry->current(), staple);
  EXPECT_EQ(handshakeStaple(**second, "site.test"), staple->der);

  // Registered while alive, forgotten once its context is gone.
  auto registered = [](const std::shared_ptr<OcspCertificate>& c) {
    for (const auto& live : OcspRegistry::shared().live()) {
      if (live == c) return true;
    }
    return false;
  };
  std::weak_ptr<OcspCertificate> old_entry = (*first)->ocsp().certificates()[0];
  EXPECT_TRUE(registered(old_entry.lock()));
  first = Error::internal("dropped");
  EXPECT_TRUE(old_entry.expired());
  EXPECT_TRUE(registered(entry));
}

// A one-shot HTTP server on loopback that records the request and sends `reply`.
class OneShotServer {
 public:
  explicit OneShotServer(std::string reply) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(fd_, 1);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this, reply = std::move(reply)] {
      // Bounded wait, so a fetch that never connects fails the test instead of hanging it.
      pollfd ready{fd_, POLLIN, 0};
      if (::poll(&ready, 1, 10000) != 1) return;
      int c = ::accept(fd_, nullptr, nullptr);
      char buf[4096];
      while (request_.find("\r\n\r\n") == std::string::npos ||
             request_.size() < request_.find("\r\n\r\n") + 4 + body_length()) {
        ssize_t n = ::recv(c, buf, sizeof buf, 0);
        if (n <= 0) break;
        request_.append(buf, static_cast<size_t>(n));
      }
      ::send(c, reply.data(), reply.size(), MSG_NOSIGNAL);
      ::close(c);
    });
  }
  ~OneShotServer() {
    thread_.join();
    ::close(fd_);
  }
  uint16_t port() const { return port_; }
  const std::string& request() const { return request_; }

 private:
  size_t body_length() const {
    size_t at = request_.find("Content-Length: ");
    return at == std::string::npos ? 0 : std::stoul(request_.substr(at + 16));
  }
  int fd_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
  std::string request_;
};

// Runs one fetch of "REQ" on a fresh loop until it is done.
Result<std::string> fetchOnce(HttpUrl url) {
  event::EventLoop loop;
  std::optional<Result<std::string>> got;
  OcspFetch fetch(loop, std::move(url), "REQ", 5000, [&](Result<std::string> r) {
    got.emplace(std::move(r));
    loop.stop();
  });
  loop.run();
  return got.has_value() ? std::move(*got) : Result<std::string>(Error::internal("no callback"));
}

TEST(OcspFetchTest, PostsTheRequestAndReturnsTheBody) {
  std::string body = "DER-bytes";
  OneShotServer server(
      "HTTP/1.0 200 OK\r\nContent-Type: application/ocsp-response\r\n"
      "Content-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body);
  Result<std::string> got = fetchOnce(HttpUrl{"127.0.0.1", server.port(), "/ocsp"});
  ASSERT_TRUE(got) << got.error().detail;
  EXPECT_EQ(got.value(), body);
  std::string sent = server.request();
  EXPECT_EQ(sent.rfind("POST /ocsp HTTP/1.1\r\n", 0), 0u) << sent;
  EXPECT_EQ(sent.substr(sent.size() - 3), "REQ");
}

// True when the system resolver knows "localhost" (a bare chroot may have no /etc/hosts).
bool systemResolvesLocalhost() {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (::getaddrinfo("localhost", nullptr, &hints, &found) != 0) return false;
  ::freeaddrinfo(found);
  return true;
}

// A name goes through the resolver (getaddrinfo_a, polled); each address is tried in turn.
// The asynchronous path must agree with the system's own answer for the same name.
TEST(OcspFetchTest, ResolvesAName) {
  if (systemResolvesLocalhost()) {
    OneShotServer server(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n");
    Result<std::string> got = fetchOnce(HttpUrl{"localhost", server.port(), "/"});
    ASSERT_TRUE(got) << got.error().detail;
    EXPECT_EQ(got.value(), "ok");
  } else {
    Result<std::string> got = fetchOnce(HttpUrl{"localhost", 9, "/"});
    ASSERT_FALSE(got);
    EXPECT_NE(got.error().detail.find("cannot resolve localhost"), std::string::npos)
        << got.error().detail;
  }
}

TEST(OcspFetchTest, ConnectionRefusedIsAnError) {
  int probe = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(probe, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(probe, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(probe);  // nothing listens there now
  Result<std::string> got = fetchOnce(HttpUrl{"127.0.0.1", ntohs(addr.sin_port), "/"});
  ASSERT_FALSE(got);
  EXPECT_NE(got.error().detail.find("refused"), std::string::npos) << got.error().detail;
}

}  // namespace
}  // namespace portico::tls
