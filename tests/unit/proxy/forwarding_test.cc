#include "proxy/forwarding.h"

#include <gtest/gtest.h>

namespace portico::proxy {
namespace {

net::Address peer(const char* ip) {
  net::Address a;
  EXPECT_TRUE(net::parseIp(ip, &a));
  return a;
}

TEST(ForwardingTest, RemovesHopByHopAndConnectionNamedFields) {
  http::HeaderMap h;
  h.add("Connection", "close, X-Private");
  h.add("X-Private", "1");
  h.add("Keep-Alive", "timeout=5");
  h.add("TE", "trailers");
  h.add("Upgrade", "websocket");
  h.add("Transfer-Encoding", "chunked");
  h.add("X-Kept", "yes");
  removeHopByHop(h, false);
  EXPECT_EQ(h.size(), 1u);
  EXPECT_TRUE(h.has("X-Kept"));
}

TEST(ForwardingTest, HopByHopRemovalCoversEveryConnectionLineAndKeepsOrder) {
  http::HeaderMap h;
  h.add("Host", "a");
  h.add("connection", "X-One");
  h.add("x-one", "1");
  h.add("PROXY-CONNECTION", "keep-alive");
  h.add("Accept", "*/*");
  h.add("Connection", " x-two ,, X-THREE");
  h.add("X-Two", "2");
  h.add("Trailer", "X-Sum");
  h.add("X-Three", "3");
  h.add("te", "trailers");
  h.add("X-Last", "z");
  removeHopByHop(h, false);
  ASSERT_EQ(h.size(), 3u);
  EXPECT_EQ(h.at(0).name, "Host");
  EXPECT_EQ(h.at(1).name, "Accept");
  EXPECT_EQ(h.at(2).name, "X-Last");
}

TEST(ForwardingTest, TunnelKeepsUpgradeButDropsOtherConnectionNamedFields) {
  http::HeaderMap h;
  h.add("Connection", "Upgrade, X-Private");
  h.add("Upgrade", "websocket");
  h.add("X-Private", "1");
  removeHopByHop(h, true);
  EXPECT_EQ(h.size(), 2u);
  EXPECT_EQ(*h.get("Upgrade"), "websocket");
  EXPECT_EQ(*h.get("Connection"), "upgrade");
  EXPECT_FALSE(h.has("X-Private"));
}

TEST(ForwardingTest, KeepsUpgradeForTunnels) {
  http::HeaderMap h;
  h.add("Connection", "Upgrade");
  h.add("Upgrade", "websocket");
  removeHopByHop(h, true);
  EXPECT_EQ(*h.get("Upgrade"), "websocket");
  EXPECT_EQ(*h.get("Connection"), "upgrade");
}

TEST(ForwardingTest, XForwardedForAppendsOnlyForTrustedPeers) {
  ForwardingConfig cfg;
  CidrRange r;
  ASSERT_TRUE(net::parseIp("10.0.0.0", &r.base));
  r.prefix_len = 8;
  cfg.trusted_proxies.push_back(r);

  http::RequestHead trusted;
  trusted.scheme = "http";
  trusted.authority = "example.com";
  trusted.headers.add("X-Forwarded-For", "1.2.3.4");
  applyRequestForwarding(cfg, peer("10.1.2.3"), trusted);
  EXPECT_EQ(*trusted.headers.get("X-Forwarded-For"), "1.2.3.4, 10.1.2.3");
  EXPECT_EQ(*trusted.headers.get("X-Forwarded-Proto"), "http");
  EXPECT_EQ(*trusted.headers.get("X-Forwarded-Host"), "example.com");
  EXPECT_EQ(*trusted.headers.get("Via"), "1.1 portico");

  http::RequestHead two_lines;  // a trusted proxy's list on two field lines is one list
  two_lines.scheme = "http";
  two_lines.version = {2, 0};
  two_lines.headers.add("X-Forwarded-For", "1.2.3.4");
  two_lines.headers.add("X-Forwarded-For", "5.6.7.8");
  two_lines.headers.add("Via", "1.1 edge-a");
  two_lines.headers.add("Via", "1.0 edge-b");
  applyRequestForwarding(cfg, peer("10.1.2.3"), two_lines);
  EXPECT_EQ(*two_lines.headers.get("X-Forwarded-For"), "1.2.3.4, 5.6.7.8, 10.1.2.3");
  EXPECT_EQ(*two_lines.headers.get("Via"), "1.1 edge-a, 1.0 edge-b, 2 portico");

  http::RequestHead spoofed;
  spoofed.scheme = "http";
  spoofed.headers.add("X-Forwarded-For", "1.2.3.4");
  applyRequestForwarding(cfg, peer("192.0.2.7"), spoofed);
  EXPECT_EQ(*spoofed.headers.get("X-Forwarded-For"), "192.0.2.7");
}

TEST(ForwardingTest, UntrustedPeersLoseEveryForwardingFieldTheySent) {
  ForwardingConfig cfg;
  cfg.x_forwarded_proto = ForwardMode::Off;  // off adds nothing, and passes on nothing forged
  CidrRange r;
  ASSERT_TRUE(net::parseIp("10.0.0.0", &r.base));
  r.prefix_len = 8;
  cfg.trusted_proxies.push_back(r);
  auto sent = [] {
    http::RequestHead h;
    h.scheme = "http";
    h.authority = "example.com";
    h.headers.add("x-forwarded-proto", "https");
    h.headers.add("X-Forwarded-Port", "443");
    h.headers.add("Forwarded", "for=1.2.3.4");
    h.headers.add("X-Forwarded", "kept: not a forwarding field");
    return h;
  };
  http::RequestHead client = sent();
  applyRequestForwarding(cfg, peer("192.0.2.7"), client);
  EXPECT_FALSE(client.headers.has("X-Forwarded-Proto"));
  EXPECT_FALSE(client.headers.has("X-Forwarded-Port"));
  EXPECT_FALSE(client.headers.has("Forwarded"));
  EXPECT_TRUE(client.headers.has("X-Forwarded"));
  EXPECT_EQ(*client.headers.get("X-Forwarded-For"), "192.0.2.7");

  http::RequestHead proxy = sent();
  applyRequestForwarding(cfg, peer("10.1.2.3"), proxy);
  EXPECT_EQ(*proxy.headers.get("X-Forwarded-Proto"), "https");
  EXPECT_EQ(*proxy.headers.get("X-Forwarded-Port"), "443");
  EXPECT_EQ(*proxy.headers.get("Forwarded"), "for=1.2.3.4");
}

TEST(ForwardingTest, NoEmptyForwardedHostWhenTheRequestNamedNoHost) {
  ForwardingConfig cfg;  // X-Forwarded-Host: replace
  http::RequestHead h;   // HTTP/1.0 without Host: no authority
  h.scheme = "http";
  h.headers.add("X-Forwarded-Host", "spoofed.example");
  applyRequestForwarding(cfg, peer("192.0.2.7"), h);
  EXPECT_FALSE(h.headers.has("X-Forwarded-Host"));
  EXPECT_EQ(*h.headers.get("X-Forwarded-Proto"), "http");

  cfg.x_forwarded_host = ForwardMode::Append;
  CidrRange r;
  ASSERT_TRUE(net::parseIp("10.0.0.0", &r.base));
  r.prefix_len = 8;
  cfg.trusted_proxies.push_back(r);
  http::RequestHead via_proxy;  // a trusted proxy's list stays as it was
  via_proxy.scheme = "http";
  via_proxy.headers.add("X-Forwarded-Host", "origin.example");
  applyRequestForwarding(cfg, peer("10.1.2.3"), via_proxy);
  EXPECT_EQ(*via_proxy.headers.get("X-Forwarded-Host"), "origin.example");
}

TEST(ForwardingTest, ForwardedHeaderQuotesIpv6) {
  ForwardingConfig cfg;
  cfg.forwarded = ForwardMode::Replace;
  http::RequestHead h;
  h.scheme = "http";
  h.authority = "a.example";
  applyRequestForwarding(cfg, peer("::1"), h);
  EXPECT_EQ(*h.headers.get("Forwarded"), "for=\"[::1]\";proto=http;host=\"a.example\"");
}

TEST(ForwardingTest, RequestIdKeptWhenSaneElseGenerated) {
  http::RequestHead h;
  std::string id;
  h.headers.add("X-Request-Id", "abc-123");
  ensureRequestId(h, id);
  EXPECT_EQ(id, "abc-123");
  http::RequestHead evil;
  evil.headers.add("X-Request-Id", "bad id with spaces");
  ensureRequestId(evil, id);
  EXPECT_EQ(id.size(), 36u);
  EXPECT_EQ(id[14], '4');
  EXPECT_EQ(*evil.headers.get("X-Request-Id"), id);
}

TEST(ForwardingTest, ServerHeaderModes) {
  ForwardingConfig cfg;
  http::ResponseHead r;
  r.headers.add("Server", "secret/1.0");
  applyFinalResponseHeaders(cfg, "id", r);
  EXPECT_EQ(*r.headers.get("Server"), "portico");
  cfg.server_header = ServerHeaderMode::Remove;
  applyFinalResponseHeaders(cfg, "id", r);
  EXPECT_FALSE(r.headers.has("Server"));
}

// Client certificates (mTLS).

net::PeerCertificate verifiedCert() {
  net::PeerCertificate cert;
  cert.verified = true;
  cert.subject = "CN=alice,O=Example\\, Inc.,C=DE";
  cert.sans = {"DNS:alice.example", "URI:spiffe://example/alice", "IP:10.0.0.1"};
  cert.sha256_fingerprint = std::string(64, 'a');
  return cert;
}

TEST(ForwardingTest, ClientCertFieldsOfAVerifiedCertificate) {
  http::RequestHead head;
  net::PeerCertificate cert = verifiedCert();
  applyClientCertHeaders(ClientCertHeaders{}, true, &cert, head);
  EXPECT_EQ(head.headers.get("X-Client-Cert-Subject"), "CN=alice,O=Example\\, Inc.,C=DE");
  EXPECT_EQ(head.headers.get("X-Client-Cert-SANs"),
            "DNS:alice.example, URI:spiffe://example/alice, IP:10.0.0.1");
  EXPECT_EQ(head.headers.get("X-Client-Cert-Fingerprint"), std::string(64, 'a'));
  EXPECT_EQ(head.headers.get("X-Client-Cert-Verified"), "SUCCESS");
}

TEST(ForwardingTest, ClientCopiesOfClientCertFieldsAreAlwaysRemoved) {
  auto forged = [] {
    http::RequestHead head;
    head.headers.add("x-client-cert-subject", "CN=admin");
    head.headers.add("X-Client-Cert-SANs", "DNS:admin.example");
    head.headers.add("X-CLIENT-CERT-FINGERPRINT", "00");
    head.headers.add("X-Client-Cert-Verified", "SUCCESS");
    head.headers.add("X-Client-Cert-Subject", "CN=root");
    head.headers.add("X-Kept", "1");
    return head;
  };
  // A plain listener, or a TLS one that asks for no certificate.
  http::RequestHead plain = forged();
  applyClientCertHeaders(ClientCertHeaders{}, false, nullptr, plain);
  EXPECT_EQ(plain.headers.size(), 1u);
  EXPECT_TRUE(plain.headers.has("X-Kept"));
  // Asked for, none sent.
  http::RequestHead none = forged();
  applyClientCertHeaders(ClientCertHeaders{}, true, nullptr, none);
  EXPECT_EQ(none.headers.size(), 2u);
  EXPECT_EQ(none.headers.get("X-Client-Cert-Verified"), "NONE");
  // A verified certificate: ours replace theirs, one of each.
  http::RequestHead good = forged();
  net::PeerCertificate cert = verifiedCert();
  applyClientCertHeaders(ClientCertHeaders{}, true, &cert, good);
  EXPECT_EQ(good.headers.count("X-Client-Cert-Subject"), 1u);
  EXPECT_EQ(good.headers.get("X-Client-Cert-Subject"), cert.subject);
  EXPECT_EQ(good.headers.count("X-Client-Cert-SANs"), 1u);
  EXPECT_EQ(good.headers.count("X-Client-Cert-Verified"), 1u);
}

TEST(ForwardingTest, AnUnverifiedCertificateGivesNoIdentity) {
  http::RequestHead head;
  head.headers.add("X-Client-Cert-Subject", "CN=forged");
  net::PeerCertificate cert = verifiedCert();
  cert.verified = false;
  applyClientCertHeaders(ClientCertHeaders{}, true, &cert, head);
  EXPECT_EQ(head.headers.size(), 1u);
  EXPECT_EQ(head.headers.get("X-Client-Cert-Verified"), "FAILED");
}

TEST(ForwardingTest, ClientCertFieldsAreRenamedOrTurnedOff) {
  ClientCertHeaders names;
  names.subject = "X-SSL-Subject";
  names.sans.clear();
  names.verified.clear();
  http::RequestHead head;
  head.headers.add("X-SSL-Subject", "CN=forged");
  head.headers.add("X-Client-Cert-Subject", "not ours any more");
  head.headers.add("X-Client-Cert-SANs", "off: passes through");
  net::PeerCertificate cert = verifiedCert();
  applyClientCertHeaders(names, true, &cert, head);
  EXPECT_EQ(head.headers.get("X-SSL-Subject"), cert.subject);
  EXPECT_EQ(head.headers.count("X-SSL-Subject"), 1u);
  EXPECT_EQ(head.headers.get("X-Client-Cert-Subject"), "not ours any more");
  EXPECT_EQ(head.headers.get("X-Client-Cert-SANs"), "off: passes through");
  EXPECT_EQ(head.headers.get("X-Client-Cert-Fingerprint"), cert.sha256_fingerprint);
  EXPECT_FALSE(head.headers.has("X-Client-Cert-Verified"));
}

TEST(ForwardingTest, CertificateTextIsMadeSafeForAFieldValue) {
  using namespace std::string_literals;
  EXPECT_EQ(headerSafeValue("CN=a\r\nX-Admin: 1"), "CN=a\\0D\\0AX-Admin: 1");
  EXPECT_EQ(headerSafeValue("a\0b\x7f\tc"s), "a\\00b\\7F\\09c");
  EXPECT_EQ(headerSafeValue("CN=Jos\xc3\xa9"), "CN=Jos\xc3\xa9");  // UTF-8 stays
  EXPECT_EQ(sanListValue({"DNS:a.example", "URI:x:/a,b\\c", "email:e\r\n@x"}),
            "DNS:a.example, URI:x:/a\\2Cb\\5Cc, email:e\\0D\\0A@x");
  EXPECT_EQ(sanListValue({}), "");

  net::PeerCertificate cert;
  cert.verified = true;
  cert.subject = "CN=evil\r\nX-Injected: yes"s;
  cert.sans = {"DNS:x\0y"s};
  cert.sha256_fingerprint = "ab";
  http::RequestHead head;
  applyClientCertHeaders(ClientCertHeaders{}, true, &cert, head);
  head.headers.forEach([](std::string_view name, std::string_view value) {
    for (char c : value) {
      EXPECT_FALSE(c == '\r' || c == '\n' || c == '\0') << name;
    }
  });
  EXPECT_FALSE(head.headers.has("X-Injected"));
  EXPECT_EQ(head.headers.get("X-Client-Cert-SANs"), "DNS:x\\00y");
}

TEST(ForwardingTest, AsksForClientCertificatesOnlyWithAClientAuthBlock) {
  EXPECT_FALSE(asksForClientCertificates(std::nullopt));
  tls::ServerTlsConfig config;
  config.certificates.push_back({"a.crt", "a.key"});
  EXPECT_FALSE(asksForClientCertificates(config));
  tls::ClientAuthConfig off;
  off.mode = tls::ClientAuthMode::Off;
  config.certificates[0].client_auth = off;
  EXPECT_FALSE(asksForClientCertificates(config));
  config.certificates.push_back(
      {.cert = "b.crt", .key = "b.key", .client_auth = tls::ClientAuthConfig{}});
  EXPECT_TRUE(asksForClientCertificates(config));
  config.certificates.pop_back();
  config.client_auth = tls::ClientAuthConfig{};
  EXPECT_TRUE(asksForClientCertificates(config));
}

}  // namespace
}  // namespace portico::proxy
